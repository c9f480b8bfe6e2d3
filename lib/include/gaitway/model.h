/* SPDX-License-Identifier: MIT */
#pragma once

/* The model container: one safetensors file holding a MicroBi-ConvLSTM, its
 * front end, its quantisation and its description.  docs/model-format.md is
 * the normative description of the file; this header is its C view.
 *
 * A loaded gw_model is immutable and may be shared read-only by any number of
 * streams and threads. */

#include "gaitway/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gw_model gw_model;

typedef struct {
        char name[GW_NAME_MAX];
        char unit[GW_NAME_MAX];
} gw_channel_desc;

typedef enum {
        GW_SIGNAL_FILTERED = 0,   /* input after median and low/high-pass */
        GW_SIGNAL_BODY,           /* filtered minus gravity (needs gravity) */
        GW_SIGNAL_GRAVITY,        /* gravity low-pass of the filtered input */
        GW_SIGNAL_LOG_POWER,      /* log10 of the filtered input's running power in a band */
} gw_signal_kind;

typedef struct {
        int order;                /* 0 = stage absent; 1..8 */
        double cutoff_hz;
} gw_filter_spec;

/* Running standardisation of every output (lib/frontend-normalize.c):
 * (x - m) / max(s, min_std) with m and s an exponentially weighted mean and
 * standard deviation of the output's own past, so the model sees each
 * wearer's signals on that wearer's scale. */
typedef struct {
        double time_constant_s;   /* 0 = stage absent */
        double min_std;           /* floor of s, in the output's unit */
} gw_normalize_spec;

typedef struct {
        char name[GW_NAME_MAX];   /* equals the model channel name */
        int input;                /* index into gw_frontend_spec.inputs */
        gw_signal_kind signal;
        /* GW_SIGNAL_LOG_POWER only (lib/frontend-band.c): the band, Hz, and
         * the time constant of the power's running mean, s. */
        double band_hz[2];
        double smooth_s;
} gw_output_spec;

/* The preprocessing chain that turns raw samples into model channels.
 * Order: unit conversion -> mount matrix -> anti-alias low-pass (at the input
 * rate, only when the input rate exceeds the model rate) -> resampling to
 * rate_hz -> median -> low-pass -> high-pass -> gravity separation ->
 * outputs -> running standardisation (when normalize is set). */
typedef struct {
        double rate_hz;                           /* model sample rate */
        int n_inputs;
        gw_channel_desc inputs[GW_MAX_INPUTS];    /* raw channels consumed, unit expected */
        gw_filter_spec antialias;
        int median;                               /* odd window length, 0 or 1 = off */
        gw_filter_spec lowpass;
        gw_filter_spec highpass;
        gw_filter_spec gravity;
        int n_outputs;                            /* == model channels */
        gw_output_spec outputs[GW_MAX_CHANNELS];
        int lookahead;                            /* samples of zero-phase look-ahead; 0 = causal */
        /* Per input, its own gravity (slow-component) low-pass, used instead
         * of `gravity` for that input's body and gravity signals when its
         * order is > 0: a gyroscope's bias and drift need another filter
         * than an accelerometer's gravity (docs/model-format.md). */
        gw_filter_spec input_gravity[GW_MAX_INPUTS];
        gw_normalize_spec normalize;              /* last stage, on the outputs */
} gw_frontend_spec;

typedef struct {
        char model_id[GW_ID_MAX];
        char model_version[GW_ID_MAX];
        char task[GW_ID_MAX];                     /* "activity" or "fog" */
        int format_version;

        int channels;                             /* C */
        int classes;                              /* K */
        int window;                               /* T, a multiple of 4 */
        int hop;                                  /* samples between windows */
        int filters;                              /* conv filters (16 in the paper) */
        int kernel;                               /* conv kernel (5), odd */
        int hidden;                               /* LSTM hidden size per direction (24) */
        double sample_rate_hz;

        gw_channel_desc channel[GW_MAX_CHANNELS];
        char class_name[GW_MAX_CLASSES][GW_NAME_MAX];
        gw_frontend_spec frontend;

        bool has_fp32;
        bool has_int8;
        uint32_t crc32;

        size_t params;            /* parameters of the architecture (model.md formula) */
        size_t macs;              /* multiply-accumulates per window (model.md formula) */
        size_t weight_bytes_fp32; /* bytes of the FP32 tensor set in the file */
        size_t weight_bytes_int8; /* bytes of the INT8 set: weights, biases, requant, q.input.scale;
                                   * input.mean/std count in neither */
} gw_model_info;

/* Loads and validates a model.  On failure returns a negative errno and
 * writes a message naming the offending field (or file offset) to err. */
int gw_model_load_file(const char *path, gw_model **ret, char *err, size_t errlen);
int gw_model_load_buffer(const void *buf, size_t len, gw_model **ret, char *err, size_t errlen);

/* Accepts NULL; returns NULL. */
gw_model *gw_model_free(gw_model *m);

const gw_model_info *gw_model_info_get(const gw_model *m);

/* Index of a class or channel by name, or -1. */
int gw_model_class_index(const gw_model *m, const char *name);
int gw_model_channel_index(const gw_model *m, const char *name);

/* Quantises n samples of C channels (time-major, in the units of
 * gw_model_info.channel[]) to the INT8 engine's input: normalisation and the
 * per-channel input scale in one step, rounding half to even, clamped to
 * [-127, 127].  Called per sample as samples arrive, so the per-window
 * computation stays integer-only.  Requires has_int8. */
void gw_model_quantize(const gw_model *m, const float *x, int8_t *q, size_t n);

#ifdef __cplusplus
}
#endif
