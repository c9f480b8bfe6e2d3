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

#define WRITE_BUF (64 * 1024)

struct gw_trace_writer {
        int fd;
        int n;
        char *path;
        char *buf;
        size_t len;
        locale_t loc;
};

static int writer_flush(gw_trace_writer *w)
{
        size_t done = 0;
        int r = 0;

        while (done < w->len) {
                ssize_t k = write(w->fd, w->buf + done, w->len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        break;
                }
                if (k == 0) {
                        r = -EIO;
                        break;
                }
                done += (size_t) k;
        }
        /* Whatever did not go out stays queued, so rows are never torn. */
        memmove(w->buf, w->buf + done, w->len - done);
        w->len -= done;
        return r;
}

int gw_trace_writer_flush(gw_trace_writer *w)
{
        return writer_flush(w);
}

static int valid_label(const char *s)
{
        size_t n = strnlen(s, GW_NAME_MAX);
        if (n == 0 || n == GW_NAME_MAX)
                return 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c <= ' ' || c == 0x7f || c == ',' || c == '[' || c == ']')
                        return 0;
        }
        return 1;
}

static int valid_key(const char *s)
{
        if (!*s)
                return 0;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
                        return 0;
        return 1;
}

static int valid_value(const char *s)
{
        for (; *s; s++)
                if (((unsigned char) *s < ' ' && *s != '\t') || *s == 0x7f)
                        return 0;
        return 1;
}

static int append(gw_trace_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int append(gw_trace_writer *w, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(w->buf + w->len, WRITE_BUF - w->len, fmt, ap);
        va_end(ap);
        if (k < 0 || (size_t) k >= WRITE_BUF - w->len)
                return -ENOBUFS;
        w->len += (size_t) k;
        return k;
}

/* Shortest plain decimal that reads back as the same double. */
static void fmt_double(char *out, size_t len, double x)
{
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(out, len, "%.*g", prec, x);
                if (strtod(out, NULL) == x && !strchr(out, 'e'))
                        return;
        }
        snprintf(out, len, "%.17g", x);
}

int gw_trace_writer_open(const char *path, int n, const gw_channel_desc *ch, double rate_hz,
                         const char *const *meta_kv, gw_trace_writer **ret, char *err,
                         size_t errlen)
{
        gw_trace_writer *w;
        int k;

        *ret = NULL;
        if (n < 1 || n > GW_TRACE_MAX_CHANNELS)
                return gw_error(err, errlen, EINVAL, "%s: %d channels, not 1..%d", path, n,
                                GW_TRACE_MAX_CHANNELS);
        if (!isfinite(rate_hz) || !(rate_hz > 0))
                return gw_error(err, errlen, EINVAL, "%s: rate_hz %g is not positive", path,
                                rate_hz);
        for (int i = 0; i < n; i++) {
                if (!valid_label(ch[i].name))
                        return gw_error(err, errlen, EINVAL,
                                        "%s: channel %d: name must be 1..%d bytes without blanks, "
                                        "',', '[' or ']'", path, i, GW_NAME_MAX - 1);
                if (!valid_label(ch[i].unit))
                        return gw_error(err, errlen, EINVAL,
                                        "%s: channel %d (\"%s\"): unit must be 1..%d bytes without "
                                        "blanks, ',', '[' or ']'", path, i, ch[i].name,
                                        GW_NAME_MAX - 1);
                for (int j = 0; j < i; j++)
                        if (strcmp(ch[i].name, ch[j].name) == 0)
                                return gw_error(err, errlen, EINVAL,
                                                "%s: channel %d: \"%s\" appears twice", path, i,
                                                ch[i].name);
        }
        for (size_t i = 0; meta_kv && meta_kv[i]; i += 2) {
                const char *key = meta_kv[i], *val = meta_kv[i + 1];
                if (!val)
                        return gw_error(err, errlen, EINVAL, "%s: metadata \"%s\" has no value",
                                        path, key);
                if (!valid_key(key) || strcmp(key, "rate_hz") == 0)
                        return gw_error(err, errlen, EINVAL,
                                        "%s: metadata key \"%s\" is not [A-Za-z0-9_.-]+ or is "
                                        "rate_hz", path, key);
                if (!valid_value(val) || strlen(val) > GW_TRACE_MAX_LINE - 64)
                        return gw_error(err, errlen, EINVAL,
                                        "%s: metadata \"%s\": value must be one line of at most %d "
                                        "bytes", path, key, GW_TRACE_MAX_LINE - 64);
                for (size_t j = 0; j < i; j += 2)
                        if (strcmp(meta_kv[j], key) == 0)
                                return gw_error(err, errlen, EINVAL,
                                                "%s: metadata \"%s\" appears twice", path, key);
        }

        w = calloc(1, sizeof *w);
        if (!w)
                return gw_error(err, errlen, ENOMEM, "%s: out of memory", path);
        w->fd = -1;
        w->n = n;
        w->path = strdup(path);
        w->buf = malloc(WRITE_BUF);
        w->loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        if (!w->path || !w->buf || !w->loc) {
                k = gw_error(err, errlen, ENOMEM, "%s: out of memory", path);
                goto fail;
        }

        /* Preamble through the C locale: the decimal point must be '.'
         * whatever the process locale. */
        locale_t old = uselocale(w->loc);
        char rate[32];
        fmt_double(rate, sizeof rate, rate_hz);
        k = append(w, "# gaitway-trace 1\n# rate_hz: %s\n", rate);
        for (size_t i = 0; k >= 0 && meta_kv && meta_kv[i]; i += 2)
                k = append(w, "# %s: %s\n", meta_kv[i], meta_kv[i + 1]);
        if (k >= 0)
                k = append(w, "time[s]");
        for (int i = 0; k >= 0 && i < n; i++)
                k = append(w, ",%s[%s]", ch[i].name, ch[i].unit);
        if (k >= 0)
                k = append(w, "\n");
        uselocale(old);
        if (k < 0) {
                k = gw_error(err, errlen, E2BIG, "%s: metadata too long", path);
                goto fail;
        }

        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (w->fd < 0) {
                int e = errno;
                k = gw_error(err, errlen, e, "%s: %s", path, strerror(e));
                goto fail;
        }
        *ret = w;
        return 0;
fail:
        if (w->fd >= 0)
                close(w->fd);
        if (w->loc)
                freelocale(w->loc);
        free(w->path);
        free(w->buf);
        free(w);
        return k;
}

