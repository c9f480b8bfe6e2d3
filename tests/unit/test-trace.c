/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw-test.h"
#include "gaitway/trace.h"
#include "csv-private.h"

/* Counting allocations (the binary links with --wrap=malloc,calloc,realloc)
 * proves the read path allocates nothing after open. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
static unsigned long allocations;
void *__wrap_malloc(size_t n)
{
        allocations++;
        return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
        allocations++;
        return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
        allocations++;
        return __real_realloc(p, n);
}

static char tmpdir[256];
static char err[GW_ERR_MAX];
static char expect[1024];

static int suite_init(void)
{
        snprintf(tmpdir, sizeof tmpdir, "/tmp/gw-test-trace-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name)
{
        static char path[2][512];
        static int k;
        k ^= 1;
        snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
        return path[k];
}

/* Writes content to a fresh file and returns its path. */
static const char *put(const char *name, const char *content)
{
        const char *p = tmp_path(name);
        FILE *f = fopen(p, "w");
        CU_ASSERT_FATAL(f != NULL);
        fputs(content, f);
        fclose(f);
        return p;
}

static const char *header3 = "# gaitway-trace 1\n"
                             "# rate_hz: 50\n"
                             "time[s],acc_x[g],acc_y[g],acc_z[g]\n";

/* header3 (lines 1-3) + two good rows (4, 5) + line + one good row. */
static const char *with_bad_row(const char *name, const char *line)
{
        static char buf[65536];
        snprintf(buf, sizeof buf, "%s0,1,2,3\n0.02,1,2,3\n%s\n0.06,1,2,3\n", header3, line);
        return put(name, buf);
}

static gw_trace_reader *open_ok(const char *path, const gw_trace_options *opt)
{
        gw_trace_reader *r = NULL;
        int k = gw_trace_open(path, opt, &r, err, sizeof err);
        if (k < 0)
                fprintf(stderr, "open failed: %s\n", err);
        CU_ASSERT_FATAL(k == 0 && r != NULL);
        return r;
}

static int open_err(const char *path, const gw_trace_options *opt)
{
        gw_trace_reader *r = NULL;
        err[0] = '\0';
        int k = gw_trace_open(path, opt, &r, err, sizeof err);
        CU_ASSERT(k < 0);
        CU_ASSERT(r == NULL);
        gw_trace_close(r);
        return k;
}

static void assert_err(const char *want)
{
        if (strcmp(err, want) != 0)
                fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
        CU_ASSERT_STRING_EQUAL(err, want);
}

/* ---- csv tokenizer and number parsers ------------------------------------ */

static void test_split_keeps_empty_fields_and_trims_blanks(void)
{
        gw_csv_field f[8];
        const char *s = " 1 ,, 2\t,3 ";
        CU_ASSERT_EQUAL(gw_csv_split(s, strlen(s), ',', f, 8), 4);
        CU_ASSERT(f[0].n == 1 && f[0].p[0] == '1');
        CU_ASSERT_EQUAL(f[1].n, 0);
        CU_ASSERT(f[2].n == 1 && f[2].p[0] == '2');
        CU_ASSERT(f[3].n == 1 && f[3].p[0] == '3');
}

static void test_split_on_blanks_merges_runs(void)
{
        gw_csv_field f[8];
        const char *s = "  1.5   -2\t\t3e1  ";
        CU_ASSERT_EQUAL(gw_csv_split(s, strlen(s), ' ', f, 8), 3);
        CU_ASSERT(f[1].n == 2 && memcmp(f[1].p, "-2", 2) == 0);
        CU_ASSERT(f[2].n == 3 && memcmp(f[2].p, "3e1", 3) == 0);
}

static void test_split_counts_fields_beyond_the_limit(void)
{
        gw_csv_field f[2];
        const char *s = "1;2;3;4;5";
        CU_ASSERT_EQUAL(gw_csv_split(s, strlen(s), ';', f, 2), 5);
}

static void test_detect_prefers_tab_then_semicolon_then_comma(void)
{
        CU_ASSERT_EQUAL(gw_csv_detect("1\t2,5", 5), '\t');
        CU_ASSERT_EQUAL(gw_csv_detect("1,5;2,5", 7), ';');
        CU_ASSERT_EQUAL(gw_csv_detect("1.5,2.5", 7), ',');
        CU_ASSERT_EQUAL(gw_csv_detect("1.5 2.5", 7), ' ');
}

static gw_csv_status num(const char *s, double *v)
{
        static locale_t loc;
        if (!loc)
                loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        return gw_csv_number(s, strlen(s), loc, v);
}

static void test_number_accepts_only_whole_decimal_fields(void)
{
        double v;
        CU_ASSERT(num("1.5", &v) == GW_CSV_OK && v == 1.5);
        CU_ASSERT(num("-.5e-3", &v) == GW_CSV_OK && v == -0.5e-3);
        CU_ASSERT(num("+7.", &v) == GW_CSV_OK && v == 7);
        CU_ASSERT(num("1e-400", &v) == GW_CSV_OK && v == 0);
        CU_ASSERT_EQUAL(num("", &v), GW_CSV_EMPTY);
        CU_ASSERT_EQUAL(num("1.2.3", &v), GW_CSV_SYNTAX);
        CU_ASSERT_EQUAL(num("1.5x", &v), GW_CSV_SYNTAX);
        CU_ASSERT_EQUAL(num("0x10", &v), GW_CSV_SYNTAX);
        CU_ASSERT_EQUAL(num("1,5", &v), GW_CSV_SYNTAX);
        CU_ASSERT_EQUAL(num(" 1", &v), GW_CSV_SYNTAX);
        CU_ASSERT_EQUAL(num("e5", &v), GW_CSV_SYNTAX);
        CU_ASSERT_EQUAL(num("1e", &v), GW_CSV_SYNTAX);
        CU_ASSERT_EQUAL(num("NaN", &v), GW_CSV_NON_FINITE);
        CU_ASSERT_EQUAL(num("-inf", &v), GW_CSV_NON_FINITE);
        CU_ASSERT_EQUAL(num("Infinity", &v), GW_CSV_NON_FINITE);
        CU_ASSERT_EQUAL(num("1e999", &v), GW_CSV_RANGE);
}

static void test_number_agrees_with_strtod_bit_for_bit(void)
{
        /* The fast path (Clinger) must give the very double strtod gives. */
        locale_t loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        unsigned seed = 7, same = 0, total = 200000;
        for (unsigned k = 0; k < total; k++) {
                char s[64];
                size_t o = 0;
                seed = seed * 1103515245u + 12345u;
                if (seed >> 31)
                        s[o++] = '-';
                int nd = 1 + (int) ((seed >> 8) % 20), dot = (int) ((seed >> 16) % (unsigned) (nd + 1));
                for (int i = 0; i < nd; i++) {
                        if (i == dot && i > 0)
                                s[o++] = '.';
                        seed = seed * 1103515245u + 12345u;
                        s[o++] = (char) ('0' + (seed >> 16) % 10);
                }
                if ((seed >> 12) % 3 == 0)
                        o += (size_t) snprintf(s + o, sizeof s - o, "e%d", (int) ((seed >> 4) % 61) - 30);
                s[o] = '\0';
                double a = 0, b = strtod_l(s, NULL, loc);
                if (gw_csv_number(s, o, loc, &a) == GW_CSV_OK && memcmp(&a, &b, sizeof a) == 0)
                        same++;
                else
                        fprintf(stderr, "\n%s: %.17g != %.17g", s, a, b);
        }
        CU_ASSERT_EQUAL(same, total);
        freelocale(loc);
}

static void test_number_reads_a_field_without_a_terminator(void)
{
        /* The parser must stop at the field's length, not at a NUL. */
        double v;
        locale_t loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        const char s[] = { '1', '2', '5' };
        CU_ASSERT(gw_csv_number(s, 2, loc, &v) == GW_CSV_OK && v == 12);
        char big[GW_CSV_NUMBER_MAX + 10];
        memset(big, '1', sizeof big);
        CU_ASSERT_EQUAL(gw_csv_number(big, sizeof big, loc, &v), GW_CSV_TOO_LONG);
        freelocale(loc);
}

