/* SPDX-License-Identifier: MIT */
/* The engine object: its memory layout, weight packing and lifetime.  The
 * window computations are in engine-fp32.c and engine-int8.c. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine-private.h"

#define ENGINE_ALIGN 64

static size_t align_up(size_t n, size_t a)
{
        return (n + a - 1) / a * a;
}

static bool dims_valid(const gw_model_info *info)
{
        return info->channels >= 1 && info->channels <= GW_MAX_CHANNELS &&
               info->classes >= GW_MIN_CLASSES && info->classes <= GW_MAX_CLASSES &&
               info->window >= 4 && info->window <= GW_MAX_WINDOW && info->window % 4 == 0 &&
               info->filters >= 1 && info->filters <= 64 &&
               info->kernel >= 1 && info->kernel <= 15 && info->kernel % 2 == 1 &&
               info->hidden >= 1 && info->hidden <= 64;
}

/* Places the buffers of one path.  Three phases never overlap in time:
 * conv1 (input, c1), conv2 (c1, c2) and the LSTM and head (c2, state), so
 * the input and c2 share the space after c1, and the LSTM state reuses c1's
 * space when it fits there. */
static size_t place(size_t s_c1, size_t s_in, size_t s_c2, size_t s_state,
                    size_t *c1, size_t *in, size_t *c2, size_t *state)
{
        size_t end_conv, end_state;

        *c1 = 0;
        *in = s_c1;
        *c2 = s_c1;
        *state = s_state <= s_c1 ? 0 : s_c1 + s_c2;
        end_conv = s_c1 + (s_in > s_c2 ? s_in : s_c2);
        end_state = *state + s_state;
        return end_conv > end_state ? end_conv : end_state;
}

