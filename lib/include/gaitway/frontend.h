/* SPDX-License-Identifier: MIT */
#pragma once

/* The streaming front end: raw samples from a source (any rate, jittery
 * timestamps, any supported unit) in, model channels at the model's rate out.
 * Causal, per-stream state, allocation only in gw_frontend_new().
 *
 * Stages, in order (docs/frontend.md): unit conversion, mount-matrix
 * rotation of every x/y/z triple, anti-alias low-pass at the nominal input
 * rate (only when it exceeds the model rate), resampling by linear
 * interpolation onto the model's time grid, median filter, Butterworth
 * low-pass and high-pass (biquad cascades designed at run time), gravity
 * separation (total -> body + gravity). */

#include "gaitway/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gw_frontend gw_frontend;

/* What a source delivers. */
typedef struct {
        int n;                                   /* raw channels per sample */
        gw_channel_desc ch[GW_MAX_INPUTS];       /* name and unit of each */
        double rate_hz;                          /* nominal input rate, 0.001..1e6 Hz */
        bool has_mount;                          /* rotate x/y/z triples by mount */
        double mount[3][3];                      /* row-major, out = mount * in */
        int64_t max_gap_ns;                      /* 0 = default: max(250 ms, 5 input periods) */
} gw_source_desc;
/* A sample more than max_gap_ns after the previous one (or more than
 * max_gap_ns before it: a clock that jumped back) restarts the stream: the
 * filters settle on it and its output carries GW_SAMPLE_RESTART.  A sample
 * earlier than the previous one by less is dropped as out of order. */

/* Flags on an output sample. */
#define GW_SAMPLE_RESTART 0x1u   /* first sample after start or after a gap */

typedef struct {
        uint64_t samples_in;
        uint64_t samples_out;
        uint64_t duplicates;      /* same timestamp as the previous sample: dropped */
        uint64_t out_of_order;    /* earlier than the previous sample: dropped */
        uint64_t gaps;            /* jumps longer than max_gap_ns: state reset */
        uint64_t non_finite;      /* NaN/Inf inputs: dropped */
} gw_frontend_stats;

/* Parses the "frontend" object of a model description (docs/model-format.md)
 * for a model running at rate_hz, validating every field; the model loader
 * uses the same parser.  Errors name the field ("frontend.lowpass.cutoff_hz"). */
int gw_frontend_spec_from_json(const char *json, double rate_hz, gw_frontend_spec *ret,
                               char *err, size_t errlen);

/* sizeof(gw_frontend_spec), for bindings that hold the spec as an opaque
 * buffer (train/gaitway/cfrontend.py). */
size_t gw_frontend_spec_size(void);

/* Binds a model's front-end spec to a source.  Fails (naming the channel or
 * unit) when the source lacks an input the spec needs or a unit cannot be
 * converted.  Spec inputs are found in the source by name; with a mount
 * matrix, every x/y/z triple of spec inputs (<prefix>_x, _y, _z, one unit)
 * is rotated, and an axis without its partners is an error.  The
 * anti-alias stage is designed at src->rate_hz and used only when that rate
 * exceeds the model's and the cut-off is below its Nyquist frequency. */
int gw_frontend_new(const gw_frontend_spec *spec, const gw_source_desc *src,
                    gw_frontend **ret, char *err, size_t errlen);
gw_frontend *gw_frontend_free(gw_frontend *fe);

/* Forgets all history, as after a gap. */
void gw_frontend_reset(gw_frontend *fe);

/* Number of model channels produced per output sample. */
int gw_frontend_channels(const gw_frontend *fe);

/* Most output samples one input sample can produce (for sizing buffers). */
int gw_frontend_max_out(const gw_frontend *fe);

/* Pushes one raw sample (src->n values).  Writes up to max_out output
 * samples: values time-major into out (C floats each), timestamps into t_out
 * and flags into flags_out.  Returns the number written (0 is normal while
 * the resampler waits for the next grid point, and for dropped samples), or
 * -ENOBUFS without taking the sample when its outputs would exceed max_out
 * (never with max_out >= gw_frontend_max_out()). */
int gw_frontend_push(gw_frontend *fe, int64_t t_ns, const float *raw,
                     float *out, int64_t *t_out, uint32_t *flags_out, int max_out);

/* Block form of gw_frontend_push over n samples (raw is n x src->n).
 * Stops early when the output would exceed max_out; *consumed says how many
 * input samples were taken.  Returns the number of output samples. */
int gw_frontend_push_block(gw_frontend *fe, size_t n, const int64_t *t_ns, const float *raw,
                           float *out, int64_t *t_out, uint32_t *flags_out, size_t max_out,
                           size_t *consumed);

const gw_frontend_stats *gw_frontend_stats_get(const gw_frontend *fe);

/* Bytes of per-stream state (for the memory budget). */
size_t gw_frontend_state_bytes(const gw_frontend *fe);

/* Unit conversion factor from `from` to `to` (both acceleration: m/s^2
 * (also "m/s2", "m/s/s"), g (9.80665 m/s^2), mg; or both angular rate:
 * rad/s, deg/s (also "dps"), mrad/s).  Spellings are exact.  Identical
 * strings give 1 even for units not listed ("uT"), so channels of other
 * kinds pass through.  Returns 0 and sets *factor, or -EINVAL when the units
 * are unknown or of different kinds. */
int gw_unit_factor(const char *from, const char *to, double *factor);

/* Building blocks, exposed for tests, tools and other pipelines. */

#define GW_BIQUAD_MAX_SECTIONS 4      /* Butterworth order up to 8 */

typedef struct {
        int n;                                    /* sections */
        double sos[GW_BIQUAD_MAX_SECTIONS][6];    /* b0 b1 b2 a0(=1) a1 a2, as scipy */
} gw_sos;

typedef enum { GW_BUTTER_LOWPASS, GW_BUTTER_HIGHPASS } gw_butter_type;

/* Digital Butterworth design as scipy.signal.butter(order, cutoff, btype,
 * fs=rate, output='sos'), order 1..8, 0 < cutoff < rate/2; -EINVAL
 * otherwise. */
int gw_butter_design(int order, double cutoff_hz, double rate_hz, gw_butter_type type, gw_sos *ret);

typedef struct {
        const gw_sos *sos;
        double z[GW_BIQUAD_MAX_SECTIONS][2];      /* transposed direct form II state */
} gw_biquad_state;

/* sos must outlive the state. */
void gw_biquad_init(gw_biquad_state *s, const gw_sos *sos);
/* Sets the state to the steady state for a constant input x0 (scipy's
 * sosfilt_zi * x0), so a stream starts without a transient. */
void gw_biquad_settle(gw_biquad_state *s, double x0);
double gw_biquad_step(gw_biquad_state *s, double x);

#define GW_MEDIAN_MAX 15

typedef struct {
        int n;                  /* odd length */
        int fill;
        int pos;
        float buf[GW_MEDIAN_MAX];
} gw_median_state;

/* n <= 1 passes samples through; an even n is taken as n + 1 (15 at most). */
void gw_median_init(gw_median_state *s, int n);
/* Causal running median of the last n inputs (scipy.signal.medfilt delayed by
 * n/2 samples); the first inputs are padded with the first value. */
float gw_median_step(gw_median_state *s, float x);

#ifdef __cplusplus
}
#endif