/* Seconds with exactly the nanoseconds given, trailing zeros dropped. */
static int fmt_time(char *out, size_t len, int64_t t_ns)
{
        uint64_t u = t_ns < 0 ? (uint64_t) 0 - (uint64_t) t_ns : (uint64_t) t_ns;
        unsigned long long sec = (unsigned long long) (u / 1000000000u);
        unsigned long long frac = (unsigned long long) (u % 1000000000u);
        const char *sign = t_ns < 0 ? "-" : "";

        if (frac == 0)
                return snprintf(out, len, "%s%llu", sign, sec);
        int digits = 9;
        while (frac % 10 == 0) {
                frac /= 10;
                digits--;
        }
        return snprintf(out, len, "%s%llu.%0*llu", sign, sec, digits, frac);
}

int gw_trace_write(gw_trace_writer *w, int64_t t_ns, const float *values)
{
        /* Longest row: time (21 bytes) + n * ",-1.23456789e-38" (16 bytes). */
        const size_t row_max = 32 + (size_t) w->n * 24;

        for (int i = 0; i < w->n; i++)
                if (!isfinite(values[i]))
                        return -EINVAL;
        if (WRITE_BUF - w->len < row_max) {
                int k = writer_flush(w);
                if (k < 0 && WRITE_BUF - w->len < row_max)
                        return k;
        }

        char *p = w->buf + w->len;
        size_t room = WRITE_BUF - w->len;
        size_t o = (size_t) fmt_time(p, room, t_ns);
        locale_t old = uselocale(w->loc);
        /* %.9g: nine significant digits read back as the same float. */
        for (int i = 0; i < w->n; i++)
                o += (size_t) snprintf(p + o, room - o, ",%.9g", (double) values[i]);
        uselocale(old);
        p[o++] = '\n';
        w->len += o;
        return (int) o;
}

int gw_trace_writer_close(gw_trace_writer *w)
{
        if (!w)
                return 0;
        int r = writer_flush(w);
        if (close(w->fd) < 0 && r == 0)
                r = -errno;
        freelocale(w->loc);
        free(w->path);
        free(w->buf);
        free(w);
        return r;
}
