/* SPDX-License-Identifier: MIT */
#pragma once

/* One model running on one device's stream: front end -> per-sample
 * quantiser -> sliding window -> engine -> softmax -> decision (smoothed
 * activity or freeze-of-gait episodes).  gaitwayd and `gaitway replay` both
 * drive this, so both produce the same events from the same samples.
 * Everything is allocated in pipeline_new(); pushing samples allocates
 * nothing. */

#include <stdint.h>
#include <stddef.h>

#include "conf.h"
#include "gaitway/decision.h"
#include "gaitway/engine.h"
#include "gaitway/frontend.h"
#include "gaitway/model.h"
#include "gaitway/window.h"

typedef struct Pipeline Pipeline;

typedef struct {
        /* Every window: probabilities (classes values, 0..1) and the argmax. */
        void (*window)(void *userdata, Pipeline *p, const gw_window_meta *meta, const float *prob, int top);
        void (*activity)(void *userdata, Pipeline *p, const gw_activity_event *ev);
        void (*fog)(void *userdata, Pipeline *p, const gw_fog_event *ev);
} PipelineCallbacks;

typedef struct {
        const gw_model *model;
        gw_engine *engine;              /* shared: one window at a time */
        ModelTask task;
        const gw_source_desc *source;   /* after the device's renames and overrides */
        const gw_activity_config *activity;
        const gw_fog_config *fog;
        const char *fog_class;          /* NULL or "" = automatic */
        const PipelineCallbacks *cb;
        void *userdata;
} PipelineParams;

int pipeline_new(const PipelineParams *p, Pipeline **ret, char *err, size_t errlen);
Pipeline *pipeline_free(Pipeline *p);

/* n raw samples (values n x source->n). */
void pipeline_push(Pipeline *p, size_t n, const int64_t *t_ns, const float *raw);
/* n raw samples to several pipelines of one device (NULL entries skipped),
 * sample by sample, so events come out in the order they were detected
 * whichever model found them.  gaitwayd and gaitway replay both feed
 * samples through here. */
void pipeline_push_all(Pipeline *const *p, int count, size_t n, const int64_t *t_ns, const float *raw);
/* End of stream at t_ns: ends an open freeze episode. */
void pipeline_finish(Pipeline *p, int64_t t_ns);

ModelTask pipeline_task(const Pipeline *p);
const gw_model_info *pipeline_model_info(const Pipeline *p);
const char *pipeline_class_name(const Pipeline *p, int cls);
uint64_t pipeline_windows(const Pipeline *p);
const gw_activity_tracker *pipeline_activity(const Pipeline *p);
const gw_fog_tracker *pipeline_fog(const Pipeline *p);
const gw_frontend_stats *pipeline_frontend_stats(const Pipeline *p);
/* The memory one sample touches, as up to max blocks (ptr[i], bytes[i]):
 * the pipeline, its front end, its window's bookkeeping (the window's ring
 * takes one sample slot at a time).  Returns the blocks written. */
#define PIPELINE_HOT_BLOCKS 3
int pipeline_hot_memory(const Pipeline *p, const void **ptr, size_t *bytes, int max);
/* Bytes of per-stream state (front end, window, buffers). */
size_t pipeline_state_bytes(const Pipeline *p);

/* Index of the freeze class of a FoG model: fog_class if given, else a class
 * named like "freeze"/"fog" (not "no..."), else class 1 of a two-class
 * model.  Returns -1 with err filled when none fits. */
int pipeline_fog_class(const gw_model *m, const char *fog_class, char *err, size_t errlen);
