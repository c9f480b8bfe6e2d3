/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline.h"

struct Pipeline {
        const gw_model *model;
        const gw_model_info *info;
        gw_engine *engine;
        ModelTask task;
        bool int8;
        PipelineCallbacks cb;
        void *userdata;

        gw_frontend *fe;
        gw_window *win;
        int in_n, C, K, max_out, fog_class;
        size_t window_bytes;
        bool uses_scratch;

        /* The task's decision state, the other NULL (the activity tracker
         * is four times the freeze tracker: not both per pipeline). */
        gw_activity_tracker *act;
        gw_fog_tracker *fog;
        uint64_t windows;
};

/* What one push needs only while it runs (front-end output, the window
 * handed to the engine, logits and probabilities), shared by every pipeline
 * of the process instead of kept per device: pipelines run on the loop's
 * thread one push after the other, and the callbacks use the probabilities
 * before the push returns.  Sized at creation for the largest pipeline,
 * freed with the last one. */
static struct {
        size_t users;
        size_t out_values, out_samples, window_bytes, classes, channels;
        float *fe_out;          /* out_samples x C */
        int64_t *fe_t;
        uint32_t *fe_flags;
        int8_t *q;              /* one quantised sample */
        void *window;           /* T x C, int8 or float */
        int32_t *logits_q16;
        int32_t *prob_q15;
        float *logits;
        float *prob;
} scratch;

static void scratch_free(void)
{
        free(scratch.fe_out);
        free(scratch.fe_t);
        free(scratch.fe_flags);
        free(scratch.q);
        free(scratch.window);
        free(scratch.logits_q16);
        free(scratch.prob_q15);
        free(scratch.logits);
        free(scratch.prob);
        memset(&scratch, 0, sizeof scratch);
}

static int grow(void **p, size_t *have, size_t want, size_t elem)
{
        if (want <= *have)
                return 0;
        void *n = realloc(*p, want * elem);
        if (!n)
                return -ENOMEM;
        *p = n;
        *have = want;
        return 0;
}

/* Makes the scratch large enough for p; the sizes only grow. */
static int scratch_fit(const Pipeline *p)
{
        size_t out_values = scratch.out_values, out_samples = scratch.out_samples;
        size_t window_bytes = scratch.window_bytes, channels = scratch.channels;
        size_t classes = scratch.classes, k;

        if (grow((void **) &scratch.fe_out, &out_values, (size_t) p->max_out * p->C, sizeof(float)) < 0)
                return -ENOMEM;
        scratch.out_values = out_values;
        k = out_samples;
        if (grow((void **) &scratch.fe_t, &k, (size_t) p->max_out, sizeof(int64_t)) < 0)
                return -ENOMEM;
        k = out_samples;
        if (grow((void **) &scratch.fe_flags, &k, (size_t) p->max_out, sizeof(uint32_t)) < 0)
                return -ENOMEM;
        scratch.out_samples = k;
        if (grow((void **) &scratch.q, &channels, (size_t) p->C, 1) < 0)
                return -ENOMEM;
        scratch.channels = channels;
        if (grow(&scratch.window, &window_bytes, p->window_bytes, 1) < 0)
                return -ENOMEM;
        scratch.window_bytes = window_bytes;
        k = classes;
        if (grow((void **) &scratch.logits_q16, &k, (size_t) p->K, sizeof(int32_t)) < 0)
                return -ENOMEM;
        k = classes;
        if (grow((void **) &scratch.prob_q15, &k, (size_t) p->K, sizeof(int32_t)) < 0)
                return -ENOMEM;
        k = classes;
        if (grow((void **) &scratch.logits, &k, (size_t) p->K, sizeof(float)) < 0)
                return -ENOMEM;
        k = classes;
        if (grow((void **) &scratch.prob, &k, (size_t) p->K, sizeof(float)) < 0)
                return -ENOMEM;
        scratch.classes = k;
        return 0;
}