int gw_engine_layout_compute(const gw_model_info *info, gw_engine_layout *ret)
{
        gw_engine_layout l = { 0 };
        size_t C, K, T, F, k, H, G, blk, state, off, a = ENGINE_ALIGN;

        if (!info || !ret || !dims_valid(info))
                return -EINVAL;
        C = (size_t) info->channels;
        K = (size_t) info->classes;
        T = (size_t) info->window;
        F = (size_t) info->filters;
        k = (size_t) info->kernel;
        H = (size_t) info->hidden;
        G = 4 * H;
        blk = T / 4 < GW_LSTM_BLOCK ? T / 4 : GW_LSTM_BLOCK;

        l.lp1 = (int) align_up(k * C, GW_LANES);
        l.lp2 = (int) align_up(k * F, GW_LANES);
        l.fp = (int) align_up(F, GW_LANES);
        l.hp = (int) align_up(H, GW_LANES);

        {
                size_t s_in = align_up(C * (T + k - 1) * sizeof(float), a);
                size_t s_c1 = align_up(F * (T / 2 + k - 1) * sizeof(float), a);
                size_t s_c2 = align_up(T / 4 * F * sizeof(float), a);
                size_t s_px = align_up(blk * G * sizeof(float), a);
                size_t s_g = align_up(G * sizeof(float), a);
                size_t s_h = align_up(2 * H * sizeof(float), a);
                size_t s_c = align_up(H * sizeof(float), a);

                l.bytes_fp32 = place(s_c1, s_in, s_c2, s_px + s_g + s_h + s_c,
                                     &l.c1f, &l.xn, &l.c2f, &state);
                l.pxf = state;
                l.gf = l.pxf + s_px;
                l.hf = l.gf + s_g;
                l.cf = l.hf + s_h;
        }
        {
                /* The last dot product of a conv reads lp - k*Cin values
                 * past the padded input: they meet zero weights. */
                size_t e = sizeof(int16_t);
                size_t s_in = align_up(((T + k - 1) * C + (size_t) l.lp1 - k * C) * e, a);
                size_t s_c1 = align_up(((T / 2 + k - 1) * F + (size_t) l.lp2 - k * F) * e, a);
                size_t s_c2 = align_up(T / 4 * (size_t) l.fp * e, a);
                /* The SIMD paths keep the projections, the gate
                 * pre-activations and the cell state in int32 lanes over
                 * g8 = 4 hp rows (in px, acc and c). */
                size_t g8 = 4 * (size_t) l.hp;
                size_t s_px = align_up(blk * g8 * sizeof(int32_t), a);
                size_t s_acc = align_up(g8 * sizeof(int32_t), a);
                size_t s_g = align_up(G * e, a);
                size_t s_h = align_up(2 * (size_t) l.hp * e, a);
                size_t s_c = align_up((size_t) l.hp * sizeof(int32_t), a);
                size_t s_t = align_up(10 * G, a);

                l.bytes_int8 = place(s_c1, s_in, s_c2, s_px + s_acc + s_g + s_h + s_c + s_t,
                                     &l.c1q, &l.xq, &l.c2q, &state);
                l.pxq = state;
                l.accq = l.pxq + s_px;
                l.gq = l.accq + s_acc;
                l.hq = l.gq + s_g;
                l.cq = l.hq + s_h;
                l.tq = l.cq + s_c;
        }

        if (info->has_fp32)
                l.scratch = l.bytes_fp32;
        if (info->has_int8 && l.bytes_int8 > l.scratch)
                l.scratch = l.bytes_int8;

        off = l.scratch;
        if (info->has_fp32) {
                l.wih_t = off;
                off += align_up(F * G * sizeof(float), a);
                l.whh_t = off;
                off += align_up(H * G * sizeof(float), a);
        }
        if (info->has_int8) {
                size_t e = sizeof(int16_t);

                l.w1 = off;
                off += align_up(F * (size_t) l.lp1 * e, a);
                l.w2 = off;
                off += align_up(F * (size_t) l.lp2 * e, a);
                l.wih_f = off;
                off += align_up(G * (size_t) l.fp * e, a);
                l.whh_f = off;
                off += align_up(G * (size_t) l.hp * e, a);
                l.wih_b = off;
                off += align_up(G * (size_t) l.fp * e, a);
                l.head = off;
                off += align_up(K * 2 * (size_t) l.hp * e, a);

                l.f8 = (int) align_up(F, 8);
                l.g8 = 4 * l.hp;
                l.np1 = (int) ((k * C + 1) / 2);
                l.np2 = (int) ((k * F + 1) / 2);
                l.npf = l.fp / 2;
                l.nph = l.hp / 2;
                l.sw1 = off;
                off += align_up((size_t) l.np1 * l.f8 * sizeof(int32_t), a);
                l.sw2 = off;
                off += align_up((size_t) l.np2 * l.f8 * sizeof(int32_t), a);
                l.swihf = off;
                off += align_up((size_t) l.npf * l.g8 * sizeof(int32_t), a);
                l.swhh = off;
                off += align_up((size_t) l.nph * l.g8 * sizeof(int32_t), a);
                l.swihb = off;
                off += align_up((size_t) l.npf * l.g8 * sizeof(int32_t), a);
                l.nq2 = (int) ((k * F + 3) / 4);
                l.nqf = l.fp / 4;
                l.sq2 = off;
                off += align_up((size_t) l.nq2 * l.f8 * sizeof(int32_t), a);
                l.sqihf = off;
                off += align_up((size_t) l.nqf * l.g8 * sizeof(int32_t), a);
                l.sqihb = off;
                off += align_up((size_t) l.nqf * l.g8 * sizeof(int32_t), a);
                l.sb1 = off;
                off += align_up((size_t) l.f8 * sizeof(int32_t), a);
                l.sb2 = off;
                off += align_up((size_t) l.f8 * sizeof(int32_t), a);
                l.sbf = off;
                off += align_up((size_t) l.g8 * sizeof(int32_t), a);
                l.sbb = off;
                off += align_up((size_t) l.g8 * sizeof(int32_t), a);
                l.srq1 = off;
                off += align_up((size_t) l.f8 / 8 * sizeof(gw_rq8), a);
                l.srq2 = off;
                off += align_up((size_t) l.f8 / 8 * sizeof(gw_rq8), a);
                l.srqihf = off;
                off += align_up((size_t) l.g8 / 8 * sizeof(gw_rq8), a);
                l.srqhh = off;
                off += align_up((size_t) l.g8 / 8 * sizeof(gw_rq8), a);
                l.srqihb = off;
                off += align_up((size_t) l.g8 / 8 * sizeof(gw_rq8), a);
        }
        l.total = off > 0 ? off : a;
        *ret = l;
        return 0;
}

size_t gw_engine_scratch_bytes(const gw_model_info *info)
{
        gw_engine_layout l;

        if (gw_engine_layout_compute(info, &l) < 0)
                return 0;
        return l.scratch;
}

/* [o][c][j] as stored -> [o][j][c]: for output time t the patch
 * in[t .. t+k-1][0 .. Cin-1] of the time-major input is then one contiguous
 * run matching the packed row. */
