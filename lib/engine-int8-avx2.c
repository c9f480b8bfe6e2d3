/* SPDX-License-Identifier: MIT */
/* The INT8 window with AVX2 (8 int32 lanes), compiled for AVX2 through
 * function attributes so that the rest of the library stays portable
 * x86-64; engine-isa.c runs it only on CPUs that report AVX2. */

#include <string.h>

#include "engine-private.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define GW_SIMD_FN    static inline __attribute__((target("avx2"), always_inline))
#define GW_SIMD_ENTRY __attribute__((target("avx2")))
#define GW_SIMD_NAME(n) n##_avx2
#define VW 8
#define CONV_NP 2
#define REC_NB 12
#define GW_SIMD_U8 1

/* A GCC/clang vector of int32 rather than __m256i: its + is a plain lane add
 * that both compilers keep in the accumulator's register (__m256i adds go
 * through 64-bit-lane types, and gcc then copies every accumulator once
 * per loop iteration). */
typedef int32_t V __attribute__((vector_size(32)));
#define M(v) ((__m256i) (v))

#define v_zero() ((V) { 0 })
#define v_set1(x) ((V) _mm256_set1_epi32(x))
#define v_add(a, b) ((a) + (b))
#define v_max(a, b) ((V) _mm256_max_epi32(M(a), M(b)))
#define v_min(a, b) ((V) _mm256_min_epi32(M(a), M(b)))
#define v_mullo(a, b) ((V) _mm256_mullo_epi32(M(a), M(b)))
#define v_madd(a, b) ((V) _mm256_madd_epi16(M(a), M(b)))
#define v_srai(a, n) ((V) _mm256_srai_epi32(M(a), n))

GW_SIMD_FN V v_load(const int32_t *p)
{
        return (V) _mm256_loadu_si256((const __m256i *) (const void *) p);
}

GW_SIMD_FN void v_store(int32_t *p, V v)
{
        _mm256_storeu_si256((__m256i *) (void *) p, M(v));
}

/* The int16 pair at p (any alignment) in every lane. */
GW_SIMD_FN V v_bcast(const void *p)
{
        int32_t v;

        memcpy(&v, p, sizeof v);
        return (V) _mm256_set1_epi32(v);
}

/* Lane i: four unsigned bytes of a times four signed bytes of b, summed
 * (pmaddubsw cannot saturate on activations <= 127 and weights >= -127). */
GW_SIMD_FN V v_dot4(V a, V b)
{
        return (V) _mm256_madd_epi16(_mm256_maddubs_epi16(M(a), M(b)), _mm256_set1_epi16(1));
}

/* Lanes within [0, 127], stored as 8 bytes. */
GW_SIMD_FN void v_store8(uint8_t *p, V v)
{
        __m256i w = _mm256_packs_epi32(M(v), M(v));
        __m256i b = _mm256_packus_epi16(w, w);
        uint32_t lo = (uint32_t) _mm_cvtsi128_si32(_mm256_castsi256_si128(b));
        uint32_t hi = (uint32_t) _mm_cvtsi128_si32(_mm256_extracti128_si256(b, 1));

        memcpy(p, &lo, sizeof lo);
        memcpy(p + 4, &hi, sizeof hi);
}

/* Lanes known to fit int16, narrowed and stored as 8 int16. */
GW_SIMD_FN void v_store16(int16_t *p, V v)
{
        __m256i n = _mm256_permute4x64_epi64(_mm256_packs_epi32(M(v), M(v)), 0x08);

        _mm_storeu_si128((__m128i *) (void *) p, _mm256_castsi256_si128(n));
}

/* gw_rq8: the short form (engine-private.h) when the block allows it:
 * the high halves of the even and odd 32x32->64 products, the rounding
 * add and one arithmetic shift, after a clamp and a left shift when some
 * row has s < 33 (7 or 10 operations: the LSTM requantises 24 vectors per
 * step); otherwise clamp, the products, the biased rounding add, per-lane
 * logical shifts, back to 32-bit lanes (12). */