static void test_time_is_exact_to_the_nanosecond(void)
{
        locale_t loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        int64_t t;
        const char *s = "1700000000.123456789";
        CU_ASSERT(gw_csv_time(s, strlen(s), 1e9, loc, &t) == GW_CSV_OK);
        CU_ASSERT_EQUAL(t, INT64_C(1700000000123456789));
        s = "1700000000123456789";
        CU_ASSERT(gw_csv_time(s, strlen(s), 1, loc, &t) == GW_CSV_OK);
        CU_ASSERT_EQUAL(t, INT64_C(1700000000123456789));
        s = "1700000000123.4567";
        CU_ASSERT(gw_csv_time(s, strlen(s), 1e6, loc, &t) == GW_CSV_OK);
        CU_ASSERT_EQUAL(t, INT64_C(1700000000123456700));
        s = "-0.0000000015";
        CU_ASSERT(gw_csv_time(s, strlen(s), 1e9, loc, &t) == GW_CSV_OK);
        CU_ASSERT_EQUAL(t, -2);
        s = "1.5e-3";
        CU_ASSERT(gw_csv_time(s, strlen(s), 1e9, loc, &t) == GW_CSV_OK);
        CU_ASSERT_EQUAL(t, 1500000);
        s = "9300000000";
        CU_ASSERT_EQUAL(gw_csv_time(s, strlen(s), 1e9, loc, &t), GW_CSV_RANGE);
        s = "12:00";
        CU_ASSERT_EQUAL(gw_csv_time(s, strlen(s), 1e9, loc, &t), GW_CSV_SYNTAX);
        freelocale(loc);
}

static void test_excerpt_escapes_and_cuts(void)
{
        char out[200];
        CU_ASSERT_STRING_EQUAL(gw_csv_excerpt(out, sizeof out, "a\"b\x01", 4), "a\\\"b\\x01");
        char big[100];
        memset(big, 'x', sizeof big);
        gw_csv_excerpt(out, sizeof out, big, sizeof big);
        CU_ASSERT_EQUAL(strlen(out), 43);
        CU_ASSERT_STRING_EQUAL(out + 40, "...");
}

/* ---- gaitway format ------------------------------------------------------ */

static void test_round_trip_is_bit_exact(void)
{
        static const gw_channel_desc ch[3] = {
                { "acc_x", "g" }, { "gyro_z", "rad/s" }, { "temp", "degC" },
        };
        const char *meta[] = { "device", "bench unit 7", "license", "CC0-1.0", NULL };
        const char *path = tmp_path("roundtrip.csv");
        gw_trace_writer *w;
        enum { N = 2000 };
        static float v[N][3];
        static int64_t t[N];

        srand(42);
        for (int i = 0; i < N; i++) {
                t[i] = INT64_C(1700000000000000000) + (int64_t) i * 19999937 + (i % 7);
                for (int c = 0; c < 3; c++) {
                        uint32_t bits = ((uint32_t) rand() << 16) ^ (uint32_t) rand();
                        memcpy(&v[i][c], &bits, 4);
                        if (!isfinite(v[i][c]))
                                v[i][c] = 1.0f / (float) (i + 1);
                }
        }
        v[0][0] = -0.0f;
        v[1][0] = 1.4e-45f;           /* smallest subnormal */
        v[2][0] = 3.4028235e38f;      /* largest float */
        v[3][0] = 0.1f;
        t[N - 1] = t[N - 2] + 1;

        CU_ASSERT_FATAL(gw_trace_writer_open(path, 3, ch, 51.2, meta, &w, err, sizeof err) == 0);
        for (int i = 0; i < N; i++)
                CU_ASSERT(gw_trace_write(w, t[i], v[i]) > 0);
        CU_ASSERT_EQUAL(gw_trace_writer_close(w), 0);

        gw_trace_reader *r = open_ok(path, NULL);
        const gw_channel_desc *rc;
        CU_ASSERT_EQUAL(gw_trace_channels(r, &rc), 3);
        CU_ASSERT_STRING_EQUAL(rc[1].name, "gyro_z");
        CU_ASSERT_STRING_EQUAL(rc[1].unit, "rad/s");
        CU_ASSERT_EQUAL(gw_trace_rate(r), 51.2);
        CU_ASSERT_STRING_EQUAL(gw_trace_meta(r, "device"), "bench unit 7");
        CU_ASSERT_STRING_EQUAL(gw_trace_meta(r, "license"), "CC0-1.0");
        CU_ASSERT_PTR_NULL(gw_trace_meta(r, "source"));
        int same = 0;
        for (int i = 0; i < N; i++) {
                int64_t rt;
                float rv[3];
                if (gw_trace_read(r, &rt, rv, err, sizeof err) != 1)
                        break;
                same += rt == t[i] && memcmp(rv, v[i], sizeof rv) == 0;
        }
        CU_ASSERT_EQUAL(same, N);
        int64_t rt;
        float rv[3];
        CU_ASSERT_EQUAL(gw_trace_read(r, &rt, rv, err, sizeof err), 0);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->rows, N);
        gw_trace_close(r);
}

static void test_dropped_metadata_leaves_channels_and_samples(void)
{
        static const gw_channel_desc ch[2] = { { "acc_x", "g" }, { "gyro_z", "rad/s" } };
        const char *meta[] = { "device", "wrist", "license", "CC0-1.0", NULL };
        const char *path = tmp_path("dropmeta.csv");
        gw_trace_writer *w;
        CU_ASSERT_FATAL(gw_trace_writer_open(path, 2, ch, 50, meta, &w, err, sizeof err) == 0);
        for (int i = 0; i < 3; i++)
                CU_ASSERT(gw_trace_write(w, (int64_t) i * 20000000, (float[]) { (float) i, -0.5f }) > 0);
        CU_ASSERT_EQUAL(gw_trace_writer_close(w), 0);

        gw_trace_reader *r = open_ok(path, NULL);
        CU_ASSERT_STRING_EQUAL(gw_trace_meta(r, "device"), "wrist");
        gw_trace_drop_meta(r);
        CU_ASSERT_PTR_NULL(gw_trace_meta(r, "device"));
        CU_ASSERT_PTR_NULL(gw_trace_meta(r, "rate_hz"));
        const gw_channel_desc *rc;
        CU_ASSERT_EQUAL(gw_trace_channels(r, &rc), 2);
        CU_ASSERT_STRING_EQUAL(rc[1].name, "gyro_z");
        CU_ASSERT_EQUAL(gw_trace_rate(r), 50);
        int64_t t;
        float v[2];
        for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < 3; i++) {
                        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 1);
                        CU_ASSERT_EQUAL(t, (int64_t) i * 20000000);
                        CU_ASSERT_EQUAL(v[0], (float) i);
                }
                CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 0);
                CU_ASSERT_EQUAL(gw_trace_rewind(r, err, sizeof err), 0);
        }
        gw_trace_close(r);
}

static void test_writer_output_is_the_documented_text(void)
{
        static const gw_channel_desc ch[2] = { { "acc_z", "g" }, { "gyro_x", "rad/s" } };
        const char *path = tmp_path("text.csv");
        gw_trace_writer *w;
        CU_ASSERT_FATAL(gw_trace_writer_open(path, 2, ch, 50, NULL, &w, err, sizeof err) == 0);
        CU_ASSERT(gw_trace_write(w, 1500000000, (float[]) { 1.0f, 0.1f }) > 0);
        CU_ASSERT(gw_trace_write(w, -20000000, (float[]) { -2.5f, 0 }) > 0);
        CU_ASSERT_EQUAL(gw_trace_writer_close(w), 0);
        char buf[512] = "";
        FILE *f = fopen(path, "r");
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (strcmp(buf, "# gaitway-trace 1\n# rate_hz: 50\n"
                        "time[s],acc_z[g],gyro_x[rad/s]\n"
                        "1.5,1,0.100000001\n-0.02,-2.5,0\n"))
                fprintf(stderr, "\n%s", buf);
        CU_ASSERT_STRING_EQUAL(buf, "# gaitway-trace 1\n# rate_hz: 50\n"
                                    "time[s],acc_z[g],gyro_x[rad/s]\n"
                                    "1.5,1,0.100000001\n-0.02,-2.5,0\n");
}