static void pack_conv(const int8_t *w, int F, int cin, int k, int lp, int16_t *out)
{
        memset(out, 0, (size_t) F * (size_t) lp * sizeof *out);
        for (int o = 0; o < F; o++)
                for (int c = 0; c < cin; c++)
                        for (int j = 0; j < k; j++)
                                out[(size_t) o * lp + (size_t) j * cin + c] =
                                        w[((size_t) o * cin + c) * k + j];
}

/* rows x n -> rows x np, zero-padded. */
static void pack_rows(const int8_t *w, int rows, int n, int np, int16_t *out)
{
        memset(out, 0, (size_t) rows * (size_t) np * sizeof *out);
        for (int r = 0; r < rows; r++)
                for (int j = 0; j < n; j++)
                        out[(size_t) r * np + j] = w[(size_t) r * n + j];
}

/* docs/int8.md's rq in int64, as the C path computes it. */
static int64_t rq64(int64_t acc, int32_t m, int32_t s)
{
        return (acc * m + ((int64_t) 1 << (s - 1))) >> s;
}

/* The clamp bounds of gw_rq8: the largest acc whose rq is <= rlo (below
 * it the result saturates low) and the smallest whose rq is >= rhi, over
 * int32 accumulators; rq is non-decreasing in acc (m >= 0). */
static void rq_bounds(int32_t m, int32_t s, int64_t rlo, int64_t rhi, int32_t *lo, int32_t *hi)
{
        int64_t a, b;

        if (rq64(INT32_MIN, m, s) > rlo) {
                *lo = INT32_MIN;
        } else {
                /* rq(a) <= rlo holds at a, find the last such. */
                for (a = INT32_MIN, b = INT32_MAX; a < b;) {
                        int64_t mid = a + (b - a + 1) / 2;

                        if (rq64(mid, m, s) <= rlo)
                                a = mid;
                        else
                                b = mid - 1;
                }
                *lo = (int32_t) a;
        }
        if (rq64(INT32_MAX, m, s) < rhi) {
                *hi = INT32_MAX;
        } else {
                for (a = INT32_MIN, b = INT32_MAX; a < b;) {
                        int64_t mid = a + (b - a) / 2;

                        if (rq64(mid, m, s) >= rhi)
                                b = mid;
                        else
                                a = mid + 1;
                }
                *hi = (int32_t) a;
        }
        if (*lo > *hi)
                *lo = *hi;
}

/* One output row's requantisation into its gw_rq8 lane.  rlo and rhi are
 * the rq values from which the row's next step saturates whatever follows
 * (see the callers); bias is added to rlo/rhi's complement by the caller. */
static void rq8_set(gw_rq8 *q, int lane, int32_t m, int32_t s, int64_t rlo, int64_t rhi)
{
        uint64_t add = ((uint64_t) 1 << (s - 1)) + ((uint64_t) 1 << 63);

        rq_bounds(m, s, rlo, rhi, &q->lo[lane], &q->hi[lane]);
        q->m[lane] = m;
        q->shl[lane] = m != 0 && s < 33 ? 33 - s : 0;
        q->rnd[lane] = m != 0 ? (int32_t) 1 << (s + q->shl[lane] - 33) : 0;
        q->sh32[lane] = m != 0 ? s + q->shl[lane] - 32 : 0;
        q->sub[lane] = (int32_t) (uint32_t) ((uint64_t) 1 << (63 - s));
        if (lane % 2) {
                q->mo[lane - 1] = m;
                q->add_o[lane / 2] = add;
                q->sh_o[lane / 2] = (uint64_t) s;
        } else {
                q->add_e[lane / 2] = add;
                q->sh_e[lane / 2] = (uint64_t) s;
        }
}

/* Rows of a tensor into gw_rq8 blocks; row r goes to lane map(r).  Lanes
 * without a row get m = 0, s = 1 (result 0). */
