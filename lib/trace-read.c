/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gaitway/trace.h"
#include "csv-private.h"

/* Large enough for the longest line (GW_TRACE_MAX_LINE) and a hundred rows
 * per read.  A gateway replaying thousands of traces in real time holds one
 * buffer per file and reads a few rows at a time: it asks for a smaller one
 * (gw_trace_options.buffer_size), which grows to READ_BUF at the first line
 * that does not fit. */
#define READ_BUF        (8 * 1024)
#define READ_BUF_MIN    256
#define MAX_META        64
#define ESTIMATE_ROWS   65

/* One input file and how its rows map to channels. */
struct src {
        int fd;
        char *path;
        char *buf;
        size_t cap;               /* READ_BUF, or less until a line needs it */
        size_t beg, end;
        bool eof;
        bool skipping;            /* discarding the rest of an overlong line */
        int64_t buf_off;          /* file offset of buf[0] */
        uint64_t line_no;         /* number of the line last returned */
        int64_t data_off;         /* offset and line number where data rows start */
        uint64_t data_line0;

        char delim;               /* 0 until detected */
        int n_fields;             /* fields per row, 0 until the first data row */
        int time_col;             /* -1: time from rate_hz and the row index */
        double unit_ns;
        double rate_hz;
        uint64_t index;           /* data rows seen, bad ones included */
        int n_ch;
        /* col, scale [n_ch] and role [max_col + 1] in one block (src_tables) */
        int *col;
        double *scale;
        const gw_channel_desc *ch;
        int max_col;
        bool quiet;               /* rate estimation: bad rows are not reported */

        /* The one-pass row parser (fast_row), set up at the first row that
         * knows the delimiter and the field count. */
        int8_t fast;              /* 0 not yet decided, 1 usable, -1 not for this file */
        int unit_pow10;           /* unit_ns = 10^unit_pow10, or -1 */
        int8_t *role;             /* per column up to max_col: channel, ROLE_TIME or ROLE_NONE */
};

#define ROLE_NONE (-1)
#define ROLE_TIME (-2)

/* The second file of a merge and its samples around the current first-file
 * time. */
struct second {
        struct src s;
        float prev_v[GW_TRACE_MAX_CHANNELS], next_v[GW_TRACE_MAX_CHANNELS];
};

/* A gateway replaying thousands of traces keeps a reader per device: what
 * only some readers need (a second file) is allocated when needed, and the
 * rest is sized to the file. */
struct gw_trace_reader {
        gw_bad_row_policy policy;
        locale_t loc;
        struct src a;
        struct src *b;            /* &second->s when merging */
        struct second *second;
        bool merge;
        int n_ch;
        gw_channel_desc *ch;      /* [n_ch] */
        double rate_hz;

        /* "key\0value\0" for each metadata line, back to back */
        int n_meta;
        char *meta;
        size_t meta_len;

        gw_trace_stats stats;
        int failed;               /* sticky fatal error of this pass */

        bool b_started, have_prev, have_next;
        int64_t prev_t, next_t;

        /* Last: what reading a good row touches comes first (a gateway
         * serving thousands of readers fetches it ahead, see
         * source-replay.c). */
        char last_error[GW_ERR_MAX];
        char first_error[GW_ERR_MAX];
};


/* ---- lines --------------------------------------------------------------- */

static int src_fill(struct src *s)
{
        if (s->beg > 0) {
                memmove(s->buf, s->buf + s->beg, s->end - s->beg);
                s->buf_off += (int64_t) s->beg;
                s->end -= s->beg;
                s->beg = 0;
        }
        if (s->end == s->cap && s->cap < READ_BUF) {
                /* A line longer than the small buffer: once per file. */
                char *b = realloc(s->buf, READ_BUF);
                if (!b)
                        return -ENOMEM;
                s->buf = b;
                s->cap = READ_BUF;
        }
        for (;;) {
                ssize_t n = read(s->fd, s->buf + s->end, s->cap - s->end);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        s->eof = true;
                s->end += (size_t) n;
                return 0;
        }
}

/* Returns 1 with the next line (newline and a trailing CR removed), 0 at
 * end of file or a negative errno.  An overlong line is returned cut, with
 * *too_long set; its remainder is skipped on the following calls. */
static int src_line(struct src *s, const char **line, size_t *len, bool *too_long)
{
        *too_long = false;
        for (;;) {
                char *p = s->buf + s->beg;
                size_t avail = s->end - s->beg;
                char *nl = memchr(p, '\n', avail);

                if (s->skipping) {
                        if (nl) {
                                s->beg += (size_t) (nl - p) + 1;
                                s->skipping = false;
                                continue;
                        }
                        s->beg = s->end;
                        if (s->eof) {
                                s->skipping = false;
                                return 0;
                        }
                        int r = src_fill(s);
                        if (r < 0)
                                return r;
                        continue;
                }

                size_t n;
                if (nl)
                        n = (size_t) (nl - p);
                else if (avail > GW_TRACE_MAX_LINE + 1)
                        n = avail;
                else if (s->eof) {
                        if (avail == 0)
                                return 0;
                        n = avail;
                } else {
                        int r = src_fill(s);
                        if (r < 0)
                                return r;
                        continue;
                }

                s->line_no++;
                size_t used = nl ? n + 1 : n;
                size_t m = gw_csv_chomp(p, n);
                if (s->line_no == 1 && m >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
                        p += 3;
                        m -= 3;
                }
                if (m > GW_TRACE_MAX_LINE) {
                        *too_long = true;
                        m = GW_TRACE_MAX_LINE;
                        if (!nl)
                                s->skipping = true;
                }
                s->beg += used;
                *line = p;
                *len = m;
                return 1;
        }
}