static void test_writer_reports_a_full_disk_and_keeps_going(void)
{
        static const gw_channel_desc ch[1] = { { "acc_z", "g" } };
        gw_trace_writer *w;
        if (access("/dev/full", W_OK) != 0) {
                fprintf(stderr, "no /dev/full: not tested\n");
                return;
        }
        CU_ASSERT_FATAL(gw_trace_writer_open("/dev/full", 1, ch, 50, NULL, &w, err, sizeof err) == 0);
        int k = 0, i;
        for (i = 0; i < 100000 && k >= 0; i++)
                k = gw_trace_write(w, i * INT64_C(20000000), (float[]) { 1.0f });
        CU_ASSERT_EQUAL(k, -ENOSPC);
        /* The caller may go on: the next row is refused the same way. */
        CU_ASSERT_EQUAL(gw_trace_write(w, i * INT64_C(20000000), (float[]) { 1.0f }), -ENOSPC);
        CU_ASSERT_EQUAL(gw_trace_writer_flush(w), -ENOSPC);
        CU_ASSERT_EQUAL(gw_trace_writer_close(w), -ENOSPC);
}

static void test_writer_refuses_non_finite_values(void)
{
        static const gw_channel_desc ch[1] = { { "acc_z", "g" } };
        gw_trace_writer *w;
        CU_ASSERT_FATAL(gw_trace_writer_open(tmp_path("nan.csv"), 1, ch, 50, NULL, &w, err,
                                             sizeof err) == 0);
        CU_ASSERT_EQUAL(gw_trace_write(w, 0, (float[]) { NAN }), -EINVAL);
        CU_ASSERT_EQUAL(gw_trace_write(w, 0, (float[]) { INFINITY }), -EINVAL);
        CU_ASSERT_EQUAL(gw_trace_writer_close(w), 0);
}

static void test_writer_refuses_names_that_would_break_the_header(void)
{
        gw_trace_writer *w = NULL;
        const char *path = tmp_path("badname.csv");
        gw_channel_desc ch[2] = { { "acc,x", "g" }, { "b", "g" } };
        CU_ASSERT_EQUAL(gw_trace_writer_open(path, 1, ch, 50, NULL, &w, err, sizeof err), -EINVAL);
        snprintf(expect, sizeof expect,
                 "%s: channel 0: name must be 1..31 bytes without blanks, ',', '[' or ']'", path);
        assert_err(expect);
        gw_channel_desc ch2[2] = { { "a", "g" }, { "a", "g" } };
        CU_ASSERT_EQUAL(gw_trace_writer_open(path, 2, ch2, 50, NULL, &w, err, sizeof err), -EINVAL);
        const char *meta[] = { "rate_hz", "50", NULL };
        CU_ASSERT_EQUAL(gw_trace_writer_open(path, 1, ch, 50, meta, &w, err, sizeof err), -EINVAL);
        const char *meta2[] = { "note", "two\nlines", NULL };
        CU_ASSERT_EQUAL(gw_trace_writer_open(path, 1, ch2, 50, meta2, &w, err, sizeof err),
                        -EINVAL);
        CU_ASSERT_EQUAL(gw_trace_writer_open(path, 1, ch2, 0, NULL, &w, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NULL(w);
}

struct bad_case {
        const char *line;
        const char *message;      /* after "path:" */
};

static const struct bad_case bad_cases[] = {
        { "0.04,1,2", "6: expected 4 fields, found 3" },
        { "0.04,1,2,3,4", "6: expected 4 fields, found 5" },
        { "0.04,1,,3", "6: column 2 (\"acc_y\"): empty field" },
        { "0.04,1,2,1.2.3", "6: column 3 (\"acc_z\"): \"1.2.3\" is not a number" },
        { "0.04,1,2,3abc", "6: column 3 (\"acc_z\"): \"3abc\" is not a number" },
        { "0.04,1,2,3 4", "6: column 3 (\"acc_z\"): \"3 4\" is not a number" },
        { "0.04,nan,2,3", "6: column 1 (\"acc_x\"): \"nan\" is not finite" },
        { "0.04,1,-inf,3", "6: column 2 (\"acc_y\"): \"-inf\" is not finite" },
        { "0.04,1,2,1e999", "6: column 3 (\"acc_z\"): \"1e999\" is out of range" },
        { "0.04,1e39,2,3", "6: column 1 (\"acc_x\"): \"1e39\" is out of range" },
        { "noon,1,2,3", "6: column 0 (\"time\"): \"noon\" is not a number" },
        { "0.04,1,2,\"3\"", "6: column 3 (\"acc_z\"): \"\\\"3\\\"\" is not a number" },
        { "0.04;1;2;3", "6: expected 4 fields, found 1" },
};

static void test_bad_rows_stop_a_fatal_read_naming_line_and_column(void)
{
        for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
                const char *path = with_bad_row("bad.csv", bad_cases[i].line);
                gw_trace_reader *r = open_ok(path, NULL);
                int64_t t;
                float v[3];
                CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 1);
                CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 1);
                CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), -EINVAL);
                snprintf(expect, sizeof expect, "%s:%s", path, bad_cases[i].message);
                assert_err(expect);
                CU_ASSERT_STRING_EQUAL(gw_trace_last_error(r), expect);
                /* The error sticks: nothing after a fatal row is delivered. */
                CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), -EINVAL);
                assert_err(expect);
                CU_ASSERT_EQUAL(gw_trace_stats_get(r)->first_bad_line, 6);
                gw_trace_close(r);
        }
}

static void test_bad_rows_are_counted_and_skipped_in_skip_mode(void)
{
        char buf[16384];
        size_t o = (size_t) snprintf(buf, sizeof buf, "%s", header3);
        size_t nbad = sizeof bad_cases / sizeof bad_cases[0];
        for (size_t i = 0; i < nbad; i++)
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%zu,%zu,0,0\n%s\n", i, i,
                                       bad_cases[i].line);
        snprintf(buf + o, sizeof buf - o, "99,99,0,0\n");
        const char *path = put("skip.csv", buf);

        gw_trace_options opt = { .bad_rows = GW_BAD_ROW_SKIP };
        gw_trace_reader *r = open_ok(path, &opt);
        int64_t t;
        float v[3];
        size_t good = 0;
        int k;
        while ((k = gw_trace_read(r, &t, v, err, sizeof err)) == 1) {
                CU_ASSERT_EQUAL(v[0], good < nbad ? (float) good : 99.f);
                good++;
        }
        CU_ASSERT_EQUAL(k, 0);
        CU_ASSERT_EQUAL(good, nbad + 1);
        const gw_trace_stats *st = gw_trace_stats_get(r);
        CU_ASSERT_EQUAL(st->rows, nbad + 1);
        CU_ASSERT_EQUAL(st->bad_rows, nbad);
        CU_ASSERT_EQUAL(st->first_bad_line, 5);
        snprintf(expect, sizeof expect, "%s:5: expected 4 fields, found 3", path);
        CU_ASSERT_STRING_EQUAL(gw_trace_first_error(r), expect);
        snprintf(expect, sizeof expect, "%s:%zu: expected 4 fields, found 1", path, 3 + 2 * nbad);
        CU_ASSERT_STRING_EQUAL(gw_trace_last_error(r), expect);
        gw_trace_close(r);
}

/* A trace whose bad row is "0,111..." three times the longest line. */
static const char *with_overlong_row(const char *name)
{
        size_t n = 3 * GW_TRACE_MAX_LINE;
        char *line = malloc(n + 1);

        CU_ASSERT_FATAL(line != NULL);
        memset(line, '1', n);
        line[n] = '\0';
        line[0] = '0';
        line[1] = ',';
        const char *path = with_bad_row(name, line);
        free(line);
        return path;
}

static void test_overlong_line_is_a_bad_row_and_reading_resumes_after_it(void)
{
        const char *path = with_overlong_row("long.csv");

        gw_trace_reader *r = open_ok(path, NULL);
        int64_t t;
        float v[3];
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 1);
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 1);
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), -EINVAL);
        snprintf(expect, sizeof expect, "%s:6: line longer than 4096 bytes", path);
        assert_err(expect);
        gw_trace_close(r);

        gw_trace_options opt = { .bad_rows = GW_BAD_ROW_SKIP };
        r = open_ok(path, &opt);
        int rows = 0;
        while (gw_trace_read(r, &t, v, err, sizeof err) == 1)
                rows++;
        CU_ASSERT_EQUAL(rows, 3);
        CU_ASSERT_EQUAL(t, 60000000);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->bad_rows, 1);
        gw_trace_close(r);
}

