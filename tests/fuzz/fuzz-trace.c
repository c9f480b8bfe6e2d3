/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the trace reader and the CSV primitives under it.
 * The input is parsed as memory by the tokenizer and number parsers, then as
 * a file (a memfd) in the gaitway format, as a foreign timed CSV and as a
 * rate-timed foreign file merged with itself, under the skip policy so that
 * every row is visited.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *         -Ilib/include -Ilib -Ibuild/lib tests/fuzz/fuzz-trace.c \
 *         lib/csv.c lib/trace-read.c lib/common.c -lm -o fuzz-trace
 *   ./fuzz-trace -max_len=12000 tests/fuzz/corpus-trace */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gaitway/trace.h"
#include "csv-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void layout(gw_csv_layout *l, int timed, const char *a, const char *b)
{
        memset(l, 0, sizeof *l);
        l->time_column = timed ? 0 : -1;
        l->time_unit_s = 1e-3;
        l->rate_hz = timed ? 0 : 50;
        l->n_channels = 2;
        l->column[0] = timed ? 1 : 0;
        l->column[1] = timed ? 2 : 1;
        snprintf(l->channel[0].name, GW_NAME_MAX, "%s", a);
        snprintf(l->channel[1].name, GW_NAME_MAX, "%s", b);
        snprintf(l->channel[0].unit, GW_NAME_MAX, "g");
        snprintf(l->channel[1].unit, GW_NAME_MAX, "g");
}

static void read_all(const char *path, const gw_trace_options *o)
{
        char err[GW_ERR_MAX];
        gw_trace_reader *r;
        if (gw_trace_open(path, o, &r, err, sizeof err) < 0)
                return;
        float v[GW_TRACE_MAX_CHANNELS];
        int64_t t;
        for (int pass = 0; pass < 2; pass++) {
                while (gw_trace_read(r, &t, v, err, sizeof err) == 1)
                        ;
                if (gw_trace_rewind(r, err, sizeof err) < 0)
                        break;
        }
        gw_trace_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static locale_t loc;
        const char *s = (const char *) data;
        gw_csv_field f[8];
        char ex[200];
        double d;
        int64_t t;

        if (!loc)
                loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        gw_csv_split(s, size, gw_csv_detect(s, size), f, 8);
        gw_csv_split(s, size, ' ', f, 8);
        gw_csv_number(s, size, loc, &d);
        gw_csv_time(s, size, 1e9, loc, &t);
        gw_csv_time(s, size, 1.5e6, loc, &t);
        gw_csv_excerpt(ex, sizeof ex, s, size);

        int fd = memfd_create("fuzz-trace", 0);
        if (fd < 0)
                return 0;
        if (write(fd, data, size) == (ssize_t) size) {
                char path[64];
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
                gw_csv_layout a, b;
                gw_trace_options o = { .bad_rows = GW_BAD_ROW_SKIP };
                read_all(path, &o);
                layout(&a, 1, "acc_x", "acc_y");
                o.layout = &a;
                read_all(path, &o);
                layout(&a, 0, "acc_x", "acc_y");
                layout(&b, 0, "gyro_x", "gyro_y");
                o.second_path = path;
                o.second_layout = &b;
                read_all(path, &o);
        }
        close(fd);
        return 0;
}
