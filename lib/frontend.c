/* SPDX-License-Identifier: MIT */
/* The streaming front end: a gw_frontend_spec bound to a source.  One
 * allocation holds the configuration and all per-stream state, sized for
 * this spec and source; pushing samples never allocates. */
#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biquad-private.h"
#include "frontend-band-private.h"
#include "frontend-gravity-private.h"
#include "frontend-normalize-private.h"
#include "frontend-private.h"
#include "median-private.h"
#include "resample-private.h"

#define MIN_SOURCE_RATE_HZ 0.001
#define MAX_SOURCE_RATE_HZ 1e6
/* Bounds the outputs one input can produce (and so every caller's buffer):
 * a longer silence is a gap anyway. */
#define MAX_OUT_PER_SAMPLE 65536

typedef struct {
        int src;
        double factor;
} fe_input;

typedef struct {
        int16_t input;
        uint8_t signal;
} fe_output;

struct gw_frontend {
        int n_src, n_in, n_out, n_triples;
        int n_gv, gv_sections;          /* distinct gravity designs, most sections of one */
        int median;                     /* window length, 0 = off */
        int max_out;
        bool has_aa, has_lp, has_hp, has_gv, has_norm;
        size_t bytes;
        double mount[3][3];
        int aa_n, lp_n, hp_n;           /* sections of each stage present */
        int med_pos;                    /* next slot of the median rings */
        gw_fe_norm norm;
        int n_band;                     /* log_power outputs */
        gw_resampler rs;
        gw_frontend_stats stats;

        /* Views into the same allocation, after the struct: only what this
         * spec and source use (a gateway holds two front ends per wearable). */
        double (*aa)[6], (*lp)[6], (*hp)[6];    /* [aa_n], ... sections, when present */
        fe_input *in;                   /* [n_in] */
        int (*triple)[3];               /* [n_triples] input indices of x, y, z */
        fe_output *out;                 /* [n_out] */
        double *x;                      /* [n_in] converted, rotated, anti-aliased */
        double *y;                      /* [n_in] one resampled point */
        double *prev;                   /* [n_in] resampler history */
        double *filt;                   /* [n_in] filtered */
        double *grav;                   /* [n_in] gravity */
        double (*gv)[6];                /* [n_gv * gv_sections] the distinct gravity low-passes */
        int8_t *gv_n;                   /* [n_gv] sections of each */
        int16_t *gv_of;                 /* [n_in] index into gv_n, -1: the input has none */
        double (*z_aa)[2];              /* [n_in * aa_n] */
        double (*z_lp)[2];
        double (*z_hp)[2];
        double (*z_gv)[2];
        float *med;                     /* [n_in * median] rings, when median */
        gw_fe_norm_state *norm_state;   /* [n_out] when has_norm */
        gw_fe_band *band;               /* [n_band] */
};

/* Lays out the arrays behind the struct; with base == NULL only sizes. */
static size_t layout(gw_frontend *fe, char *base)
{
        size_t off = sizeof *fe;
#define PLACE(field, count) do {                                                        \
                off = (off + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);   \
                if (base)                                                               \
                        fe->field = (void *) (base + off);                              \
                off += (size_t) (count) * sizeof *fe->field;                            \
        } while (0)
        PLACE(aa, fe->has_aa ? fe->aa_n : 0);
        PLACE(lp, fe->has_lp ? fe->lp_n : 0);
        PLACE(hp, fe->has_hp ? fe->hp_n : 0);
        PLACE(in, fe->n_in);
        PLACE(triple, fe->n_triples);
        PLACE(out, fe->n_out);
        PLACE(x, fe->n_in);
        PLACE(y, fe->n_in);
        PLACE(prev, fe->n_in);
        PLACE(filt, fe->n_in);
        PLACE(grav, fe->has_gv ? fe->n_in : 0);
        PLACE(z_aa, fe->has_aa ? fe->n_in * fe->aa_n : 0);
        PLACE(z_lp, fe->has_lp ? fe->n_in * fe->lp_n : 0);
        PLACE(z_hp, fe->has_hp ? fe->n_in * fe->hp_n : 0);
        PLACE(gv, fe->n_gv * fe->gv_sections);
        PLACE(gv_n, fe->n_gv);
        PLACE(gv_of, fe->has_gv ? fe->n_in : 0);
        PLACE(z_gv, fe->has_gv ? fe->n_in * fe->gv_sections : 0);
        PLACE(med, fe->median > 1 ? fe->n_in * fe->median : 0);
        PLACE(norm_state, fe->has_norm ? fe->n_out : 0);
        PLACE(band, fe->n_band);