static void test_crlf_line_endings_read_like_lf(void)
{
        const char *path = put("crlf.csv", "# gaitway-trace 1\r\n# rate_hz: 100\r\n"
                                           "# device: phone\r\n"
                                           "time[ms],acc_z[g]\r\n10,1.5\r\n20,-1\r\n");
        gw_trace_reader *r = open_ok(path, NULL);
        CU_ASSERT_STRING_EQUAL(gw_trace_meta(r, "device"), "phone");
        int64_t t;
        float v[1];
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && t == 10000000 && v[0] == 1.5f);
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && t == 20000000 && v[0] == -1);
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 0);
        gw_trace_close(r);
}

static void test_final_line_without_newline_is_read(void)
{
        const char *path = put("nonl.csv", "# gaitway-trace 1\n# rate_hz: 100\n"
                                           "time[us],acc_z[g]\n10000,1\n20000,2");
        gw_trace_reader *r = open_ok(path, NULL);
        int64_t t;
        float v[1];
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && t == 10000000);
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && t == 20000000 && v[0] == 2);
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 0);
        gw_trace_close(r);
}

static void test_time_units_ms_us_ns_give_nanoseconds(void)
{
        static const char *units[] = { "s", "ms", "us", "ns" };
        static const char *values[] = { "1.000000007", "1000.000007", "1000000.007", "1000000007" };
        for (int i = 0; i < 4; i++) {
                char buf[256];
                snprintf(buf, sizeof buf, "# gaitway-trace 1\n# rate_hz: 1\ntime[%s],x[g]\n%s,0\n",
                         units[i], values[i]);
                gw_trace_reader *r = open_ok(put("units.csv", buf), NULL);
                int64_t t = 0;
                float v[1];
                CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 1);
                CU_ASSERT_EQUAL(t, 1000000007);
                gw_trace_close(r);
        }
}

static void test_unknown_channel_unit_is_accepted_and_reported_by_name(void)
{
        const char *path = put("unit.csv", "# gaitway-trace 1\n# rate_hz: 10\n"
                                           "time[s],acc_x[furlong/fortnight^2]\n0,1\n");
        gw_trace_reader *r = open_ok(path, NULL);
        const gw_channel_desc *ch;
        CU_ASSERT_EQUAL(gw_trace_channels(r, &ch), 1);
        CU_ASSERT_STRING_EQUAL(ch[0].unit, "furlong/fortnight^2");
        gw_trace_close(r);
}

static void test_empty_file_is_refused(void)
{
        const char *path = put("empty.csv", "");
        open_err(path, NULL);
        snprintf(expect, sizeof expect, "%s: empty file, expected \"# gaitway-trace 1\"", path);
        assert_err(expect);
}

static void test_header_only_file_has_no_rows(void)
{
        gw_trace_reader *r = open_ok(put("hdr.csv", header3), NULL);
        int64_t t;
        float v[3];
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 0);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->rows, 0);
        gw_trace_close(r);
}

static void test_missing_rate_is_refused(void)
{
        const char *path = put("norate.csv", "# gaitway-trace 1\n# device: x\n"
                                             "time[s],acc_z[g]\n0,1\n");
        open_err(path, NULL);
        snprintf(expect, sizeof expect,
                 "%s:3: no \"# rate_hz: <Hz>\" line before the header row", path);
        assert_err(expect);
}

struct header_case {
        const char *text;
        const char *message;
};

static const struct header_case header_cases[] = {
        { "time[s],acc_z[g]\n0,1\n", ":1: not a gaitway trace (the first line must be "
                                     "\"# gaitway-trace 1\")" },
        { "# gaitway-trace 2\n# rate_hz: 5\ntime[s],a[g]\n",
          ":1: gaitway-trace version \"2\" is not supported (1 is)" },
        { "# gaitway-trace 1\n# rate_hz: fast\ntime[s],a[g]\n",
          ": rate_hz: \"fast\" is not a number" },
        { "# gaitway-trace 1\n# rate_hz: -5\ntime[s],a[g]\n", ": rate_hz: -5 is not positive" },
        { "# gaitway-trace 1\n# rate_hz: 5\n# rate_hz: 6\ntime[s],a[g]\n",
          ":3: duplicate metadata key \"rate_hz\"" },
        { "# gaitway-trace 1\n# rate_hz: 5\nt[s],a[g]\n",
          ":3: column 0: \"t[s]\": the first column must be time[s], time[ms], time[us] or "
          "time[ns]" },
        { "# gaitway-trace 1\n# rate_hz: 5\ntime[min],a[g]\n",
          ":3: column 0: time unit \"min\" is not s, ms, us or ns" },
        { "# gaitway-trace 1\n# rate_hz: 5\ntime[s],acc_z\n",
          ":3: column 1: \"acc_z\" is not name[unit]" },
        { "# gaitway-trace 1\n# rate_hz: 5\ntime[s],a[g],a[g]\n",
          ":3: column 2: channel \"a\" appears twice" },
        { "# gaitway-trace 1\n# rate_hz: 5\ntime[s]\n",
          ":3: header row has no channel after the time column" },
        { "# gaitway-trace 1\n# rate_hz: 5\n", ":2: end of file before the header row" },
};

static void test_bad_headers_are_refused_naming_the_line(void)
{
        for (size_t i = 0; i < sizeof header_cases / sizeof header_cases[0]; i++) {
                const char *path = put("header.csv", header_cases[i].text);
                open_err(path, NULL);
                snprintf(expect, sizeof expect, "%s%s", path, header_cases[i].message);
                assert_err(expect);
        }
}

static void test_comments_and_blank_lines_are_not_data(void)
{
        const char *path = put("comments.csv", "# gaitway-trace 1\n# free text, no key\n\n"
                                               "# rate_hz: 5\ntime[s],a[g]\n\n0,1\n   \n0.2,2\n");
        gw_trace_reader *r = open_ok(path, NULL);
        int64_t t;
        float v[1];
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && v[0] == 1);
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && v[0] == 2);
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 0);
        gw_trace_close(r);
}

static void test_rewind_replays_the_same_samples(void)
{
        const char *path = with_bad_row("rewind.csv", "0.04,9,9,9");
        gw_trace_reader *r = open_ok(path, NULL);
        int64_t t1[8], t2[8];
        float v1[8][3], v2[8][3];
        int n1 = 0, n2 = 0;
        while (n1 < 8 && gw_trace_read(r, &t1[n1], v1[n1], err, sizeof err) == 1)
                n1++;
        CU_ASSERT_EQUAL(gw_trace_rewind(r, err, sizeof err), 0);
        while (n2 < 8 && gw_trace_read(r, &t2[n2], v2[n2], err, sizeof err) == 1)
                n2++;
        CU_ASSERT_EQUAL(n1, 4);
        CU_ASSERT_EQUAL(n2, 4);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->rows, 8);   /* counted over both passes */
        CU_ASSERT(memcmp(t1, t2, sizeof t1[0] * 4) == 0);
        CU_ASSERT(memcmp(v1, v2, sizeof v1[0] * 4) == 0);
        gw_trace_close(r);
}

static void test_rewind_clears_a_fatal_error(void)
{
        const char *path = with_bad_row("rewind-bad.csv", "0.04,x,0,0");
        gw_trace_reader *r = open_ok(path, NULL);
        int64_t t;
        float v[3];
        int k, rows = 0;
        while ((k = gw_trace_read(r, &t, v, err, sizeof err)) == 1)
                rows++;
        CU_ASSERT_EQUAL(k, -EINVAL);
        CU_ASSERT_EQUAL(gw_trace_rewind(r, err, sizeof err), 0);
        while ((k = gw_trace_read(r, &t, v, err, sizeof err)) == 1)
                rows++;
        CU_ASSERT_EQUAL(k, -EINVAL);
        CU_ASSERT_EQUAL(rows, 4);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->first_bad_line, 6);
        gw_trace_close(r);
}