static void rq8_fill(gw_rq8 *q, int lanes, const int32_t *rqp, const int32_t *bias, int rows,
                     int per_gate, int hp, int64_t rlo, int64_t rhi)
{
        memset(q, 0, (size_t) lanes / 8 * sizeof *q);
        for (int l = 0; l < lanes; l++)
                rq8_set(&q[l / 8], l % 8, 0, 1, -1, 1);
        for (int r = 0; r < rows; r++) {
                int l = per_gate ? r / per_gate * hp + r % per_gate : r;
                int64_t b = bias ? bias[r] : 0;

                rq8_set(&q[l / 8], l % 8, rqp[2 * r], rqp[2 * r + 1], rlo - b, rhi - b);
        }
        for (int i = 0; i < lanes / 8; i++) {
                q[i].fast = 2;
                for (int l = 0; l < 8; l++) {
                        int64_t k = (int64_t) 1 << q[i].shl[l];

                        if (q[i].shl[l] > 0 && q[i].fast == 2)
                                q[i].fast = 1;
                        if ((int64_t) q[i].lo[l] * k < INT32_MIN || (int64_t) q[i].hi[l] * k > INT32_MAX)
                                q[i].fast = 0;
                }
        }
}

/* w [rows][n] (int8) -> [unit q][lane] int32 of (w[r][2q], w[r][2q+1])
 * as int16 (per = 2) or of w[r][4q..4q+3] as bytes (per = 4); cin/k give
 * the conv patch order (tap j, channel c) when k > 0. */
static void pack_units(const int8_t *w, int rows, int n, int cin, int k, int per_gate, int hp,
                       int lanes, int nunits, int per, int32_t *out)
{
        int bits = 32 / per;

        memset(out, 0, (size_t) nunits * (size_t) lanes * sizeof *out);
        for (int r = 0; r < rows; r++) {
                int l = per_gate ? r / per_gate * hp + r % per_gate : r;

                for (int p = 0; p < n; p++) {
                        /* patch position p = j * cin + c reads w[r][c][j] */
                        int8_t v = k > 0 ? w[((size_t) r * cin + p % cin) * k + p / cin]
                                         : w[(size_t) r * n + p];
                        uint32_t *cell = (uint32_t *) &out[(size_t) (p / per) * lanes + l];
                        uint32_t u = per == 2 ? (uint16_t) (int16_t) v : (uint8_t) v;

                        *cell |= u << (bits * (p % per));
                }
        }
}

static void pack_pairs(const int8_t *w, int rows, int n, int cin, int k, int per_gate, int hp,
                       int lanes, int npairs, int32_t *out)
{
        pack_units(w, rows, n, cin, k, per_gate, hp, lanes, npairs, 2, out);
}

static void pack_simd(gw_engine *e)
{
        const gw_model *m = e->model;
        const gw_engine_layout *l = &e->lay;
        int G = 4 * e->H, H = e->H, hp = l->hp;
        int32_t *b;

        pack_pairs(m->q.conv1_w, e->F, e->k * e->C, e->C, e->k, 0, 0, l->f8, l->np1,
                   gw_engine_buf(e, l->sw1));
        pack_pairs(m->q.conv2_w, e->F, e->k * e->F, e->F, e->k, 0, 0, l->f8, l->np2,
                   gw_engine_buf(e, l->sw2));
        pack_pairs(m->q.fwd_wih, G, e->F, 0, 0, H, hp, l->g8, l->npf, gw_engine_buf(e, l->swihf));
        pack_pairs(m->q.fwd_whh, G, H, 0, 0, H, hp, l->g8, l->nph, gw_engine_buf(e, l->swhh));
        pack_pairs(m->q.bwd_wih, G, e->F, 0, 0, H, hp, l->g8, l->npf, gw_engine_buf(e, l->swihb));
        pack_units(m->q.conv2_w, e->F, e->k * e->F, e->F, e->k, 0, 0, l->f8, l->nq2, 4,
                   gw_engine_buf(e, l->sq2));
        pack_units(m->q.fwd_wih, G, e->F, 0, 0, H, hp, l->g8, l->nqf, 4, gw_engine_buf(e, l->sqihf));
        pack_units(m->q.bwd_wih, G, e->F, 0, 0, H, hp, l->g8, l->nqf, 4, gw_engine_buf(e, l->sqihb));

        b = gw_engine_buf(e, l->sb1);
        memset(b, 0, (size_t) l->f8 * sizeof *b);
        memcpy(b, m->q.conv1_b, (size_t) e->F * sizeof *b);
        b = gw_engine_buf(e, l->sb2);
        memset(b, 0, (size_t) l->f8 * sizeof *b);
        memcpy(b, m->q.conv2_b, (size_t) e->F * sizeof *b);
        b = gw_engine_buf(e, l->sbf);
        memset(b, 0, (size_t) l->g8 * sizeof *b);
        for (int r = 0; r < G; r++)
                b[r / H * hp + r % H] = m->q.fwd_b[r];
        b = gw_engine_buf(e, l->sbb);
        memset(b, 0, (size_t) l->g8 * sizeof *b);
        for (int r = 0; r < G; r++)
                b[r / H * hp + r % H] = m->q.bwd_b[r];

        /* conv: clamp(rq(acc), 0, 127) saturates from rq <= 0 and rq >= 127. */
        rq8_fill(gw_engine_buf(e, l->srq1), l->f8, m->q.conv1_rq, NULL, e->F, 0, 0, 0, 127);
        rq8_fill(gw_engine_buf(e, l->srq2), l->f8, m->q.conv2_rq, NULL, e->F, 0, 0, 0, 127);
        /* input projections: sat16(rq(acc) + bias). */
        rq8_fill(gw_engine_buf(e, l->srqihf), l->g8, m->q.fwd_rq_ih, m->q.fwd_b, G, H, hp,
                 INT16_MIN, INT16_MAX);
        rq8_fill(gw_engine_buf(e, l->srqihb), l->g8, m->q.bwd_rq_ih, m->q.bwd_b, G, H, hp,
                 INT16_MIN, INT16_MAX);
        /* recurrent term: sat16(px + rq(acc)) with |px| <= 32768 saturates
         * from rq <= -65536 and rq >= 65535 whatever px is. */
        rq8_fill(gw_engine_buf(e, l->srqhh), l->g8, m->q.fwd_rq_hh, NULL, G, H, hp,
                 -65536, 65535);
}

