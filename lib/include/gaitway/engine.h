/* SPDX-License-Identifier: MIT */
#pragma once

/* Inference of MicroBi-ConvLSTM (docs/int8.md).  A gw_engine holds the
 * scratch memory for one model on one thread; it is allocated once and every
 * run is allocation-free.  Many streams share one engine (one window at a
 * time) and many engines share one model. */

#include "gaitway/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gw_engine gw_engine;

int gw_engine_new(const gw_model *m, gw_engine **ret);

/* Bytes of scratch one engine needs for a model of these dimensions. */
size_t gw_engine_scratch_bytes(const gw_model_info *info);
gw_engine *gw_engine_free(gw_engine *e);

const gw_model *gw_engine_model(const gw_engine *e);

/* The instruction set gw_engine_run_int8() uses: "avx2", "sse41", "neon" or
 * "c".  A new engine takes the best one the CPU supports, or the one the
 * environment variable GW_ENGINE_ISA names if the CPU supports it.  Every
 * path gives bit-identical results (docs/int8.md).  gw_engine_set_isa()
 * returns -EINVAL for an unknown name and -EOPNOTSUPP when the CPU (or the
 * build's architecture) lacks the path. */
const char *gw_engine_isa(const gw_engine *e);
int gw_engine_set_isa(gw_engine *e, const char *isa);

/* FP32 reference: x holds T x C floats time-major in the model's channel
 * units (normalisation is applied inside); writes K logits. */
int gw_engine_run_fp32(gw_engine *e, const float *x, float *logits);

/* Integer-only INT8: xq holds T x C int8 from gw_model_quantize(); writes K
 * logits in Q16.16 (GW_LOGIT_FRAC_BITS).  No floating point is executed. */
#define GW_LOGIT_FRAC_BITS 16
int gw_engine_run_int8(gw_engine *e, const int8_t *xq, int32_t *logits_q16);

/* Probabilities from logits.  The integer version returns Q0.15 values
 * (32768 = 1.0) through a fixed-point exp table; the float one is the usual
 * softmax.  Both return the argmax. */
int gw_softmax_q15(const int32_t *logits_q16, int k, int32_t *prob_q15);
int gw_softmax_f32(const float *logits, int k, float *prob);

#ifdef __cplusplus
}
#endif