int pipeline_fog_class(const gw_model *m, const char *fog_class, char *err, size_t errlen)
{
        const gw_model_info *info = gw_model_info_get(m);
        if (fog_class && *fog_class) {
                int k = gw_model_class_index(m, fog_class);
                if (k < 0)
                        return gw_error(err, errlen, EINVAL, "fog_class: model %s has no class '%s'",
                                        info->model_id, fog_class), -1;
                return k;
        }
        for (int k = 0; k < info->classes; k++) {
                const char *n = info->class_name[k];
                if (!strncasecmp(n, "no", 2))
                        continue;
                if (strcasestr(n, "freez") || strcasestr(n, "fog"))
                        return k;
        }
        if (info->classes == 2)
                return 1;
        gw_error(err, errlen, EINVAL, "model %s: cannot tell which class is the freeze; set fog_class",
                 info->model_id);
        return -1;
}

int pipeline_new(const PipelineParams *pp, Pipeline **ret, char *err, size_t errlen)
{
        Pipeline *p = calloc(1, sizeof *p);
        int r;

        if (!p)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        p->model = pp->model;
        p->info = gw_model_info_get(pp->model);
        p->engine = pp->engine;
        p->task = pp->task;
        p->int8 = p->info->has_int8;
        p->cb = *pp->cb;
        p->userdata = pp->userdata;
        p->in_n = pp->source->n;
        p->C = p->info->channels;
        p->K = p->info->classes;
        p->fog_class = -1;

        if (p->task == MODEL_FOG) {
                p->fog_class = pipeline_fog_class(pp->model, pp->fog_class, err, errlen);
                if (p->fog_class < 0) {
                        pipeline_free(p);
                        return -EINVAL;
                }
        }

        r = gw_frontend_new(&p->info->frontend, pp->source, &p->fe, err, errlen);
        if (r < 0) {
                pipeline_free(p);
                return r;
        }
        if (gw_frontend_channels(p->fe) != p->C) {
                pipeline_free(p);
                return gw_error(err, errlen, EINVAL, "model %s: front end yields %d channels, model wants %d",
                                p->info->model_id, gw_frontend_channels(p->fe), p->C);
        }
        size_t elem = p->int8 ? sizeof(int8_t) : sizeof(float);
        r = gw_window_new(p->info->window, p->C, p->info->hop, elem, p->info->sample_rate_hz, &p->win);
        if (r < 0) {
                pipeline_free(p);
                return gw_error(err, errlen, -r, "model %s: cannot create its window", p->info->model_id);
        }
        p->max_out = gw_frontend_max_out(p->fe);
        if (p->max_out < 1)
                p->max_out = 1;
        p->window_bytes = (size_t) p->info->window * p->C * elem;
        if (scratch_fit(p) < 0) {
                if (scratch.users == 0)
                        scratch_free();
                pipeline_free(p);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }
        scratch.users++;
        p->uses_scratch = true;
        if (p->task == MODEL_ACTIVITY) {
                p->act = malloc(sizeof *p->act);
                if (p->act)
                        gw_activity_init(p->act, pp->activity, p->K);
        } else {
                p->fog = malloc(sizeof *p->fog);
                if (p->fog)
                        gw_fog_init(p->fog, pp->fog);
        }
        if (!p->act && !p->fog) {
                pipeline_free(p);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }
        *ret = p;
        return 0;
}

Pipeline *pipeline_free(Pipeline *p)
{
        if (!p)
                return NULL;
        gw_frontend_free(p->fe);
        gw_window_free(p->win);
        free(p->act);
        free(p->fog);
        if (p->uses_scratch && --scratch.users == 0)
                scratch_free();
        free(p);
        return NULL;
}

