/* SPDX-License-Identifier: MIT */
#pragma once

/* Takes a libFuzzer input apart: fixed-size values from the front, then
 * pieces separated by a marker line.  Reads past the end yield zeros, so a
 * target never needs to check the length before taking a value. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
        const uint8_t *p;
        size_t n;
} FuzzInput;

static inline uint8_t fuzz_u8(FuzzInput *in)
{
        if (!in->n)
                return 0;
        in->n--;
        return *in->p++;
}

static inline uint16_t fuzz_u16(FuzzInput *in)
{
        uint16_t v = fuzz_u8(in);
        return (uint16_t) (v | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(FuzzInput *in)
{
        uint32_t v = fuzz_u16(in);
        return v | (uint32_t) fuzz_u16(in) << 16;
}

static inline uint64_t fuzz_u64(FuzzInput *in)
{
        uint64_t v = fuzz_u32(in);
        return v | (uint64_t) fuzz_u32(in) << 32;
}

static inline double fuzz_f64(FuzzInput *in)
{
        uint64_t u = fuzz_u64(in);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
}

/* Up to n bytes (fewer at the end of the input). */
static inline const uint8_t *fuzz_bytes(FuzzInput *in, size_t n, size_t *got)
{
        const uint8_t *p = in->p;
        *got = n < in->n ? n : in->n;
        in->p += *got;
        in->n -= *got;
        return p;
}

/* The next piece up to (not including) sep, or the rest of the input;
 * NULL when nothing is left.  Pieces let a target take several files or
 * strings from one input while a plain text seed stays one piece. */
static inline const uint8_t *fuzz_piece(FuzzInput *in, const char *sep, size_t *len)
{
        size_t sl = strlen(sep);
        const uint8_t *p = in->p, *e;

        if (!in->n && !in->p)
                return NULL;
        e = sl <= in->n ? memmem(in->p, in->n, sep, sl) : NULL;
        if (e) {
                *len = (size_t) (e - p);
                in->p = e + sl;
                in->n -= *len + sl;
        } else {
                *len = in->n;
                in->p = NULL;
                in->n = 0;
        }
        return p;
}

/* A NUL-terminated copy (malloc'ed; the caller frees it). */
static inline char *fuzz_strndup(const uint8_t *p, size_t n)
{
        char *s = malloc(n + 1);
        if (!s)
                abort();
        memcpy(s, p, n);
        s[n] = 0;
        return s;
}