#undef PLACE
        return off;
}

static int check_source(const gw_source_desc *src, char *err, size_t errlen)
{
        if (!src)
                return gw_error(err, errlen, EINVAL, "source: no description");
        if (src->n < 1 || src->n > GW_MAX_INPUTS)
                return gw_error(err, errlen, EINVAL, "source: %d channels, must be 1..%d",
                                src->n, GW_MAX_INPUTS);
        for (int i = 0; i < src->n; i++) {
                size_t n = strnlen(src->ch[i].name, GW_NAME_MAX);
                if (n == 0 || n == GW_NAME_MAX)
                        return gw_error(err, errlen, EINVAL,
                                        "source: channel %d: name empty or longer than %d bytes",
                                        i, GW_NAME_MAX - 1);
                if (strnlen(src->ch[i].unit, GW_NAME_MAX) == GW_NAME_MAX)
                        return gw_error(err, errlen, EINVAL, "source: channel %s: unit too long",
                                        src->ch[i].name);
                for (int j = 0; j < i; j++)
                        if (strcmp(src->ch[i].name, src->ch[j].name) == 0)
                                return gw_error(err, errlen, EINVAL,
                                                "source: channel %s appears twice", src->ch[i].name);
        }
        if (!isfinite(src->rate_hz) || src->rate_hz < MIN_SOURCE_RATE_HZ ||
            src->rate_hz > MAX_SOURCE_RATE_HZ)
                return gw_error(err, errlen, EINVAL, "source: rate %g Hz must be in [%g, %g]",
                                src->rate_hz, MIN_SOURCE_RATE_HZ, MAX_SOURCE_RATE_HZ);
        if (src->has_mount)
                for (int r = 0; r < 3; r++)
                        for (int c = 0; c < 3; c++)
                                if (!isfinite(src->mount[r][c]))
                                        return gw_error(err, errlen, EINVAL,
                                                        "source: mount matrix [%d][%d] is not finite", r, c);
        if (src->max_gap_ns < 0)
                return gw_error(err, errlen, EINVAL, "source: max_gap_ns %lld must not be negative",
                                (long long) src->max_gap_ns);
        return 0;
}

static int find_input(const gw_frontend_spec *spec, const char *name)
{
        for (int i = 0; i < spec->n_inputs; i++)
                if (strcmp(spec->inputs[i].name, name) == 0)
                        return i;
        return -1;
}

/* Finds the x/y/z triples among the spec's inputs ("acc_x", "acc_y",
 * "acc_z"); with a mount matrix, an axis without its two partners cannot be
 * rotated and is an error rather than silently left in the sensor frame. */
static int find_triples(const gw_frontend_spec *spec, bool has_mount, int (*ret)[3], int *n_ret,
                        char *err, size_t errlen)
{
        static const char axes[3] = { 'x', 'y', 'z' };
        int n = 0;

        for (int i = 0; i < spec->n_inputs; i++) {
                const char *name = spec->inputs[i].name;
                size_t len = strlen(name);
                int idx[3];
                char other[GW_NAME_MAX];
                bool complete = true;

                if (len < 3 || name[len - 2] != '_' || name[len - 1] != 'x') {
                        if (has_mount && len >= 3 && name[len - 2] == '_' &&
                            (name[len - 1] == 'y' || name[len - 1] == 'z')) {
                                memcpy(other, name, len + 1);
                                other[len - 1] = 'x';
                                if (find_input(spec, other) < 0)
                                        return gw_error(err, errlen, EINVAL,
                                                        "mount matrix: input %s has no %s partner among the model's inputs",
                                                        name, other);
                        }
                        continue;
                }
                for (int a = 0; a < 3; a++) {
                        memcpy(other, name, len + 1);
                        other[len - 1] = axes[a];
                        idx[a] = find_input(spec, other);
                        if (idx[a] < 0) {
                                complete = false;
                                if (has_mount)
                                        return gw_error(err, errlen, EINVAL,
                                                        "mount matrix: input %s has no %s partner among the model's inputs",
                                                        name, other);
                        }
                }
                if (!complete || !has_mount)
                        continue;
                if (strcmp(spec->inputs[idx[1]].unit, spec->inputs[idx[0]].unit) != 0 ||
                    strcmp(spec->inputs[idx[2]].unit, spec->inputs[idx[0]].unit) != 0)
                        return gw_error(err, errlen, EINVAL,
                                        "mount matrix: inputs %s, %s, %s do not share one unit",
                                        spec->inputs[idx[0]].name, spec->inputs[idx[1]].name,
                                        spec->inputs[idx[2]].name);
                memcpy(ret[n++], idx, sizeof idx);
        }
        *n_ret = n;
        return 0;
}

