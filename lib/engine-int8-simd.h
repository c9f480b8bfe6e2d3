/* SPDX-License-Identifier: MIT */
/* The INT8 window (docs/int8.md) on a SIMD instruction set, written once
 * against a few vector operations that engine-int8-avx2.c, -sse41.c and
 * -neon.c define before including this file.  Only those files include it.
 *
 * Why this shape: every product is an int16 pair times an int16 pair summed
 * into an int32 lane (pmaddwd; two vmull on NEON), which is exact for the
 * scheme's [-127, 127] values.  The weights are packed [pair][output]
 * (engine.c, pack_simd), so one broadcast pair of activations meets 8
 * outputs per 8 lanes: the conv blocks are small matrix products blocked
 * over several time steps (the weights loaded once per pair serve them
 * all); the LSTM products, input and recurrent, run one step at a time
 * over all gate rows with the step's vector broadcast unit by unit, the
 * input projection of the next step interleaved with the current one.
 * Requantisation is exact in 64-bit
 * lanes (gw_rq8), the activation tables are read per lane.  Summation order
 * differs from the C path; integer sums are exact, so results do not.
 *
 * The includer defines:
 *   GW_SIMD_FN            attributes of the helpers (static inline, target)
 *   GW_SIMD_ENTRY         attributes of the entry point (target)
 *   GW_SIMD_NAME(n)       the entry point's name
 *   VW                    int32 lanes per vector (4 or 8)
 *   V                     the vector type
 *   v_zero v_set1 v_load v_store v_bcast v_madd v_add v_max v_min v_mullo
 *   v_srai v_store16 v_rq v_table_at in_convert
 *   GW_SIMD_U8            1 with v_dot4 and v_store8 (unsigned activation
 *                         bytes times signed weight bytes), else 0
 *   CONV_NP               pooled outputs per conv tile (time steps / 2)
 *   REC_NB                vectors per recurrent tile (at most 12; a smaller
 *                         one that divides the rows is taken when it does not)
 * Tiles cover 16 outputs (16 / VW vectors); an 8-output tile takes the
 * rest (f8 and g8 are multiples of 8). */

#include <string.h>

#define TILE_NB   (16 / VW)
#define HALF_NB   (8 / VW)
#define MAX_ROWS  4           /* time rows of one tile */

/* Stores n <= VW int16 values of v. */
GW_SIMD_FN void store16_n(int16_t *p, V v, int n)
{
        if (n >= VW) {
                v_store16(p, v);
        } else if (n > 0) {
                int16_t tmp[VW];

                v_store16(tmp, v);
                memcpy(p, tmp, (size_t) n * sizeof *p);
        }
}

/* Stores n <= VW values of v (within [0, 127]) as bytes, or as int16. */
GW_SIMD_FN void store_n(void *p, size_t at, V v, int n, const int OUT8)
{
#if GW_SIMD_U8
        if (OUT8) {
                uint8_t tmp[VW], *d = (uint8_t *) p + at;

                if (n >= VW) {
                        v_store8(d, v);
                } else if (n > 0) {
                        v_store8(tmp, v);
                        memcpy(d, tmp, (size_t) n);
                }
                return;
        }
#endif
        (void) OUT8;
        store16_n((int16_t *) p + at, v, n);
}

/* The product of 4 activation bytes: an int16 pair (v_madd) or, where the
 * activations are known to lie in [0, 127] (the outputs of the conv blocks)
 * and the path has it, four unsigned bytes times four signed weight bytes
 * (v_dot4: pmaddubsw, whose pair sums of at most 2 * 127 * 127 cannot
 * saturate, then pmaddwd against ones), which halves the multiply-adds and
 * the broadcasts of conv2 and of the LSTM input projections. */
#if GW_SIMD_U8
#define V_MUL(U8, x, w) ((U8) ? v_dot4(x, w) : v_madd(x, w))
#else
#define V_MUL(U8, x, w) v_madd(x, w)
#endif

