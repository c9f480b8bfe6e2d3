/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csv-private.h"

static int is_blank(char c)
{
        return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
        return c >= '0' && c <= '9';
}

size_t gw_csv_chomp(const char *line, size_t len)
{
        if (len > 0 && line[len - 1] == '\r')
                len--;
        return len;
}

int gw_csv_blank(const char *line, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (!is_blank(line[i]))
                        return 0;
        return 1;
}

char gw_csv_detect(const char *line, size_t len)
{
        if (memchr(line, '\t', len))
                return '\t';
        if (memchr(line, ';', len))
                return ';';
        if (memchr(line, ',', len))
                return ',';
        return ' ';
}

static void add_field(gw_csv_field *f, int max, int *count, const char *p, size_t n)
{
        if (*count < max) {
                f[*count].p = p;
                f[*count].n = n;
        }
        (*count)++;
}

int gw_csv_split(const char *line, size_t len, char delim, gw_csv_field *f, int max)
{
        int count = 0;

        if (delim == ' ') {
                size_t i = 0;
                for (;;) {
                        while (i < len && is_blank(line[i]))
                                i++;
                        if (i == len)
                                break;
                        size_t start = i;
                        while (i < len && !is_blank(line[i]))
                                i++;
                        add_field(f, max, &count, line + start, i - start);
                }
                return count;
        }

        const char *p = line, *end = line + len;
        for (;;) {
                const char *d = memchr(p, delim, (size_t) (end - p));
                const char *a = p, *b = d ? d : end;
                /* A tab delimiter keeps tabs significant; spaces are padding
                 * in every delimited format. */
                while (a < b && (*a == ' ' || (delim != '\t' && *a == '\t')))
                        a++;
                while (b > a && (b[-1] == ' ' || (delim != '\t' && b[-1] == '\t')))
                        b--;
                add_field(f, max, &count, a, (size_t) (b - a));
                if (!d)
                        break;
                p = d + 1;
        }
        return count;
}

/* Matches [+-]?(digits[.digits]|.digits)([eE][+-]?digits)? over all of s;
 * *has_exp tells whether an exponent was present. */
static int decimal_syntax(const char *s, size_t n, int *has_exp)
{
        size_t i = 0, nd = 0;

        *has_exp = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
        while (i < n && is_digit(s[i]))
                i++, nd++;
        if (i < n && s[i] == '.') {
                i++;
                while (i < n && is_digit(s[i]))
                        i++, nd++;
        }
        if (nd == 0)
                return 0;
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                size_t ne = 0;
                i++;
                if (i < n && (s[i] == '+' || s[i] == '-'))
                        i++;
                while (i < n && is_digit(s[i]))
                        i++, ne++;
                if (ne == 0)
                        return 0;
                *has_exp = 1;
        }
        return i == n;
}

static int word_ci(const char *s, size_t n, const char *w)
{
        size_t m = strlen(w);
        if (n != m)
                return 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c >= 'A' && c <= 'Z')
                        c = (char) (c - 'A' + 'a');
                if (c != w[i])
                        return 0;
        }
        return 1;
}

static int non_finite_word(const char *s, size_t n)
{
        if (n > 0 && (s[0] == '+' || s[0] == '-'))
                s++, n--;
        return word_ci(s, n, "inf") || word_ci(s, n, "infinity") || word_ci(s, n, "nan");
}

/* Clinger's fast path: a decimal of at most 19 significant digits whose
 * mantissa fits in 53 bits, scaled by at most 10^22, is exact as m and as
 * 10^|e|, so one IEEE multiply or divide gives the correctly rounded result,
 * the same double strtod would.  Checks the syntax on the way (one pass over
 * the field, the common case).  Returns 1 with *ret set, 0 when the field
 * needs the general path (or is no number at all: the caller finds out). */
static int fast_decimal(const char *s, size_t n, double *ret)
{
        static const double p10[] = {
                1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        };
        const char *p = s, *end = s + n;
        int neg = 0, e10 = 0;
        uint64_t m = 0;
        const char *first;

        if (p < end && (*p == '+' || *p == '-'))
                neg = *p++ == '-';
        while (p < end && *p == '0')
                p++;
        first = p;
        while (p < end && is_digit(*p))
                m = m * 10 + (uint64_t) (*p++ - '0');
        int nd = (int) (p - first);
        int any = nd > 0 || (first > s && (first[-1] == '0'));
        if (p < end && *p == '.') {
                const char *f = ++p;
                /* No significant integer digit so far (m itself may have
                 * wrapped to 0 at 2^64). */
                if (nd == 0) {
                        while (p < end && *p == '0')
                                p++;
                        first = p;
                        nd = 0;
                }
                const char *sig = p;
                while (p < end && is_digit(*p))
                        m = m * 10 + (uint64_t) (*p++ - '0');
                nd += (int) (p - sig);
                e10 -= (int) (p - f);
                any |= p > f;
        }
        if (!any || nd > 19)
                return 0;
        if (p < end) {
                if (*p != 'e' && *p != 'E')
                        return 0;
                p++;
                int eneg = 0, e = 0;
                if (p < end && (*p == '+' || *p == '-'))
                        eneg = *p++ == '-';
                if (p == end || end - p > 4)
                        return 0;
                while (p < end && is_digit(*p))
                        e = e * 10 + (*p++ - '0');
                if (p != end)
                        return 0;
                e10 += eneg ? -e : e;
        }
        if (m == 0) {
                *ret = neg ? -0.0 : 0.0;
                return 1;
        }
        if (m > (UINT64_C(1) << 53) || e10 < -22 || e10 > 22)
                return 0;
        double x = (double) m;
        x = e10 < 0 ? x / p10[-e10] : x * p10[e10];
        *ret = neg ? -x : x;
        return 1;
}