int gw_frontend_new(const gw_frontend_spec *spec, const gw_source_desc *src,
                    gw_frontend **ret, char *err, size_t errlen)
{
        int triples[GW_MAX_INPUTS / 3][3], n_triples = 0;
        fe_input in[GW_MAX_INPUTS];
        gw_sos gv[GW_MAX_INPUTS], aa, lp, hp;
        int16_t gv_of[GW_MAX_INPUTS];
        gw_frontend tmp, *fe;
        int64_t max_gap;
        double max_out;
        int r;

        if (!ret)
                return gw_error(err, errlen, EINVAL, "frontend: nowhere to return it");
        *ret = NULL;
        r = gw_frontend_spec_check(spec, err, errlen);
        if (r < 0)
                return r;
        r = check_source(src, err, errlen);
        if (r < 0)
                return r;

        for (int i = 0; i < spec->n_inputs; i++) {
                const gw_channel_desc *want = &spec->inputs[i];
                in[i].src = -1;
                for (int j = 0; j < src->n; j++)
                        if (strcmp(src->ch[j].name, want->name) == 0)
                                in[i].src = j;
                if (in[i].src < 0)
                        return gw_error(err, errlen, ENOENT,
                                        "source has no channel \"%s\" (frontend.inputs[%d])", want->name, i);
                if (gw_unit_factor(src->ch[in[i].src].unit, want->unit, &in[i].factor) < 0)
                        return gw_error(err, errlen, EINVAL,
                                        "channel %s: cannot convert unit \"%s\" to \"%s\"",
                                        want->name, src->ch[in[i].src].unit, want->unit);
        }
        r = find_triples(spec, src->has_mount, triples, &n_triples, err, errlen);
        if (r < 0)
                return r;

        memset(&tmp, 0, sizeof tmp);
        tmp.n_src = src->n;
        tmp.n_in = spec->n_inputs;
        tmp.n_out = spec->n_outputs;
        tmp.n_triples = src->has_mount ? n_triples : 0;
        tmp.median = spec->median > 1 ? spec->median : 0;
        memcpy(tmp.mount, src->mount, sizeof tmp.mount);

        /* A cut-off at or above the source's Nyquist frequency leaves nothing
         * to remove, so the stage is then simply absent. */
        if (spec->antialias.order > 0 && src->rate_hz > spec->rate_hz &&
            spec->antialias.cutoff_hz < src->rate_hz / 2) {
                if (gw_butter_design(spec->antialias.order, spec->antialias.cutoff_hz, src->rate_hz,
                                     GW_BUTTER_LOWPASS, &aa) < 0)
                        return gw_error(err, errlen, EINVAL, "frontend.antialias: cannot design at %g Hz",
                                        src->rate_hz);
                tmp.has_aa = true;
                tmp.aa_n = aa.n;
        }
        const struct {
                const char *name;
                const gw_filter_spec *f;
                gw_sos *sos;
                bool *has;
                int *n;
                gw_butter_type type;
        } stages[] = {
                { "lowpass", &spec->lowpass, &lp, &tmp.has_lp, &tmp.lp_n, GW_BUTTER_LOWPASS },
                { "highpass", &spec->highpass, &hp, &tmp.has_hp, &tmp.hp_n, GW_BUTTER_HIGHPASS },
        };
        for (size_t s = 0; s < sizeof stages / sizeof stages[0]; s++) {
                const gw_filter_spec *f = stages[s].f;
                if (f->order == 0)
                        continue;
                if (gw_butter_design(f->order, f->cutoff_hz, spec->rate_hz, stages[s].type, stages[s].sos) < 0)
                        return gw_error(err, errlen, EINVAL, "frontend.%s: cannot design at %g Hz",
                                        stages[s].name, spec->rate_hz);
                *stages[s].has = true;
                *stages[s].n = stages[s].sos->n;
        }

        /* Gravity: each input's own low-pass, or the spec-wide one; inputs
         * with the same filter share one design. */
        for (int i = 0; i < spec->n_inputs; i++) {
                const gw_filter_spec *f = gw_fe_input_gravity(spec, i);
                int d = 0;

                gv_of[i] = -1;
                if (!f)
                        continue;
                for (int j = 0; j < i; j++)
                        if (gv_of[j] >= 0 && gw_fe_input_gravity(spec, j)->order == f->order &&
                            gw_fe_input_gravity(spec, j)->cutoff_hz == f->cutoff_hz)
                                d = gv_of[j] + 1;
                if (d == 0) {
                        if (gw_butter_design(f->order, f->cutoff_hz, spec->rate_hz, GW_BUTTER_LOWPASS,
                                             &gv[tmp.n_gv]) < 0) {
                                if (f == &spec->gravity)
                                        return gw_error(err, errlen, EINVAL,
                                                        "frontend.gravity: cannot design at %g Hz", spec->rate_hz);
                                return gw_error(err, errlen, EINVAL,
                                                "frontend.inputs[%d].gravity: cannot design at %g Hz",
                                                i, spec->rate_hz);
                        }
                        if (gv[tmp.n_gv].n > tmp.gv_sections)
                                tmp.gv_sections = gv[tmp.n_gv].n;
                        d = ++tmp.n_gv;
                }
                gv_of[i] = (int16_t) (d - 1);
                tmp.has_gv = true;
        }

        if (spec->normalize.time_constant_s > 0) {
                gw_fe_normalize_init(&tmp.norm, &spec->normalize, spec->rate_hz);
                tmp.has_norm = true;
        }
        tmp.n_band = gw_fe_band_count(spec);

        max_gap = src->max_gap_ns;
        if (max_gap == 0) {
                double five = 5.0 * (double) GW_NSEC_PER_SEC / src->rate_hz;
                max_gap = five > 250e6 ? (int64_t) five : INT64_C(250000000);
        }
        max_out = floor((double) max_gap * spec->rate_hz / (double) GW_NSEC_PER_SEC) + 2;
        if (max_out > MAX_OUT_PER_SAMPLE)
                return gw_error(err, errlen, EINVAL,
                                "source: max_gap_ns %lld spans more than %d model samples",
                                (long long) max_gap, MAX_OUT_PER_SAMPLE);
        tmp.max_out = (int) max_out;

        tmp.bytes = layout(&tmp, NULL);
        fe = aligned_alloc(alignof(max_align_t),
                           (tmp.bytes + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1));
        if (!fe)
                return gw_error(err, errlen, ENOMEM, "frontend: out of memory");
        memset(fe, 0, tmp.bytes);
        *fe = tmp;
        layout(fe, (char *) fe);

        if (fe->has_aa)
                memcpy(fe->aa, aa.sos, (size_t) aa.n * sizeof aa.sos[0]);
        if (fe->has_lp)
                memcpy(fe->lp, lp.sos, (size_t) lp.n * sizeof lp.sos[0]);
        if (fe->has_hp)
                memcpy(fe->hp, hp.sos, (size_t) hp.n * sizeof hp.sos[0]);
        memcpy(fe->in, in, (size_t) fe->n_in * sizeof *in);
        memcpy(fe->triple, triples, (size_t) fe->n_triples * sizeof triples[0]);
        if (fe->has_gv) {
                for (int d = 0; d < fe->n_gv; d++) {
                        memcpy(fe->gv[d * fe->gv_sections], gv[d].sos, (size_t) gv[d].n * sizeof gv[d].sos[0]);
                        fe->gv_n[d] = (int8_t) gv[d].n;
                }
                memcpy(fe->gv_of, gv_of, (size_t) fe->n_in * sizeof gv_of[0]);
        }
        for (int o = 0; o < fe->n_out; o++) {
                fe->out[o].input = (int16_t) spec->outputs[o].input;
                fe->out[o].signal = (uint8_t) spec->outputs[o].signal;
        }
        gw_fe_band_init(fe->band, spec);
        gw_resampler_init(&fe->rs, fe->n_in, spec->rate_hz, max_gap, fe->prev);
        *ret = fe;
        return 0;
}