/* acc[t][b] = sum over units q (4 bytes: an int16 pair, or 4 bytes when
 * U8) of x_t[q] . w[q][o0 + b VW ..], for NT <= 4 rows x_t = x + t * stride
 * (in bytes) and NB <= 4 vectors of outputs.  The
 * accumulators are named variables rather than an array: with NT and NB
 * constant after inlining, gcc and clang both keep exactly the live ones
 * in registers (arrays of vectors were left in memory by one of them). */
#define MAC_ROW(t)                                                              \
        if (NT > t) {                                                           \
                V xb = v_bcast(xr + (size_t) (t) * stride);                     \
                a##t##0 = v_add(V_MUL(U8, xb, w0), a##t##0);                    \
                if (NB > 1)                                                     \
                        a##t##1 = v_add(V_MUL(U8, xb, w1), a##t##1);            \
                if (NB > 2)                                                     \
                        a##t##2 = v_add(V_MUL(U8, xb, w2), a##t##2);            \
                if (NB > 3)                                                     \
                        a##t##3 = v_add(V_MUL(U8, xb, w3), a##t##3);            \
        }
#define MAC_OUT(t)                                                              \
        acc[t][0] = a##t##0, acc[t][1] = a##t##1, acc[t][2] = a##t##2, acc[t][3] = a##t##3

GW_SIMD_FN void mac_tile(const uint8_t *x, size_t stride, int nunits, const int32_t *w, int ldw,
                         int o0, const int NT, const int NB, const int U8, V acc[MAX_ROWS][4])
{
        V a00 = v_zero(), a01 = v_zero(), a02 = v_zero(), a03 = v_zero();
        V a10 = v_zero(), a11 = v_zero(), a12 = v_zero(), a13 = v_zero();
        V a20 = v_zero(), a21 = v_zero(), a22 = v_zero(), a23 = v_zero();
        V a30 = v_zero(), a31 = v_zero(), a32 = v_zero(), a33 = v_zero();

        for (int q = 0; q < nunits; q++) {
                const int32_t *wq = w + (size_t) q * ldw + o0;
                const uint8_t *xr = x + 4 * q;
                V w0 = v_load(wq);
                V w1 = NB > 1 ? v_load(wq + VW) : v_zero();
                V w2 = NB > 2 ? v_load(wq + 2 * VW) : v_zero();
                V w3 = NB > 3 ? v_load(wq + 3 * VW) : v_zero();

                MAC_ROW(0)
                MAC_ROW(1)
                MAC_ROW(2)
                MAC_ROW(3)
        }
        MAC_OUT(0);
        MAC_OUT(1);
        MAC_OUT(2);
        MAC_OUT(3);
}

#undef MAC_ROW
#undef MAC_OUT

/* docs/int8.md §2 for NP pooled outputs from u and NB vectors of outputs
 * from o0: pool the accumulators, add the bias, requantise, clamp to
 * [0, 127].  Input rows are cin values of 1 (IN8) or 2 bytes, output row u
 * is out + u * os values of 1 (OUT8) or 2 bytes; n_out values of it are
 * written. */
GW_SIMD_FN void conv_tile(const uint8_t *in, int cin, int nunits, const int32_t *w, int f8,
                          const int32_t *bias, const gw_rq8 *rq, int u, int o0,
                          void *out, int os, int n_out, const int NP, const int NB,
                          const int IN8, const int OUT8)
{
        size_t row = (size_t) cin * (IN8 ? 1 : 2);
        V acc[MAX_ROWS][4];

        mac_tile(in + (size_t) (2 * u) * row, row, nunits, w, f8, o0, 2 * NP, NB, IN8, acc);
#pragma GCC unroll 2
        for (int p = 0; p < NP; p++)
#pragma GCC unroll 4
                for (int b = 0; b < NB; b++) {
                        int o = o0 + b * VW;
                        size_t at = (size_t) (u + p) * os + o;
                        V a = v_add(v_max(acc[2 * p][b], acc[2 * p + 1][b]), v_load(bias + o));
                        V r = v_rq(a, rq + o / 8, (o % 8) / VW);

                        r = v_min(v_max(r, v_zero()), v_set1(127));
                        store_n(out, at, r, n_out - o, OUT8);
                }
}