/* A three-channel trace of 1500 well-formed rows. */
static const char *rows_1500(const char *name)
{
        char buf[65536];
        size_t o = (size_t) snprintf(buf, sizeof buf, "%s", header3);

        for (int i = 0; i < 1500; i++)
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%d.02,%d,-1.5e-3,0.25\n", i, i);
        return put(name, buf);
}

static void test_reading_rows_allocates_nothing(void)
{
        const char *path = rows_1500("alloc.csv");
        gw_trace_reader *r = open_ok(path, NULL);
        int64_t t;
        float v[3];
        int rows = 0;
        unsigned long before = allocations;
        while (gw_trace_read(r, &t, v, err, sizeof err) == 1)
                rows++;
        gw_trace_rewind(r, err, sizeof err);
        while (gw_trace_read(r, &t, v, err, sizeof err) == 1)
                rows++;
        unsigned long during = allocations - before;
        CU_ASSERT_EQUAL(rows, 3000);
        CU_ASSERT_EQUAL(during, 0);
        CU_ASSERT(allocations > 0);   /* the wrapper is in place */
        gw_trace_close(r);
}

/* Rows of many lengths (blanks after a value), and blank lines of 3900
 * bytes, so lines straddle any buffer of 256 bytes to 8 KiB. */
static const char *rows_of_every_length(const char *name)
{
        static char buf[200000];
        size_t o = (size_t) snprintf(buf, sizeof buf, "%s", header3);
        for (int i = 0; i < 600; i++) {
                if (i % 97 == 5) {
                        memset(buf + o, ' ', 3900);
                        o += 3900;
                        buf[o++] = '\n';
                }
                int blanks = (i * 37) % 300;
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%d.02,%d.5", i, i);
                memset(buf + o, ' ', (size_t) blanks);
                o += (size_t) blanks;
                o += (size_t) snprintf(buf + o, sizeof buf - o, ",-1.5e-3,%d\n", i % 7);
        }
        return put(name, buf);
}

static int read_rows(gw_trace_reader *r, int64_t *t, float (*v)[3], int max)
{
        int n = 0;
        while (n < max && gw_trace_read(r, &t[n], v[n], err, sizeof err) == 1)
                n++;
        return n;
}

static void test_small_buffers_read_the_same_samples_as_the_default(void)
{
        static int64_t t0[600], t1[600];
        static float v0[600][3], v1[600][3];
        const char *path = rows_of_every_length("sizes.csv");
        gw_trace_reader *r = open_ok(path, NULL);
        int n0 = read_rows(r, t0, v0, 600);
        gw_trace_close(r);
        CU_ASSERT_EQUAL(n0, 600);
        CU_ASSERT_EQUAL(v0[599][0], 599.5f);

        static const size_t sizes[] = { 1, 256, 257, 1000, 1024, 4097, 8192, 1 << 20 };
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                gw_trace_options opt = { .buffer_size = sizes[k] };
                r = open_ok(path, &opt);
                for (int pass = 0; pass < 2; pass++) {
                        memset(t1, 0, sizeof t1);
                        int n1 = read_rows(r, t1, v1, 600);
                        CU_ASSERT_EQUAL(n1, n0);
                        CU_ASSERT(memcmp(t0, t1, sizeof t0) == 0);
                        CU_ASSERT(memcmp(v0, v1, sizeof v0) == 0);
                        CU_ASSERT_EQUAL(gw_trace_rewind(r, err, sizeof err), 0);
                }
                gw_trace_close(r);
        }
}

static void test_small_buffer_cuts_an_overlong_line_like_the_default(void)
{
        const char *path = with_overlong_row("long-small.csv");

        gw_trace_options opt = { .buffer_size = 256 };
        gw_trace_reader *r = open_ok(path, &opt);
        int64_t t;
        float v[3];
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 1);
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), 1);
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), -EINVAL);
        snprintf(expect, sizeof expect, "%s:6: line longer than 4096 bytes", path);
        assert_err(expect);
        gw_trace_close(r);

        opt.bad_rows = GW_BAD_ROW_SKIP;
        r = open_ok(path, &opt);
        int rows = 0;
        unsigned long before = allocations;
        while (gw_trace_read(r, &t, v, err, sizeof err) == 1)
                rows++;
        CU_ASSERT_EQUAL(allocations - before, 1);   /* the buffer grew, once */
        CU_ASSERT_EQUAL(rows, 3);
        CU_ASSERT_EQUAL(t, 60000000);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->bad_rows, 1);
        gw_trace_close(r);
}

static void test_small_buffer_allocates_nothing_while_lines_fit(void)
{
        const char *path = rows_1500("alloc-small.csv");
        gw_trace_options opt = { .buffer_size = 1024 };
        gw_trace_reader *r = open_ok(path, &opt);
        int64_t t;
        float v[3];
        int rows = 0;
        unsigned long before = allocations;
        while (gw_trace_read(r, &t, v, err, sizeof err) == 1)
                rows++;
        gw_trace_rewind(r, err, sizeof err);
        while (gw_trace_read(r, &t, v, err, sizeof err) == 1)
                rows++;
        CU_ASSERT_EQUAL(rows, 3000);
        CU_ASSERT_EQUAL(allocations - before, 0);
        gw_trace_close(r);
}

static void test_parsing_ignores_the_process_locale(void)
{
        /* A decimal-comma locale must not change what "1.5" means.  Only
         * checkable where such a locale is installed. */
        const char *names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", NULL };
        const char *got = NULL;
        for (int i = 0; names[i] && !got; i++)
                got = setlocale(LC_NUMERIC, names[i]);
        if (!got) {
                fprintf(stderr, "no decimal-comma locale installed: checked in C only\n");
                return;
        }
        gw_trace_reader *r = open_ok(put("locale.csv", "# gaitway-trace 1\n# rate_hz: 2.5\n"
                                                       "time[s],a[g]\n0.5,1.25\n"), NULL);
        int64_t t;
        float v[1];
        CU_ASSERT_EQUAL(gw_trace_rate(r), 2.5);
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && t == 500000000 && v[0] == 1.25f);
        gw_trace_close(r);
        setlocale(LC_NUMERIC, "C");
}

/* ---- foreign CSV ---------------------------------------------------------- */

static gw_csv_layout layout_xyz(int time_column, double unit_s, double rate)
{
        gw_csv_layout l = { 0 };
        l.time_column = time_column;
        l.time_unit_s = unit_s;
        l.rate_hz = rate;
        l.n_channels = 3;
        for (int i = 0; i < 3; i++) {
                l.column[i] = (time_column >= 0 ? 1 : 0) + i;
                snprintf(l.channel[i].name, GW_NAME_MAX, "acc_%c", 'x' + i);
                snprintf(l.channel[i].unit, GW_NAME_MAX, "g");
        }
        return l;
}

static void read_all(gw_trace_reader *r, int64_t *t, float (*v)[3], int max, int *n)
{
        *n = 0;
        while (*n < max && gw_trace_read(r, &t[*n], v[*n], err, sizeof err) == 1)
                (*n)++;
}

static void test_delimiter_is_detected(void)
{
        static const char *files[] = {
                "0.00,1,2,3\n0.01,4,5,6\n",
                "0.00;1;2;3\n0.01;4;5;6\n",
                "0.00\t1\t2\t3\n0.01\t4\t5\t6\n",
                "0.00  1 2    3\n  0.01 4 5 6  \n",
                "0.00, 1, 2, 3\n0.01, 4, 5, 6\n",
        };
        gw_csv_layout l = layout_xyz(0, 1, 100);
        gw_trace_options opt = { .layout = &l };
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                gw_trace_reader *r = open_ok(put("delim.csv", files[i]), &opt);
                int64_t t[4];
                float v[4][3];
                int n;
                read_all(r, t, v, 4, &n);
                CU_ASSERT_EQUAL(n, 2);
                CU_ASSERT(t[1] == 10000000 && v[0][0] == 1 && v[1][2] == 6);
                gw_trace_close(r);
        }
}