gw_frontend *gw_frontend_free(gw_frontend *fe)
{
        free(fe);
        return NULL;
}

void gw_frontend_reset(gw_frontend *fe)
{
        /* The filters settle again on the first sample after this. */
        gw_resampler_reset(&fe->rs);
}

int gw_frontend_channels(const gw_frontend *fe)
{
        return fe->n_out;
}

int gw_frontend_max_out(const gw_frontend *fe)
{
        return fe->max_out;
}

const gw_frontend_stats *gw_frontend_stats_get(const gw_frontend *fe)
{
        return &fe->stats;
}

size_t gw_frontend_state_bytes(const gw_frontend *fe)
{
        return fe->bytes;
}

/* Unit conversion, mount rotation and anti-aliasing of one raw sample into
 * fe->x.  On a restart every filter settles to this sample, as if the
 * stream had always been at this value: no start-up transient. */
static void condition(gw_frontend *fe, const float *raw, bool restart)
{
        for (int i = 0; i < fe->n_in; i++)
                fe->x[i] = (double) raw[fe->in[i].src] * fe->in[i].factor;
        for (int t = 0; t < fe->n_triples; t++) {
                const int *ix = fe->triple[t];
                double v[3] = { fe->x[ix[0]], fe->x[ix[1]], fe->x[ix[2]] };
                for (int r = 0; r < 3; r++)
                        fe->x[ix[r]] = fe->mount[r][0] * v[0] + fe->mount[r][1] * v[1] +
                                       fe->mount[r][2] * v[2];
        }
        if (fe->has_aa)
                for (int i = 0; i < fe->n_in; i++) {
                        double (*z)[2] = fe->z_aa + i * fe->aa_n;
                        if (restart)
                                gw_sections_settle((const double (*)[6]) fe->aa, fe->aa_n, z, fe->x[i]);
                        fe->x[i] = gw_sections_step((const double (*)[6]) fe->aa, fe->aa_n, z, fe->x[i]);
                }
}

