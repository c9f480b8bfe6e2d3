/* SPDX-License-Identifier: MIT */
#pragma once

/* A device: one source and the pipelines of the models it runs, plus the
 * state the sinks publish (current activity, freeze episodes, link). */

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "event.h"
#include "pipeline.h"
#include "sink.h"
#include "source.h"
#include "stream-clock.h"

typedef struct Manager Manager;

typedef struct {
        const gw_model *model[_MODEL_TASK_MAX];    /* NULL: not run on this device */
        gw_engine *engine[_MODEL_TASK_MAX];
} DeviceModels;

struct Device {
        Manager *manager;
        const DeviceConf *conf;                     /* owned by the manager's config */
        char id[CONF_ID_MAX];
        Source *source;
        /* What the sinks show of the source description (after renames and
         * overrides); the pipelines keep what they need of the rest. */
        struct {
                double rate_hz;
        } desc;
        Pipeline *pipeline[_MODEL_TASK_MAX];
        const gw_model *model[_MODEL_TASK_MAX];
        void *sink_data[SINK_KINDS];                /* each sink's per-device data */

        bool started, connected, ended;
        bool waiting;                               /* in the manager's waiting list */
        uint64_t samples;
        int64_t last_t_ns;
        StreamClock clock;

        /* Published state.  activity < 0: none yet. */
        int activity;
        const char *activity_name;
        float activity_confidence;
        int64_t activity_since_wall_ns;
        int64_t activity_since_t_ns;
        bool freeze_active;
        uint32_t freeze_episodes;
        float freeze_confidence;
        int64_t freeze_since_wall_ns;
        uint64_t windows;

        /* The pipelines' memory a sample touches (SourceCallbacks.prefetch). */
        int n_hot;
        const void *hot[PIPELINE_HOT_BLOCKS * _MODEL_TASK_MAX];
        size_t hot_bytes[PIPELINE_HOT_BLOCKS * _MODEL_TASK_MAX];
};

/* Opens the source and binds every model's front end to it.  Errors name the
 * device, and the channel or unit at fault. */
int device_new(Manager *m, const DeviceConf *conf, const DeviceModels *models, Device **ret,
               char *err, size_t errlen);
Device *device_free(Device *d);
int device_start(Device *d);
/* Stops the source and ends open episodes (emitting their end). */
void device_stop(Device *d);
void device_resume(Device *d);

const char *device_source_address(const Device *d);
/* The source's link state and counters (SourceKind.stats); sources without
 * them report "streaming" or "disconnected" and zeros. */
void device_source_stats(const Device *d, SourceStats *ret);
/* The model of the current activity (NULL if the device runs none). */
const gw_model_info *device_model_info(const Device *d, ModelTask t);
size_t device_state_bytes(const Device *d);
