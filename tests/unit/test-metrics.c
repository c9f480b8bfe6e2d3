/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "gw-test.h"
#include "gaitway/metrics.h"

#define SEC INT64_C(1000000000)

/* Rows are true classes, columns predictions.  Class 3 is seen but never
 * predicted, class 4 neither seen nor predicted, class 5 predicted but never
 * seen: the three cases where sklearn's zero_division applies. */
static const int M[6][6] = {
        { 50, 3, 2, 0, 0, 1 },
        { 4, 40, 6, 0, 0, 0 },
        { 1, 7, 30, 0, 0, 2 },
        { 2, 1, 0, 0, 0, 0 },
        { 0, 0, 0, 0, 0, 0 },
        { 0, 0, 0, 0, 0, 0 },
};

/* scikit-learn 1.2.1 on the y_true/y_pred pairs that M counts:
 *   accuracy_score(yt, yp)
 *   precision_recall_fscore_support(yt, yp, labels=range(6), zero_division=0)
 *   f1_score(yt, yp, average='macro', zero_division=0) */
static const double sk_accuracy = 0.8053691275167785;
static const double sk_precision[6] = { 0.8771929824561403, 0.7843137254901961,
                                        0.7894736842105263, 0, 0, 0 };
static const double sk_recall[6] = { 0.8928571428571429, 0.8, 0.75, 0, 0, 0 };
static const double sk_f1[6] = { 0.8849557522123894, 0.792079207920792, 0.7692307692307692,
                                 0, 0, 0 };
static const unsigned sk_support[6] = { 56, 50, 40, 3, 0, 0 };
static const double sk_macro_f1 = 0.4892531458727901;

static void fill(gw_confusion *c)
{
        CU_ASSERT_FATAL(gw_confusion_init(c, 6) == 0);
        for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                        for (int n = 0; n < M[i][j]; n++)
                                CU_ASSERT_FATAL(gw_confusion_add(c, i, j) == 0);
}

static void test_accuracy_matches_sklearn(void)
{
        static gw_confusion c;
        fill(&c);
        CU_ASSERT_EQUAL(gw_confusion_total(&c), 149);
        CU_ASSERT_DOUBLE_EQUAL(gw_metrics_accuracy(&c), sk_accuracy, 1e-15);
}

static void test_per_class_metrics_match_sklearn(void)
{
        static gw_confusion c;
        fill(&c);
        for (int i = 0; i < 6; i++) {
                gw_class_metrics m;
                CU_ASSERT_EQUAL(gw_metrics_class(&c, i, &m), 0);
                CU_ASSERT_DOUBLE_EQUAL(m.precision, sk_precision[i], 1e-15);
                CU_ASSERT_DOUBLE_EQUAL(m.recall, sk_recall[i], 1e-15);
                CU_ASSERT_DOUBLE_EQUAL(m.f1, sk_f1[i], 1e-15);
                CU_ASSERT_EQUAL(m.support, sk_support[i]);
        }
        gw_class_metrics m;
        CU_ASSERT_EQUAL(gw_metrics_class(&c, 5, &m), 0);
        CU_ASSERT_EQUAL(m.predicted, 3);
}

static void test_macro_f1_skips_classes_never_seen_nor_predicted(void)
{
        static gw_confusion c;
        fill(&c);
        CU_ASSERT_DOUBLE_EQUAL(gw_metrics_macro_f1(&c), sk_macro_f1, 1e-15);
}

static void test_confusion_refuses_out_of_range_classes(void)
{
        static gw_confusion c;
        CU_ASSERT_EQUAL(gw_confusion_init(&c, 0), -EINVAL);
        CU_ASSERT_EQUAL(gw_confusion_init(&c, GW_MAX_CLASSES + 1), -EINVAL);
        CU_ASSERT_EQUAL(gw_confusion_init(&c, GW_MAX_CLASSES), 0);
        CU_ASSERT_EQUAL(gw_confusion_add(&c, GW_MAX_CLASSES - 1, 0), 0);
        CU_ASSERT_EQUAL(gw_confusion_add(&c, GW_MAX_CLASSES, 0), -EINVAL);
        CU_ASSERT_EQUAL(gw_confusion_add(&c, 0, -1), -EINVAL);
        CU_ASSERT_EQUAL(gw_confusion_total(&c), 1);
}