static int src_rewind(struct src *s)
{
        if (lseek(s->fd, (off_t) s->data_off, SEEK_SET) < 0)
                return -errno;
        s->beg = s->end = 0;
        s->buf_off = s->data_off;
        s->eof = false;
        s->skipping = false;
        s->line_no = s->data_line0;
        s->index = 0;
        return 0;
}

static void src_mark_data(struct src *s)
{
        s->data_off = s->buf_off + (int64_t) s->beg;
        s->data_line0 = s->line_no;
}

/* ---- errors -------------------------------------------------------------- */

static const char *col_name(const struct src *s, int c)
{
        if (c == s->time_col)
                return "time";
        for (int i = 0; i < s->n_ch; i++)
                if (s->col[i] == c)
                        return s->ch[i].name;
        return "";
}

static int field_error(const struct src *s, int c, gw_csv_status st, const gw_csv_field *f,
                       char *msg, size_t msglen)
{
        char ex[200];
        if (st == GW_CSV_EMPTY)
                return gw_error(msg, msglen, EINVAL, "%s:%llu: column %d (\"%s\"): empty field",
                                s->path, (unsigned long long) s->line_no, c, col_name(s, c));
        return gw_error(msg, msglen, EINVAL, "%s:%llu: column %d (\"%s\"): \"%s\" %s", s->path,
                        (unsigned long long) s->line_no, c, col_name(s, c),
                        gw_csv_excerpt(ex, sizeof ex, f->p, f->n), gw_csv_status_str(st));
}

static void note_bad_row(gw_trace_reader *r, const struct src *s, const char *msg)
{
        if (s->quiet)
                return;
        r->stats.bad_rows++;
        if (r->stats.first_bad_line == 0) {
                r->stats.first_bad_line = s->line_no;
                snprintf(r->first_error, sizeof r->first_error, "%s", msg);
        }
        snprintf(r->last_error, sizeof r->last_error, "%s", msg);
}

/* ---- rows ---------------------------------------------------------------- */

static void fast_setup(struct src *s)
{
        double p = 1;

        s->fast = -1;
        /* Blank-separated rows have their own field rules. */
        if (s->delim != ',' && s->delim != ';' && s->delim != '\t')
                return;
        if (s->n_fields <= 0 || s->n_fields > GW_CSV_MAX_FIELDS || s->time_col >= s->n_fields)
                return;
        for (int c = 0; c < s->n_fields && c <= s->max_col; c++)
                s->role[c] = ROLE_NONE;
        if (s->time_col >= 0)
                s->role[s->time_col] = ROLE_TIME;
        for (int i = 0; i < s->n_ch; i++) {
                if (s->col[i] < 0 || s->col[i] >= s->n_fields || s->role[s->col[i]] != ROLE_NONE)
                        return;
                s->role[s->col[i]] = (int8_t) i;
        }
        s->unit_pow10 = -1;
        for (int d = 0; d <= 9; d++, p *= 10)
                if (s->unit_ns == p)
                        s->unit_pow10 = d;
        s->fast = 1;
}

/* A run of decimal digits from p into *v (v = v * 10^k + digits, modulo
 * 2^64).  Eight bytes at a time while eight remain before end (SWAR: find
 * the first non-digit byte, then combine the digits pairwise), one at a
 * time near the end; never reads at or past end.  Returns the end of the
 * run. */
static inline const char *digit_run(const char *p, const char *end, uint64_t *v)
{
        static const uint64_t pow10_8[9] = {
                1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
        };
        const uint64_t ones = UINT64_C(0x0101010101010101);
        uint64_t acc = *v;

        while (end - p >= 8) {
                uint64_t w, x, bad, d;
                int k;

                memcpy(&w, p, sizeof w);
                x = w ^ (ones * '0');                          /* digits become 0..9 */
                bad = (((x & (ones * 0x7f)) + ones * 0x76) | x) & (ones * 0x80);
                k = bad ? __builtin_ctzll(bad) / 8 : 8;        /* little-endian: first byte lowest */
                if (k == 0)
                        break;
                /* the k digits, as the last k bytes of "000..digits" */
                d = k == 8 ? x : x << (8 * (8 - k));
                d = d * 10 + (d >> 8);
                d = (((d & UINT64_C(0x000000ff000000ff)) * UINT64_C(0x000f424000000064)) +
                     (((d >> 16) & UINT64_C(0x000000ff000000ff)) * UINT64_C(0x0000271000000001))) >> 32;
                acc = acc * pow10_8[k] + d;
                p += k;
                if (k < 8) {
                        *v = acc;
                        return p;
                }
        }
        while (p < end && (unsigned char) (*p - '0') < 10)
                acc = acc * 10 + (unsigned char) (*p++ - '0');
        *v = acc;
        return p;
}

/* [+-]?digits[.digits] with at most 19 digits from p: the digits as one
 * integer (exact: 10^19 < 2^64), how many follow the point, the sign.
 * Returns where the number ends, or NULL for anything else. */
static inline const char *plain_decimal(const char *p, const char *end, uint64_t *m, int *frac,
                                        bool *neg)
{
        uint64_t v = 0;
        const char *d;
        size_t ni, nf = 0;

        *neg = false;
        if (p < end && (*p == '-' || *p == '+'))
                *neg = *p++ == '-';
        /* integer parts are short (often "0"): byte by byte */
        d = p;
        while (p < end && (unsigned char) (*p - '0') < 10)
                v = v * 10 + (unsigned char) (*p++ - '0');
        ni = (size_t) (p - d);
        if (p < end && *p == '.') {
                d = ++p;
                p = digit_run(p, end, &v);
                nf = (size_t) (p - d);
        }
        if (ni + nf == 0 || ni + nf > 19)
                return NULL;
        *m = v;
        *frac = (int) nf;
        return p;
}

