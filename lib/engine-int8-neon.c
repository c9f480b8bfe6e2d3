/* SPDX-License-Identifier: MIT */
/* The INT8 window with aarch64 Advanced SIMD (4 int32 lanes).  Each vector
 * operation of engine-int8-simd.h is written out with the plainest NEON
 * equivalent: the x86 pair multiply-add (pmaddwd) as two widening
 * multiplies and a pairwise add, the requantisation with vmull_s32 and
 * per-lane shifts, the tables read lane by lane. */

#include <string.h>

#include "engine-private.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#define GW_SIMD_FN    static inline __attribute__((always_inline))
#define GW_SIMD_ENTRY
#define GW_SIMD_NAME(n) n##_neon
#define VW 4
#define CONV_NP 2
#define REC_NB 8
#define GW_SIMD_U8 0

typedef int32x4_t V;

#define v_zero() vdupq_n_s32(0)
#define v_set1(x) vdupq_n_s32(x)
#define v_add(a, b) vaddq_s32(a, b)
#define v_max(a, b) vmaxq_s32(a, b)
#define v_min(a, b) vminq_s32(a, b)
#define v_mullo(a, b) vmulq_s32(a, b)
#define v_srai(a, n) vshrq_n_s32(a, n)
#define v_load(p) vld1q_s32(p)
#define v_store(p, v) vst1q_s32(p, v)

/* Lane i: a16[2i] b16[2i] + a16[2i+1] b16[2i+1], as pmaddwd. */
GW_SIMD_FN V v_madd(V a, V b)
{
        int16x8_t x = vreinterpretq_s16_s32(a), y = vreinterpretq_s16_s32(b);

        return vpaddq_s32(vmull_s16(vget_low_s16(x), vget_low_s16(y)), vmull_high_s16(x, y));
}

GW_SIMD_FN V v_bcast(const void *p)
{
        int32_t v;

        memcpy(&v, p, sizeof v);
        return vdupq_n_s32(v);
}

GW_SIMD_FN void v_store16(int16_t *p, V v)
{
        vst1_s16(p, vmovn_s32(v));
}

/* gw_rq8 on rows 4 half .. 4 half + 3: products of lanes 0-1 and 2-3, the
 * constants of those rows brought into lane order by zipping the even-row
 * and odd-row arrays, logical right shifts (negative left shifts). */
GW_SIMD_FN V v_rq(V acc, const gw_rq8 *q, int half)
{
        int r = 4 * half, r2 = 2 * half;
        V a = v_min(v_max(acc, vld1q_s32(q->lo + r)), vld1q_s32(q->hi + r));
        V m = vld1q_s32(q->m + r);
        uint64x2_t ae = vld1q_u64(q->add_e + r2), ao = vld1q_u64(q->add_o + r2);
        int64x2_t se = vreinterpretq_s64_u64(vld1q_u64(q->sh_e + r2));
        int64x2_t so = vreinterpretq_s64_u64(vld1q_u64(q->sh_o + r2));
        uint64x2_t u01 = vreinterpretq_u64_s64(vmull_s32(vget_low_s32(a), vget_low_s32(m)));
        uint64x2_t u23 = vreinterpretq_u64_s64(vmull_high_s32(a, m));

        u01 = vshlq_u64(vaddq_u64(u01, vzip1q_u64(ae, ao)), vnegq_s64(vzip1q_s64(se, so)));
        u23 = vshlq_u64(vaddq_u64(u23, vzip2q_u64(ae, ao)), vnegq_s64(vzip2q_s64(se, so)));
        return vsubq_s32(vreinterpretq_s32_u32(vcombine_u32(vmovn_u64(u01), vmovn_u64(u23))),
                         vld1q_s32(q->sub + r));
}

/* docs/int8.md §4 directly: segment (pre + 32768) >> 8 = (pre >> 8) + 128,
 * frac = pre & 255; base T[i] and slope from the pair table. */
GW_SIMD_FN V v_table(const int32_t *pairs, V pre)
{
        const int32_t *t = pairs + 128;
        V idx = vshrq_n_s32(pre, 8);
        int32_t s[4] = { t[vgetq_lane_s32(idx, 0)], t[vgetq_lane_s32(idx, 1)],
                         t[vgetq_lane_s32(idx, 2)], t[vgetq_lane_s32(idx, 3)] };
        V seg = vld1q_s32(s);
        V base = vsubq_s32(vandq_s32(seg, vdupq_n_s32(0xffff)), vdupq_n_s32(32768));
        V slope = vshrq_n_s32(seg, 16);
        V frac = vandq_s32(pre, vdupq_n_s32(255));

        return vaddq_s32(base, vshrq_n_s32(vaddq_s32(vmulq_s32(slope, frac), vdupq_n_s32(128)), 8));
}

/* The values to look up as stored at p (the AVX2 path reads them there). */
GW_SIMD_FN V v_table_at(const int32_t *pairs, const int32_t *p)
{
        return v_table(pairs, v_load(p));
}

GW_SIMD_FN void in_convert(const int8_t *x, int16_t *out, size_t n)
{
        const int16x8_t lo = vdupq_n_s16(-127);
        size_t i = 0;

        for (; i + 8 <= n; i += 8)
                vst1q_s16(out + i, vmaxq_s16(vmovl_s8(vld1_s8(x + i)), lo));
        for (; i < n; i++)
                out[i] = x[i] < -127 ? -127 : x[i];
}

#include "engine-int8-simd.h"

#endif
