/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaitway/metrics.h"

int gw_confusion_init(gw_confusion *c, int k)
{
        if (k < 1 || k > GW_MAX_CLASSES)
                return -EINVAL;
        memset(c, 0, sizeof *c);
        c->k = k;
        return 0;
}

int gw_confusion_add(gw_confusion *c, int truth, int pred)
{
        if (truth < 0 || truth >= c->k || pred < 0 || pred >= c->k)
                return -EINVAL;
        c->m[truth][pred]++;
        return 0;
}

uint64_t gw_confusion_total(const gw_confusion *c)
{
        uint64_t n = 0;
        for (int i = 0; i < c->k; i++)
                for (int j = 0; j < c->k; j++)
                        n += c->m[i][j];
        return n;
}

double gw_metrics_accuracy(const gw_confusion *c)
{
        uint64_t n = gw_confusion_total(c), d = 0;
        for (int i = 0; i < c->k; i++)
                d += c->m[i][i];
        return n ? (double) d / (double) n : 0;
}

int gw_metrics_class(const gw_confusion *c, int cls, gw_class_metrics *ret)
{
        if (cls < 0 || cls >= c->k)
                return -EINVAL;
        uint64_t tp = c->m[cls][cls], support = 0, predicted = 0;
        for (int j = 0; j < c->k; j++) {
                support += c->m[cls][j];
                predicted += c->m[j][cls];
        }
        ret->support = support;
        ret->predicted = predicted;
        ret->precision = predicted ? (double) tp / (double) predicted : 0;
        ret->recall = support ? (double) tp / (double) support : 0;
        /* sklearn's form: equal to 2PR/(P+R) and defined when P+R is 0. */
        ret->f1 = support + predicted ? 2.0 * (double) tp / (double) (support + predicted) : 0;
        return 0;
}

double gw_metrics_macro_f1(const gw_confusion *c)
{
        double sum = 0;
        int n = 0;
        for (int i = 0; i < c->k; i++) {
                gw_class_metrics m;
                gw_metrics_class(c, i, &m);
                if (m.support == 0 && m.predicted == 0)
                        continue;
                sum += m.f1;
                n++;
        }
        return n ? sum / n : 0;
}

size_t gw_episodes_from_labels(const int8_t *label, const int64_t *t_start_ns,
                               const int64_t *t_end_ns, size_t n, gw_interval *out, size_t max)
{
        size_t count = 0;
        for (size_t i = 0; i < n;) {
                if (label[i] != 1) {
                        i++;
                        continue;
                }
                size_t j = i;
                while (j + 1 < n && label[j + 1] == 1)
                        j++;
                if (count < max) {
                        out[count].start_ns = t_start_ns[i];
                        out[count].end_ns = t_end_ns[j];
                }
                count++;
                i = j + 1;
        }
        return count;
}

/* Length of the union of the windows whose label passes `want`; windows are
 * sorted by start. */
static int64_t union_ns(const int8_t *label, const int64_t *s, const int64_t *e, size_t n,
                        int freeze_only)
{
        int64_t total = 0, cs = 0, ce = 0;
        int open = 0;
        for (size_t i = 0; i < n; i++) {
                if (label[i] < 0 || (freeze_only && label[i] != 1) || e[i] <= s[i])
                        continue;
                if (open && s[i] <= ce) {
                        if (e[i] > ce)
                                ce = e[i];
                        continue;
                }
                if (open)
                        total += ce - cs;
                cs = s[i];
                ce = e[i];
                open = 1;
        }
        if (open)
                total += ce - cs;
        return total;
}

int64_t gw_nonfreeze_ns(const int8_t *label, const int64_t *t_start_ns, const int64_t *t_end_ns,
                        size_t n)
{
        return union_ns(label, t_start_ns, t_end_ns, n, 0) -
               union_ns(label, t_start_ns, t_end_ns, n, 1);
}

static int overlaps(const gw_interval *t, const gw_interval *p, int64_t tol)
{
        return p->start_ns < t->end_ns + tol && p->end_ns > t->start_ns - tol;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

int gw_fog_episode_metrics_compute(const gw_interval *truth, size_t n_truth,
                                   const gw_interval *pred, size_t n_pred, int64_t nonfreeze_ns,
                                   int64_t tolerance_ns, double *latency_s,
                                   gw_fog_episode_metrics *ret)
{
        if (tolerance_ns < 0 || nonfreeze_ns < 0)
                return -EINVAL;
        for (size_t i = 0; i < n_truth; i++)
                if (truth[i].end_ns <= truth[i].start_ns)
                        return -EINVAL;
        for (size_t i = 0; i < n_pred; i++)
                if (pred[i].end_ns <= pred[i].start_ns)
                        return -EINVAL;

        double *lat = malloc(sizeof(double) * (n_truth ? n_truth : 1));
        if (!lat)
                return -ENOMEM;

        memset(ret, 0, sizeof *ret);
        ret->episodes = n_truth;
        ret->detections = n_pred;
        size_t nl = 0;
        double lsum = 0, lmax = -INFINITY;
        for (size_t i = 0; i < n_truth; i++) {
                int found = 0;
                int64_t first = 0;
                for (size_t j = 0; j < n_pred; j++)
                        if (overlaps(&truth[i], &pred[j], tolerance_ns) &&
                            (!found || pred[j].start_ns < first)) {
                                first = pred[j].start_ns;
                                found = 1;
                        }
                double l = found ? (double) (first - truth[i].start_ns) / 1e9 : NAN;
                if (latency_s)
                        latency_s[i] = l;
                if (!found)
                        continue;
                ret->detected++;
                lat[nl++] = l;
                lsum += l;
                if (l > lmax)
                        lmax = l;
        }
        for (size_t j = 0; j < n_pred; j++) {
                int hit = 0;
                for (size_t i = 0; i < n_truth && !hit; i++)
                        hit = overlaps(&truth[i], &pred[j], tolerance_ns);
                if (!hit)
                        ret->false_alarms++;
        }

        ret->sensitivity = n_truth ? (double) ret->detected / (double) n_truth : NAN;
        ret->nonfreeze_hours = (double) nonfreeze_ns / 3.6e12;
        ret->false_alarms_per_hour =
                nonfreeze_ns > 0 ? (double) ret->false_alarms / ret->nonfreeze_hours : NAN;
        if (nl) {
                qsort(lat, nl, sizeof *lat, cmp_double);
                ret->latency_mean_s = lsum / (double) nl;
                ret->latency_median_s = nl % 2 ? lat[nl / 2] : 0.5 * (lat[nl / 2 - 1] + lat[nl / 2]);
                ret->latency_max_s = lmax;
        } else
                ret->latency_mean_s = ret->latency_median_s = ret->latency_max_s = NAN;
        free(lat);
        return 0;
}