/* One filter stage over every channel, in place.  Stage by stage rather
 * than channel by channel: the channels' recursions are independent, so the
 * processor overlaps them instead of waiting on one long chain. */
static void stage(const double (*c)[6], int sections, double (*z)[2], int n, bool restart, const double *in,
                  double *out)
{
        for (int i = 0; i < n; i++) {
                double (*zi)[2] = z + i * sections;
                if (restart)
                        gw_sections_settle(c, sections, zi, in[i]);
                out[i] = gw_sections_step(c, sections, zi, in[i]);
        }
}

/* The model-rate stages on one resampled point (fe->y), then the outputs. */
static void shape(gw_frontend *fe, bool restart, float *out)
{
        if (fe->median)
                gw_median_rings_step(fe->med, fe->median, fe->n_in, &fe->med_pos, restart, fe->y);
        memcpy(fe->filt, fe->y, (size_t) fe->n_in * sizeof *fe->filt);
        if (fe->has_lp)
                stage((const double (*)[6]) fe->lp, fe->lp_n, fe->z_lp, fe->n_in, restart, fe->filt, fe->filt);
        if (fe->has_hp)
                stage((const double (*)[6]) fe->hp, fe->hp_n, fe->z_hp, fe->n_in, restart, fe->filt, fe->filt);
        if (fe->has_gv)
                for (int i = 0; i < fe->n_in; i++) {
                        double (*z)[2] = fe->z_gv + i * fe->gv_sections;
                        const double (*c)[6];
                        int d = fe->gv_of[i];

                        if (d < 0) {
                                fe->grav[i] = 0;
                                continue;
                        }
                        c = (const double (*)[6]) fe->gv + d * fe->gv_sections;
                        if (restart)
                                gw_sections_settle(c, fe->gv_n[d], z, fe->filt[i]);
                        fe->grav[i] = gw_sections_step(c, fe->gv_n[d], z, fe->filt[i]);
                }
        for (int o = 0; o < fe->n_out; o++) {
                int i = fe->out[o].input;
                switch (fe->out[o].signal) {
                case GW_SIGNAL_BODY:
                        out[o] = (float) (fe->filt[i] - fe->grav[i]);
                        break;
                case GW_SIGNAL_GRAVITY:
                        out[o] = (float) fe->grav[i];
                        break;
                default:
                        out[o] = (float) fe->filt[i];
                        break;
                }
        }
        if (fe->n_band)
                gw_fe_band_step(fe->band, fe->n_band, restart, out);
        if (fe->has_norm)
                gw_fe_normalize_step(&fe->norm, fe->norm_state, fe->n_out, restart, out);
}

