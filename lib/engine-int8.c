/* SPDX-License-Identifier: MIT */
/* The integer-only INT8 engine, scheme gw-int8-v1.  docs/int8.md is the
 * normative description; train/gaitway/intsim.py implements the same
 * arithmetic and the golden tests require bit-identical results.  No
 * floating point is executed in this file.
 *
 * Layout: activations are time-major so that the k x Cin patch of one conv
 * output is contiguous, and held in int16 lanes (engine-private.h); every
 * product is then a plain dot product of two padded int16 runs into an
 * int32, which compilers vectorise. */

#include <errno.h>
#include <string.h>

#include "engine-private.h"

_Static_assert((-5 >> 1) == -3, "the scheme needs arithmetic right shifts");

/* rq(acc, m, s) = (acc * m + 2^(s-1)) >> s.  The loader guarantees
 * m in {0} u [2^30, 2^31) and s in [1, 62]; every acc here is below 2^32 in
 * magnitude, so the int64 product and sum cannot overflow. */
static inline int64_t rq(int64_t acc, const int32_t *ms)
{
        return (acc * ms[0] + ((int64_t) 1 << (ms[1] - 1))) >> ms[1];
}

static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
        return v < lo ? lo : v > hi ? hi : v;
}

static inline int16_t sat16(int64_t v)
{
        return (int16_t) clamp64(v, INT16_MIN, INT16_MAX);
}

/* n is a multiple of GW_LANES; saying so lets the compiler drop the scalar
 * tail loop (a third of the time of a 24-long dot product). */
static inline int32_t dot16(const int16_t *restrict a, const int16_t *restrict b, int n)
{
        int32_t s = 0;

        n &= ~(GW_LANES - 1);
        for (int i = 0; i < n; i++)
                s += (int32_t) a[i] * b[i];
        return s;
}

/* Two dot products sharing the vector w (a weight row against the two
 * times of a pooled pair, or h against two weight rows): one pass, two
 * independent accumulators. */
static inline void dot16x2(const int16_t *restrict w, const int16_t *restrict x0,
                           const int16_t *restrict x1, int n, int32_t *d0, int32_t *d1)
{
        int32_t s0 = 0, s1 = 0;

        n &= ~(GW_LANES - 1);
        for (int i = 0; i < n; i++) {
                s0 += (int32_t) w[i] * x0[i];
                s1 += (int32_t) w[i] * x1[i];
        }
        *d0 = s0;
        *d1 = s1;
}

/* docs/int8.md §2.  `in` is the zero-padded time-major input (row t of the
 * padded buffer is input time t - k/2), `wp` the packed weights
 * [F][lp] = [o][tap j][channel c], zero beyond k*Cin.  Pooling is done on
 * the accumulators: ReLU and the requantisation are monotonic.  Output row
 * u starts at out + u * os. */
static void conv_pool(const int16_t *in, int cin, const int16_t *wp, int lp,
                      const int32_t *bias, const int32_t *rqp, int F, int pooled,
                      int16_t *out, int os)
{
        for (int u = 0; u < pooled; u++) {
                const int16_t *x0 = in + (size_t) (2 * u) * cin;
                const int16_t *x1 = x0 + cin;

                for (int o = 0; o < F; o++) {
                        const int16_t *w = wp + (size_t) o * lp;
                        int32_t d0, d1;
                        int64_t acc;

                        dot16x2(w, x0, x1, lp, &d0, &d1);
                        acc = (int64_t) bias[o] + (d0 > d1 ? d0 : d1);

                        out[(size_t) u * os + o] = (int16_t) clamp64(rq(acc, rqp + 2 * o), 0, 127);
                }
        }
}

static inline int16_t input_proj(int32_t acc, const int32_t *rqp, int32_t bias)
{
        return sat16(rq(acc, rqp) + bias);
}

/* px[b][r] = sat16(rq(Wih[r] . x_b, mih[r], sih[r]) + bias[r]) for nb
 * consecutive steps x_b (rows of stride fp), two steps per pass over a
 * weight row. */
static void lstm_input(const int16_t *wih, const int32_t *rqih, const int32_t *bias,
                       const int16_t *x, int nb, int fp, int G, int16_t *px)
{
        for (int r = 0; r < G; r++) {
                const int16_t *w = wih + (size_t) r * fp;
                int b = 0;

                for (; b + 1 < nb; b += 2) {
                        int32_t d0, d1;

                        dot16x2(w, x + (size_t) b * fp, x + (size_t) (b + 1) * fp, fp, &d0, &d1);
                        px[(size_t) b * G + r] = input_proj(d0, rqih + 2 * r, bias[r]);
                        px[(size_t) (b + 1) * G + r] = input_proj(d1, rqih + 2 * r, bias[r]);
                }
                if (b < nb)
                        px[(size_t) b * G + r] = input_proj(dot16(w, x + (size_t) b * fp, fp),
                                                            rqih + 2 * r, bias[r]);
        }
}

