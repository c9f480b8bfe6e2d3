/* SPDX-License-Identifier: MIT */
#pragma once

/* From per-window probabilities to events: a smoothed activity state that
 * does not flicker, and debounced freeze-of-gait episodes.  Pure state
 * machines over caller-owned structs; no allocation. */

#include "gaitway/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- activity ---------------------------------------------------------- */

typedef enum {
        GW_SMOOTH_NONE = 0,       /* every window's argmax is the state */
        GW_SMOOTH_MAJORITY,       /* the most frequent argmax of the last `length` windows */
        GW_SMOOTH_HYSTERESIS,     /* a new class must win `dwell` windows in a row with p >= enter */
} gw_smooth_mode;

#define GW_SMOOTH_MAX_LENGTH 32

typedef struct {
        gw_smooth_mode mode;
        int length;               /* majority: windows voted over, 1..GW_SMOOTH_MAX_LENGTH */
        int dwell;                /* hysteresis: consecutive windows, 1..GW_SMOOTH_MAX_LENGTH */
        float enter;              /* hysteresis: probability to enter a new state, 0..1 */
        float min_confidence;     /* windows whose top probability is lower are ignored
                                   * (as if absent: they neither vote nor break a dwell) */
} gw_activity_config;

/* Majority ties keep the current state, else go to the class voted for most
 * recently.  Hysteresis needs `dwell` windows for the first state too. */

typedef struct {
        int from;                 /* previous state, -1 for the first */
        int to;                   /* new state (class index) */
        float confidence;         /* mean top probability of the windows that decided */
        int64_t t_ns;             /* time of the change (end of the deciding window) */
        int64_t prev_duration_ns; /* how long `from` lasted; 0 for the first */
} gw_activity_event;

typedef struct {
        gw_activity_config cfg;
        int classes;
        int state;                /* -1 until the first decision */
        float confidence;
        int64_t since_ns;
        /* private */
        int hist_cls[GW_SMOOTH_MAX_LENGTH];
        float hist_p[GW_SMOOTH_MAX_LENGTH];
        int hist_n, hist_pos;
        int cand, cand_n;
        float cand_p;
} gw_activity_tracker;

/* Messages name the configuration key ("smoothing.length: 0 out of range 1..32"). */
int gw_activity_config_check(const gw_activity_config *cfg, char *err, size_t errlen);
void gw_activity_init(gw_activity_tracker *t, const gw_activity_config *cfg, int classes);
/* Feeds one window's probabilities (classes values) ending at t_ns.  Returns
 * 1 and fills *ev when the state changes, else 0. */
int gw_activity_update(gw_activity_tracker *t, const float *prob, int64_t t_ns, gw_activity_event *ev);

/* ---- freeze of gait ---------------------------------------------------- */

typedef struct {
        float on_threshold;       /* p(freeze) to count a window as freezing */
        float off_threshold;      /* p(freeze) below which a window counts as not freezing */
        int on_windows;           /* consecutive freezing windows to start an episode */
        int off_windows;          /* consecutive non-freezing windows to end it */
        int64_t min_duration_ns;  /* shorter episodes are reported with `short` set */
} gw_fog_config;

typedef enum { GW_FOG_START = 1, GW_FOG_END = 2 } gw_fog_kind;

typedef struct {
        gw_fog_kind kind;
        uint32_t episode;         /* 1, 2, ... per stream */
        int64_t t_ns;             /* START: onset (first freezing window's start); END: start
                                   * of the first window of the quiet run that ended it */
        int64_t duration_ns;      /* END only */
        float confidence;         /* START: mean p over the onset windows; END: mean over the episode */
        bool is_short;            /* END only: shorter than min_duration_ns */
} gw_fog_event;

typedef struct {
        gw_fog_config cfg;
        bool active;
        uint32_t episodes;
        int64_t onset_ns;
        /* private */
        int run_on, run_off;
        int64_t run_start_ns;
        double run_sum, ep_sum;
        uint32_t ep_n;
} gw_fog_tracker;

/* Checks ranges (thresholds 0..1, off <= on, windows 1..1024); messages
 * name the configuration key ("fog.on_windows: 0 out of range 1..1024"). */
int gw_fog_config_check(const gw_fog_config *cfg, char *err, size_t errlen);
void gw_fog_init(gw_fog_tracker *t, const gw_fog_config *cfg);
/* Feeds one window's p(freeze) spanning [t_start_ns, t_end_ns].  Returns 1
 * and fills *ev on an episode start or end, else 0.  A NaN p is ignored. */
int gw_fog_update(gw_fog_tracker *t, float p_freeze, int64_t t_start_ns, int64_t t_end_ns, gw_fog_event *ev);
/* Ends an active episode at t_ns (end of stream, device lost), or where a
 * pending, not yet confirmed quiet run began.  Returns 1 and fills *ev if one
 * was active; a pending onset run is forgotten.  The tracker stays usable. */
int gw_fog_flush(gw_fog_tracker *t, int64_t t_ns, gw_fog_event *ev);

#ifdef __cplusplus
}
#endif