GW_SIMD_FN void conv_pool(const void *in, int cin, int nunits, const int32_t *w, int f8,
                          const int32_t *bias, const gw_rq8 *rq, int pooled,
                          void *out, int os, int n_out, const int IN8, const int OUT8)
{
        const uint8_t *x = in;
        int o0 = 0;

        for (; o0 + 16 <= f8; o0 += 16) {
                int u = 0;

                for (; u + CONV_NP <= pooled; u += CONV_NP)
                        conv_tile(x, cin, nunits, w, f8, bias, rq, u, o0, out, os, n_out,
                                  CONV_NP, TILE_NB, IN8, OUT8);
                for (; u < pooled; u++)
                        conv_tile(x, cin, nunits, w, f8, bias, rq, u, o0, out, os, n_out,
                                  1, TILE_NB, IN8, OUT8);
        }
        if (o0 < f8) {
                int u = 0;

                for (; u + CONV_NP <= pooled; u += CONV_NP)
                        conv_tile(x, cin, nunits, w, f8, bias, rq, u, o0, out, os, n_out,
                                  CONV_NP, HALF_NB, IN8, OUT8);
                for (; u < pooled; u++)
                        conv_tile(x, cin, nunits, w, f8, bias, rq, u, o0, out, os, n_out,
                                  1, HALF_NB, IN8, OUT8);
        }
}

/* pre[r] = sat16(px[r] + rq(W[r] . h)) over all g8 rows: NB <= 12 vectors
 * of rows per pass, h broadcast pair by pair (NB * VW divides g8).  All
 * rows of the hidden state fit one pass on AVX2 for H up to 24, so h is
 * broadcast once per step.  With W = Wih, h = x_t and px = the bias, it
 * is the input projection sat16(rq(Wih[r] . x_t) + bias[r]). */
#define REC_MAC(b)                                                              \
        if (NB > b)                                                             \
                a##b = v_add(a##b, V_MUL(U8, hb, v_load(wq + (b) * VW)))