/* The common row in one pass, without splitting it first: every mapped
 * field a plain decimal (plain_decimal), blanks around fields, exactly
 * n_fields fields.  Gives exactly what src_parse_row's general path gives:
 * values through the same Clinger fast path as gw_csv_number (at most 19
 * digits, m <= 2^53, 10^frac exact), times through gw_csv_time's fixed
 * point.  Returns 1 with *t and v set, 0 when the row needs the general
 * path, which also words every error. */
static int fast_row(const struct src *s, const char *line, size_t len, int64_t *t, float *v)
{
        static const double p10[] = {
                1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        };
        static const int64_t i10[] = {
                1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
        };
        const char *p = line, *end = line + len;
        const char delim = s->delim;
        const bool tab_blank = delim != '\t';

        for (int c = 0;; c++) {
                int role;

                if (c >= s->n_fields)
                        return 0;
                role = c <= s->max_col ? s->role[c] : ROLE_NONE;
                if (role == ROLE_NONE) {
                        const char *d = memchr(p, delim, (size_t) (end - p));

                        if (!d) {
                                if (c + 1 != s->n_fields)
                                        return 0;
                                break;
                        }
                        p = d + 1;
                        continue;
                }

                uint64_t m;
                int frac;
                bool neg;

                while (p < end && (*p == ' ' || (tab_blank && *p == '\t')))
                        p++;
                p = plain_decimal(p, end, &m, &frac, &neg);
                if (!p)
                        return 0;
                while (p < end && (*p == ' ' || (tab_blank && *p == '\t')))
                        p++;
                if (role == ROLE_TIME) {
                        int scale = s->unit_pow10 - frac;

                        if (s->unit_pow10 < 0 || scale < 0 || m > (uint64_t) (INT64_MAX / i10[scale]))
                                return 0;
                        *t = (int64_t) m * i10[scale];
                        if (neg)
                                *t = -*t;
                } else {
                        double x;

                        if (m > (UINT64_C(1) << 53))
                                return 0;
                        x = (double) m;
                        if (frac > 0)
                                x /= p10[frac];
                        x = neg ? -x : x;
                        x *= s->scale[role];
                        if (!isfinite((float) x))
                                return 0;
                        v[role] = (float) x;
                }
                if (p == end) {
                        if (c + 1 != s->n_fields)
                                return 0;
                        break;
                }
                if (*p != delim)
                        return 0;
                p++;
        }
        if (s->time_col < 0)
                *t = llround((double) s->index * 1e9 / s->rate_hz);
        return 1;
}

static int src_parse_row(gw_trace_reader *r, struct src *s, const char *line, size_t len,
                         int64_t *t, float *v, char *msg, size_t msglen)
{
        gw_csv_field f[GW_CSV_MAX_FIELDS];

        if (s->fast == 0 && s->delim && s->n_fields > 0)
                fast_setup(s);
        if (s->fast > 0 && fast_row(s, line, len, t, v))
                return 0;

        if (!s->delim)
                s->delim = gw_csv_detect(line, len);
        int nf = gw_csv_split(line, len, s->delim, f, GW_CSV_MAX_FIELDS);
        if (nf > GW_CSV_MAX_FIELDS)
                return gw_error(msg, msglen, EINVAL, "%s:%llu: %d fields, more than %d",
                                s->path, (unsigned long long) s->line_no, nf, GW_CSV_MAX_FIELDS);
        if (s->n_fields == 0) {
                if (nf <= s->max_col)
                        return gw_error(msg, msglen, EINVAL,
                                        "%s:%llu: %d fields, but column %d (\"%s\") is mapped",
                                        s->path, (unsigned long long) s->line_no, nf, s->max_col,
                                        col_name(s, s->max_col));
                s->n_fields = nf;
        } else if (nf != s->n_fields)
                return gw_error(msg, msglen, EINVAL, "%s:%llu: expected %d fields, found %d",
                                s->path, (unsigned long long) s->line_no, s->n_fields, nf);

        if (s->time_col >= 0) {
                const gw_csv_field *tf = &f[s->time_col];
                gw_csv_status st = gw_csv_time(tf->p, tf->n, s->unit_ns, r->loc, t);
                if (st != GW_CSV_OK)
                        return field_error(s, s->time_col, st, tf, msg, msglen);
        } else
                *t = llround((double) s->index * 1e9 / s->rate_hz);

        for (int i = 0; i < s->n_ch; i++) {
                const gw_csv_field *vf = &f[s->col[i]];
                double x;
                gw_csv_status st = gw_csv_number(vf->p, vf->n, r->loc, &x);
                if (st == GW_CSV_OK) {
                        x *= s->scale[i];
                        /* The value must survive the narrowing to float. */
                        if (!isfinite((float) x))
                                st = GW_CSV_RANGE;
                }
                if (st != GW_CSV_OK)
                        return field_error(s, s->col[i], st, vf, msg, msglen);
                v[i] = (float) x;
        }
        return 0;
}

/* Returns 1 with the next good row, 0 at end of file, or a negative errno
 * (I/O error, or a bad row under GW_BAD_ROW_FATAL). */
