/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "manager.h"

static void device_emit(Device *d, Event *e)
{
        e->device = d;
        e->wall_ns = stream_clock_wall(&d->clock, e->t_ns);
        e->stream_s = stream_clock_seconds(&d->clock, e->t_ns);
        manager_emit(d->manager, e);
}

static void on_window(void *userdata, Pipeline *p, const gw_window_meta *meta, const float *prob, int top)
{
        Device *d = userdata;
        d->windows++;
        if (!d->manager->want_windows)
                return;
        Event e = {
                .type = EVENT_WINDOW,
                .model = pipeline_model_info(p),
                .t_ns = meta->t_last_ns,
                .window = {
                        .index = meta->index,
                        .t_first_ns = meta->t_first_ns,
                        .prob = prob,
                        .classes = pipeline_model_info(p)->classes,
                        .top = top,
                },
        };
        device_emit(d, &e);
}

static void on_activity(void *userdata, Pipeline *p, const gw_activity_event *ev)
{
        Device *d = userdata;
        Event e = {
                .type = EVENT_ACTIVITY,
                .model = pipeline_model_info(p),
                .t_ns = ev->t_ns,
                .activity = {
                        .previous = ev->from >= 0 ? pipeline_class_name(p, ev->from) : NULL,
                        .activity = pipeline_class_name(p, ev->to),
                        .confidence = ev->confidence,
                        .previous_duration_ns = ev->prev_duration_ns,
                },
        };
        d->activity = ev->to;
        d->activity_name = pipeline_class_name(p, ev->to);
        d->activity_confidence = ev->confidence;
        d->activity_since_wall_ns = stream_clock_wall(&d->clock, ev->t_ns);
        d->activity_since_t_ns = ev->t_ns;
        device_emit(d, &e);
}

static void on_fog(void *userdata, Pipeline *p, const gw_fog_event *ev)
{
        Device *d = userdata;
        Event e = {
                .type = EVENT_FOG,
                .model = pipeline_model_info(p),
                .t_ns = ev->t_ns,
                .fog = {
                        .start = ev->kind == GW_FOG_START,
                        .episode = ev->episode,
                        .confidence = ev->confidence,
                        .duration_ns = ev->duration_ns,
                        .is_short = ev->is_short,
                },
        };
        d->freeze_active = ev->kind == GW_FOG_START;
        d->freeze_episodes = ev->episode;
        d->freeze_confidence = ev->confidence;
        if (d->freeze_active)
                d->freeze_since_wall_ns = stream_clock_wall(&d->clock, ev->t_ns);
        device_emit(d, &e);
}

static const PipelineCallbacks pipeline_callbacks = {
        .window = on_window,
        .activity = on_activity,
        .fog = on_fog,
};

static void on_samples(void *userdata, size_t n, const int64_t *t_ns, const float *values)
{
        Device *d = userdata;
        if (n == 0)
                return;
        if (!d->clock.anchored)
                stream_clock_see(&d->clock, t_ns[0], wall_clock_ns());
        d->samples += n;
        d->last_t_ns = t_ns[n - 1];
        pipeline_push_all(d->pipeline, _MODEL_TASK_MAX, n, t_ns, values);
        manager_samples_arrived(d->manager);
}

static void on_connected(void *userdata, bool connected, const char *reason)
{
        Device *d = userdata;
        if (d->connected == connected)
                return;
        d->connected = connected;
        log_info("device %s: %s%s%s", d->id, connected ? "connected" : "disconnected",
                 reason ? ": " : "", reason ? reason : "");
        Event e = { .type = EVENT_DEVICE_CONNECTED, .t_ns = d->last_t_ns, .link.connected = connected };
        device_emit(d, &e);
}

static void device_finish(Device *d)
{
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if (d->pipeline[t] && d->clock.anchored)
                        pipeline_finish(d->pipeline[t], d->last_t_ns);
}

static void on_ended(void *userdata, int error, const char *err)
{
        Device *d = userdata;
        if (d->ended)
                return;
        d->ended = true;
        device_finish(d);
        manager_device_ended(d->manager, d, error, err);
}

static bool on_busy(void *userdata)
{
        Device *d = userdata;
        if (!manager_busy(d->manager))
                return false;
        manager_device_waits(d->manager, d);
        return true;
}

