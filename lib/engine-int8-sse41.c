/* SPDX-License-Identifier: MIT */
/* The INT8 window with SSE4.1 (4 int32 lanes), compiled for SSE4.1 through
 * function attributes; engine-isa.c runs it only on CPUs that report it.
 * SSE has no per-lane 64-bit shift and no gather: the requantisation
 * shifts each 64-bit lane on its own and the tables are read lane by
 * lane. */

#include <string.h>

#include "engine-private.h"

#if defined(__x86_64__) || defined(__i386__)

#include <smmintrin.h>

#define GW_SIMD_FN    static inline __attribute__((target("sse4.1"), always_inline))
#define GW_SIMD_ENTRY __attribute__((target("sse4.1")))
#define GW_SIMD_NAME(n) n##_sse41
#define VW 4
#define CONV_NP 1
#define REC_NB 8
#define GW_SIMD_U8 1

/* A GCC/clang vector of int32 rather than __m128i: its + is a plain lane add
 * that both compilers keep in the accumulator's register (__m128i adds go
 * through 64-bit-lane types, and gcc then copies every accumulator once
 * per loop iteration). */
typedef int32_t V __attribute__((vector_size(16)));
#define M(v) ((__m128i) (v))

#define v_zero() ((V) { 0 })
#define v_set1(x) ((V) _mm_set1_epi32(x))
#define v_add(a, b) ((a) + (b))
#define v_max(a, b) ((V) _mm_max_epi32(M(a), M(b)))
#define v_min(a, b) ((V) _mm_min_epi32(M(a), M(b)))
#define v_mullo(a, b) ((V) _mm_mullo_epi32(M(a), M(b)))
#define v_madd(a, b) ((V) _mm_madd_epi16(M(a), M(b)))
#define v_srai(a, n) ((V) _mm_srai_epi32(M(a), n))

GW_SIMD_FN V v_load(const int32_t *p)
{
        return (V) _mm_loadu_si128((const __m128i *) (const void *) p);
}

GW_SIMD_FN void v_store(int32_t *p, V v)
{
        _mm_storeu_si128((__m128i *) (void *) p, M(v));
}

GW_SIMD_FN V v_bcast(const void *p)
{
        int32_t v;

        memcpy(&v, p, sizeof v);
        return (V) _mm_set1_epi32(v);
}

/* As in engine-int8-avx2.c. */
GW_SIMD_FN V v_dot4(V a, V b)
{
        return (V) _mm_madd_epi16(_mm_maddubs_epi16(M(a), M(b)), _mm_set1_epi16(1));
}

GW_SIMD_FN void v_store8(uint8_t *p, V v)
{
        __m128i w = _mm_packs_epi32(M(v), M(v));
        uint32_t b = (uint32_t) _mm_cvtsi128_si32(_mm_packus_epi16(w, w));

        memcpy(p, &b, sizeof b);
}

GW_SIMD_FN void v_store16(int16_t *p, V v)
{
        _mm_storel_epi64((__m128i *) (void *) p, _mm_packs_epi32(M(v), M(v)));
}

/* Shifts the two 64-bit lanes of v right by their own counts. */
GW_SIMD_FN __m128i srl2(__m128i v, const uint64_t *sh)
{
        __m128i a = _mm_srl_epi64(v, _mm_loadl_epi64((const __m128i *) (const void *) sh));
        __m128i b = _mm_srl_epi64(v, _mm_loadl_epi64((const __m128i *) (const void *) (sh + 1)));

        return _mm_blend_epi16(a, b, 0xf0);
}

/* gw_rq8 on rows 4 half .. 4 half + 3. */
GW_SIMD_FN V v_rq(V acc, const gw_rq8 *q, int half)
{
        int r = 4 * half, r2 = 2 * half;
        __m128i a = M(v_min(v_max(acc, v_load(q->lo + r)), v_load(q->hi + r)));
        __m128i pe = _mm_mul_epi32(a, M(v_load(q->m + r)));
        __m128i po = _mm_mul_epi32(_mm_srli_epi64(a, 32), M(v_load(q->mo + r)));

        pe = srl2(_mm_add_epi64(pe, _mm_loadu_si128((const __m128i *) (const void *) (q->add_e + r2))),
                  q->sh_e + r2);
        po = srl2(_mm_add_epi64(po, _mm_loadu_si128((const __m128i *) (const void *) (q->add_o + r2))),
                  q->sh_o + r2);
        /* Wraps by design: an intrinsic, not the vector operator (see the AVX2 file). */
        return (V) _mm_sub_epi32(_mm_blend_epi16(pe, _mm_slli_epi64(po, 32), 0xcc),
                                 M(v_load(q->sub + r)));
}

/* As in engine-int8-avx2.c, with the four segment reads done one by one. */
GW_SIMD_FN V v_table(const int32_t *pairs, V pre)
{
        const __m128i frac_hi = _mm_setr_epi8(-128, -128, 0, -128, -128, -128, 4, -128,
                                        -128, -128, 8, -128, -128, -128, 12, -128);
        const int32_t *t = pairs + 128;
        V idx = v_srai(pre, 8);
        V seg = { t[idx[0]], t[idx[1]], t[idx[2]], t[idx[3]] };
        V fv = (V) _mm_shuffle_epi8(M(pre), frac_hi) | 256;

        seg ^= 0x8000;
        return v_srai(v_madd(seg, fv) + 128, 8);
}

/* The values to look up as stored at p (the AVX2 path reads them there). */
GW_SIMD_FN V v_table_at(const int32_t *pairs, const int32_t *p)
{
        return v_table(pairs, v_load(p));
}

GW_SIMD_FN void in_convert(const int8_t *x, int16_t *out, size_t n)
{
        const __m128i lo = _mm_set1_epi16(-127);
        size_t i = 0;

        for (; i + 8 <= n; i += 8) {
                __m128i v = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *) (const void *) (x + i)));

                _mm_storeu_si128((__m128i *) (void *) (out + i), _mm_max_epi16(v, lo));
        }
        for (; i < n; i++)
                out[i] = x[i] < -127 ? -127 : x[i];
}

#include "engine-int8-simd.h"

#endif