/* docs/int8.md §4 in three element loops: split Q3.12 values into segment
 * and position (int16 lanes), read each segment's base and slope from a
 * pair table (the only scalar loop), interpolate. */
static void table_split(const int16_t *x, int n, int16_t *idx, int16_t *frac)
{
        for (int i = 0; i < n; i++) {
                uint16_t u = (uint16_t) (x[i] + 32768);

                idx[i] = (int16_t) (u >> 8);
                frac[i] = (int16_t) (u & 255);
        }
}

static void table_read(const int32_t *pairs, const int16_t *idx, int n, int32_t *seg)
{
        for (int i = 0; i < n; i++)
                seg[i] = pairs[idx[i]];
}

/* T[i] + (((T[i+1] - T[i]) * frac + 128) >> 8) */
static inline int32_t table_interp(int32_t seg, int32_t frac)
{
        return (seg & 0xffff) - 32768 + (((seg >> 16) * frac + 128) >> 8);
}

/* The gates and the state update of one step from pre-activations pre
 * (docs/int8.md §3): c (Q3.12) in place, h8 (Q0.7) into h.  tmp holds
 * 10 * 4H bytes. */
static void lstm_gates(const int16_t *pre, int H, int16_t *c, int16_t *h, int16_t *tmp)
{
        const int G = 4 * H;
        int16_t *idx = tmp, *frac = tmp + G, *y = tmp + 2 * G;
        int32_t *seg = (int32_t *) (void *) (tmp + 3 * G);

        table_split(pre, G, idx, frac);
        table_read(gw_table_sigmoid_pair, idx, 2 * H, seg);
        table_read(gw_table_tanh_pair, idx + 2 * H, H, seg + 2 * H);
        table_read(gw_table_sigmoid_pair, idx + 3 * H, H, seg + 3 * H);
        for (int r = 0; r < G; r++)
                y[r] = (int16_t) table_interp(seg[r], frac[r]);

        for (int j = 0; j < H; j++) {
                int32_t i = y[j], f = y[H + j], g = y[2 * H + j];
                int32_t v = ((f * c[j] + (1 << 14)) >> 15) + ((i * g + (1 << 17)) >> 18);

                c[j] = (int16_t) (v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
        }
        table_split(c, H, idx, frac);
        table_read(gw_table_tanh_pair, idx, H, seg);
        for (int j = 0; j < H; j++) {
                int32_t h15 = (y[3 * H + j] * table_interp(seg[j], frac[j]) + (1 << 14)) >> 15;
                int32_t v = (h15 + 128) >> 8;

                h[j] = (int16_t) (v < -127 ? -127 : v > 127 ? 127 : v);
        }
}

/* One forward step: the recurrent products of all rows first (they read
 * the previous h), then the gates overwrite h. */
static void lstm_step(const int16_t *px, const int16_t *whh, const int32_t *rqhh, int H, int hp,
                      int32_t *acc, int16_t *pre, int16_t *h, int16_t *c, int16_t *tmp)
{
        const int G = 4 * H;

        /* G = 4H is even: rows in pairs, h loaded once for both. */
        for (int r = 0; r < G; r += 2)
                dot16x2(h, whh + (size_t) r * hp, whh + (size_t) (r + 1) * hp, hp, &acc[r], &acc[r + 1]);
        for (int r = 0; r < G; r++)
                pre[r] = sat16(px[r] + rq(acc[r], rqhh + 2 * r));
        lstm_gates(pre, H, c, h, tmp);
}

void gw_engine_int8_head(const gw_engine *e, const int16_t *h, int32_t *logits_q16)
{
        const gw_model *m = e->model;
        int hp = e->lay.hp;

        for (int i = 0; i < e->K; i++) {
                const int16_t *w = (const int16_t *) gw_engine_buf(e, e->lay.head) + (size_t) i * 2 * hp;
                int32_t a = dot16(w, h, 2 * hp);

                logits_q16[i] = (int32_t) clamp64(rq(a, m->q.head_rq + 2 * i) + m->q.head_b[i],
                                                  INT32_MIN, INT32_MAX);
        }
}

int gw_engine_run_int8(gw_engine *e, const int8_t *xq, int32_t *logits_q16)
{
        if (!e || !xq || !logits_q16)
                return -EINVAL;
        if (!e->model->info.has_int8)
                return -EOPNOTSUPP;
        switch (e->isa) {
#if defined(__x86_64__) || defined(__i386__)
        case GW_ISA_AVX2:
                gw_engine_int8_avx2(e, xq, logits_q16);
                break;
        case GW_ISA_SSE41:
                gw_engine_int8_sse41(e, xq, logits_q16);
                break;
#endif
#if defined(__aarch64__)
        case GW_ISA_NEON:
                gw_engine_int8_neon(e, xq, logits_q16);
                break;
#endif
        default:
                gw_engine_int8_c(e, xq, logits_q16);
                break;
        }
        return 0;
}

/* The portable path, written so that compilers vectorise the dot products. */
void gw_engine_int8_c(gw_engine *e, const int8_t *xq, int32_t *logits_q16)
{
        const gw_model *m;
        const gw_engine_layout *l;
        int C, T, F, k, H, G, p, T4, fp, hp;
        int16_t *in, *c1, *c2, *h, *px, *pre, *cell, *tmp;
        int32_t *acc;

        m = e->model;
        l = &e->lay;
        C = e->C, T = e->T, F = e->F, k = e->k, H = e->H, G = 4 * H, p = k / 2, T4 = T / 4;
        fp = l->fp, hp = l->hp;

        in = gw_engine_buf(e, l->xq);
        c1 = gw_engine_buf(e, l->c1q);
        c2 = gw_engine_buf(e, l->c2q);
        px = gw_engine_buf(e, l->pxq);
        acc = gw_engine_buf(e, l->accq);
        pre = gw_engine_buf(e, l->gq);
        h = gw_engine_buf(e, l->hq);
        cell = gw_engine_buf(e, l->cq);
        tmp = gw_engine_buf(e, l->tq);

        /* Input, padded; -128 is outside the scheme's range and reads as
         * -127, so every path sees the same integers. */
        {
                size_t n = (size_t) T * C, pad = (size_t) p * C;
                size_t tail = pad + (size_t) l->lp1 - (size_t) k * C;

                memset(in, 0, pad * sizeof *in);
                for (size_t i = 0; i < n; i++)
                        in[pad + i] = xq[i] < -127 ? -127 : xq[i];
                memset(in + pad + n, 0, tail * sizeof *in);
        }

        conv_pool(in, C, gw_engine_buf(e, l->w1), l->lp1, m->q.conv1_b, m->q.conv1_rq,
                  F, T / 2, c1 + (size_t) p * F, F);
        {
                size_t pad = (size_t) p * F;
                size_t tail = pad + (size_t) l->lp2 - (size_t) k * F;

                memset(c1, 0, pad * sizeof *c1);
                memset(c1 + pad + (size_t) (T / 2) * F, 0, tail * sizeof *c1);
        }
        memset(c2, 0, (size_t) T4 * fp * sizeof *c2);
        conv_pool(c1, F, gw_engine_buf(e, l->w2), l->lp2, m->q.conv2_b, m->q.conv2_rq,
                  F, T4, c2, fp);

        /* Forward direction; input projections batched per block of steps. */
        memset(h, 0, (size_t) 2 * hp * sizeof *h);
        memset(cell, 0, (size_t) H * sizeof *cell);
        for (int t0 = 0; t0 < T4; t0 += GW_LSTM_BLOCK) {
                int nb = T4 - t0 < GW_LSTM_BLOCK ? T4 - t0 : GW_LSTM_BLOCK;

                lstm_input(gw_engine_buf(e, l->wih_f), m->q.fwd_rq_ih, m->q.fwd_b,
                           c2 + (size_t) t0 * fp, nb, fp, G, px);
                for (int b = 0; b < nb; b++)
                        lstm_step(px + (size_t) b * G, gw_engine_buf(e, l->whh_f), m->q.fwd_rq_hh,
                                  H, hp, acc, pre, h, cell, tmp);
        }

        /* Backward direction: one step on the last input from zero state,
         * so no recurrent term and f * c = 0. */
        lstm_input(gw_engine_buf(e, l->wih_b), m->q.bwd_rq_ih, m->q.bwd_b,
                   c2 + (size_t) (T4 - 1) * fp, 1, fp, G, pre);
        memset(cell, 0, (size_t) H * sizeof *cell);
        lstm_gates(pre, H, cell, h + hp, tmp);

        gw_engine_int8_head(e, h, logits_q16);
}