static void test_empty_matrix_scores_zero(void)
{
        static gw_confusion c;
        gw_confusion_init(&c, 2);
        CU_ASSERT_EQUAL(gw_metrics_accuracy(&c), 0);
        CU_ASSERT_EQUAL(gw_metrics_macro_f1(&c), 0);
}

/* One-second windows [i, i + 1): labels 1 = freeze, 0 = no freeze, -1 = not
 * evaluated.  True episodes: [2, 5), [10, 12), [15, 16). */
static const int8_t labels[] = { 0, 0, 1, 1, 1, 0, 0, -1, -1, 0, 1, 1, 0, 0, 0, 1, 0 };
#define NW (sizeof labels / sizeof labels[0])

static void windows(int64_t *s, int64_t *e)
{
        for (size_t i = 0; i < NW; i++) {
                s[i] = (int64_t) i * SEC;
                e[i] = s[i] + SEC;
        }
}

static void test_episodes_are_runs_of_freeze_windows(void)
{
        int64_t s[NW], e[NW];
        gw_interval ep[4];
        windows(s, e);
        CU_ASSERT_EQUAL(gw_episodes_from_labels(labels, s, e, NW, ep, 4), 3);
        CU_ASSERT(ep[0].start_ns == 2 * SEC && ep[0].end_ns == 5 * SEC);
        CU_ASSERT(ep[1].start_ns == 10 * SEC && ep[1].end_ns == 12 * SEC);
        CU_ASSERT(ep[2].start_ns == 15 * SEC && ep[2].end_ns == 16 * SEC);
        CU_ASSERT_EQUAL(gw_episodes_from_labels(labels, s, e, NW, ep, 1), 3);
}

static void test_nonfreeze_time_excludes_freeze_and_unevaluated_windows(void)
{
        int64_t s[NW], e[NW];
        windows(s, e);
        CU_ASSERT_EQUAL(gw_nonfreeze_ns(labels, s, e, NW), 9 * SEC);
        /* Overlapping windows are counted once. */
        const int8_t l2[] = { 0, 0, 0 };
        const int64_t s2[] = { 0, SEC / 2, SEC }, e2[] = { 2 * SEC, 5 * SEC / 2, 3 * SEC };
        CU_ASSERT_EQUAL(gw_nonfreeze_ns(l2, s2, e2, 3), 3 * SEC);
}

static const gw_interval pred[] = {
        { 5 * SEC / 2, 4 * SEC },         /* episode 1, 0.5 s late */
        { 3 * SEC, 6 * SEC },             /* episode 1 again */
        { 19 * SEC / 2, 21 * SEC / 2 },   /* episode 2, 0.5 s early */
        { 0, 1 * SEC },                   /* false alarm */
        { 13 * SEC, 14 * SEC },           /* false alarm between episodes 2 and 3 */
};
#define NP (sizeof pred / sizeof pred[0])