static void test_foreign_errors_name_file_line_and_mapped_channel(void)
{
        gw_csv_layout l = layout_xyz(0, 1, 100);
        l.skip_rows = 1;
        gw_trace_options opt = { .layout = &l };
        const char *path = put("foreign-bad.csv", "t,x,y,z\n0,1,2,3\n0.01,1,2,x\n");
        gw_trace_reader *r = open_ok(path, &opt);
        int64_t t[4];
        float v[4][3];
        CU_ASSERT_EQUAL(gw_trace_read(r, t, v[0], err, sizeof err), 1);
        CU_ASSERT_EQUAL(gw_trace_read(r, t, v[0], err, sizeof err), -EINVAL);
        snprintf(expect, sizeof expect, "%s:3: column 3 (\"acc_z\"): \"x\" is not a number", path);
        assert_err(expect);
        gw_trace_close(r);

        path = put("foreign-short.csv", "0,1,2\n");
        r = open_ok(path, &opt);
        CU_ASSERT_EQUAL(gw_trace_read(r, t, v[0], err, sizeof err), 0);   /* row 1 skipped */
        gw_trace_close(r);
        l.skip_rows = 0;
        r = open_ok(path, &opt);
        CU_ASSERT_EQUAL(gw_trace_read(r, t, v[0], err, sizeof err), -EINVAL);
        snprintf(expect, sizeof expect, "%s:1: 3 fields, but column 3 (\"acc_z\") is mapped",
                 path);
        assert_err(expect);
        gw_trace_close(r);
}

static void test_foreign_ms_timestamps_and_scale(void)
{
        /* Daphnet-like: time in ms, acceleration in mg scaled to g. */
        gw_csv_layout l = layout_xyz(0, 1e-3, 64);
        for (int i = 0; i < 3; i++) {
                l.scale[i] = 1e-3;
                snprintf(l.channel[i].unit, GW_NAME_MAX, "g");
        }
        gw_trace_options opt = { .layout = &l };
        gw_trace_reader *r = open_ok(put("daphnet.txt", "15 70 39 -970 0\n31 70 39 -970 0\n"
                                                         "46 60 49 -960 0\n"), &opt);
        int64_t t[4];
        float v[4][3];
        int n;
        read_all(r, t, v, 4, &n);
        CU_ASSERT_EQUAL(n, 3);
        CU_ASSERT_EQUAL(t[0], 15000000);
        CU_ASSERT_EQUAL(t[2], 46000000);
        CU_ASSERT_EQUAL(v[2][2], (float) (-960 * 1e-3));
        gw_trace_close(r);
}

static void test_foreign_us_and_ns_timestamps(void)
{
        gw_csv_layout l = layout_xyz(0, 1e-6, 100);
        gw_trace_options opt = { .layout = &l };
        gw_trace_reader *r = open_ok(put("us.csv", "1700000000000001,0,0,0\n"), &opt);
        int64_t t;
        float v[3];
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1);
        CU_ASSERT_EQUAL(t, INT64_C(1700000000000001000));
        gw_trace_close(r);
        l.time_unit_s = 1e-9;
        r = open_ok(put("ns.csv", "1700000000000000001,0,0,0\n"), &opt);
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1);
        CU_ASSERT_EQUAL(t, INT64_C(1700000000000000001));
        gw_trace_close(r);
}

/* Appends a random decimal of 1 to 22 digits (sometimes with an exponent,
 * leading zeros, a sign, blanks around) to buf. */
static void random_decimal(char *buf, size_t len, unsigned *seed, bool blanks)
{
        int ni = rand_r(seed) % 12, nf = rand_r(seed) % 12, o = (int) strlen(buf);
        const char *sign = (const char *[]) { "", "-", "+" }[rand_r(seed) % 3];

        if (ni + nf == 0)
                nf = 1;
        o += snprintf(buf + o, len - (size_t) o, "%s%s", blanks && rand_r(seed) % 4 == 0 ? " " : "", sign);
        for (int i = 0; i < ni; i++)
                buf[o++] = (char) ('0' + (i == 0 && rand_r(seed) % 3 ? 0 : rand_r(seed) % 10));
        if (nf > 0 || rand_r(seed) % 8 == 0)
                buf[o++] = '.';
        for (int i = 0; i < nf; i++)
                buf[o++] = (char) ('0' + rand_r(seed) % 10);
        if (rand_r(seed) % 16 == 0)
                o += snprintf(buf + o, len - (size_t) o, "e%d", rand_r(seed) % 7 - 3);
        buf[o] = '\0';
        if (blanks && rand_r(seed) % 4 == 0)
                strcat(buf, "  ");
}

/* The reader's one-pass row parser and its general path (split, then
 * gw_csv_number and gw_csv_time) must agree: values as strtod rounds them,
 * times exact to the nanosecond, for every delimiter. */
static void test_rows_of_decimals_read_exactly_for_every_delimiter(void)
{
        static const char delims[] = { ',', ';', '\t' };
        enum { N = 3000 };
        unsigned seed = 7;

        for (size_t d = 0; d < sizeof delims; d++) {
                static char text[N * 120];
                static float want[N][3];
                static int64_t want_t[N];
                char name[32];
                size_t o = 0;

                for (int i = 0; i < N; i++) {
                        char field[64] = "";
                        int nf = rand_r(&seed) % 10, frac = rand_r(&seed) % 1000000000;
                        int64_t scale = 1;

                        for (int k = nf; k < 9; k++)
                                scale *= 10;
                        frac = (int) (frac / scale);
                        want_t[i] = (int64_t) i * GW_NSEC_PER_SEC + (int64_t) frac * scale;
                        o += (size_t) snprintf(text + o, sizeof text - o, nf ? "%d.%0*d" : "%d",
                                               i, nf, frac);
                        for (int c = 0; c < 3; c++) {
                                field[0] = '\0';
                                random_decimal(field, sizeof field, &seed, delims[d] != '\t');
                                want[i][c] = (float) strtod(field, NULL);
                                o += (size_t) snprintf(text + o, sizeof text - o, "%c%s", delims[d], field);
                        }
                        text[o++] = '\n';
                }
                text[o] = '\0';
                snprintf(name, sizeof name, "decimals-%zu.csv", d);

                gw_csv_layout l = layout_xyz(0, 1, 100);
                l.delimiter = delims[d];
                gw_trace_options opt = { .layout = &l };
                gw_trace_reader *r = open_ok(put(name, text), &opt);
                int bad = 0, n = 0;
                int64_t t;
                float v[3];

                while (n < N && gw_trace_read(r, &t, v, err, sizeof err) == 1) {
                        bad += t != want_t[n] || memcmp(v, want[n], sizeof v) != 0;
                        n++;
                }
                CU_ASSERT_EQUAL(n, N);
                CU_ASSERT_EQUAL(bad, 0);
                gw_trace_close(r);
        }
}

static void test_no_time_column_times_rows_by_rate(void)
{
        gw_csv_layout l = layout_xyz(-1, 0, 64);
        gw_trace_options opt = { .layout = &l, .bad_rows = GW_BAD_ROW_SKIP };
        gw_trace_reader *r = open_ok(put("norate.csv", "1 2 3\n4 5 6\nbad 0 0\n7 8 9\n"), &opt);
        int64_t t[4];
        float v[4][3];
        int n;
        read_all(r, t, v, 4, &n);
        CU_ASSERT_EQUAL(n, 3);
        CU_ASSERT_EQUAL(t[0], 0);
        CU_ASSERT_EQUAL(t[1], 15625000);
        /* The bad row kept its slot: the clock does not slip. */
        CU_ASSERT_EQUAL(t[2], 46875000);
        CU_ASSERT_EQUAL(v[2][0], 7);
        CU_ASSERT_EQUAL(gw_trace_rate(r), 64);
        gw_trace_close(r);
}

