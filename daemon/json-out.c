/* SPDX-License-Identifier: MIT */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-out.h"

void json_out_fixed(JsonOut *o, char *buf, size_t cap)
{
        *o = (JsonOut) { .buf = buf, .cap = cap, .failed = cap == 0 };
}

void json_out_growing(JsonOut *o, size_t cap)
{
        *o = (JsonOut) { .buf = malloc(cap ? cap : 1), .cap = cap ? cap : 1, .grows = true };
        o->failed = !o->buf;
}

/* Room for n more bytes and a NUL. */
static bool reserve(JsonOut *o, size_t n)
{
        if (o->failed)
                return false;
        if (o->len + n < o->cap)
                return true;
        if (!o->grows) {
                o->failed = true;
                return false;
        }
        size_t cap = o->cap;
        while (o->len + n >= cap)
                cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
                o->failed = true;
                return false;
        }
        o->buf = b;
        o->cap = cap;
        return true;
}

static void put(JsonOut *o, const char *s, size_t n)
{
        if (!reserve(o, n))
                return;
        memcpy(o->buf + o->len, s, n);
        o->len += n;
}

/* jansson's utf8_check_first() and utf8_check_full(), over a whole string. */
bool json_utf8_valid(const char *s)
{
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned char u = *p;
                size_t n;
                int32_t v;

                if (u < 0x80) {
                        p++;
                        continue;
                }
                if (u >= 0xC2 && u <= 0xDF)
                        n = 2, v = u & 0x1F;
                else if (u >= 0xE0 && u <= 0xEF)
                        n = 3, v = u & 0xF;
                else if (u >= 0xF0 && u <= 0xF4)
                        n = 4, v = u & 0x7;
                else
                        return false;
                for (size_t i = 1; i < n; i++) {
                        if (p[i] < 0x80 || p[i] > 0xBF)
                                return false;
                        v = (v << 6) + (p[i] & 0x3F);
                }
                if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 2 && v < 0x80) ||
                    (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
                        return false;
                p += n;
        }
        return true;
}

/* jansson's dump_string() without JSON_ENSURE_ASCII and JSON_ESCAPE_SLASH:
 * only '"', '\\' and control characters are escaped. */
static void put_quoted(JsonOut *o, const char *s)
{
        const char *run = s;

        put(o, "\"", 1);
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                char esc[8];
                const char *text;
                size_t n = 2;

                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                put(o, run, (size_t) (s - run));
                run = s + 1;
                switch (c) {
                case '"':
                        text = "\\\"";
                        break;
                case '\\':
                        text = "\\\\";
                        break;
                case '\b':
                        text = "\\b";
                        break;
                case '\f':
                        text = "\\f";
                        break;
                case '\n':
                        text = "\\n";
                        break;
                case '\r':
                        text = "\\r";
                        break;
                case '\t':
                        text = "\\t";
                        break;
                default:
                        snprintf(esc, sizeof esc, "\\u%04X", c);
                        text = esc;
                        n = 6;
                        break;
                }
                put(o, text, n);
        }
        put(o, run, (size_t) (s - run));
        put(o, "\"", 1);
}

static void member(JsonOut *o, const char *key)
{
        if (o->comma)
                put(o, ",", 1);
        o->comma = true;
        if (key) {
                put_quoted(o, key);
                put(o, ":", 1);
        }
}

void json_out_open(JsonOut *o)
{
        put(o, "{", 1);
        o->comma = false;
}

void json_out_close(JsonOut *o)
{
        put(o, "}", 1);
        o->comma = true;
}

void json_out_object(JsonOut *o, const char *key)
{
        member(o, key);
        json_out_open(o);
}

void json_out_string(JsonOut *o, const char *key, const char *v)
{
        if (!v || !json_utf8_valid(v))
                return;
        member(o, key);
        put_quoted(o, v);
}

/* "%lld", without printf. */
void json_out_int(JsonOut *o, const char *key, long long v)
{
        char b[24], *p = b + sizeof b;
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long) v : (unsigned long long) v;

        do {
                *--p = (char) ('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                *--p = '-';
        member(o, key);
        put(o, p, (size_t) (b + sizeof b - p));
}

/* jsonp_dtostr() at precision 6: "%.6g" in the C locale's notation, ".0"
 * added to what looks like an integer, the exponent without '+' and
 * leading zeros. */
int json_real_text(char *buf, size_t size, double v)
{
        char *e;
        int n;

        if (!isfinite(v) || size < 32)
                return -1;
        if (!signbit(v) && v <= 1) {
                /* A probability rounded to 1e-4, the common value, without
                 * printf: "%.6g" of k / 10^4 is k's digits after "0.",
                 * trailing zeros dropped. */
                double k = v * 1e4;
                long ki = lround(k);
                if ((double) ki / 1e4 == v && ki >= 0 && ki <= 10000) {
                        if (ki == 0 || ki == 10000) {
                                memcpy(buf, ki ? "1.0" : "0.0", 4);
                                return 3;
                        }
                        buf[0] = '0';
                        buf[1] = '.';
                        n = 2;
                        for (long d = 1000; d > 0 && ki > 0; d /= 10) {
                                buf[n++] = (char) ('0' + ki / d);
                                ki %= d;
                        }
                        buf[n] = 0;
                        return n;
                }
        }
        n = snprintf(buf, size, "%.6g", v);
        if (n < 0 || (size_t) n + 3 >= size)
                return -1;
        const char *point = localeconv()->decimal_point;
        if (*point != '.' && (e = strchr(buf, *point)))
                *e = '.';
        if (!strchr(buf, '.') && !strchr(buf, 'e')) {
                buf[n++] = '.';
                buf[n++] = '0';
                buf[n] = 0;
        }
        e = strchr(buf, 'e');
        if (e) {
                char *start = e + 1, *end = start + 1;
                if (*start == '-')
                        start++;
                while (*end == '0')
                        end++;
                if (end != start) {
                        memmove(start, end, (size_t) n - (size_t) (end - buf) + 1);
                        n -= (int) (end - start);
                }
        }
        return n;
}

void json_out_real(JsonOut *o, const char *key, double v)
{
        char b[64];
        int n = json_real_text(b, sizeof b, v);

        if (n < 0)
                return;
        member(o, key);
        put(o, b, (size_t) n);
}

void json_out_bool(JsonOut *o, const char *key, bool v)
{
        member(o, key);
        put(o, v ? "true" : "false", v ? 4 : 5);
}

void json_out_null(JsonOut *o, const char *key)
{
        member(o, key);
        put(o, "null", 4);
}

char *json_out_finish(JsonOut *o)
{
        if (o->failed) {
                if (o->grows)
                        free(o->buf);
                o->buf = NULL;
                return NULL;
        }
        o->buf[o->len] = 0;
        return o->buf;
}
