/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "gaitway/decision.h"

int gw_activity_config_check(const gw_activity_config *cfg, char *err, size_t errlen)
{
        if (cfg->mode != GW_SMOOTH_NONE && cfg->mode != GW_SMOOTH_MAJORITY &&
            cfg->mode != GW_SMOOTH_HYSTERESIS)
                return gw_error(err, errlen, EINVAL, "smoothing.mode: %d is not none, majority or "
                                "hysteresis", (int) cfg->mode);
        if (cfg->mode == GW_SMOOTH_MAJORITY &&
            (cfg->length < 1 || cfg->length > GW_SMOOTH_MAX_LENGTH))
                return gw_error(err, errlen, EINVAL, "smoothing.length: %d out of range 1..%d",
                                cfg->length, GW_SMOOTH_MAX_LENGTH);
        if (cfg->mode == GW_SMOOTH_HYSTERESIS) {
                if (cfg->dwell < 1 || cfg->dwell > GW_SMOOTH_MAX_LENGTH)
                        return gw_error(err, errlen, EINVAL,
                                        "smoothing.dwell: %d out of range 1..%d", cfg->dwell,
                                        GW_SMOOTH_MAX_LENGTH);
                if (!(cfg->enter >= 0 && cfg->enter <= 1))
                        return gw_error(err, errlen, EINVAL,
                                        "smoothing.enter: %g out of range 0..1", cfg->enter);
        }
        if (!(cfg->min_confidence >= 0 && cfg->min_confidence <= 1))
                return gw_error(err, errlen, EINVAL,
                                "smoothing.min_confidence: %g out of range 0..1",
                                cfg->min_confidence);
        return 0;
}

void gw_activity_init(gw_activity_tracker *t, const gw_activity_config *cfg, int classes)
{
        memset(t, 0, sizeof *t);
        t->cfg = *cfg;
        t->classes = classes;
        t->state = -1;
        t->cand = -1;
}

/* First maximum, so ties go to the lower class index; NaN never wins. */
static int argmax(const float *p, int n, float *pmax)
{
        int best = -1;
        float bp = 0;
        for (int i = 0; i < n; i++)
                if (p[i] == p[i] && (best < 0 || p[i] > bp)) {
                        best = i;
                        bp = p[i];
                }
        *pmax = bp;
        return best;
}

/* The most frequent class of the history; among equals the current state
 * stays, otherwise the one voted for most recently wins. */
static int majority(const gw_activity_tracker *t, float *conf)
{
        int count[GW_MAX_CLASSES] = { 0 };
        int last[GW_MAX_CLASSES];
        double sum[GW_MAX_CLASSES] = { 0 };
        int len = t->cfg.length;

        for (int i = 0; i < t->hist_n; i++) {
                /* Oldest first, so `last` ends at the most recent vote. */
                int k = (t->hist_pos - t->hist_n + i + len) % len;
                int c = t->hist_cls[k];
                count[c]++;
                sum[c] += t->hist_p[k];
                last[c] = i;
        }
        int best = -1;
        for (int c = 0; c < t->classes; c++) {
                if (count[c] == 0)
                        continue;
                if (best < 0 || count[c] > count[best])
                        best = c;
                else if (count[c] == count[best] && best != t->state &&
                         (c == t->state || last[c] > last[best]))
                        best = c;
        }
        *conf = (float) (sum[best] / count[best]);
        return best;
}

static int change(gw_activity_tracker *t, int to, float conf, int64_t t_ns, gw_activity_event *ev)
{
        ev->from = t->state;
        ev->to = to;
        ev->confidence = conf;
        ev->t_ns = t_ns;
        ev->prev_duration_ns = t->state < 0 ? 0 : t_ns - t->since_ns;
        t->state = to;
        t->confidence = conf;
        t->since_ns = t_ns;
        return 1;
}

int gw_activity_update(gw_activity_tracker *t, const float *prob, int64_t t_ns,
                       gw_activity_event *ev)
{
        float p;
        int c = argmax(prob, t->classes, &p);

        /* An unsure (or NaN) window is as if it had not happened. */
        if (c < 0 || !(p >= t->cfg.min_confidence))
                return 0;

        switch (t->cfg.mode) {
        case GW_SMOOTH_NONE:
                if (c == t->state) {
                        t->confidence = p;
                        return 0;
                }
                return change(t, c, p, t_ns, ev);

        case GW_SMOOTH_MAJORITY: {
                t->hist_cls[t->hist_pos] = c;
                t->hist_p[t->hist_pos] = p;
                t->hist_pos = (t->hist_pos + 1) % t->cfg.length;
                if (t->hist_n < t->cfg.length)
                        t->hist_n++;
                float conf;
                int m = majority(t, &conf);
                if (m == t->state) {
                        t->confidence = conf;
                        return 0;
                }
                return change(t, m, conf, t_ns, ev);
        }

        case GW_SMOOTH_HYSTERESIS:
                if (c == t->state || !(p >= t->cfg.enter)) {
                        if (c == t->state)
                                t->confidence = p;
                        t->cand = -1;
                        t->cand_n = 0;
                        return 0;
                }
                if (c != t->cand) {
                        t->cand = c;
                        t->cand_n = 0;
                        t->cand_p = 0;
                }
                t->cand_n++;
                t->cand_p += p;
                if (t->cand_n < t->cfg.dwell)
                        return 0;
                float conf = t->cand_p / (float) t->cand_n;
                t->cand = -1;
                t->cand_n = 0;
                return change(t, c, conf, t_ns, ev);
        }
        return 0;
}
