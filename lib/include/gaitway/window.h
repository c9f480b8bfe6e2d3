/* SPDX-License-Identifier: MIT */
#pragma once

/* Sliding windows over a stream: a ring of T samples of C elements that
 * emits a window every `hop` samples once full.  A gap in the timestamps (or
 * a sample flagged GW_SAMPLE_RESTART) restarts the window rather than
 * stitching across the gap.  Elements are opaque (float for the FP32 engine,
 * int8 for the INT8 engine). */

#include "gaitway/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gw_window gw_window;

typedef struct {
        int64_t t_first_ns;   /* timestamp of the window's first sample */
        int64_t t_last_ns;    /* timestamp of its last sample */
        uint64_t index;       /* windows emitted by this stream so far, from 0 */
} gw_window_meta;

typedef struct {
        uint64_t samples;
        uint64_t windows;
        uint64_t gaps;        /* restarts caused by gaps or RESTART flags after the first sample */
} gw_window_stats;

/* rate_hz sets the expected sample period: a step longer than 1.5 periods,
 * or not strictly increasing, is a gap. */
int gw_window_new(int T, int C, int hop, size_t elem_size, double rate_hz, gw_window **ret);
gw_window *gw_window_free(gw_window *w);
/* Empties the ring (the next sample starts a new window, not counted as a
 * gap); stats and the window index go on. */
void gw_window_reset(gw_window *w);

/* Pushes one sample (C elements).  When a window completes, copies it
 * linearly (T x C, oldest first) into out, fills *meta and returns 1;
 * otherwise returns 0.  out and meta may be NULL when not wanted.  The first
 * window comes after T samples since the start (or restart), then one every
 * hop samples. */
int gw_window_push(gw_window *w, int64_t t_ns, uint32_t flags, const void *sample,
                   void *out, gw_window_meta *meta);

/* Block form over n samples (samples: n x C elements, time-major; flags may
 * be NULL).  Writes windows one after another into out (each T x C) and
 * their meta, at most max_windows of them, stopping before the sample that
 * would complete one more; *consumed says how many samples were taken.
 * Returns the number of windows written. */
int gw_window_push_block(gw_window *w, size_t n, const int64_t *t_ns, const uint32_t *flags,
                         const void *samples, void *out, gw_window_meta *meta,
                         size_t max_windows, size_t *consumed);

const gw_window_stats *gw_window_stats_get(const gw_window *w);
size_t gw_window_state_bytes(const gw_window *w);

#ifdef __cplusplus
}
#endif