static void transpose_f32(const float *w, int rows, int cols, float *out)
{
        for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++)
                        out[(size_t) j * rows + r] = w[(size_t) r * cols + j];
}

static void pack(gw_engine *e)
{
        const gw_model *m = e->model;
        const gw_engine_layout *l = &e->lay;
        int G = 4 * e->H, H = e->H, hp = l->hp;

        if (m->info.has_fp32) {
                transpose_f32(m->f.fwd_wih, G, e->F, gw_engine_buf(e, l->wih_t));
                transpose_f32(m->f.fwd_whh, G, H, gw_engine_buf(e, l->whh_t));
        }
        if (m->info.has_int8) {
                int16_t *head = gw_engine_buf(e, l->head);

                pack_conv(m->q.conv1_w, e->F, e->C, e->k, l->lp1, gw_engine_buf(e, l->w1));
                pack_conv(m->q.conv2_w, e->F, e->F, e->k, l->lp2, gw_engine_buf(e, l->w2));
                pack_rows(m->q.fwd_wih, G, e->F, l->fp, gw_engine_buf(e, l->wih_f));
                pack_rows(m->q.fwd_whh, G, H, hp, gw_engine_buf(e, l->whh_f));
                pack_rows(m->q.bwd_wih, G, e->F, l->fp, gw_engine_buf(e, l->wih_b));
                memset(head, 0, (size_t) e->K * 2 * hp * sizeof *head);
                for (int i = 0; i < e->K; i++)
                        for (int j = 0; j < H; j++) {
                                head[(size_t) i * 2 * hp + j] = m->q.head_w[(size_t) i * 2 * H + j];
                                head[(size_t) i * 2 * hp + hp + j] = m->q.head_w[(size_t) i * 2 * H + H + j];
                        }
                pack_simd(e);
        }
}

int gw_engine_new(const gw_model *m, gw_engine **ret)
{
        gw_engine *e;
        const gw_model_info *info;
        int r;

        if (!m || !ret)
                return -EINVAL;
        *ret = NULL;
        info = &m->info;

        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        r = gw_engine_layout_compute(info, &e->lay);
        if (r < 0) {
                free(e);
                return r;
        }
        e->mem = aligned_alloc(ENGINE_ALIGN, align_up(e->lay.total, ENGINE_ALIGN));
        if (!e->mem) {
                free(e);
                return -ENOMEM;
        }
        memset(e->mem, 0, e->lay.total);

        e->model = m;
        e->C = info->channels;
        e->K = info->classes;
        e->T = info->window;
        e->F = info->filters;
        e->k = info->kernel;
        e->H = info->hidden;
        e->isa = gw_isa_default();

        pack(e);
        *ret = e;
        return 0;
}

gw_engine *gw_engine_free(gw_engine *e)
{
        if (e) {
                free(e->mem);
                free(e);
        }
        return NULL;
}

const gw_model *gw_engine_model(const gw_engine *e)
{
        return e ? e->model : NULL;
}