static void test_episode_metrics_count_hits_misses_and_false_alarms(void)
{
        int64_t s[NW], e[NW];
        gw_interval ep[4];
        double lat[3];
        gw_fog_episode_metrics m;
        windows(s, e);
        size_t ne = gw_episodes_from_labels(labels, s, e, NW, ep, 4);
        int64_t nf = gw_nonfreeze_ns(labels, s, e, NW);
        CU_ASSERT_EQUAL(gw_fog_episode_metrics_compute(ep, ne, pred, NP, nf, 0, lat, &m), 0);
        CU_ASSERT_EQUAL(m.episodes, 3);
        CU_ASSERT_EQUAL(m.detected, 2);
        CU_ASSERT_DOUBLE_EQUAL(m.sensitivity, 2.0 / 3, 1e-15);
        CU_ASSERT_EQUAL(m.detections, 5);
        CU_ASSERT_EQUAL(m.false_alarms, 2);
        CU_ASSERT_DOUBLE_EQUAL(m.nonfreeze_hours, 9.0 / 3600, 1e-15);
        CU_ASSERT_DOUBLE_EQUAL(m.false_alarms_per_hour, 800, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(lat[0], 0.5, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(lat[1], -0.5, 1e-12);
        CU_ASSERT(isnan(lat[2]));
        CU_ASSERT_DOUBLE_EQUAL(m.latency_mean_s, 0, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(m.latency_median_s, 0, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(m.latency_max_s, 0.5, 1e-12);
}

static void test_touching_intervals_do_not_overlap(void)
{
        gw_interval ep[1] = { { 2 * SEC, 5 * SEC } };
        gw_interval p[2] = { { 5 * SEC, 6 * SEC }, { SEC, 2 * SEC } };
        gw_fog_episode_metrics m;
        CU_ASSERT_EQUAL(gw_fog_episode_metrics_compute(ep, 1, p, 2, 3600 * SEC, 0, NULL, &m), 0);
        CU_ASSERT_EQUAL(m.detected, 0);
        CU_ASSERT_EQUAL(m.false_alarms, 2);
        CU_ASSERT(isnan(m.latency_mean_s));
}

static void test_tolerance_widens_true_episodes(void)
{
        int64_t s[NW], e[NW];
        gw_interval ep[4];
        gw_fog_episode_metrics m;
        windows(s, e);
        size_t ne = gw_episodes_from_labels(labels, s, e, NW, ep, 4);
        CU_ASSERT_EQUAL(gw_fog_episode_metrics_compute(ep, ne, pred, NP, 9 * SEC, 3 * SEC / 2,
                                                       NULL, &m), 0);
        /* Widened by 1.5 s: [0.5, 6.5) takes the detection at [0, 1) too,
         * [8.5, 13.5) and [13.5, 17.5) share the one at [13, 14). */
        CU_ASSERT_EQUAL(m.detected, 3);
        CU_ASSERT_EQUAL(m.false_alarms, 0);
        CU_ASSERT_DOUBLE_EQUAL(m.latency_mean_s, (-2 - 0.5 - 2) / 3, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(m.latency_median_s, -2, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(m.latency_max_s, -0.5, 1e-12);
}

static void test_undefined_rates_are_nan(void)
{
        gw_fog_episode_metrics m;
        CU_ASSERT_EQUAL(gw_fog_episode_metrics_compute(NULL, 0, pred, NP, 0, 0, NULL, &m), 0);
        CU_ASSERT(isnan(m.sensitivity));
        CU_ASSERT(isnan(m.false_alarms_per_hour));
        CU_ASSERT_EQUAL(m.false_alarms, NP);
}

static void test_bad_intervals_are_refused(void)
{
        gw_interval bad[1] = { { 5 * SEC, 5 * SEC } };
        gw_fog_episode_metrics m;
        CU_ASSERT_EQUAL(gw_fog_episode_metrics_compute(bad, 1, pred, NP, 0, 0, NULL, &m), -EINVAL);
        CU_ASSERT_EQUAL(gw_fog_episode_metrics_compute(NULL, 0, bad, 1, 0, 0, NULL, &m), -EINVAL);
        CU_ASSERT_EQUAL(gw_fog_episode_metrics_compute(NULL, 0, NULL, 0, 0, -1, NULL, &m), -EINVAL);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("classification");
        gw_test_add(s, "accuracy matches sklearn", test_accuracy_matches_sklearn);
        gw_test_add(s, "per-class precision, recall, F1 match sklearn (zero_division=0)",
                    test_per_class_metrics_match_sklearn);
        gw_test_add(s, "macro-F1 skips classes never seen nor predicted (sklearn default labels)",
                    test_macro_f1_skips_classes_never_seen_nor_predicted);
        gw_test_add(s, "confusion refuses out-of-range classes",
                    test_confusion_refuses_out_of_range_classes);
        gw_test_add(s, "empty matrix scores zero", test_empty_matrix_scores_zero);

        s = gw_test_suite("fog episodes");
        gw_test_add(s, "episodes are runs of freeze windows",
                    test_episodes_are_runs_of_freeze_windows);
        gw_test_add(s, "non-freeze time excludes freeze and unevaluated windows",
                    test_nonfreeze_time_excludes_freeze_and_unevaluated_windows);
        gw_test_add(s, "episode metrics count hits, misses and false alarms",
                    test_episode_metrics_count_hits_misses_and_false_alarms);
        gw_test_add(s, "touching intervals do not overlap", test_touching_intervals_do_not_overlap);
        gw_test_add(s, "tolerance widens true episodes", test_tolerance_widens_true_episodes);
        gw_test_add(s, "undefined rates are NaN", test_undefined_rates_are_nan);
        gw_test_add(s, "bad intervals are refused", test_bad_intervals_are_refused);
}