static bool usable(const gw_frontend *fe, const float *raw)
{
        for (int i = 0; i < fe->n_in; i++)
                if (!isfinite(raw[fe->in[i].src]))
                        return false;
        return true;
}

/* Returns the outputs written, or -ENOBUFS (sample not taken) when they
 * would exceed max_out. */
static int push_one(gw_frontend *fe, int64_t t_ns, const float *raw,
                    float *out, int64_t *t_out, uint32_t *flags_out, size_t max_out)
{
        gw_rs_class c;
        int count, n = 0;
        uint32_t flags;

        if (!usable(fe, raw)) {
                fe->stats.samples_in++;
                fe->stats.non_finite++;
                return 0;
        }
        c = gw_resampler_classify(&fe->rs, t_ns, &count);
        if ((size_t) count > max_out)
                return -ENOBUFS;
        fe->stats.samples_in++;
        switch (c) {
        case GW_RS_DUPLICATE:
                fe->stats.duplicates++;
                return 0;
        case GW_RS_OUT_OF_ORDER:
                fe->stats.out_of_order++;
                return 0;
        case GW_RS_GAP:
                fe->stats.gaps++;
                break;
        default:
                break;
        }

        condition(fe, raw, c != GW_RS_NEXT);
        gw_resampler_take(&fe->rs, t_ns, fe->x, c, count);
        while (gw_resampler_next(&fe->rs, fe->y, &t_out[n], &flags)) {
                shape(fe, flags & GW_SAMPLE_RESTART, out + (size_t) n * fe->n_out);
                flags_out[n] = flags;
                n++;
        }
        fe->stats.samples_out += (uint64_t) n;
        return n;
}

int gw_frontend_push(gw_frontend *fe, int64_t t_ns, const float *raw,
                     float *out, int64_t *t_out, uint32_t *flags_out, int max_out)
{
        if (!fe || !raw || !out || !t_out || !flags_out || max_out < 0)
                return -EINVAL;
        return push_one(fe, t_ns, raw, out, t_out, flags_out, (size_t) max_out);
}

int gw_frontend_push_block(gw_frontend *fe, size_t n, const int64_t *t_ns, const float *raw,
                           float *out, int64_t *t_out, uint32_t *flags_out, size_t max_out,
                           size_t *consumed)
{
        size_t i, total = 0;

        if (consumed)
                *consumed = 0;
        if (!fe || (n > 0 && (!t_ns || !raw || !out || !t_out || !flags_out)))
                return -EINVAL;
        if (max_out > INT32_MAX)
                max_out = INT32_MAX;
        for (i = 0; i < n; i++) {
                int r = push_one(fe, t_ns[i], raw + i * (size_t) fe->n_src,
                                 out + total * (size_t) fe->n_out, t_out + total, flags_out + total,
                                 max_out - total);
                if (r < 0)
                        break;
                total += (size_t) r;
        }
        if (consumed)
                *consumed = i;
        return (int) total;
}