GW_SIMD_FN V v_rq(V acc, const gw_rq8 *q, int half)
{
        (void) half;
        if (q->fast) {
                __m256i a = M(acc), pe, po, hi;

                if (q->fast == 1)
                        a = _mm256_sllv_epi32(M(v_min(v_max(acc, v_load(q->lo)), v_load(q->hi))),
                                              M(v_load(q->shl)));
                pe = _mm256_mul_epi32(a, M(v_load(q->m)));
                po = _mm256_mul_epi32(_mm256_srli_epi64(a, 32), M(v_load(q->mo)));
                hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xaa);
                return (V) _mm256_srav_epi32(_mm256_add_epi32(hi, M(v_load(q->rnd))),
                                             M(v_load(q->sh32)));
        }
        __m256i a = M(v_min(v_max(acc, v_load(q->lo)), v_load(q->hi)));
        __m256i pe = _mm256_mul_epi32(a, M(v_load(q->m)));
        __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(a, 32), M(v_load(q->mo)));

        pe = _mm256_add_epi64(pe, _mm256_loadu_si256((const __m256i *) (const void *) q->add_e));
        po = _mm256_add_epi64(po, _mm256_loadu_si256((const __m256i *) (const void *) q->add_o));
        pe = _mm256_srlv_epi64(pe, _mm256_loadu_si256((const __m256i *) (const void *) q->sh_e));
        po = _mm256_srlv_epi64(po, _mm256_loadu_si256((const __m256i *) (const void *) q->sh_o));
        /* The subtraction wraps by design (the sign of the 64-bit result
         * sits above bit 31): an intrinsic, not the vector operator, whose
         * signed overflow would be undefined. */
        return (V) _mm256_sub_epi32(_mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xaa),
                                    M(v_load(q->sub)));
}

/* docs/int8.md §4 on the Q3.12 values stored as int32 at p (within int16):
 * segment pre >> 8 (as an offset from entry 128), frac = pre & 255.  The
 * pair table holds T[i] + 32768 in its low half (xor 0x8000 makes it T[i]
 * as int16) and the slope above, so one madd against (256, frac) gives
 * 256 T[i] + slope * frac, and (that + 128) >> 8 is the interpolation.
 *
 * The segments are read one by one rather than with vpgatherdd, which on
 * Zen 3 costs about 11 cycles per 8 lanes and stalls the step (the LSTM
 * reads 15 of them per step): byte 1 of each little-endian int32 is
 * pre >> 8 already (the value fits int16), so every lane is one byte load
 * and one vpinsrd from the table, which the load ports take three per
 * cycle. */
GW_SIMD_FN V v_table_at(const int32_t *pairs, const int32_t *p)
{
        const __m256i frac_hi = _mm256_setr_epi8(-128, -128, 0, -128, -128, -128, 4, -128,
                                           -128, -128, 8, -128, -128, -128, 12, -128,
                                           -128, -128, 0, -128, -128, -128, 4, -128,
                                           -128, -128, 8, -128, -128, -128, 12, -128);
        const int32_t *t = pairs + 128;
        const int8_t *b = (const int8_t *) (const void *) p + 1;
        __m128i lo = _mm_cvtsi32_si128(t[b[0]]), hi = _mm_cvtsi32_si128(t[b[16]]);
        V seg, fv;

        lo = _mm_insert_epi32(lo, t[b[4]], 1);
        hi = _mm_insert_epi32(hi, t[b[20]], 1);
        lo = _mm_insert_epi32(lo, t[b[8]], 2);
        hi = _mm_insert_epi32(hi, t[b[24]], 2);
        lo = _mm_insert_epi32(lo, t[b[12]], 3);
        hi = _mm_insert_epi32(hi, t[b[28]], 3);
        seg = (V) _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
        fv = (V) _mm256_shuffle_epi8(M(v_load(p)), frac_hi) | 256;
        seg ^= 0x8000;
        return v_srai(v_madd(seg, fv) + 128, 8);
}

GW_SIMD_FN void in_convert(const int8_t *x, int16_t *out, size_t n)
{
        const __m256i lo = _mm256_set1_epi16(-127);
        size_t i = 0;

        for (; i + 16 <= n; i += 16) {
                __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (const void *) (x + i)));

                _mm256_storeu_si256((__m256i *) (void *) (out + i), _mm256_max_epi16(v, lo));
        }
        for (; i < n; i++)
                out[i] = x[i] < -127 ? -127 : x[i];
}

#include "engine-int8-simd.h"

#endif