gw_csv_status gw_csv_number(const char *s, size_t n, locale_t loc, double *ret)
{
        char buf[GW_CSV_NUMBER_MAX + 1];
        int has_exp;

        if (n == 0)
                return GW_CSV_EMPTY;
        if (fast_decimal(s, n, ret))
                return GW_CSV_OK;
        if (!decimal_syntax(s, n, &has_exp))
                return non_finite_word(s, n) ? GW_CSV_NON_FINITE : GW_CSV_SYNTAX;
        if (n > GW_CSV_NUMBER_MAX)
                return GW_CSV_TOO_LONG;

        memcpy(buf, s, n);
        buf[n] = '\0';
        char *end;
        errno = 0;
        double v = strtod_l(buf, &end, loc);
        if (end != buf + n)
                return GW_CSV_SYNTAX;
        if (!isfinite(v))
                return GW_CSV_RANGE;
        /* ERANGE with a finite result is underflow: the nearest double
         * (zero or subnormal) is the right reading. */
        *ret = v;
        return GW_CSV_OK;
}

static int pow10_exponent(double unit_ns)
{
        double p = 1;
        for (int d = 0; d <= 9; d++, p *= 10)
                if (unit_ns == p)
                        return d;
        return -1;
}

gw_csv_status gw_csv_time(const char *s, size_t n, double unit_ns, locale_t loc, int64_t *ret)
{
        int has_exp, D = pow10_exponent(unit_ns);

        if (n == 0)
                return GW_CSV_EMPTY;
        if (!decimal_syntax(s, n, &has_exp))
                return non_finite_word(s, n) ? GW_CSV_NON_FINITE : GW_CSV_SYNTAX;

        if (has_exp || D < 0) {
                double v;
                gw_csv_status st = gw_csv_number(s, n, loc, &v);
                if (st != GW_CSV_OK)
                        return st;
                double x = v * unit_ns;
                if (!(fabs(x) < 9.2e18))
                        return GW_CSV_RANGE;
                *ret = llround(x);
                return GW_CSV_OK;
        }

        /* Fixed point keeps nanoseconds exact where a double would not
         * (epoch times in ns exceed 2^53). */
        size_t i = 0;
        int neg = 0;
        if (s[i] == '+' || s[i] == '-')
                neg = s[i++] == '-';

        int64_t unit = 1;
        for (int d = 0; d < D; d++)
                unit *= 10;

        int64_t ip = 0;
        for (; i < n && is_digit(s[i]); i++) {
                int dg = s[i] - '0';
                if (ip > (INT64_MAX - dg) / 10)
                        return GW_CSV_RANGE;
                ip = ip * 10 + dg;
        }
        if (ip > INT64_MAX / unit)
                return GW_CSV_RANGE;
        int64_t ns = ip * unit;

        if (i < n && s[i] == '.') {
                int64_t fr = 0;
                int cnt = 0;
                i++;
                for (; i < n && cnt < D; i++, cnt++)
                        fr = fr * 10 + (s[i] - '0');
                for (; cnt < D; cnt++)
                        fr *= 10;
                if (i < n && s[i] >= '5')
                        fr++;
                if (ns > INT64_MAX - fr)
                        return GW_CSV_RANGE;
                ns += fr;
        }
        *ret = neg ? -ns : ns;
        return GW_CSV_OK;
}

const char *gw_csv_status_str(gw_csv_status st)
{
        switch (st) {
        case GW_CSV_OK:
                return "is a number";
        case GW_CSV_EMPTY:
                return "is empty";
        case GW_CSV_SYNTAX:
                return "is not a number";
        case GW_CSV_NON_FINITE:
                return "is not finite";
        case GW_CSV_RANGE:
                return "is out of range";
        case GW_CSV_TOO_LONG:
                return "is too long for a number";
        }
        return "is invalid";
}

char *gw_csv_excerpt(char *out, size_t outlen, const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        const size_t cut = 40;
        size_t o = 0;

        if (outlen == 0)
                return out;
        for (size_t i = 0; i < n && i < cut; i++) {
                unsigned char c = (unsigned char) s[i];
                char tmp[4];
                size_t k = 0;
                if (c == '"' || c == '\\') {
                        tmp[k++] = '\\';
                        tmp[k++] = (char) c;
                } else if (c < 0x20 || c >= 0x7f) {
                        tmp[k++] = '\\';
                        tmp[k++] = 'x';
                        tmp[k++] = hex[c >> 4];
                        tmp[k++] = hex[c & 15];
                } else
                        tmp[k++] = (char) c;
                if (o + k + 1 > outlen)
                        break;
                memcpy(out + o, tmp, k);
                o += k;
        }
        if (n > cut && o + 4 <= outlen) {
                memcpy(out + o, "...", 3);
                o += 3;
        }
        out[o] = '\0';
        return out;
}