static void test_rate_is_estimated_from_a_timed_foreign_file(void)
{
        /* Daphnet: 64 Hz in whole milliseconds, steps of 15 and 16 ms. */
        gw_csv_layout l = layout_xyz(0, 1e-3, 0);
        gw_trace_options opt = { .layout = &l };
        char buf[4096];
        size_t o = 0;
        for (int i = 0; i < 80; i++)
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%d,0,0,%d\n",
                                       (int) floor(i * 15.625), i);
        gw_trace_reader *r = open_ok(put("estimate.csv", buf), &opt);
        CU_ASSERT_DOUBLE_EQUAL(gw_trace_rate(r), 64, 1e-9);
        /* Estimating read ahead: reading starts again at the first row. */
        int64_t t;
        float v[3];
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && t == 0 && v[2] == 0);
        gw_trace_close(r);

        /* A gap of 100 ms among 10 ms steps does not count. */
        o = 0;
        for (int i = 0; i < 30; i++)
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%d,0,0,0\n",
                                       i * 10 + (i >= 15 ? 90 : 0));
        r = open_ok(put("estimate2.csv", buf), &opt);
        CU_ASSERT_DOUBLE_EQUAL(gw_trace_rate(r), 100, 1e-9);
        gw_trace_close(r);

        r = NULL;
        CU_ASSERT(gw_trace_open(put("estimate3.csv", "5,0,0,0\n"), &opt, &r, err, sizeof err) < 0);
        snprintf(expect, sizeof expect, "%s: cannot estimate the sample rate from 1 rows: set "
                 "rate_hz", tmp_path("estimate3.csv"));
        assert_err(expect);
}

static void test_byte_order_mark_is_ignored(void)
{
        gw_csv_layout l = layout_xyz(0, 1, 10);
        gw_trace_options opt = { .layout = &l };
        gw_trace_reader *r = open_ok(put("bom.csv", "\xef\xbb\xbf" "0.5,1,2,3\n"), &opt);
        int64_t t;
        float v[3];
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && t == 500000000);
        gw_trace_close(r);
}

static void test_layout_errors_name_the_key(void)
{
        const char *path = put("any.csv", "0,1,2,3\n");
        gw_csv_layout l = layout_xyz(-1, 0, 0);
        gw_trace_options opt = { .layout = &l };
        open_err(path, &opt);
        assert_err("layout.rate_hz: required without a time column");
        l = layout_xyz(0, 1, 10);
        l.column[1] = 0;
        open_err(path, &opt);
        assert_err("layout.column[1]: 0 is the time column");
        l = layout_xyz(0, 1, 10);
        l.n_channels = 0;
        open_err(path, &opt);
        assert_err("layout.n_channels: 0 out of range 1..32");
        l = layout_xyz(0, 1, 10);
        l.delimiter = '|';
        open_err(path, &opt);
        assert_err("layout.delimiter: 0x7c is not one of ',' ';' tab space");
        l = layout_xyz(0, 1, 10);
        l.channel[2].unit[0] = '\0';
        open_err(path, &opt);
        assert_err("layout.channel[2].unit: empty or longer than 31 bytes");
        l = layout_xyz(0, 1, 10);
        gw_trace_options opt2 = { .layout = &l, .second_path = path };
        open_err(path, &opt2);
        assert_err("second_layout: required with second_path");
        gw_trace_options opt3 = { .layout = &l, .second_path = path, .second_layout = &l };
        open_err(path, &opt3);
        snprintf(expect, sizeof expect,
                 "second_layout.channel[0].name: \"acc_x\" is also a channel of %s", path);
        assert_err(expect);
}

static void test_missing_file_is_named(void)
{
        const char *path = tmp_path("does-not-exist.csv");
        CU_ASSERT_EQUAL(open_err(path, NULL), -ENOENT);
        snprintf(expect, sizeof expect, "%s: No such file or directory", path);
        assert_err(expect);
}

/* ---- merging a second file ---------------------------------------------- */

static void test_merge_interpolates_the_second_file_onto_the_first(void)
{
        /* First file: 100 Hz from 0 to 1 s.  Second: 30 Hz from 0.1 s to
         * 0.9 s, each channel linear in time, so interpolation is exact. */
        char a[8192], b[4096];
        size_t o = 0;
        for (int i = 0; i <= 100; i++)
                o += (size_t) snprintf(a + o, sizeof a - o, "%d,%d,0,0\n", i * 10, i);
        o = 0;
        for (int i = 3; i <= 27; i++) {
                double ts = i / 30.0;
                o += (size_t) snprintf(b + o, sizeof b - o, "%.9f,%.9f,%.9f\n", ts, 2 * ts + 1,
                                       -ts);
        }
        gw_csv_layout la = layout_xyz(0, 1e-3, 100);
        gw_csv_layout lb = { 0 };
        lb.time_column = 0;
        lb.time_unit_s = 1;
        lb.n_channels = 2;
        lb.column[0] = 1;
        lb.column[1] = 2;
        snprintf(lb.channel[0].name, GW_NAME_MAX, "gyro_x");
        snprintf(lb.channel[1].name, GW_NAME_MAX, "gyro_y");
        snprintf(lb.channel[0].unit, GW_NAME_MAX, "rad/s");
        snprintf(lb.channel[1].unit, GW_NAME_MAX, "rad/s");
        gw_trace_options opt = { .layout = &la, .second_path = put("b.csv", b),
                                 .second_layout = &lb };
        gw_trace_reader *r = open_ok(put("a.csv", a), &opt);
        const gw_channel_desc *ch;
        CU_ASSERT_EQUAL(gw_trace_channels(r, &ch), 5);
        CU_ASSERT_STRING_EQUAL(ch[3].name, "gyro_x");
        CU_ASSERT_EQUAL(gw_trace_rate(r), 100);

        int64_t t;
        float v[5];
        int n = 0, exact = 0;
        int64_t first = -1, last = -1;
        while (gw_trace_read(r, &t, v, err, sizeof err) == 1) {
                double ts = t / 1e9;
                if (first < 0)
                        first = t;
                last = t;
                exact += fabs(v[3] - (2 * ts + 1)) < 1e-6 && fabs(v[4] + ts) < 1e-6 &&
                         v[0] == (float) (t / 10000000);
                n++;
        }
        /* 0.10 .. 0.90 s inclusive: the second file's span. */
        CU_ASSERT_EQUAL(first, 100000000);
        CU_ASSERT_EQUAL(last, 900000000);
        CU_ASSERT_EQUAL(n, 81);
        CU_ASSERT_EQUAL(exact, 81);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->merge_dropped, 101 - 81);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->rows, 81);

        CU_ASSERT_EQUAL(gw_trace_rewind(r, err, sizeof err), 0);
        int n2 = 0;
        while (gw_trace_read(r, &t, v, err, sizeof err) == 1)
                n2++;
        CU_ASSERT_EQUAL(n2, 81);
        gw_trace_close(r);
}

static void test_merge_ignores_second_file_rows_that_go_back_in_time(void)
{
        gw_csv_layout la = layout_xyz(0, 1, 10);
        gw_csv_layout lb = { 0 };
        lb.time_column = 0;
        lb.time_unit_s = 1;
        lb.n_channels = 1;
        lb.column[0] = 1;
        snprintf(lb.channel[0].name, GW_NAME_MAX, "gyro_x");
        snprintf(lb.channel[0].unit, GW_NAME_MAX, "rad/s");
        gw_trace_options opt = { .layout = &la, .second_path = put("b2.csv",
                                 "0,0\n1,10\n0.5,99\n2,20\n"), .second_layout = &lb };
        gw_trace_reader *r = open_ok(put("a2.csv", "0.5,0,0,0\n1.5,0,0,0\n"), &opt);
        int64_t t;
        float v[4];
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && v[3] == 5);
        CU_ASSERT(gw_trace_read(r, &t, v, err, sizeof err) == 1 && v[3] == 15);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->second_unordered, 1);
        gw_trace_close(r);
}

static void test_merge_errors_name_the_second_file(void)
{
        gw_csv_layout la = layout_xyz(0, 1, 10);
        gw_csv_layout lb = { 0 };
        lb.time_column = 0;
        lb.time_unit_s = 1;
        lb.n_channels = 1;
        lb.column[0] = 1;
        snprintf(lb.channel[0].name, GW_NAME_MAX, "gyro_x");
        snprintf(lb.channel[0].unit, GW_NAME_MAX, "rad/s");
        const char *bpath = put("b3.csv", "0,0\n1,oops\n2,20\n");
        gw_trace_options opt = { .layout = &la, .second_path = bpath, .second_layout = &lb };
        gw_trace_reader *r = open_ok(put("a3.csv", "0.5,0,0,0\n1.5,0,0,0\n"), &opt);
        int64_t t;
        float v[4];
        CU_ASSERT_EQUAL(gw_trace_read(r, &t, v, err, sizeof err), -EINVAL);
        snprintf(expect, sizeof expect, "%s:2: column 1 (\"gyro_x\"): \"oops\" is not a number",
                 bpath);
        assert_err(expect);
        gw_trace_close(r);
}