static int src_next(gw_trace_reader *r, struct src *s, int64_t *t, float *v, char *err,
                    size_t errlen)
{
        for (;;) {
                const char *line;
                size_t len;
                bool too_long;
                char msg[GW_ERR_MAX];
                int k = src_line(s, &line, &len, &too_long);

                if (k < 0) {
                        errno = -k;
                        gw_error(msg, sizeof msg, -k, "%s:%llu: read error: %m", s->path,
                                 (unsigned long long) s->line_no + 1);
                        snprintf(r->last_error, sizeof r->last_error, "%s", msg);
                        gw_error(err, errlen, -k, "%s", msg);
                        return k;
                }
                if (k == 0)
                        return 0;

                int q;
                if (too_long)
                        q = gw_error(msg, sizeof msg, EINVAL, "%s:%llu: line longer than %d bytes",
                                     s->path, (unsigned long long) s->line_no, GW_TRACE_MAX_LINE);
                else if (gw_csv_blank(line, len))
                        continue;
                else
                        q = src_parse_row(r, s, line, len, t, v, msg, sizeof msg);
                /* A bad row still held a sample slot: rate-timed files keep
                 * their clock. */
                s->index++;
                if (q == 0)
                        return 1;
                if (s->quiet)
                        continue;
                note_bad_row(r, s, msg);
                if (r->policy == GW_BAD_ROW_FATAL) {
                        gw_error(err, errlen, EINVAL, "%s", msg);
                        return q;
                }
        }
}

/* ---- merge --------------------------------------------------------------- */

static int b_fill(gw_trace_reader *r, char *err, size_t errlen)
{
        for (;;) {
                int64_t t;
                int k = src_next(r, r->b, &t, r->second->next_v, err, errlen);
                if (k <= 0) {
                        r->have_next = false;
                        return k;
                }
                if (r->have_prev && t <= r->prev_t) {
                        r->stats.second_unordered++;
                        continue;
                }
                r->next_t = t;
                r->have_next = true;
                return 1;
        }
}

/* Fills out with the second file's channels at time t.  Returns 1, 0 when t
 * is outside the second file's span, or a negative errno. */
static int merge_at(gw_trace_reader *r, int64_t t, float *out, char *err, size_t errlen)
{
        int nb = r->b->n_ch;

        if (!r->b_started) {
                r->b_started = true;
                int k = b_fill(r, err, errlen);
                if (k < 0)
                        return k;
        }
        while (r->have_next && r->next_t < t) {
                r->prev_t = r->next_t;
                memcpy(r->second->prev_v, r->second->next_v, sizeof(float) * (size_t) nb);
                r->have_prev = true;
                int k = b_fill(r, err, errlen);
                if (k < 0)
                        return k;
        }
        const float *prev_v = r->second->prev_v, *next_v = r->second->next_v;
        if (r->have_next && r->next_t == t) {
                memcpy(out, next_v, sizeof(float) * (size_t) nb);
                return 1;
        }
        if (r->have_prev && r->prev_t == t) {
                memcpy(out, prev_v, sizeof(float) * (size_t) nb);
                return 1;
        }
        if (r->have_prev && r->have_next && r->prev_t < t && t < r->next_t) {
                double w = (double) (t - r->prev_t) / (double) (r->next_t - r->prev_t);
                for (int i = 0; i < nb; i++)
                        out[i] = (float) ((double) prev_v[i] +
                                          ((double) next_v[i] - (double) prev_v[i]) * w);
                return 1;
        }
        return 0;
}

int gw_trace_read(gw_trace_reader *r, int64_t *t_ns, float *values, char *err, size_t errlen)
{
        if (r->failed)
                return gw_error(err, errlen, -r->failed, "%s", r->last_error);
        for (;;) {
                int k = src_next(r, &r->a, t_ns, values, err, errlen);
                if (k > 0 && r->merge) {
                        k = merge_at(r, *t_ns, values + r->a.n_ch, err, errlen);
                        if (k == 0) {
                                r->stats.merge_dropped++;
                                continue;
                        }
                }
                if (k < 0) {
                        r->failed = k;
                        return k;
                }
                if (k > 0)
                        r->stats.rows++;
                return k;
        }
}

/* ---- opening ------------------------------------------------------------- */

static int src_open(struct src *s, const char *path, size_t cap, char *err, size_t errlen)
{
        s->fd = -1;
        s->path = strdup(path);
        s->cap = cap == 0 || cap > READ_BUF ? READ_BUF : cap < READ_BUF_MIN ? READ_BUF_MIN : cap;
        s->buf = malloc(s->cap);
        if (!s->path || !s->buf)
                return gw_error(err, errlen, ENOMEM, "%s: out of memory", path);
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
                int e = errno;
                return gw_error(err, errlen, e, "%s: %s", path, strerror(e));
        }
        return 0;
}

static void src_close(struct src *s)
{
        if (s->fd >= 0)
                close(s->fd);
        free(s->path);
        free(s->buf);
        free(s->scale);
        memset(s, 0, sizeof *s);
        s->fd = -1;
}

static int check_name(const char *s, size_t max)
{
        size_t n = strnlen(s, max);
        if (n == 0 || n == max)
                return -1;
        return 0;
}

