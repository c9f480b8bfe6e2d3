/* SPDX-License-Identifier: MIT */
/* The FP32 reference engine: MicroBi-ConvLSTM as in docs/model.md, with
 * BatchNorm folded into the convs at export.
 *
 * Loops are arranged so that the compiler can vectorise them without
 * reassociating float sums (which it may not do without -ffast-math): the
 * convs run channel-major over blocks of consecutive output times, and the
 * dot products keep eight explicit partial sums.  The summation order is
 * therefore fixed by this source and identical on every target. */

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine-private.h"

/* Conv outputs computed together; 8 SSE or 4 AVX registers of
 * accumulators, enough independent chains to hide the add latency. */
#define CONV_BLOCK 32

static inline float dot_f32(const float *restrict a, const float *restrict b, int n)
{
        float s[8] = { 0 };
        int i = 0;

        for (; i + 8 <= n; i += 8)
                for (int l = 0; l < 8; l++)
                        s[l] += a[i + l] * b[i + l];
        for (int l = 0; i < n; i++, l++)
                s[l] += a[i] * b[i];
        return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* nt consecutive conv outputs t0 .. t0+nt-1 of one output channel, pooled
 * in pairs with ReLU.  `in` is channel-major [cin][tp], zero-padded by k/2
 * on both sides; `w` is the channel's [cin][k] weights. */
static inline __attribute__((always_inline))
void conv_block(const float *in, int cin, int tp, const float *w, int k, float bias,
                int t0, int nt, float *out, ptrdiff_t ostride)
{
        float a[CONV_BLOCK];

        for (int l = 0; l < nt; l++)
                a[l] = bias;
        for (int c = 0; c < cin; c++) {
                const float *x = in + (size_t) c * tp + t0;
                const float *wc = w + (size_t) c * k;

                for (int j = 0; j < k; j++) {
                        float wv = wc[j];

                        for (int l = 0; l < nt; l++)
                                a[l] += wv * x[j + l];
                }
        }
        for (int u = 0; u < nt / 2; u++) {
                float v = a[2 * u] > a[2 * u + 1] ? a[2 * u] : a[2 * u + 1];

                out[u * ostride] = v > 0.0f ? v : 0.0f;
        }
}

/* conv_block() for CONV_BLOCK outputs with the accumulators in named vector
 * variables (GCC/Clang vector extensions, lowered to SSE, NEON or scalar
 * code): an array of accumulators stays in memory, and its loads and
 * stores cost a fifth of the conv time.  Same products and sums in the same
 * order as conv_block(), so the same results. */
typedef float v4f __attribute__((vector_size(16)));

static inline v4f load4(const float *p)
{
        v4f v;

        memcpy(&v, p, sizeof v);
        return v;
}

static void conv_block32(const float *in, int cin, int tp, const float *w, int k, float bias,
                         int t0, float *out, ptrdiff_t ostride)
{
        v4f a0, a1, a2, a3, a4, a5, a6, a7;
        float a[CONV_BLOCK];

        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = (v4f) { bias, bias, bias, bias };
        for (int c = 0; c < cin; c++) {
                const float *x = in + (size_t) c * tp + t0;
                const float *wc = w + (size_t) c * k;

                for (int j = 0; j < k; j++) {
                        const float *xj = x + j;
                        v4f wv = { wc[j], wc[j], wc[j], wc[j] };

                        a0 += wv * load4(xj);
                        a1 += wv * load4(xj + 4);
                        a2 += wv * load4(xj + 8);
                        a3 += wv * load4(xj + 12);
                        a4 += wv * load4(xj + 16);
                        a5 += wv * load4(xj + 20);
                        a6 += wv * load4(xj + 24);
                        a7 += wv * load4(xj + 28);
                }
        }
        memcpy(a, &a0, sizeof a0);
        memcpy(a + 4, &a1, sizeof a1);
        memcpy(a + 8, &a2, sizeof a2);
        memcpy(a + 12, &a3, sizeof a3);
        memcpy(a + 16, &a4, sizeof a4);
        memcpy(a + 20, &a5, sizeof a5);
        memcpy(a + 24, &a6, sizeof a6);
        memcpy(a + 28, &a7, sizeof a7);
        for (int u = 0; u < CONV_BLOCK / 2; u++) {
                float v = a[2 * u] > a[2 * u + 1] ? a[2 * u] : a[2 * u + 1];

                out[u * ostride] = v > 0.0f ? v : 0.0f;
        }
}

/* conv -> ReLU -> max-pool 2 over t outputs; pooled output (u, o) goes to
 * out[u * su + o * so]. */
static void conv_pool(const float *in, int cin, int tp, const float *w, const float *b,
                      int F, int k, int t, float *out, ptrdiff_t su, ptrdiff_t so)
{
        for (int o = 0; o < F; o++) {
                const float *wo = w + (size_t) o * cin * k;
                float *oo = out + o * so;
                int t0 = 0;

                for (; t0 + CONV_BLOCK <= t; t0 += CONV_BLOCK)
                        conv_block32(in, cin, tp, wo, k, b[o], t0, oo + (t0 / 2) * su, su);
                for (; t0 < t; t0 += 2)
                        conv_block(in, cin, tp, wo, k, b[o], t0, 2, oo + (t0 / 2) * su, su);
        }
}

/* Gate rows computed together in the LSTM matrix-vector products: 8 SSE
 * registers of accumulators, like CONV_BLOCK. */
#define ROW_BLOCK 32

/* out[r] += sum_j wt[j][r] * v[j] for rows r0 .. r0+nr-1, with wt the
 * transposed matrix [n][rows]: the loop runs along contiguous rows with
 * v[j] broadcast, so it vectorises without reassociating a sum. */
static inline __attribute__((always_inline))
void matvec_block(const float *wt, const float *v, int n, int rows, int r0, int nr, float *out)
{
        float a[ROW_BLOCK];

        for (int l = 0; l < nr; l++)
                a[l] = out[r0 + l];
        for (int j = 0; j < n; j++) {
                const float *w = wt + (size_t) j * rows + r0;
                float vj = v[j];

                for (int l = 0; l < nr; l++)
                        a[l] += w[l] * vj;
        }
        for (int l = 0; l < nr; l++)
                out[r0 + l] = a[l];
}

/* rows is 4H, a multiple of 4. */
static void matvec_t(const float *wt, const float *v, int n, int rows, float *out)
{
        int r0 = 0;

        for (; r0 + ROW_BLOCK <= rows; r0 += ROW_BLOCK)
                matvec_block(wt, v, n, rows, r0, ROW_BLOCK, out);
        for (; r0 < rows; r0 += 4)
                matvec_block(wt, v, n, rows, r0, 4, out);
}

/* The gate functions through exp(x): Cephes' single-precision range
 * reduction and polynomial (about 1 ulp).  Branch-free element loops that
 * vectorise; a libm call per gate would dominate the LSTM's time.  The
 * argument is clamped in a loop of its own: GCC does not if-convert the
 * clamp together with the rest. */
static void exp_clamped(float *v, int n)
{
        for (int i = 0; i < n; i++) {
                float x = v[i];
                float fx, r, z, y, p, scale;
                int32_t e, bits;

                fx = x * 1.44269504088896341f + 0.5f;
                e = (int32_t) fx;
                e -= (float) e > fx;    /* floor for negative fx */
                r = x - (float) e * 0.693359375f;
                r = r - (float) e * -2.12194440e-4f;
                z = r * r;
                p = 1.9875691500e-4f;
                p = p * r + 1.3981999507e-3f;
                p = p * r + 8.3334519073e-3f;
                p = p * r + 4.1665795894e-2f;
                p = p * r + 1.6666665459e-1f;
                p = p * r + 5.0000001201e-1f;
                y = p * z + r + 1.0f;
                bits = (e + 127) << 23;
                memcpy(&scale, &bits, sizeof scale);
                v[i] = y * scale;
        }
}

/* v = scale * v clamped to the range where exp() is finite and normal.  A
 * NaN (weights near FLT_MAX make inf - inf) fails the first comparison and
 * becomes -87: the gates stay finite and the float-to-int conversion in
 * exp_clamped() stays defined. */
static void scale_clamp(float *v, int n, float scale)
{
        for (int i = 0; i < n; i++) {
                float x = scale * v[i];

                x = x > -87.0f ? x : -87.0f;
                v[i] = x < 88.0f ? x : 88.0f;
        }
}

/* The gates and the state update of one step from pre-activations g
 * (PyTorch order i, f, g, o): c in place, h written.  Every gate goes
 * through one sigmoid pass over all 4H values, tanh as
 * tanh(x) = 2 sigmoid(2x) - 1 (absolute error about 1e-7), so the element
 * loops are long and few. */
static void lstm_gates(float *g, int H, float *h, float *c)
{
        const int G = 4 * H;

        scale_clamp(g, 2 * H, -1.0f);
        scale_clamp(g + 2 * H, H, -2.0f);
        scale_clamp(g + 3 * H, H, -1.0f);
        exp_clamped(g, G);
        for (int r = 0; r < G; r++)
                g[r] = 1.0f / (1.0f + g[r]);
        for (int j = 0; j < H; j++) {
                c[j] = g[H + j] * c[j] + g[j] * (2.0f * g[2 * H + j] - 1.0f);
                h[j] = c[j];
        }
        scale_clamp(h, H, -2.0f);
        exp_clamped(h, H);
        for (int j = 0; j < H; j++)
                h[j] = g[3 * H + j] * (2.0f / (1.0f + h[j]) - 1.0f);
}

int gw_engine_run_fp32(gw_engine *e, const float *x, float *logits)
{
        const gw_model *m;
        const gw_engine_layout *l;
        int C, T, F, k, H, G, p, T4, tp1, tp2;
        float *xn, *c1, *c2, *px, *g, *h, *cell;

        if (!e || !x || !logits)
                return -EINVAL;
        m = e->model;
        if (!m->info.has_fp32)
                return -EOPNOTSUPP;
        l = &e->lay;
        C = e->C, T = e->T, F = e->F, k = e->k, H = e->H, G = 4 * H, p = k / 2, T4 = T / 4;
        tp1 = T + k - 1;
        tp2 = T / 2 + k - 1;

        xn = gw_engine_buf(e, l->xn);
        c1 = gw_engine_buf(e, l->c1f);
        c2 = gw_engine_buf(e, l->c2f);
        px = gw_engine_buf(e, l->pxf);
        g = gw_engine_buf(e, l->gf);
        h = gw_engine_buf(e, l->hf);
        cell = gw_engine_buf(e, l->cf);

        /* Normalise into channel-major rows with k/2 zeros on each side;
         * a non-finite sample reads as the channel mean, as in the INT8
         * quantiser. */
        for (int c = 0; c < C; c++) {
                float *row = xn + (size_t) c * tp1;
                float mean = m->mean[c], std = m->std[c];

                memset(row, 0, (size_t) p * sizeof *row);
                memset(row + p + T, 0, (size_t) p * sizeof *row);
                for (int t = 0; t < T; t++) {
                        float v = (x[(size_t) t * C + c] - mean) / std;

                        row[p + t] = isfinite(v) ? v : 0.0f;
                }
        }

        /* c1 is channel-major [F][tp2] with the same padding, c2 time-major. */
        for (int o = 0; o < F; o++) {
                memset(c1 + (size_t) o * tp2, 0, (size_t) p * sizeof *c1);
                memset(c1 + (size_t) o * tp2 + p + T / 2, 0, (size_t) p * sizeof *c1);
        }
        conv_pool(xn, C, tp1, m->f.conv1_w, m->f.conv1_b, F, k, T, c1 + p, 1, tp2);
        conv_pool(c1, F, tp2, m->f.conv2_w, m->f.conv2_b, F, k, T / 2, c2, F, 1);

        /* Forward direction: input projections of a block of steps, then
         * the recurrence; both run along the 4H rows of the transposed
         * weights. */
        memset(h, 0, (size_t) 2 * H * sizeof *h);
        memset(cell, 0, (size_t) H * sizeof *cell);
        for (int t0 = 0; t0 < T4; t0 += GW_LSTM_BLOCK) {
                int nb = T4 - t0 < GW_LSTM_BLOCK ? T4 - t0 : GW_LSTM_BLOCK;

                for (int b = 0; b < nb; b++) {
                        float *pb = px + (size_t) b * G;

                        memcpy(pb, m->f.fwd_b, (size_t) G * sizeof *pb);
                        matvec_t(gw_engine_buf(e, l->wih_t), c2 + (size_t) (t0 + b) * F, F, G, pb);
                }
                for (int b = 0; b < nb; b++) {
                        memcpy(g, px + (size_t) b * G, (size_t) G * sizeof *g);
                        matvec_t(gw_engine_buf(e, l->whh_t), h, H, G, g);
                        lstm_gates(g, H, h, cell);
                }
        }

        /* Backward direction: one step on the last input from zero state. */
        {
                const float *xl = c2 + (size_t) (T4 - 1) * F;

                for (int r = 0; r < G; r++)
                        g[r] = m->f.bwd_b[r] + dot_f32(m->f.bwd_wih + (size_t) r * F, xl, F);
                memset(cell, 0, (size_t) H * sizeof *cell);
                lstm_gates(g, H, h + H, cell);
        }

        /* h is within [-1, 1], but head weights near FLT_MAX can still
         * overflow the sum: logits are finite by contract. */
        for (int i = 0; i < e->K; i++) {
                float v = m->f.head_b[i] + dot_f32(m->f.head_w + (size_t) i * 2 * H, h, 2 * H);

                logits[i] = isnan(v) ? 0.0f : v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v;
        }
        return 0;
}
