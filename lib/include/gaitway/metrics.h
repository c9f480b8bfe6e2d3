/* SPDX-License-Identifier: MIT */
#pragma once

/* Evaluation metrics: a confusion matrix with accuracy, per-class
 * precision/recall/F1 and macro-F1 as scikit-learn computes them, and
 * episode-level freeze-of-gait metrics (sensitivity per episode, false alarms
 * per hour of non-freeze time, detection latency).  Pure functions over
 * caller-owned data. */

#include "gaitway/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- per-window classification ------------------------------------------ */

typedef struct {
        int k;                                          /* classes, 1..GW_MAX_CLASSES */
        uint64_t m[GW_MAX_CLASSES][GW_MAX_CLASSES];     /* [true][predicted] counts */
} gw_confusion;

typedef struct {
        double precision;         /* tp / predicted, 0 when nothing was predicted */
        double recall;            /* tp / support, 0 when there is no support */
        double f1;                /* 2 tp / (support + predicted), 0 when both are 0 */
        uint64_t support;         /* windows whose true class this is */
        uint64_t predicted;       /* windows predicted as this class */
} gw_class_metrics;

/* Returns -EINVAL when k is out of range. */
int gw_confusion_init(gw_confusion *c, int k);
/* Returns -EINVAL (and counts nothing) when a class is out of range. */
int gw_confusion_add(gw_confusion *c, int truth, int pred);
uint64_t gw_confusion_total(const gw_confusion *c);

/* Fraction of windows on the diagonal; 0 for an empty matrix. */
double gw_metrics_accuracy(const gw_confusion *c);
int gw_metrics_class(const gw_confusion *c, int cls, gw_class_metrics *ret);
/* Mean F1 over the classes that occur in the truth or in the predictions,
 * which is sklearn's f1_score(y_true, y_pred, average='macro',
 * zero_division=0) with its default labels: a class never seen nor
 * predicted does not count, a class seen but never predicted (or predicted
 * but never seen) counts as 0.  0 for an empty matrix. */
double gw_metrics_macro_f1(const gw_confusion *c);

/* ---- freeze-of-gait episodes --------------------------------------------- */

typedef struct {
        int64_t start_ns;
        int64_t end_ns;           /* > start_ns */
} gw_interval;

/* True episodes from per-window labels (1 freeze, 0 no freeze, negative:
 * not evaluated, e.g. Daphnet's "not part of the experiment"): each maximal
 * run of freeze windows is one episode from the first window's start to the
 * last window's end.  Writes up to max episodes and returns how many there
 * are (possibly more than max). */
size_t gw_episodes_from_labels(const int8_t *label, const int64_t *t_start_ns,
                               const int64_t *t_end_ns, size_t n, gw_interval *out, size_t max);

/* Time covered by non-freeze windows (label 0) and not by any freeze window
 * (overlapping windows counted once): the denominator of false alarms per
 * hour.  Windows must be sorted by start. */
int64_t gw_nonfreeze_ns(const int8_t *label, const int64_t *t_start_ns, const int64_t *t_end_ns,
                        size_t n);

typedef struct {
        size_t episodes;          /* true episodes */
        size_t detected;          /* true episodes overlapped by at least one detection */
        double sensitivity;       /* detected / episodes; NaN without true episodes */
        size_t detections;
        size_t false_alarms;      /* detections overlapping no true episode */
        double nonfreeze_hours;
        double false_alarms_per_hour; /* NaN when nonfreeze_hours is 0 */
        /* Latency: start of the earliest detection overlapping an episode minus
         * the episode's onset (negative when the detection began first), over
         * the detected episodes; NaN when none was detected. */
        double latency_mean_s;
        double latency_median_s;
        double latency_max_s;
} gw_fog_episode_metrics;

/* Two intervals overlap when they share a positive length of time after the
 * true episode is widened by tolerance_ns on both sides (0: strict).  When
 * latency_s is not NULL it receives one value per true episode (NaN when
 * missed).  Returns 0, or -EINVAL for an interval with end <= start or a
 * negative tolerance, or -ENOMEM. */
int gw_fog_episode_metrics_compute(const gw_interval *truth, size_t n_truth,
                                   const gw_interval *pred, size_t n_pred, int64_t nonfreeze_ns,
                                   int64_t tolerance_ns, double *latency_s,
                                   gw_fog_episode_metrics *ret);

#ifdef __cplusplus
}
#endif