static int layout_check(const gw_csv_layout *l, const char *key, char *err, size_t errlen)
{
        if (!(l->delimiter == 0 || l->delimiter == ',' || l->delimiter == ';' ||
              l->delimiter == '\t' || l->delimiter == ' '))
                return gw_error(err, errlen, EINVAL,
                                "%s.delimiter: 0x%02x is not one of ',' ';' tab space", key,
                                (unsigned char) l->delimiter);
        if (l->skip_rows < 0)
                return gw_error(err, errlen, EINVAL, "%s.skip_rows: %d is negative", key,
                                l->skip_rows);
        if (l->time_column < -1 || l->time_column >= GW_CSV_MAX_FIELDS)
                return gw_error(err, errlen, EINVAL, "%s.time_column: %d out of range -1..%d", key,
                                l->time_column, GW_CSV_MAX_FIELDS - 1);
        if (!isfinite(l->time_unit_s) || l->time_unit_s < 0)
                return gw_error(err, errlen, EINVAL, "%s.time_unit_s: %g is not a positive number",
                                key, l->time_unit_s);
        if (!isfinite(l->rate_hz) || l->rate_hz < 0)
                return gw_error(err, errlen, EINVAL, "%s.rate_hz: %g is not a positive number",
                                key, l->rate_hz);
        if (l->time_column < 0 && l->rate_hz == 0)
                return gw_error(err, errlen, EINVAL, "%s.rate_hz: required without a time column",
                                key);
        if (l->n_channels < 1 || l->n_channels > GW_TRACE_MAX_CHANNELS)
                return gw_error(err, errlen, EINVAL, "%s.n_channels: %d out of range 1..%d", key,
                                l->n_channels, GW_TRACE_MAX_CHANNELS);
        for (int i = 0; i < l->n_channels; i++) {
                if (l->column[i] < 0 || l->column[i] >= GW_CSV_MAX_FIELDS)
                        return gw_error(err, errlen, EINVAL, "%s.column[%d]: %d out of range 0..%d",
                                        key, i, l->column[i], GW_CSV_MAX_FIELDS - 1);
                if (l->column[i] == l->time_column)
                        return gw_error(err, errlen, EINVAL,
                                        "%s.column[%d]: %d is the time column", key, i,
                                        l->column[i]);
                if (check_name(l->channel[i].name, GW_NAME_MAX) < 0)
                        return gw_error(err, errlen, EINVAL,
                                        "%s.channel[%d].name: empty or longer than %d bytes", key,
                                        i, GW_NAME_MAX - 1);
                if (check_name(l->channel[i].unit, GW_NAME_MAX) < 0)
                        return gw_error(err, errlen, EINVAL,
                                        "%s.channel[%d].unit: empty or longer than %d bytes", key,
                                        i, GW_NAME_MAX - 1);
                if (!isfinite(l->scale[i]))
                        return gw_error(err, errlen, EINVAL, "%s.scale[%d]: %g is not finite", key,
                                        i, l->scale[i]);
        }
        return 0;
}

/* The per-channel tables, sized to the file: a gateway keeps a reader per
 * device. */
static int src_tables(struct src *s, int n_ch, int max_col)
{
        char *b = calloc(1, (size_t) n_ch * (sizeof *s->scale + sizeof *s->col) + (size_t) max_col + 1);
        if (!b)
                return -ENOMEM;
        s->scale = (double *) b;
        s->col = (int *) (s->scale + n_ch);
        s->role = (int8_t *) (s->col + n_ch);
        s->max_col = max_col;
        return 0;
}

/* Binds a foreign layout to a source whose channels start at ch. */
static int src_apply_layout(struct src *s, const gw_csv_layout *l, gw_channel_desc *ch)
{
        int max_col = l->time_column;

        for (int i = 0; i < l->n_channels; i++)
                if (l->column[i] > max_col)
                        max_col = l->column[i];
        if (src_tables(s, l->n_channels, max_col) < 0)
                return -ENOMEM;
        s->delim = l->delimiter;
        s->time_col = l->time_column;
        s->unit_ns = (l->time_unit_s > 0 ? l->time_unit_s : 1.0) * 1e9;
        /* 1e-3 * 1e9 is not exactly 1e6 in binary: snap to the power of ten
         * meant so the exact time parser applies. */
        double lg = log10(s->unit_ns);
        if (fabs(lg - nearbyint(lg)) < 1e-9)
                s->unit_ns = pow(10, nearbyint(lg));
        s->rate_hz = l->rate_hz;
        s->n_ch = l->n_channels;
        s->ch = ch;
        for (int i = 0; i < l->n_channels; i++) {
                s->col[i] = l->column[i];
                s->scale[i] = l->scale[i] != 0 ? l->scale[i] : 1.0;
                ch[i] = l->channel[i];
        }
        return 0;
}

static int skip_rows(struct src *s, int n, char *err, size_t errlen)
{
        for (int i = 0; i < n; i++) {
                const char *line;
                size_t len;
                bool too_long;
                int k = src_line(s, &line, &len, &too_long);
                if (k < 0) {
                        errno = -k;
                        return gw_error(err, errlen, -k, "%s: read error: %m", s->path);
                }
                if (k == 0)
                        break;
        }
        src_mark_data(s);
        return 0;
}

/* The mean of the steps near the median: the median alone ignores gaps and
 * jitter but not quantisation (Daphnet's 64 Hz in whole ms steps 15 and 16
 * ms, median 16, mean 15.625). */
static double typical_step(int64_t *d, int n)
{
        for (int i = 1; i < n; i++)
                for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
                        int64_t x = d[j];
                        d[j] = d[j - 1];
                        d[j - 1] = x;
                }
        double med = n % 2 ? (double) d[n / 2] : 0.5 * ((double) d[n / 2 - 1] + (double) d[n / 2]);
        double sum = 0;
        int k = 0;
        for (int i = 0; i < n; i++)
                if (d[i] >= 0.5 * med && d[i] <= 1.5 * med) {
                        sum += (double) d[i];
                        k++;
                }
        /* Two middle steps far apart (1 ms and 100 ms) leave none near
         * their mean: the median is then the best guess there is. */
        return k ? sum / k : med;
}

/* The nominal rate of a timed foreign file, from the steps of its first
 * rows. */
