/* SPDX-License-Identifier: MIT */
/* The integer-only INT8 engine, scheme gw-int8-v1.  docs/int8.md is the
 * normative description; train/gaitway/intsim.py implements the same
 * arithmetic and the golden tests require bit-identical results.  No
 * floating point is executed in this file.
 *
 * Layout: activations are time-major int8 so that the k x Cin patch of one
 * conv output is contiguous; every product is then a plain dot product of
 * two int8 runs into an int32, which compilers vectorise. */

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

static inline int32_t dot_i8(const int8_t *restrict a, const int8_t *restrict b, int n)
{
        int32_t s = 0;

        for (int i = 0; i < n; i++)
                s += (int32_t) a[i] * b[i];
        return s;
}

/* docs/int8.md §4: linear interpolation in a 257-entry table over the Q3.12
 * domain [-8, 8). */
static inline int32_t table_q15(const int16_t *tab, int32_t x)
{
        int32_t u = x + 32768, i = u >> 8, frac = u & 255;

        return tab[i] + (((tab[i + 1] - tab[i]) * frac + 128) >> 8);
}

/* docs/int8.md §2.  `in` is the zero-padded time-major input (row t of the
 * padded buffer is input time t - k/2), `wp` the packed weights
 * [F][lp] = [o][tap j][channel c], zero beyond k*Cin.  Pooling is done on
 * the accumulators: ReLU and the requantisation are monotonic. */
static void conv_pool(const int8_t *in, int cin, const int8_t *wp, int lp,
                      const int32_t *bias, const int32_t *rqp, int F, int pooled,
                      int8_t *out)
{
        for (int u = 0; u < pooled; u++) {
                const int8_t *x0 = in + (size_t) (2 * u) * cin;
                const int8_t *x1 = x0 + cin;

                for (int o = 0; o < F; o++) {
                        const int8_t *w = wp + (size_t) o * lp;
                        int32_t d0 = dot_i8(w, x0, lp);
                        int32_t d1 = dot_i8(w, x1, lp);
                        int64_t acc = (int64_t) bias[o] + (d0 > d1 ? d0 : d1);

                        out[(size_t) u * F + o] = (int8_t) clamp64(rq(acc, rqp + 2 * o), 0, 127);
                }
        }
}

/* px[r] = sat16(rq(Wih[r] . x, mih[r], sih[r]) + bias[r]) for one step. */
static void lstm_input(const int8_t *wih, const int32_t *rqih, const int32_t *bias,
                       const int8_t *x, int F, int G, int16_t *px)
{
        for (int r = 0; r < G; r++)
                px[r] = sat16(rq(dot_i8(wih + (size_t) r * F, x, F), rqih + 2 * r) + bias[r]);
}

/* One LSTM step (docs/int8.md §3).  With whh == NULL the recurrent term is
 * zero: the backward direction's single step from the zero state. */
static void lstm_step(const int16_t *px, const int8_t *whh, const int32_t *rqhh, int H,
                      int8_t *h8, int16_t *c, int16_t *pre)
{
        const int G = 4 * H;

        if (whh)
                for (int r = 0; r < G; r++) {
                        int16_t ph = sat16(rq(dot_i8(whh + (size_t) r * H, h8, H), rqhh + 2 * r));
                        pre[r] = sat16((int32_t) px[r] + ph);
                }
        else
                memcpy(pre, px, (size_t) G * sizeof *pre);

        for (int j = 0; j < H; j++) {
                int32_t i = table_q15(gw_table_sigmoid_q15, pre[j]);
                int32_t f = table_q15(gw_table_sigmoid_q15, pre[H + j]);
                int32_t g = table_q15(gw_table_tanh_q15, pre[2 * H + j]);
                int32_t o = table_q15(gw_table_sigmoid_q15, pre[3 * H + j]);
                int16_t cn = sat16((int64_t) ((f * c[j] + (1 << 14)) >> 15) +
                                   ((i * g + (1 << 17)) >> 18));
                int32_t h15 = (o * table_q15(gw_table_tanh_q15, cn) + (1 << 14)) >> 15;

                c[j] = cn;
                h8[j] = (int8_t) clamp64((h15 + 128) >> 8, -127, 127);
        }
}