static void test_hapt_accelerometer_and_gyroscope_files_merge(void)
{
        /* Real data: HAPT acc and gyro of user 2, 50 Hz, no time column. */
        char apath[512], gpath[512];
        snprintf(apath, sizeof apath, "%s", gw_test_data("trace/hapt_acc_exp03_user02.txt"));
        snprintf(gpath, sizeof gpath, "%s", gw_test_data("trace/hapt_gyro_exp03_user02.txt"));
        gw_csv_layout la = layout_xyz(-1, 0, 50);
        gw_csv_layout lg = layout_xyz(-1, 0, 50);
        for (int i = 0; i < 3; i++) {
                snprintf(lg.channel[i].name, GW_NAME_MAX, "gyro_%c", 'x' + i);
                snprintf(lg.channel[i].unit, GW_NAME_MAX, "rad/s");
        }
        gw_trace_options opt = { .layout = &la, .second_path = gpath, .second_layout = &lg };
        gw_trace_reader *r = open_ok(apath, &opt);

        FILE *fa = fopen(apath, "r"), *fg = fopen(gpath, "r");
        CU_ASSERT_FATAL(fa && fg);
        int64_t t;
        float v[6];
        int n = 0, same = 0;
        while (gw_trace_read(r, &t, v, err, sizeof err) == 1) {
                double e[6];
                if (fscanf(fa, "%lf %lf %lf", &e[0], &e[1], &e[2]) != 3 ||
                    fscanf(fg, "%lf %lf %lf", &e[3], &e[4], &e[5]) != 3)
                        break;
                int ok = t == (int64_t) n * 20000000;
                for (int c = 0; c < 6; c++)
                        ok &= v[c] == (float) e[c];
                same += ok;
                n++;
        }
        fclose(fa);
        fclose(fg);
        CU_ASSERT_EQUAL(n, 300);
        CU_ASSERT_EQUAL(same, 300);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->merge_dropped, 0);
        CU_ASSERT_EQUAL(gw_trace_stats_get(r)->rows, 300);
        gw_trace_close(r);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("csv");
        gw_test_add(s, "split keeps empty fields and trims blanks",
                    test_split_keeps_empty_fields_and_trims_blanks);
        gw_test_add(s, "split on blanks merges runs", test_split_on_blanks_merges_runs);
        gw_test_add(s, "split counts fields beyond the limit",
                    test_split_counts_fields_beyond_the_limit);
        gw_test_add(s, "detect prefers tab, then ';', then ','",
                    test_detect_prefers_tab_then_semicolon_then_comma);
        gw_test_add(s, "number accepts only whole decimal fields",
                    test_number_accepts_only_whole_decimal_fields);
        gw_test_add(s, "number agrees with strtod bit for bit",
                    test_number_agrees_with_strtod_bit_for_bit);
        gw_test_add(s, "number reads a field without a terminator",
                    test_number_reads_a_field_without_a_terminator);
        gw_test_add(s, "time is exact to the nanosecond", test_time_is_exact_to_the_nanosecond);
        gw_test_add(s, "excerpt escapes and cuts", test_excerpt_escapes_and_cuts);

        s = CU_add_suite("trace format", suite_init, suite_clean);
        if (!s)
                exit(2);
        gw_test_add(s, "round trip is bit-exact", test_round_trip_is_bit_exact);
        gw_test_add(s, "dropped metadata leaves the channels, rate and samples",
                    test_dropped_metadata_leaves_channels_and_samples);
        gw_test_add(s, "writer output is the documented text",
                    test_writer_output_is_the_documented_text);
        gw_test_add(s, "writer reports a full disk and keeps going",
                    test_writer_reports_a_full_disk_and_keeps_going);
        gw_test_add(s, "writer refuses non-finite values", test_writer_refuses_non_finite_values);
        gw_test_add(s, "writer refuses names that would break the header",
                    test_writer_refuses_names_that_would_break_the_header);
        gw_test_add(s, "bad rows stop a fatal read naming line and column",
                    test_bad_rows_stop_a_fatal_read_naming_line_and_column);
        gw_test_add(s, "bad rows are counted and skipped in skip mode",
                    test_bad_rows_are_counted_and_skipped_in_skip_mode);
        gw_test_add(s, "overlong line is a bad row and reading resumes after it",
                    test_overlong_line_is_a_bad_row_and_reading_resumes_after_it);
        gw_test_add(s, "CRLF line endings read like LF", test_crlf_line_endings_read_like_lf);
        gw_test_add(s, "final line without newline is read",
                    test_final_line_without_newline_is_read);
        gw_test_add(s, "time units ms, us, ns give nanoseconds",
                    test_time_units_ms_us_ns_give_nanoseconds);
        gw_test_add(s, "unknown channel unit is accepted and reported by name",
                    test_unknown_channel_unit_is_accepted_and_reported_by_name);
        gw_test_add(s, "empty file is refused", test_empty_file_is_refused);
        gw_test_add(s, "header-only file has no rows", test_header_only_file_has_no_rows);
        gw_test_add(s, "missing rate_hz is refused", test_missing_rate_is_refused);
        gw_test_add(s, "bad headers are refused naming the line",
                    test_bad_headers_are_refused_naming_the_line);
        gw_test_add(s, "comments and blank lines are not data",
                    test_comments_and_blank_lines_are_not_data);
        gw_test_add(s, "rewind replays the same samples", test_rewind_replays_the_same_samples);
        gw_test_add(s, "rewind clears a fatal error", test_rewind_clears_a_fatal_error);
        gw_test_add(s, "reading rows allocates nothing", test_reading_rows_allocates_nothing);
        gw_test_add(s, "small read buffers read the same samples as the default",
                    test_small_buffers_read_the_same_samples_as_the_default);
        gw_test_add(s, "a small read buffer cuts an overlong line like the default",
                    test_small_buffer_cuts_an_overlong_line_like_the_default);
        gw_test_add(s, "a small read buffer allocates nothing while lines fit",
                    test_small_buffer_allocates_nothing_while_lines_fit);
        gw_test_add(s, "parsing ignores the process locale",
                    test_parsing_ignores_the_process_locale);

        s = CU_add_suite("foreign csv", suite_init, suite_clean);
        if (!s)
                exit(2);
        gw_test_add(s, "delimiter is detected", test_delimiter_is_detected);
        gw_test_add(s, "errors name file, line and mapped channel",
                    test_foreign_errors_name_file_line_and_mapped_channel);
        gw_test_add(s, "ms timestamps and scale (Daphnet layout)",
                    test_foreign_ms_timestamps_and_scale);
        gw_test_add(s, "us and ns timestamps are exact", test_foreign_us_and_ns_timestamps);
        gw_test_add(s, "rows of decimals of every length read as strtod and exact times, for every delimiter",
                    test_rows_of_decimals_read_exactly_for_every_delimiter);
        gw_test_add(s, "no time column: rows timed by rate",
                    test_no_time_column_times_rows_by_rate);
        gw_test_add(s, "rate is estimated from a timed file",
                    test_rate_is_estimated_from_a_timed_foreign_file);
        gw_test_add(s, "byte order mark is ignored", test_byte_order_mark_is_ignored);
        gw_test_add(s, "layout errors name the key", test_layout_errors_name_the_key);
        gw_test_add(s, "missing file is named", test_missing_file_is_named);
        gw_test_add(s, "merge interpolates the second file onto the first",
                    test_merge_interpolates_the_second_file_onto_the_first);
        gw_test_add(s, "merge ignores second-file rows that go back in time",
                    test_merge_ignores_second_file_rows_that_go_back_in_time);
        gw_test_add(s, "merge errors name the second file", test_merge_errors_name_the_second_file);
        gw_test_add(s, "HAPT accelerometer and gyroscope files merge",
                    test_hapt_accelerometer_and_gyroscope_files_merge);
}