#define REC_OUT(b)                                                              \
        if (NB > b) {                                                           \
                int o = o0 + (b) * VW;                                          \
                V r = v_add(v_load(px + o), v_rq(a##b, rq + o / 8, (o % 8) / VW)); \
                v_store(pre + o, v_min(v_max(r, v_set1(INT16_MIN)), v_set1(INT16_MAX))); \
        }

GW_SIMD_FN void rec_pass(const void *h, int nph, const int32_t *w, int g8, const gw_rq8 *rq,
                         const int32_t *px, int32_t *pre, const int NB, const int U8)
{
        const uint8_t *hu = h;

        for (int o0 = 0; o0 < g8; o0 += NB * VW) {
                V a0 = v_zero(), a1 = v_zero(), a2 = v_zero(), a3 = v_zero();
                V a4 = v_zero(), a5 = v_zero(), a6 = v_zero(), a7 = v_zero();
                V a8 = v_zero(), a9 = v_zero(), a10 = v_zero(), a11 = v_zero();

                for (int q = 0; q < nph; q++) {
                        V hb = v_bcast(hu + 4 * q);
                        const int32_t *wq = w + (size_t) q * g8 + o0;

                        REC_MAC(0);
                        REC_MAC(1);
                        REC_MAC(2);
                        REC_MAC(3);
                        REC_MAC(4);
                        REC_MAC(5);
                        REC_MAC(6);
                        REC_MAC(7);
                        REC_MAC(8);
                        REC_MAC(9);
                        REC_MAC(10);
                        REC_MAC(11);
                }
                REC_OUT(0)
                REC_OUT(1)
                REC_OUT(2)
                REC_OUT(3)
                REC_OUT(4)
                REC_OUT(5)
                REC_OUT(6)
                REC_OUT(7)
                REC_OUT(8)
                REC_OUT(9)
                REC_OUT(10)
                REC_OUT(11)
                (void) a0, (void) a1, (void) a2, (void) a3, (void) a4, (void) a5;
                (void) a6, (void) a7, (void) a8, (void) a9, (void) a10, (void) a11;
        }
}

#undef REC_MAC
#undef REC_OUT

/* g8 is a multiple of 32, so 32 / VW vectors per pass always divide it.
 * h holds nph units of 4 bytes: int16 pairs, or unsigned bytes when U8. */
GW_SIMD_FN void lstm_recurrent(const void *h, int nph, const int32_t *w, int g8,
                               const gw_rq8 *rq, const int32_t *px, int32_t *pre, const int U8)
{
        if (g8 % (REC_NB * VW) == 0)
                rec_pass(h, nph, w, g8, rq, px, pre, REC_NB, U8);
        else
                rec_pass(h, nph, w, g8, rq, px, pre, 32 / VW, U8);
}

/* docs/int8.md §3 state update for the hidden units in lanes: the four
 * gates of unit j are rows j, hp + j, 2 hp + j, 3 hp + j of pre.  cell
 * holds the Q3.12 state in int32 lanes; h8 goes to h (int16). */
GW_SIMD_FN void lstm_gates(const int32_t *pre, int hp, int32_t *cell, int16_t *h)
{
        for (int j = 0; j < hp; j += VW) {
                V i = v_table_at(gw_table_sigmoid_pair, pre + j);
                V f = v_table_at(gw_table_sigmoid_pair, pre + hp + j);
                V g = v_table_at(gw_table_tanh_pair, pre + 2 * hp + j);
                V o = v_table_at(gw_table_sigmoid_pair, pre + 3 * hp + j);
                V c = v_load(cell + j), t, h15, h8;

                c = v_add(v_srai(v_add(v_mullo(f, c), v_set1(1 << 14)), 15),
                          v_srai(v_add(v_mullo(i, g), v_set1(1 << 17)), 18));
                c = v_min(v_max(c, v_set1(INT16_MIN)), v_set1(INT16_MAX));
                v_store(cell + j, c);
                t = v_table_at(gw_table_tanh_pair, cell + j);
                h15 = v_srai(v_add(v_mullo(o, t), v_set1(1 << 14)), 15);
                h8 = v_srai(v_add(h15, v_set1(128)), 8);
                h8 = v_min(v_max(h8, v_set1(-127)), v_set1(127));
                v_store16(h + j, h8);
        }
}

GW_SIMD_ENTRY void GW_SIMD_NAME(gw_engine_int8)(gw_engine *e, const int8_t *xq, int32_t *logits_q16)
{
        const gw_engine_layout *l = &e->lay;
        int C = e->C, T = e->T, F = e->F, k = e->k, p = e->k / 2, T4 = e->T / 4;
        int fp = l->fp, hp = l->hp, g8 = l->g8;
        int16_t *in = gw_engine_buf(e, l->xq);
        uint8_t *c1 = gw_engine_buf(e, l->c1q);
        uint8_t *c2 = gw_engine_buf(e, l->c2q);
        int16_t *h = gw_engine_buf(e, l->hq);
        int32_t *px = gw_engine_buf(e, l->pxq);
        int32_t *pre = gw_engine_buf(e, l->accq);
        int32_t *cell = gw_engine_buf(e, l->cq);
        /* conv1's and conv2's outputs as bytes with the 4-byte products, as
         * int16 (the buffers' size) with the pair products. */
        size_t es = GW_SIMD_U8 ? 1 : 2;
        int n2 = GW_SIMD_U8 ? l->nq2 : l->np2, nx = GW_SIMD_U8 ? l->nqf : l->npf;
        const int32_t *w2 = gw_engine_buf(e, GW_SIMD_U8 ? l->sq2 : l->sw2);
        const int32_t *wihf = gw_engine_buf(e, GW_SIMD_U8 ? l->sqihf : l->swihf);
        const int32_t *wihb = gw_engine_buf(e, GW_SIMD_U8 ? l->sqihb : l->swihb);

        /* Input, zero-padded as in the C path; -128 reads as -127. */
        {
                size_t n = (size_t) T * C, pad = (size_t) p * C;
                size_t tail = pad + (size_t) l->lp1 - (size_t) k * C;

                memset(in, 0, pad * sizeof *in);
                in_convert(xq, in + pad, n);
                memset(in + pad + n, 0, tail * sizeof *in);
        }
        conv_pool(in, C, l->np1, gw_engine_buf(e, l->sw1), l->f8, gw_engine_buf(e, l->sb1),
                  gw_engine_buf(e, l->srq1), T / 2, c1 + (size_t) p * F * es, F, F,
                  0, GW_SIMD_U8);
        {
                /* The last patch's units read past k*F values: zeros, which
                 * meet zero weights. */
                size_t pad = (size_t) p * F;
                size_t over = GW_SIMD_U8 ? (size_t) 4 * l->nq2 - (size_t) k * F
                                         : (size_t) l->lp2 - (size_t) k * F;

                memset(c1, 0, pad * es);
                memset(c1 + (pad + (size_t) (T / 2) * F) * es, 0, (pad + over) * es);
        }
        /* Rows of fp values; the lanes from F on come out 0 (no weights,
         * m = 0). */
        conv_pool(c1, F, n2, w2, l->f8, gw_engine_buf(e, l->sb2), gw_engine_buf(e, l->srq2), T4,
                  c2, fp, fp, GW_SIMD_U8, GW_SIMD_U8);

        /* Forward direction.  The input projection of step t + 1 is issued
         * between the recurrent product and the gates of step t: it does
         * not depend on h, so it runs while the step's requantisation,
         * table reads and state update wait on each other.  px holds two
         * rows. */
        memset(h, 0, (size_t) 2 * hp * sizeof *h);
        memset(cell, 0, (size_t) hp * sizeof *cell);
        lstm_recurrent(c2, nx, wihf, g8, gw_engine_buf(e, l->srqihf), gw_engine_buf(e, l->sbf), px,
                       GW_SIMD_U8);
        for (int t = 0; t < T4; t++) {
                lstm_recurrent(h, l->nph, gw_engine_buf(e, l->swhh), g8, gw_engine_buf(e, l->srqhh),
                               px + (size_t) (t & 1) * g8, pre, 0);
                if (t + 1 < T4)
                        lstm_recurrent(c2 + (size_t) (t + 1) * fp * es, nx, wihf, g8,
                                       gw_engine_buf(e, l->srqihf), gw_engine_buf(e, l->sbf),
                                       px + (size_t) ((t + 1) & 1) * g8, GW_SIMD_U8);
                lstm_gates(pre, hp, cell, h);
        }

        /* Backward direction: one step on the last input from zero state. */
        lstm_recurrent(c2 + (size_t) (T4 - 1) * fp * es, nx, wihb, g8, gw_engine_buf(e, l->srqihb),
                       gw_engine_buf(e, l->sbb), pre, GW_SIMD_U8);
        memset(cell, 0, (size_t) hp * sizeof *cell);
        lstm_gates(pre, hp, cell, h + hp);

        gw_engine_int8_head(e, h, logits_q16);
}

#undef V_MUL
#undef TILE_NB
#undef HALF_NB
#undef MAX_ROWS
