/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the CSV line tokenizer and number parsers under the
 * trace reader (lib/csv-private.h), each input taken as one line, with two
 * independent references:
 *   - gw_csv_number() must give the very double strtod_l() gives in the C
 *     locale (its fast path is hand-written);
 *   - gw_csv_time() on a plain decimal with a unit of s, ms, us or ns must
 *     give the exact nanoseconds, rounded half away from zero, which a
 *     128-bit fixed-point reading here computes independently.
 * And the splitter must return fields inside the line, without the blanks
 * around them, and the excerpt must stay printable and bounded. */

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static locale_t c_locale;

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* [+-]?(digits[.digits]|.digits)([eE][+-]?digits)? */
static bool decimal(const char *s, size_t n, bool *has_exp)
{
        size_t i = 0, d = 0;
        *has_exp = false;
        if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
        while (i < n && is_digit(s[i]))
                i++, d++;
        if (i < n && s[i] == '.') {
                i++;
                while (i < n && is_digit(s[i]))
                        i++, d++;
        }
        if (!d)
                return false;
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                size_t e = 0;
                *has_exp = true;
                i++;
                if (i < n && (s[i] == '+' || s[i] == '-'))
                        i++;
                while (i < n && is_digit(s[i]))
                        i++, e++;
                if (!e)
                        return false;
        }
        return i == n;
}

static void check_number(const char *s, size_t n)
{
        double got = 0, want;
        bool has_exp;
        gw_csv_status st = gw_csv_number(s, n, c_locale, &got);
        bool ok = decimal(s, n, &has_exp);

        if (st == GW_CSV_OK) {
                if (!ok)
                        abort();
                char *z = strndup(s, n), *end;
                if (!z)
                        abort();
                want = strtod_l(z, &end, c_locale);
                if (*end || memcmp(&got, &want, sizeof got) != 0)
                        abort();
                free(z);
        } else if (ok && n <= GW_CSV_NUMBER_MAX && st != GW_CSV_RANGE)
                abort();
        else if (!ok && st == GW_CSV_RANGE)
                abort();
}

/* Exact nanoseconds of a plain decimal in units of 10^D ns. */
static gw_csv_status ref_time(const char *s, size_t n, int D, int64_t *ret)
{
        size_t i = 0;
        bool neg = false;
        __int128 v = 0, lim = (__int128) INT64_MAX;
        int frac = -1;

        if (s[i] == '+' || s[i] == '-')
                neg = s[i++] == '-';
        for (; i < n; i++) {
                if (s[i] == '.') {
                        frac = 0;
                        continue;
                }
                if (frac >= 0 && frac == D) {
                        /* First digit below 1 ns decides; rounding away
                         * from zero on the magnitude. */
                        if (s[i] >= '5')
                                v++;
                        break;
                }
                v = v * 10 + (s[i] - '0');
                if (frac >= 0)
                        frac++;
                if (v > lim * 10)
                        return GW_CSV_RANGE;
        }
        for (int k = frac < 0 ? 0 : frac; k < D; k++)
                v *= 10;
        if (v > lim)
                return GW_CSV_RANGE;
        *ret = neg ? -(int64_t) v : (int64_t) v;
        return GW_CSV_OK;
}

static void check_time(const char *s, size_t n)
{
        static const double unit_ns[] = { 1, 1e3, 1e6, 1e9 };
        static const int D[] = { 0, 3, 6, 9 };
        bool has_exp;
        int64_t got = 0, want = 0;

        for (int u = 0; u < 4; u++) {
                gw_csv_status st = gw_csv_time(s, n, unit_ns[u], c_locale, &got);
                if (!decimal(s, n, &has_exp)) {
                        if (st == GW_CSV_OK)
                                abort();
                        continue;
                }
                if (has_exp)
                        continue;
                gw_csv_status ref = ref_time(s, n, D[u], &want);
                if (st != ref || (st == GW_CSV_OK && got != want))
                        abort();
        }
        /* Other units go through double; only the status is checked. */
        gw_csv_time(s, n, 1.5e6, c_locale, &got);
        gw_csv_time(s, n, 1e10, c_locale, &got);
}

static void check_split(const char *s, size_t n, char delim)
{
        gw_csv_field f[GW_CSV_MAX_FIELDS];
        int k = gw_csv_split(s, n, delim, f, GW_CSV_MAX_FIELDS);
        if (k < 0 || (n > 0 && k == 0 && delim != ' '))
                abort();
        for (int i = 0; i < k && i < GW_CSV_MAX_FIELDS; i++) {
                if (f[i].p < s || f[i].p + f[i].n > s + n)
                        abort();
                if (f[i].n && (f[i].p[0] == ' ' || f[i].p[f[i].n - 1] == ' '))
                        abort();
                if (delim == ' ' && (!f[i].n || memchr(f[i].p, '\t', f[i].n)))
                        abort();
                if (delim != ' ' && memchr(f[i].p, delim, f[i].n))
                        abort();
                check_number(f[i].p, f[i].n);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *) data;
        char ex[200];

        if (!c_locale && !(c_locale = newlocale(LC_ALL_MASK, "C", (locale_t) 0)))
                abort();

        size_t n = gw_csv_chomp(s, size);
        if (n > size || (n < size && s[n] != '\r'))
                abort();
        gw_csv_blank(s, n);
        char d = gw_csv_detect(s, n);
        if (d != '\t' && d != ';' && d != ',' && d != ' ')
                abort();
        check_split(s, n, d);
        if (d != ' ')
                check_split(s, n, ' ');
        check_number(s, n);
        check_time(s, n);

        for (size_t len = 0; len <= sizeof ex; len += 37) {
                gw_csv_excerpt(ex, len, s, n);
                if (len && strlen(ex) >= len)
                        abort();
                for (const char *p = ex; len && *p; p++)
                        if (*p < 0x20 || *p >= 0x7f)
                                abort();
        }
        (void) gw_csv_status_str(gw_csv_number(s, n, c_locale, &(double) { 0 }));
        return 0;
}