static int estimate_rate(gw_trace_reader *r, struct src *s, char *err, size_t errlen)
{
        int64_t d[ESTIMATE_ROWS];
        float v[GW_TRACE_MAX_CHANNELS];
        int64_t t, last = 0;
        int n = 0, rows = 0;

        s->quiet = true;
        while (rows < ESTIMATE_ROWS) {
                int k = src_next(r, s, &t, v, NULL, 0);
                if (k < 0) {
                        s->quiet = false;
                        errno = -k;
                        return gw_error(err, errlen, -k, "%s: read error: %m", s->path);
                }
                if (k == 0)
                        break;
                if (rows > 0 && t > last)
                        d[n++] = t - last;
                last = t;
                rows++;
        }
        s->quiet = false;
        if (n == 0)
                return gw_error(err, errlen, EINVAL,
                                "%s: cannot estimate the sample rate from %d rows: set rate_hz",
                                s->path, rows);
        s->rate_hz = 1e9 / typical_step(d, n);
        int k = src_rewind(s);
        if (k < 0)
                return gw_error(err, errlen, -k, "%s: cannot rewind after estimating the rate: %s",
                                s->path, strerror(-k));
        return 0;
}

static int meta_add(gw_trace_reader *r, struct src *s, const char *key, size_t kn,
                    const char *val, size_t vn, char *err, size_t errlen)
{
        const char *m = r->meta;
        for (int i = 0; i < r->n_meta; i++) {
                size_t mk = strlen(m);
                if (mk == kn && memcmp(m, key, kn) == 0)
                        return gw_error(err, errlen, EINVAL,
                                        "%s:%llu: duplicate metadata key \"%.*s\"", s->path,
                                        (unsigned long long) s->line_no, (int) kn, key);
                m += mk + 1;
                m += strlen(m) + 1;
        }
        if (r->n_meta == MAX_META)
                return gw_error(err, errlen, EINVAL, "%s:%llu: more than %d metadata lines",
                                s->path, (unsigned long long) s->line_no, MAX_META);
        /* Every line in one block (trimmed to size after the header): a
         * trace's header may hold dozens of lines, and a gateway replaying
         * thousands of traces keeps them all. */
        char *kv = realloc(r->meta, r->meta_len + kn + 1 + vn + 1);
        if (!kv)
                return gw_error(err, errlen, ENOMEM, "%s: out of memory", s->path);
        r->meta = kv;
        kv += r->meta_len;
        memcpy(kv, key, kn);
        kv[kn] = '\0';
        memcpy(kv + kn + 1, val, vn);
        kv[kn + 1 + vn] = '\0';
        r->meta_len += kn + 1 + vn + 1;
        r->n_meta++;
        return 0;
}

static int is_key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
}

/* "# key: value" is metadata; any other '#' line is a comment. */
static int parse_meta_line(gw_trace_reader *r, struct src *s, const char *line, size_t len,
                           char *err, size_t errlen)
{
        size_t i = 1;
        while (i < len && line[i] == ' ')
                i++;
        size_t k0 = i;
        while (i < len && is_key_char(line[i]))
                i++;
        size_t k1 = i;
        if (k1 == k0 || i >= len || line[i] != ':')
                return 0;
        i++;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
                i++;
        size_t v1 = len;
        while (v1 > i && (line[v1 - 1] == ' ' || line[v1 - 1] == '\t'))
                v1--;
        return meta_add(r, s, line + k0, k1 - k0, line + i, v1 - i, err, errlen);
}

static int valid_label(const char *p, size_t n)
{
        if (n == 0 || n >= GW_NAME_MAX)
                return 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) p[i];
                if (c <= ' ' || c == 0x7f || c == ',' || c == '[' || c == ']')
                        return 0;
        }
        return 1;
}

