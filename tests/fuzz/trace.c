/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the trace reader (lib/trace-read.c) on whole files, in
 * the gaitway format and as foreign CSV under layouts the input chooses,
 * alone and merged with a second file, under both bad-row policies, read to
 * the end, rewound and read again.  The reader opens paths, so each file is
 * a memfd reached through /proc/self/fd.
 *
 * The gaitway-format read is repeated with the smallest read buffer, which
 * must deliver the same rows, values and end as the default one.
 *
 * Input: file A, optionally a line "#--" and file B, optionally another
 * "#--" line and layout bytes.  A text seed is file A alone: it is read as a
 * gaitway trace and as a foreign timed file of three channels. */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-input.h"
#include "gaitway/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEP "\n#--\n"
/* Rows read per pass: inputs are at most a few hundred KiB, so this only
 * stops a reader that would loop. */
#define MAX_ROWS 200000

typedef struct {
        int fd;
        char path[64];
} MemFile;

static void memfile_open(MemFile *f, const uint8_t *p, size_t n)
{
        f->fd = memfd_create("fuzz-trace", MFD_CLOEXEC);
        if (f->fd < 0 || write(f->fd, p, n) != (ssize_t) n)
                abort();
        snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

static void one_line(const char *msg)
{
        if (!msg || strchr(msg, '\n'))
                abort();
}

/* Returns a hash of what was read: rows, timestamps, values and results. */
static uint64_t read_all(const char *path, const gw_trace_options *o)
{
        uint64_t h = 1469598103934665603u;
        char err[GW_ERR_MAX];
        gw_trace_reader *r = NULL;
        const gw_channel_desc *ch;
        float v[GW_TRACE_MAX_CHANNELS + 1];
        int64_t t;

        err[0] = 0;
        if (gw_trace_open(path, o, &r, err, sizeof err) < 0) {
                if (r || !err[0])
                        abort();
                one_line(err);
                return 0;
        }
        int n = gw_trace_channels(r, &ch);
        if (n < 1 || n > GW_TRACE_MAX_CHANNELS)
                abort();
        for (int i = 0; i < n; i++)
                if (!ch[i].name[0] || strnlen(ch[i].name, GW_NAME_MAX) == GW_NAME_MAX)
                        abort();
        double rate = gw_trace_rate(r);
        if (!(rate > 0) || !isfinite(rate))
                abort();
        gw_trace_meta(r, "rate_hz");
        gw_trace_meta(r, "device");

        uint64_t delivered = 0;
        for (int pass = 0; pass < 2; pass++) {
                int k, rows = 0;
                v[n] = 12345.0f;   /* the reader writes n values, no more */
                while ((k = gw_trace_read(r, &t, v, err, sizeof err)) == 1 && rows++ < MAX_ROWS) {
                        delivered++;
                        h = (h ^ (uint64_t) t) * 1099511628211u;
                        for (int i = 0; i < n; i++) {
                                if (!isfinite(v[i]))
                                        abort();
                                uint32_t bits;
                                memcpy(&bits, &v[i], sizeof bits);
                                h = (h ^ bits) * 1099511628211u;
                        }
                }
                h = (h ^ (uint64_t) (int64_t) k) * 1099511628211u;
                if (v[n] != 12345.0f)
                        abort();
                if (k < 0) {
                        one_line(err);
                        if (o->bad_rows == GW_BAD_ROW_FATAL && k == -EINVAL &&
                            gw_trace_read(r, &t, v, err, sizeof err) != k)
                                abort();
                }
                if (gw_trace_rewind(r, err, sizeof err) < 0)
                        break;
        }
        const gw_trace_stats *st = gw_trace_stats_get(r);
        if (st->rows != delivered)
                abort();
        if ((st->bad_rows > 0) != (st->first_bad_line > 0) && o->bad_rows == GW_BAD_ROW_SKIP)
                abort();
        one_line(gw_trace_last_error(r));
        one_line(gw_trace_first_error(r));
        h = (h ^ st->bad_rows) * 1099511628211u;
        gw_trace_close(r);
        return h;
}

static const char delims[] = { 0, ',', ';', '\t', ' ' };
static const double units_s[] = { 1, 1e-3, 1e-6, 1e-9, 0, 0.5 };
static const double rates[] = { 0, 50, 64, 1, 1000, 0.001 };
static const double scales[] = { 0, 1e-3, -1, 9.80665, 1e30 };

static void layout_from(gw_csv_layout *l, FuzzInput *c, const char *prefix)
{
        memset(l, 0, sizeof *l);
        l->delimiter = delims[fuzz_u8(c) % sizeof delims];
        l->skip_rows = fuzz_u8(c) % 4;
        l->time_column = (int) (fuzz_u8(c) % 5) - 1;
        l->time_unit_s = units_s[fuzz_u8(c) % (sizeof units_s / sizeof units_s[0])];
        l->rate_hz = rates[fuzz_u8(c) % (sizeof rates / sizeof rates[0])];
        l->n_channels = 1 + fuzz_u8(c) % GW_TRACE_MAX_CHANNELS;
        for (int i = 0; i < l->n_channels; i++) {
                l->column[i] = fuzz_u8(c) % 40;
                snprintf(l->channel[i].name, GW_NAME_MAX, "%s%d", prefix, i);
                snprintf(l->channel[i].unit, GW_NAME_MAX, "g");
                l->scale[i] = scales[fuzz_u8(c) % (sizeof scales / sizeof scales[0])];
        }
}

/* Time in column 0, three channels after it, as most exports. */
static void layout_default(gw_csv_layout *l, int timed, const char *prefix)
{
        memset(l, 0, sizeof *l);
        l->time_column = timed ? 0 : -1;
        l->rate_hz = timed ? 0 : 50;
        l->n_channels = 3;
        for (int i = 0; i < 3; i++) {
                l->column[i] = i + (timed ? 1 : 0);
                snprintf(l->channel[i].name, GW_NAME_MAX, "%s%d", prefix, i);
                snprintf(l->channel[i].unit, GW_NAME_MAX, "g");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        FuzzInput in = { data, size };
        size_t na, nb = 0;
        const uint8_t *a = fuzz_piece(&in, SEP, &na), *b = fuzz_piece(&in, SEP, &nb);
        FuzzInput ctl = in;
        MemFile fa, fb;
        gw_csv_layout la, lb;

        memfile_open(&fa, a, na);
        memfile_open(&fb, b ? b : a, b ? nb : na);

        for (int policy = 0; policy < 2; policy++) {
                gw_trace_options o = { .bad_rows = policy ? GW_BAD_ROW_SKIP : GW_BAD_ROW_FATAL };
                gw_trace_options small = o;
                small.buffer_size = 1;      /* the smallest the reader allows */
                if (read_all(fa.path, &o) != read_all(fa.path, &small))
                        abort();

                if (ctl.n) {
                        FuzzInput c = ctl;
                        layout_from(&la, &c, "a");
                        layout_from(&lb, &c, "b");
                } else {
                        layout_default(&la, 1, "a");
                        layout_default(&lb, 0, "b");
                }
                o.layout = &la;
                read_all(fa.path, &o);
                o.second_path = fb.path;
                o.second_layout = &lb;
                read_all(fa.path, &o);
        }
        close(fa.fd);
        close(fb.fd);
        return 0;
}
