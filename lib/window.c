/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "gaitway/frontend.h"
#include "gaitway/window.h"

struct gw_window {
        int T, C, hop;
        size_t elem_size, sample_bytes;
        double max_step_ns;             /* longer steps are gaps */
        bool started;
        int64_t t_prev;
        uint64_t count;                 /* samples since the last restart */
        int pos;                        /* ring slot the next sample goes to */
        int n_ts;
        uint64_t index;
        gw_window_stats stats;
        size_t bytes;
        /* Only the samples that can start a window (every hop-th since the
         * restart) keep their timestamp: ceil(T / hop) of them are in the
         * ring at once, instead of T. */
        int64_t *ts;                    /* [n_ts] */
        unsigned char *ring;            /* [T * sample_bytes] */
};

int gw_window_new(int T, int C, int hop, size_t elem_size, double rate_hz, gw_window **ret)
{
        size_t ts_off, ring_off, bytes;
        gw_window *w;
        int n_ts;

        if (!ret)
                return -EINVAL;
        *ret = NULL;
        if (T < 1 || T > GW_MAX_WINDOW || C < 1 || C > GW_MAX_CHANNELS || hop < 1 ||
            elem_size < 1 || elem_size > 16 || !isfinite(rate_hz) || rate_hz <= 0)
                return -EINVAL;

        n_ts = (T - 1) / hop + 1;
        ts_off = (sizeof *w + alignof(int64_t) - 1) & ~(alignof(int64_t) - 1);
        ring_off = ts_off + (size_t) n_ts * sizeof(int64_t);
        bytes = ring_off + (size_t) T * (size_t) C * elem_size;
        w = calloc(1, bytes);
        if (!w)
                return -ENOMEM;
        w->T = T;
        w->C = C;
        w->hop = hop;
        w->elem_size = elem_size;
        w->sample_bytes = (size_t) C * elem_size;
        w->max_step_ns = 1.5 * (double) GW_NSEC_PER_SEC / rate_hz;
        w->n_ts = n_ts;
        w->bytes = bytes;
        w->ts = (int64_t *) (void *) ((char *) w + ts_off);
        w->ring = (unsigned char *) w + ring_off;
        *ret = w;
        return 0;
}

gw_window *gw_window_free(gw_window *w)
{
        free(w);
        return NULL;
}

void gw_window_reset(gw_window *w)
{
        w->started = false;
        w->count = 0;
        w->pos = 0;
}

static bool is_restart(const gw_window *w, int64_t t_ns, uint32_t flags)
{
        return !w->started || (flags & GW_SAMPLE_RESTART) || t_ns <= w->t_prev ||
               (double) ((uint64_t) t_ns - (uint64_t) w->t_prev) > w->max_step_ns;
}

/* Whether pushing this sample completes a window. */
static bool completes(const gw_window *w, int64_t t_ns, uint32_t flags)
{
        uint64_t count = is_restart(w, t_ns, flags) ? 1 : w->count + 1;
        return count >= (uint64_t) w->T && (count - (uint64_t) w->T) % (uint64_t) w->hop == 0;
}

int gw_window_push(gw_window *w, int64_t t_ns, uint32_t flags, const void *sample,
                   void *out, gw_window_meta *meta)
{
        uint64_t first;
        size_t head;

        if (!w || !sample)
                return -EINVAL;
        if (is_restart(w, t_ns, flags)) {
                if (w->started)
                        w->stats.gaps++;
                w->started = true;
                w->count = 0;
                w->pos = 0;
        }
        memcpy(w->ring + (size_t) w->pos * w->sample_bytes, sample, w->sample_bytes);
        if (w->count % (uint64_t) w->hop == 0)
                w->ts[(w->count / (uint64_t) w->hop) % (uint64_t) w->n_ts] = t_ns;
        w->count++;
        w->pos = w->pos + 1 == w->T ? 0 : w->pos + 1;
        w->t_prev = t_ns;
        w->stats.samples++;

        if (w->count < (uint64_t) w->T || (w->count - (uint64_t) w->T) % (uint64_t) w->hop != 0)
                return 0;

        first = w->count - (uint64_t) w->T;
        if (out) {
                /* The ring is full, so the oldest sample sits where the next
                 * one will go. */
                head = (size_t) (w->T - w->pos) * w->sample_bytes;
                memcpy(out, w->ring + (size_t) w->pos * w->sample_bytes, head);
                memcpy((char *) out + head, w->ring, (size_t) w->pos * w->sample_bytes);
        }
        if (meta) {
                meta->t_first_ns = w->ts[(first / (uint64_t) w->hop) % (uint64_t) w->n_ts];
                meta->t_last_ns = t_ns;
                meta->index = w->index;
        }
        w->index++;
        w->stats.windows++;
        return 1;
}

int gw_window_push_block(gw_window *w, size_t n, const int64_t *t_ns, const uint32_t *flags,
                         const void *samples, void *out, gw_window_meta *meta,
                         size_t max_windows, size_t *consumed)
{
        size_t i, made = 0, window_bytes;

        if (consumed)
                *consumed = 0;
        if (!w || (n > 0 && (!t_ns || !samples)))
                return -EINVAL;
        window_bytes = (size_t) w->T * w->sample_bytes;
        if (max_windows > INT32_MAX)
                max_windows = INT32_MAX;
        for (i = 0; i < n; i++) {
                uint32_t f = flags ? flags[i] : 0;
                if (made == max_windows && completes(w, t_ns[i], f))
                        break;
                made += (size_t) gw_window_push(w, t_ns[i], f,
                                                (const char *) samples + i * w->sample_bytes,
                                                out ? (char *) out + made * window_bytes : NULL,
                                                meta ? meta + made : NULL);
        }
        if (consumed)
                *consumed = i;
        return (int) made;
}

const gw_window_stats *gw_window_stats_get(const gw_window *w)
{
        return &w->stats;
}

size_t gw_window_state_bytes(const gw_window *w)
{
        return w->bytes;
}