static int parse_header_row(gw_trace_reader *r, struct src *s, const char *line, size_t len,
                            char *err, size_t errlen)
{
        gw_csv_field f[GW_CSV_MAX_FIELDS];
        char ex[200];
        int nf = gw_csv_split(line, len, ',', f, GW_CSV_MAX_FIELDS);
        unsigned long long ln = (unsigned long long) s->line_no;

        if (nf < 2)
                return gw_error(err, errlen, EINVAL,
                                "%s:%llu: header row has no channel after the time column",
                                s->path, ln);
        if (nf - 1 > GW_TRACE_MAX_CHANNELS)
                return gw_error(err, errlen, EINVAL, "%s:%llu: %d channels, more than %d",
                                s->path, ln, nf - 1, GW_TRACE_MAX_CHANNELS);
        r->ch = calloc((size_t) nf - 1, sizeof *r->ch);
        if (!r->ch || src_tables(s, nf - 1, nf - 1) < 0)
                return gw_error(err, errlen, ENOMEM, "%s: out of memory", s->path);

        for (int c = 0; c < nf; c++) {
                const char *p = f[c].p;
                size_t n = f[c].n;
                const char *open_b = memchr(p, '[', n);
                if (!open_b || n < 3 || p[n - 1] != ']')
                        return gw_error(err, errlen, EINVAL,
                                        "%s:%llu: column %d: \"%s\" is not name[unit]", s->path,
                                        ln, c, gw_csv_excerpt(ex, sizeof ex, p, n));
                size_t nn = (size_t) (open_b - p);
                const char *u = open_b + 1;
                size_t un = n - nn - 2;
                if (!valid_label(p, nn) || !valid_label(u, un))
                        return gw_error(err, errlen, EINVAL,
                                        "%s:%llu: column %d: \"%s\": name and unit must be 1..%d "
                                        "bytes without blanks, ',', '[' or ']'",
                                        s->path, ln, c, gw_csv_excerpt(ex, sizeof ex, p, n),
                                        GW_NAME_MAX - 1);
                if (c == 0) {
                        static const struct { const char *u; double ns; } units[] = {
                                { "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 }, { "ns", 1 },
                        };
                        if (nn != 4 || memcmp(p, "time", 4) != 0)
                                return gw_error(err, errlen, EINVAL,
                                                "%s:%llu: column 0: \"%s\": the first column must "
                                                "be time[s], time[ms], time[us] or time[ns]",
                                                s->path, ln, gw_csv_excerpt(ex, sizeof ex, p, n));
                        s->unit_ns = 0;
                        for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
                                if (strlen(units[k].u) == un && memcmp(units[k].u, u, un) == 0)
                                        s->unit_ns = units[k].ns;
                        if (s->unit_ns == 0)
                                return gw_error(err, errlen, EINVAL,
                                                "%s:%llu: column 0: time unit \"%s\" is not s, "
                                                "ms, us or ns",
                                                s->path, ln, gw_csv_excerpt(ex, sizeof ex, u, un));
                        continue;
                }
                gw_channel_desc *d = &r->ch[c - 1];
                memcpy(d->name, p, nn);
                d->name[nn] = '\0';
                memcpy(d->unit, u, un);
                d->unit[un] = '\0';
                for (int k = 0; k < c - 1; k++)
                        if (strcmp(r->ch[k].name, d->name) == 0)
                                return gw_error(err, errlen, EINVAL,
                                                "%s:%llu: column %d: channel \"%s\" appears twice",
                                                s->path, ln, c, d->name);
                s->col[c - 1] = c;
                s->scale[c - 1] = 1.0;
        }
        s->delim = ',';
        s->n_fields = nf;
        s->time_col = 0;
        s->n_ch = nf - 1;
        s->ch = r->ch;
        return 0;
}

static int open_gaitway(gw_trace_reader *r, struct src *s, char *err, size_t errlen)
{
        const char *line;
        size_t len;
        bool too_long;
        char ex[200];
        const char magic[] = "# gaitway-trace ";

        int k = src_line(s, &line, &len, &too_long);
        if (k < 0) {
                errno = -k;
                return gw_error(err, errlen, -k, "%s: read error: %m", s->path);
        }
        if (k == 0)
                return gw_error(err, errlen, EINVAL,
                                "%s: empty file, expected \"# gaitway-trace 1\"", s->path);
        if (too_long || len < sizeof magic || memcmp(line, magic, sizeof magic - 1) != 0)
                return gw_error(err, errlen, EINVAL,
                                "%s:1: not a gaitway trace (the first line must be "
                                "\"# gaitway-trace 1\")", s->path);
        const char *ver = line + sizeof magic - 1;
        size_t vn = len - (sizeof magic - 1);
        while (vn > 0 && (ver[vn - 1] == ' ' || ver[vn - 1] == '\t'))
                vn--;
        if (vn != 1 || ver[0] != '1')
                return gw_error(err, errlen, EPROTONOSUPPORT,
                                "%s:1: gaitway-trace version \"%s\" is not supported (1 is)",
                                s->path, gw_csv_excerpt(ex, sizeof ex, ver, vn));

        for (;;) {
                k = src_line(s, &line, &len, &too_long);
                if (k < 0) {
                        errno = -k;
                        return gw_error(err, errlen, -k, "%s: read error: %m", s->path);
                }
                if (k == 0)
                        return gw_error(err, errlen, EINVAL,
                                        "%s:%llu: end of file before the header row", s->path,
                                        (unsigned long long) s->line_no);
                if (too_long)
                        return gw_error(err, errlen, EINVAL, "%s:%llu: line longer than %d bytes",
                                        s->path, (unsigned long long) s->line_no,
                                        GW_TRACE_MAX_LINE);
                if (gw_csv_blank(line, len))
                        continue;
                if (line[0] == '#') {
                        k = parse_meta_line(r, s, line, len, err, errlen);
                        if (k < 0)
                                return k;
                        continue;
                }
                k = parse_header_row(r, s, line, len, err, errlen);
                if (k < 0)
                        return k;
                break;
        }

        const char *rate = gw_trace_meta(r, "rate_hz");
        unsigned long long ln = (unsigned long long) s->line_no;
        if (!rate)
                return gw_error(err, errlen, EINVAL,
                                "%s:%llu: no \"# rate_hz: <Hz>\" line before the header row",
                                s->path, ln);
        double hz;
        gw_csv_status st = gw_csv_number(rate, strlen(rate), r->loc, &hz);
        if (st != GW_CSV_OK)
                return gw_error(err, errlen, EINVAL, "%s: rate_hz: \"%s\" %s", s->path,
                                gw_csv_excerpt(ex, sizeof ex, rate, strlen(rate)),
                                gw_csv_status_str(st));
        if (!(hz > 0))
                return gw_error(err, errlen, EINVAL, "%s: rate_hz: %g is not positive", s->path,
                                hz);
        s->rate_hz = hz;
        src_mark_data(s);
        return 0;
}

static int open_foreign(gw_trace_reader *r, struct src *s, const gw_csv_layout *l,
                        gw_channel_desc *ch, char *err, size_t errlen)
{
        if (src_apply_layout(s, l, ch) < 0)
                return gw_error(err, errlen, ENOMEM, "%s: out of memory", s->path);
        int k = skip_rows(s, l->skip_rows, err, errlen);
        if (k < 0)
                return k;
        if (s->rate_hz == 0)
                return estimate_rate(r, s, err, errlen);
        return 0;
}

int gw_trace_open(const char *path, const gw_trace_options *opt, gw_trace_reader **ret,
                  char *err, size_t errlen)
{
        static const gw_trace_options defaults = { .bad_rows = GW_BAD_ROW_FATAL };
        gw_trace_reader *r;
        int k;

        *ret = NULL;
        if (!opt)
                opt = &defaults;
        if (opt->bad_rows != GW_BAD_ROW_FATAL && opt->bad_rows != GW_BAD_ROW_SKIP)
                return gw_error(err, errlen, EINVAL, "bad_rows: %d is not fatal or skip",
                                (int) opt->bad_rows);
        if (opt->layout && (k = layout_check(opt->layout, "layout", err, errlen)) < 0)
                return k;
        if (opt->second_path && !opt->second_layout)
                return gw_error(err, errlen, EINVAL, "second_layout: required with second_path");
        if (opt->second_path &&
            (k = layout_check(opt->second_layout, "second_layout", err, errlen)) < 0)
                return k;

        r = calloc(1, sizeof *r);
        if (!r)
                return gw_error(err, errlen, ENOMEM, "%s: out of memory", path);
        r->a.fd = -1;
        r->policy = opt->bad_rows;
        r->loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        if (!r->loc) {
                k = gw_error(err, errlen, ENOMEM, "%s: cannot create the C locale", path);
                goto fail;
        }

        k = src_open(&r->a, path, opt->buffer_size, err, errlen);
        if (k < 0)
                goto fail;
        if (opt->layout) {
                r->ch = calloc((size_t) opt->layout->n_channels, sizeof *r->ch);
                if (!r->ch) {
                        k = gw_error(err, errlen, ENOMEM, "%s: out of memory", path);
                        goto fail;
                }
                k = open_foreign(r, &r->a, opt->layout, r->ch, err, errlen);
        } else
                k = open_gaitway(r, &r->a, err, errlen);
        if (k < 0)
                goto fail;
        r->n_ch = r->a.n_ch;
        r->rate_hz = r->a.rate_hz;
        if (r->meta_len) {
                char *m = realloc(r->meta, r->meta_len);
                if (m)
                        r->meta = m;
        }

        if (opt->second_path) {
                const gw_csv_layout *l2 = opt->second_layout;
                if (r->n_ch + l2->n_channels > GW_TRACE_MAX_CHANNELS) {
                        k = gw_error(err, errlen, EINVAL,
                                     "second_layout.n_channels: %d + %d channels, more than %d",
                                     r->n_ch, l2->n_channels, GW_TRACE_MAX_CHANNELS);
                        goto fail;
                }
                for (int i = 0; i < l2->n_channels; i++)
                        for (int j = 0; j < r->n_ch; j++)
                                if (strcmp(l2->channel[i].name, r->ch[j].name) == 0) {
                                        k = gw_error(err, errlen, EINVAL,
                                                     "second_layout.channel[%d].name: \"%s\" is "
                                                     "also a channel of %s",
                                                     i, r->ch[j].name, path);
                                        goto fail;
                                }
                gw_channel_desc *ch = realloc(r->ch, (size_t) (r->n_ch + l2->n_channels) * sizeof *ch);
                if (!ch) {
                        k = gw_error(err, errlen, ENOMEM, "%s: out of memory", opt->second_path);
                        goto fail;
                }
                r->a.ch = r->ch = ch;
                r->second = calloc(1, sizeof *r->second);
                if (!r->second) {
                        k = gw_error(err, errlen, ENOMEM, "%s: out of memory", opt->second_path);
                        goto fail;
                }
                r->b = &r->second->s;
                r->b->fd = -1;
                k = src_open(r->b, opt->second_path, opt->buffer_size, err, errlen);
                if (k < 0)
                        goto fail;
                k = open_foreign(r, r->b, l2, r->ch + r->n_ch, err, errlen);
                if (k < 0)
                        goto fail;
                r->n_ch += r->b->n_ch;
                r->merge = true;
        }

        *ret = r;
        return 0;
fail:
        gw_trace_close(r);
        return k;
}

gw_trace_reader *gw_trace_close(gw_trace_reader *r)
{
        if (!r)
                return NULL;
        src_close(&r->a);
        if (r->b)
                src_close(r->b);
        free(r->second);
        free(r->ch);
        free(r->meta);
        if (r->loc)
                freelocale(r->loc);
        free(r);
        return NULL;
}

int gw_trace_rewind(gw_trace_reader *r, char *err, size_t errlen)
{
        int k = src_rewind(&r->a);
        if (k < 0)
                return gw_error(err, errlen, -k, "%s: cannot rewind: %s", r->a.path, strerror(-k));
        if (r->merge) {
                k = src_rewind(r->b);
                if (k < 0)
                        return gw_error(err, errlen, -k, "%s: cannot rewind: %s", r->b->path,
                                        strerror(-k));
        }
        r->failed = 0;
        r->b_started = r->have_prev = r->have_next = false;
        return 0;
}

int gw_trace_channels(const gw_trace_reader *r, const gw_channel_desc **ret)
{
        *ret = r->ch;
        return r->n_ch;
}

double gw_trace_rate(const gw_trace_reader *r)
{
        return r->rate_hz;
}

const char *gw_trace_meta(const gw_trace_reader *r, const char *key)
{
        const char *m = r->meta;
        for (int i = 0; i < r->n_meta; i++) {
                const char *v = m + strlen(m) + 1;
                if (strcmp(m, key) == 0)
                        return v;
                m = v + strlen(v) + 1;
        }
        return NULL;
}

void gw_trace_prefetch(const gw_trace_reader *r)
{
        const struct src *s = &r->a;

        __builtin_prefetch(s->buf + s->beg);
        __builtin_prefetch(s->buf + s->beg + 64);
        __builtin_prefetch(s->scale);
        __builtin_prefetch(s->role);
}

void gw_trace_drop_meta(gw_trace_reader *r)
{
        free(r->meta);
        r->meta = NULL;
        r->meta_len = 0;
        r->n_meta = 0;
}

const gw_trace_stats *gw_trace_stats_get(const gw_trace_reader *r)
{
        return &r->stats;
}

const char *gw_trace_last_error(const gw_trace_reader *r)
{
        return r->last_error;
}

const char *gw_trace_first_error(const gw_trace_reader *r)
{
        return r->first_error;
}