int gw_engine_run_int8(gw_engine *e, const int8_t *xq, int32_t *logits_q16)
{
        const gw_model *m;
        const gw_engine_layout *l;
        int C, T, F, k, H, G, p, T4;
        int8_t *in, *c1, *c2, *h8;
        int16_t *px, *pre, *cell;

        if (!e || !xq || !logits_q16)
                return -EINVAL;
        m = e->model;
        if (!m->info.has_int8)
                return -EOPNOTSUPP;
        l = &e->lay;
        C = e->C, T = e->T, F = e->F, k = e->k, H = e->H, G = 4 * H, p = k / 2, T4 = T / 4;

        in = gw_engine_buf(e, l->xq);
        c1 = gw_engine_buf(e, l->c1q);
        c2 = gw_engine_buf(e, l->c2q);
        px = gw_engine_buf(e, l->pxq);
        pre = gw_engine_buf(e, l->gq);
        h8 = gw_engine_buf(e, l->hq);
        cell = gw_engine_buf(e, l->cq);

        /* Input, padded; -128 is outside the scheme's range and reads as
         * -127, so every path sees the same integers. */
        {
                size_t n = (size_t) T * C, pad = (size_t) p * C;
                size_t tail = pad + (size_t) l->lp1 - (size_t) k * C;

                memset(in, 0, pad);
                for (size_t i = 0; i < n; i++)
                        in[pad + i] = xq[i] < -127 ? -127 : xq[i];
                memset(in + pad + n, 0, tail);
        }

        conv_pool(in, C, gw_engine_buf(e, l->w1), l->lp1, m->q.conv1_b, m->q.conv1_rq,
                  F, T / 2, c1 + (size_t) p * F);
        {
                size_t pad = (size_t) p * F;
                size_t tail = pad + (size_t) l->lp2 - (size_t) k * F;

                memset(c1, 0, pad);
                memset(c1 + pad + (size_t) (T / 2) * F, 0, tail);
        }
        conv_pool(c1, F, gw_engine_buf(e, l->w2), l->lp2, m->q.conv2_b, m->q.conv2_rq,
                  F, T4, c2);

        /* Forward direction; input projections batched per block of steps. */
        memset(h8, 0, (size_t) 2 * H);
        memset(cell, 0, (size_t) H * sizeof *cell);
        for (int t0 = 0; t0 < T4; t0 += GW_LSTM_BLOCK) {
                int nb = T4 - t0 < GW_LSTM_BLOCK ? T4 - t0 : GW_LSTM_BLOCK;

                for (int b = 0; b < nb; b++)
                        lstm_input(m->q.fwd_wih, m->q.fwd_rq_ih, m->q.fwd_b,
                                   c2 + (size_t) (t0 + b) * F, F, G, px + (size_t) b * G);
                for (int b = 0; b < nb; b++)
                        lstm_step(px + (size_t) b * G, m->q.fwd_whh, m->q.fwd_rq_hh, H,
                                  h8, cell, pre);
        }

        /* Backward direction: one step on the last input from zero state. */
        lstm_input(m->q.bwd_wih, m->q.bwd_rq_ih, m->q.bwd_b, c2 + (size_t) (T4 - 1) * F, F, G, px);
        memset(cell, 0, (size_t) H * sizeof *cell);
        lstm_step(px, NULL, NULL, H, h8 + H, cell, pre);

        /* docs/int8.md §5. */
        for (int i = 0; i < e->K; i++) {
                int32_t acc = dot_i8(m->q.head_w + (size_t) i * 2 * H, h8, 2 * H);

                logits_q16[i] = (int32_t) clamp64(rq(acc, m->q.head_rq + 2 * i) + m->q.head_b[i],
                                                  INT32_MIN, INT32_MAX);
        }
        return 0;
}