static void pipeline_window(Pipeline *p, const gw_window_meta *meta)
{
        int top;

        if (p->int8) {
                gw_engine_run_int8(p->engine, scratch.window, scratch.logits_q16);
                top = gw_softmax_q15(scratch.logits_q16, p->K, scratch.prob_q15);
                for (int k = 0; k < p->K; k++)
                        scratch.prob[k] = (float) scratch.prob_q15[k] / 32768.0f;
        } else {
                gw_engine_run_fp32(p->engine, scratch.window, scratch.logits);
                top = gw_softmax_f32(scratch.logits, p->K, scratch.prob);
        }
        p->windows++;
        if (p->cb.window)
                p->cb.window(p->userdata, p, meta, scratch.prob, top);

        if (p->task == MODEL_ACTIVITY) {
                gw_activity_event ev;
                if (gw_activity_update(p->act, scratch.prob, meta->t_last_ns, &ev) == 1 && p->cb.activity)
                        p->cb.activity(p->userdata, p, &ev);
        } else {
                gw_fog_event ev;
                if (gw_fog_update(p->fog, scratch.prob[p->fog_class], meta->t_first_ns, meta->t_last_ns, &ev) == 1 &&
                    p->cb.fog)
                        p->cb.fog(p->userdata, p, &ev);
        }
}

void pipeline_push(Pipeline *p, size_t n, const int64_t *t_ns, const float *raw)
{
        for (size_t i = 0; i < n; i++) {
                int m = gw_frontend_push(p->fe, t_ns[i], raw, scratch.fe_out, scratch.fe_t, scratch.fe_flags,
                                         p->max_out);
                raw += p->in_n;
                for (int j = 0; j < m; j++) {
                        const float *x = scratch.fe_out + (size_t) j * p->C;
                        gw_window_meta meta;
                        const void *sample = x;
                        if (p->int8) {
                                gw_model_quantize(p->model, x, scratch.q, 1);
                                sample = scratch.q;
                        }
                        if (gw_window_push(p->win, scratch.fe_t[j], scratch.fe_flags[j], sample, scratch.window, &meta) == 1)
                                pipeline_window(p, &meta);
                }
        }
}

void pipeline_push_all(Pipeline *const *p, int count, size_t n, const int64_t *t_ns, const float *raw)
{
        int in_n = 0;
        for (int k = 0; k < count; k++)
                if (p[k])
                        in_n = p[k]->in_n;
        for (size_t i = 0; i < n; i++)
                for (int k = 0; k < count; k++)
                        if (p[k])
                                pipeline_push(p[k], 1, t_ns + i, raw + i * (size_t) in_n);
}

void pipeline_finish(Pipeline *p, int64_t t_ns)
{
        gw_fog_event ev;
        if (p->task == MODEL_FOG && gw_fog_flush(p->fog, t_ns, &ev) == 1 && p->cb.fog)
                p->cb.fog(p->userdata, p, &ev);
}

ModelTask pipeline_task(const Pipeline *p)
{
        return p->task;
}

const gw_model_info *pipeline_model_info(const Pipeline *p)
{
        return p->info;
}

const char *pipeline_class_name(const Pipeline *p, int cls)
{
        return cls >= 0 && cls < p->K ? p->info->class_name[cls] : "unknown";
}

uint64_t pipeline_windows(const Pipeline *p)
{
        return p->windows;
}

const gw_activity_tracker *pipeline_activity(const Pipeline *p)
{
        return p->act;
}

const gw_fog_tracker *pipeline_fog(const Pipeline *p)
{
        return p->fog;
}

const gw_frontend_stats *pipeline_frontend_stats(const Pipeline *p)
{
        return gw_frontend_stats_get(p->fe);
}

int pipeline_hot_memory(const Pipeline *p, const void **ptr, size_t *bytes, int max)
{
        const void *blocks[PIPELINE_HOT_BLOCKS] = { p, p->fe, p->win };
        size_t sizes[PIPELINE_HOT_BLOCKS] = { sizeof *p, gw_frontend_state_bytes(p->fe), 128 };
        int n = max < PIPELINE_HOT_BLOCKS ? max : PIPELINE_HOT_BLOCKS;

        for (int i = 0; i < n; i++) {
                ptr[i] = blocks[i];
                bytes[i] = sizes[i];
        }
        return n;
}

size_t pipeline_state_bytes(const Pipeline *p)
{
        /* The push scratch is the process's, not the device's. */
        return sizeof *p + (p->act ? sizeof *p->act : sizeof *p->fog) + gw_frontend_state_bytes(p->fe) +
               gw_window_state_bytes(p->win);
}