static void on_prefetch(void *userdata)
{
        Device *d = userdata;
        for (int i = 0; i < d->n_hot; i++)
                for (size_t off = 0; off < d->hot_bytes[i]; off += 64)
                        __builtin_prefetch((const char *) d->hot[i] + off);
}

static const SourceCallbacks source_callbacks = {
        .samples = on_samples,
        .connected = on_connected,
        .ended = on_ended,
        .busy = on_busy,
        .prefetch = on_prefetch,
};

int device_new(Manager *m, const DeviceConf *conf, const DeviceModels *models, Device **ret,
               char *err, size_t errlen)
{
        char reason[GW_ERR_MAX];
        gw_source_desc desc;
        Device *d = calloc(1, sizeof *d);
        int r;

        if (!d)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        d->manager = m;
        d->conf = conf;
        d->activity = -1;
        strcpy(d->id, conf->id);
        stream_clock_init(&d->clock);

        SourceParams sp = {
                .loop = m ? m->loop : NULL,
                .device_id = conf->id,
                .conf = conf->source_conf,
                .rate_hz = conf->sample_rate,
                .cb = &source_callbacks,
                .userdata = d,
        };
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                const gw_model_info *mi = models->model[t] ? gw_model_info_get(models->model[t]) : NULL;
                double hop = mi ? mi->hop / mi->sample_rate_hz : 0;
                if (hop > 0 && (sp.hop_s == 0 || hop < sp.hop_s))
                        sp.hop_s = hop;
        }
        r = conf->source->open(&sp, &d->source, reason, sizeof reason);
        if (r < 0) {
                device_free(d);
                return gw_error(err, errlen, -r, "device %s: %s", conf->id, reason);
        }
        r = source_desc_apply(conf, conf->source->describe(d->source), &desc, reason, sizeof reason);
        if (r < 0) {
                device_free(d);
                return gw_error(err, errlen, -r, "%s:%u: [device %s] %s", conf->file, conf->line, conf->id,
                                reason);
        }
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                if (!models->model[t])
                        continue;
                PipelineParams pp = {
                        .model = models->model[t],
                        .engine = models->engine[t],
                        .task = (ModelTask) t,
                        .source = &desc,
                        .activity = &conf->activity,
                        .fog = &conf->fog,
                        .fog_class = conf->fog_class,
                        .cb = &pipeline_callbacks,
                        .userdata = d,
                };
                r = pipeline_new(&pp, &d->pipeline[t], reason, sizeof reason);
                if (r < 0) {
                        device_free(d);
                        return gw_error(err, errlen, -r, "device %s: %s model: %s", conf->id,
                                        model_task_name((ModelTask) t), reason);
                }
                d->model[t] = models->model[t];
                d->n_hot += pipeline_hot_memory(d->pipeline[t], d->hot + d->n_hot, d->hot_bytes + d->n_hot,
                                                PIPELINE_HOT_BLOCKS);
        }
        d->desc.rate_hz = desc.rate_hz;
        *ret = d;
        return 0;
}

Device *device_free(Device *d)
{
        if (!d)
                return NULL;
        if (d->source)
                d->source->kind->close(d->source);
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                pipeline_free(d->pipeline[t]);
        free(d);
        return NULL;
}

int device_start(Device *d)
{
        if (d->started)
                return 0;
        d->started = true;
        return d->source->kind->start(d->source);
}

void device_stop(Device *d)
{
        if (!d->started)
                return;
        d->started = false;
        d->source->kind->stop(d->source);
        if (!d->ended) {
                d->ended = true;
                device_finish(d);
        }
}

void device_resume(Device *d)
{
        if (d->started && !d->ended && d->source->kind->resume)
                d->source->kind->resume(d->source);
}

void device_source_stats(const Device *d, SourceStats *ret)
{
        *ret = (SourceStats) { .link = d->connected ? "streaming" : "disconnected" };
        if (d->source && d->source->kind->stats)
                d->source->kind->stats(d->source, ret);
}

const char *device_source_address(const Device *d)
{
        return d->source->kind->address(d->source);
}

const gw_model_info *device_model_info(const Device *d, ModelTask t)
{
        return d->pipeline[t] ? pipeline_model_info(d->pipeline[t]) : NULL;
}

size_t device_state_bytes(const Device *d)
{
        size_t n = sizeof *d;
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if (d->pipeline[t])
                        n += pipeline_state_bytes(d->pipeline[t]);
        return n;
}
