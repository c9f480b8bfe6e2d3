/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw-test.h"
#include "gaitway/decision.h"
#include "gaitway/freeze_index.h"

#define K 4
#define SEC INT64_C(1000000000)
#define HOP (SEC / 2)

static char err[GW_ERR_MAX];

/* One window's probabilities: p for class c, the rest shared evenly. */
static void probs(float *p, int c, float pc)
{
        for (int i = 0; i < K; i++)
                p[i] = i == c ? pc : (1 - pc) / (K - 1);
}

/* Feeds classes[i] with confidence conf[i] (0.9 when conf is NULL) at
 * t = (i + 1) * HOP; returns the number of events, the last in *last and the
 * state after every window in states (if not NULL). */
static int feed(gw_activity_tracker *t, const int *classes, const float *conf, int n,
                gw_activity_event *last, int *states)
{
        int events = 0;
        for (int i = 0; i < n; i++) {
                float p[K];
                gw_activity_event ev;
                probs(p, classes[i], conf ? conf[i] : 0.9f);
                if (gw_activity_update(t, p, (i + 1) * HOP, &ev) == 1) {
                        events++;
                        if (last)
                                *last = ev;
                }
                if (states)
                        states[i] = t->state;
        }
        return events;
}

static gw_activity_tracker tracker(gw_smooth_mode mode, int length, int dwell, float enter,
                                   float min_conf)
{
        gw_activity_config c = { .mode = mode, .length = length, .dwell = dwell, .enter = enter,
                                 .min_confidence = min_conf };
        gw_activity_tracker t;
        CU_ASSERT_FATAL(gw_activity_config_check(&c, err, sizeof err) == 0);
        gw_activity_init(&t, &c, K);
        return t;
}

/* ---- activity ------------------------------------------------------------ */

static void test_activity_config_errors_name_the_key(void)
{
        gw_activity_config c = { .mode = GW_SMOOTH_MAJORITY, .length = 0 };
        CU_ASSERT(gw_activity_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "smoothing.length: 0 out of range 1..32");
        c = (gw_activity_config) { .mode = GW_SMOOTH_HYSTERESIS, .dwell = 33, .enter = 0.5f };
        CU_ASSERT(gw_activity_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "smoothing.dwell: 33 out of range 1..32");
        c = (gw_activity_config) { .mode = GW_SMOOTH_HYSTERESIS, .dwell = 3, .enter = 1.5f };
        CU_ASSERT(gw_activity_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "smoothing.enter: 1.5 out of range 0..1");
        c = (gw_activity_config) { .mode = GW_SMOOTH_NONE, .min_confidence = NAN };
        CU_ASSERT(gw_activity_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "smoothing.min_confidence: nan out of range 0..1");
        c = (gw_activity_config) { .mode = (gw_smooth_mode) 9 };
        CU_ASSERT(gw_activity_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "smoothing.mode: 9 is not none, majority or hysteresis");
        c = (gw_activity_config) { .mode = GW_SMOOTH_NONE };
        CU_ASSERT_EQUAL(gw_activity_config_check(&c, err, sizeof err), 0);
}

static void test_no_smoothing_follows_every_window(void)
{
        gw_activity_tracker t = tracker(GW_SMOOTH_NONE, 0, 0, 0, 0);
        const int seq[] = { 1, 1, 2, 2, 2, 1 };
        gw_activity_event ev;
        int states[6];
        CU_ASSERT_EQUAL(feed(&t, seq, NULL, 6, &ev, states), 3);
        CU_ASSERT_EQUAL(memcmp(states, seq, sizeof seq), 0);
        CU_ASSERT_EQUAL(ev.from, 2);
        CU_ASSERT_EQUAL(ev.to, 1);
        CU_ASSERT_EQUAL(ev.t_ns, 6 * HOP);
        CU_ASSERT_EQUAL(ev.prev_duration_ns, 3 * HOP);
        CU_ASSERT_DOUBLE_EQUAL(ev.confidence, 0.9, 1e-6);
}

static void test_first_event_comes_from_no_state(void)
{
        gw_activity_tracker t = tracker(GW_SMOOTH_NONE, 0, 0, 0, 0);
        const int seq[] = { 3 };
        gw_activity_event ev;
        CU_ASSERT_EQUAL(feed(&t, seq, NULL, 1, &ev, NULL), 1);
        CU_ASSERT_EQUAL(ev.from, -1);
        CU_ASSERT_EQUAL(ev.to, 3);
        CU_ASSERT_EQUAL(ev.prev_duration_ns, 0);
}

/* Walking (0) with every other window a misclassification, alternately
 * into class 1 and class 2. */
static const int noisy[] = { 0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 2 };
#define NOISY (int) (sizeof noisy / sizeof noisy[0])

static void test_majority_of_5_does_not_flicker_under_alternating_noise(void)
{
        gw_activity_tracker raw = tracker(GW_SMOOTH_NONE, 0, 0, 0, 0);
        CU_ASSERT_EQUAL(feed(&raw, noisy, NULL, NOISY, NULL, NULL), NOISY);

        gw_activity_tracker t = tracker(GW_SMOOTH_MAJORITY, 5, 0, 0, 0);
        int states[NOISY];
        CU_ASSERT_EQUAL(feed(&t, noisy, NULL, NOISY, NULL, states), 1);
        int walking = 0;
        for (int i = 0; i < NOISY; i++)
                walking += states[i] == 0;
        CU_ASSERT_EQUAL(walking, NOISY);
}

static void test_majority_switches_once_the_new_class_outvotes_the_old(void)
{
        gw_activity_tracker t = tracker(GW_SMOOTH_MAJORITY, 5, 0, 0, 0);
        const int seq[] = { 0, 0, 0, 0, 0, 3, 3, 3, 3, 3 };
        const float conf[] = { .9f, .9f, .9f, .9f, .9f, .6f, .7f, .8f, .9f, .9f };
        int states[10];
        gw_activity_event ev;
        CU_ASSERT_EQUAL(feed(&t, seq, conf, 10, &ev, states), 2);
        CU_ASSERT_EQUAL(states[6], 0);
        CU_ASSERT_EQUAL(states[7], 3);
        CU_ASSERT_EQUAL(ev.from, 0);
        CU_ASSERT_EQUAL(ev.to, 3);
        CU_ASSERT_EQUAL(ev.t_ns, 8 * HOP);
        CU_ASSERT_EQUAL(ev.prev_duration_ns, 7 * HOP);
        CU_ASSERT_DOUBLE_EQUAL(ev.confidence, (0.6 + 0.7 + 0.8) / 3, 1e-6);
}

static void test_majority_tie_keeps_the_current_state(void)
{
        gw_activity_tracker t = tracker(GW_SMOOTH_MAJORITY, 4, 0, 0, 0);
        const int seq[] = { 0, 0, 0, 0, 1, 1 };
        int states[6];
        CU_ASSERT_EQUAL(feed(&t, seq, NULL, 6, NULL, states), 1);
        CU_ASSERT_EQUAL(states[5], 0);
        const int more[] = { 1 };
        CU_ASSERT_EQUAL(feed(&t, more, NULL, 1, NULL, states), 1);
        CU_ASSERT_EQUAL(states[0], 1);
}

static void test_hysteresis_needs_dwell_consecutive_confident_windows(void)
{
        gw_activity_tracker t = tracker(GW_SMOOTH_HYSTERESIS, 0, 3, 0.6f, 0);
        const int start[] = { 0, 0, 0 };
        gw_activity_event ev;
        int states[12];
        CU_ASSERT_EQUAL(feed(&t, start, NULL, 3, &ev, states), 1);
        CU_ASSERT_EQUAL(states[1], -1);      /* the first state needs dwell too */
        CU_ASSERT_EQUAL(states[2], 0);
        /* Two windows of 1, an interruption, then three: only the run of
         * three counts. */
        const int seq[] = { 1, 1, 0, 1, 1, 1 };
        const float conf[] = { .8f, .8f, .9f, .7f, .8f, .9f };
        CU_ASSERT_EQUAL(feed(&t, seq, conf, 6, &ev, states), 1);
        CU_ASSERT_EQUAL(states[4], 0);
        CU_ASSERT_EQUAL(states[5], 1);
        CU_ASSERT_EQUAL(ev.from, 0);
        CU_ASSERT_EQUAL(ev.to, 1);
        CU_ASSERT_DOUBLE_EQUAL(ev.confidence, 0.8, 1e-6);
}

static void test_hysteresis_ignores_a_class_below_the_enter_probability(void)
{
        gw_activity_tracker t = tracker(GW_SMOOTH_HYSTERESIS, 0, 2, 0.7f, 0);
        const int seq[] = { 0, 0, 2, 2, 2, 2, 2, 2 };
        const float conf[] = { .9f, .9f, .6f, .6f, .6f, .6f, .6f, .6f };
        int states[8];
        CU_ASSERT_EQUAL(feed(&t, seq, conf, 8, NULL, states), 1);
        CU_ASSERT_EQUAL(states[7], 0);
}

static void test_hysteresis_does_not_flicker_under_alternating_noise(void)
{
        gw_activity_tracker t = tracker(GW_SMOOTH_HYSTERESIS, 0, 2, 0.5f, 0);
        int states[NOISY];
        CU_ASSERT_EQUAL(feed(&t, noisy, NULL, NOISY, NULL, states), 0);
        const int walk[] = { 0, 0 };
        CU_ASSERT_EQUAL(feed(&t, walk, NULL, 2, NULL, NULL), 1);
        CU_ASSERT_EQUAL(feed(&t, noisy, NULL, NOISY, NULL, states), 0);
}

static void test_unsure_windows_are_ignored(void)
{
        gw_activity_tracker t = tracker(GW_SMOOTH_NONE, 0, 0, 0, 0.5f);
        const int seq[] = { 0, 1, 1, 0 };
        const float conf[] = { .9f, .4f, .45f, .9f };
        int states[4];
        CU_ASSERT_EQUAL(feed(&t, seq, conf, 4, NULL, states), 1);
        CU_ASSERT_EQUAL(states[2], 0);

        float p[K] = { NAN, NAN, NAN, NAN };
        gw_activity_event ev;
        CU_ASSERT_EQUAL(gw_activity_update(&t, p, 10 * HOP, &ev), 0);
        CU_ASSERT_EQUAL(t.state, 0);
}

/* ---- freeze of gait -------------------------------------------------------- */

static gw_fog_tracker fog(int on_windows, int off_windows, int64_t min_dur)
{
        gw_fog_config c = { .on_threshold = 0.7f, .off_threshold = 0.4f,
                            .on_windows = on_windows, .off_windows = off_windows,
                            .min_duration_ns = min_dur };
        gw_fog_tracker t;
        CU_ASSERT_FATAL(gw_fog_config_check(&c, err, sizeof err) == 0);
        gw_fog_init(&t, &c);
        return t;
}

#define WIN (2 * SEC)

/* Window i spans [i * HOP, i * HOP + WIN]. */
static int fog_feed(gw_fog_tracker *t, const float *p, int n, gw_fog_event *evs, int max)
{
        int k = 0;
        for (int i = 0; i < n; i++) {
                gw_fog_event ev;
                if (gw_fog_update(t, p[i], i * HOP, i * HOP + WIN, &ev) == 1 && k < max)
                        evs[k++] = ev;
        }
        return k;
}

static void test_fog_config_errors_name_the_key(void)
{
        gw_fog_config c = { .on_threshold = 0.7f, .off_threshold = 0.4f, .on_windows = 0,
                            .off_windows = 2 };
        CU_ASSERT(gw_fog_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "fog.on_windows: 0 out of range 1..1024");
        c.on_windows = 2;
        c.off_threshold = 0.8f;
        CU_ASSERT(gw_fog_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "fog.off_threshold: 0.8 above fog.on_threshold 0.7");
        c.off_threshold = 0.4f;
        c.on_threshold = 1.5f;
        CU_ASSERT(gw_fog_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "fog.on_threshold: 1.5 out of range 0..1");
        c.on_threshold = 0.7f;
        c.min_duration_ns = -1;
        CU_ASSERT(gw_fog_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "fog.min_duration: -1 ns is negative");
}

static void test_fog_starts_after_on_windows_with_onset_at_the_first(void)
{
        gw_fog_tracker t = fog(3, 2, 0);
        const float p[] = { .1f, .8f, .9f, 1.0f, .9f };
        gw_fog_event ev[4];
        CU_ASSERT_EQUAL(fog_feed(&t, p, 5, ev, 4), 1);
        CU_ASSERT_EQUAL(ev[0].kind, GW_FOG_START);
        CU_ASSERT_EQUAL(ev[0].episode, 1);
        CU_ASSERT_EQUAL(ev[0].t_ns, 1 * HOP);
        CU_ASSERT_DOUBLE_EQUAL(ev[0].confidence, 0.9, 1e-6);
        CU_ASSERT(t.active);
}

static void test_fog_isolated_freezing_windows_do_not_start_an_episode(void)
{
        gw_fog_tracker t = fog(3, 2, 0);
        const float p[] = { .8f, .9f, .5f, .9f, .9f, .1f, .95f, .3f, .9f };
        gw_fog_event ev[4];
        CU_ASSERT_EQUAL(fog_feed(&t, p, 9, ev, 4), 0);
        CU_ASSERT(!t.active);
}

static void test_fog_ends_after_off_windows_at_the_start_of_the_quiet_run(void)
{
        gw_fog_tracker t = fog(2, 3, 0);
        /* On at 1-2, the band between thresholds (0.5) and a short quiet
         * run (0.2, 0.2) keep it going; the quiet run at 9-11 ends it. */
        const float p[] = { .1f, .8f, .8f, .5f, .2f, .2f, .9f, .6f, .6f, .1f, .2f, .3f, .1f };
        gw_fog_event ev[4];
        CU_ASSERT_EQUAL(fog_feed(&t, p, 13, ev, 4), 2);
        CU_ASSERT_EQUAL(ev[0].kind, GW_FOG_START);
        CU_ASSERT_EQUAL(ev[0].t_ns, 1 * HOP);
        CU_ASSERT_EQUAL(ev[1].kind, GW_FOG_END);
        CU_ASSERT_EQUAL(ev[1].episode, 1);
        CU_ASSERT_EQUAL(ev[1].t_ns, 9 * HOP);
        CU_ASSERT_EQUAL(ev[1].duration_ns, 8 * HOP);
        /* Mean over windows 1..8, the quiet run that ended it excluded. */
        CU_ASSERT_DOUBLE_EQUAL(ev[1].confidence, (.8 + .8 + .5 + .2 + .2 + .9 + .6 + .6) / 8, 1e-6);
        CU_ASSERT(!ev[1].is_short);
        CU_ASSERT(!t.active);
}

static void test_fog_short_episodes_are_flagged(void)
{
        gw_fog_tracker t = fog(1, 1, 3 * SEC);
        const float p[] = { .9f, .9f, .1f, .9f, .9f, .9f, .9f, .9f, .9f, .9f, .1f };
        gw_fog_event ev[4];
        CU_ASSERT_EQUAL(fog_feed(&t, p, 11, ev, 4), 4);
        CU_ASSERT_EQUAL(ev[1].duration_ns, 2 * HOP);
        CU_ASSERT(ev[1].is_short);
        CU_ASSERT_EQUAL(ev[2].episode, 2);
        CU_ASSERT_EQUAL(ev[3].duration_ns, 7 * HOP);
        CU_ASSERT(!ev[3].is_short);
}

static void test_fog_flush_ends_the_episode_at_end_of_stream(void)
{
        gw_fog_tracker t = fog(2, 3, 0);
        const float p[] = { .9f, .9f, .9f };
        gw_fog_event ev[2], end;
        CU_ASSERT_EQUAL(fog_feed(&t, p, 3, ev, 2), 1);
        CU_ASSERT_EQUAL(gw_fog_flush(&t, 10 * SEC, &end), 1);
        CU_ASSERT_EQUAL(end.kind, GW_FOG_END);
        CU_ASSERT_EQUAL(end.t_ns, 10 * SEC);
        CU_ASSERT_EQUAL(end.duration_ns, 10 * SEC);
        CU_ASSERT(!t.active);
        CU_ASSERT_EQUAL(gw_fog_flush(&t, 11 * SEC, &end), 0);
}

static void test_fog_flush_during_a_quiet_run_ends_where_it_began(void)
{
        gw_fog_tracker t = fog(2, 3, 0);
        const float p[] = { .9f, .9f, .9f, .1f, .1f };
        gw_fog_event ev[2], end;
        CU_ASSERT_EQUAL(fog_feed(&t, p, 5, ev, 2), 1);
        CU_ASSERT_EQUAL(gw_fog_flush(&t, 10 * SEC, &end), 1);
        CU_ASSERT_EQUAL(end.t_ns, 3 * HOP);
        CU_ASSERT_DOUBLE_EQUAL(end.confidence, 0.9, 1e-6);
}

static void test_fog_flush_forgets_a_pending_onset(void)
{
        gw_fog_tracker t = fog(3, 3, 0);
        const float p[] = { .9f, .9f };
        gw_fog_event ev[2], end;
        CU_ASSERT_EQUAL(fog_feed(&t, p, 2, ev, 2), 0);
        CU_ASSERT_EQUAL(gw_fog_flush(&t, 10 * SEC, &end), 0);
        /* A new stream must collect all three windows again. */
        gw_fog_event e;
        CU_ASSERT_EQUAL(gw_fog_update(&t, .9f, 20 * SEC, 22 * SEC, &e), 0);
        CU_ASSERT_EQUAL(gw_fog_update(&t, .9f, 21 * SEC, 23 * SEC, &e), 0);
        CU_ASSERT_EQUAL(gw_fog_update(&t, .9f, 22 * SEC, 24 * SEC, &e), 1);
        CU_ASSERT_EQUAL(e.t_ns, 20 * SEC);
}

static void test_fog_ignores_nan_windows(void)
{
        gw_fog_tracker t = fog(2, 2, 0);
        const float p[] = { .9f, NAN, .9f };
        gw_fog_event ev[2];
        CU_ASSERT_EQUAL(fog_feed(&t, p, 3, ev, 2), 1);
        CU_ASSERT_DOUBLE_EQUAL(ev[0].confidence, 0.9, 1e-6);
}

/* ---- freeze index ------------------------------------------------------------ */

#define FS 64.0

static gw_fi *fi_default(void)
{
        gw_fi_config c;
        gw_fi *d = NULL;
        gw_fi_config_default(&c, FS);
        CU_ASSERT_FATAL(gw_fi_new(&c, &d, err, sizeof err) == 0);
        return d;
}

/* Vertical acceleration in g: gravity plus a sine of amplitude a at f Hz
 * plus deterministic small noise. */
static float accel(int i, double f, double a, double noise)
{
        double n = noise * sin(i * 12.9898) * 0.5 + noise * sin(i * 78.233 + 1) * 0.5;
        return (float) (1.0 + a * sin(2 * M_PI * f * i / FS) + n);
}

static gw_fi_result fi_last(gw_fi *d, double f, double a, double noise, int n)
{
        gw_fi_result res = { 0 }, r;
        for (int i = 0; i < n; i++)
                if (gw_fi_push(d, (int64_t) i * 15625000, accel(i, f, a, noise), &r))
                        res = r;
        return res;
}

static void test_fi_defaults_are_baechlins(void)
{
        gw_fi_config c;
        gw_fi_config_default(&c, FS);
        CU_ASSERT_EQUAL(c.window, 256);
        CU_ASSERT_EQUAL(c.hop, 32);
        CU_ASSERT_EQUAL(c.loco_lo_hz, 0.5);
        CU_ASSERT_EQUAL(c.loco_hi_hz, 3);
        CU_ASSERT_EQUAL(c.freeze_lo_hz, 3);
        CU_ASSERT_EQUAL(c.freeze_hi_hz, 8);
        CU_ASSERT_EQUAL(c.fi_threshold, 1.5);
        CU_ASSERT_EQUAL(gw_fi_config_check(&c, err, sizeof err), 0);
}

static void test_fi_tremor_at_5_hz_is_a_freeze(void)
{
        gw_fi *d = fi_default();
        gw_fi_result r = fi_last(d, 5.0, 0.3, 0.01, 512);
        CU_ASSERT(r.fi > 10);
        CU_ASSERT(!r.still);
        CU_ASSERT(r.freeze);
        /* A sine of amplitude a has mean square a^2 / 2. */
        CU_ASSERT_DOUBLE_EQUAL(r.freeze_power, 0.045, 0.005);
        gw_fi_free(d);
}

static void test_fi_walking_at_1_5_hz_is_not_a_freeze(void)
{
        gw_fi *d = fi_default();
        gw_fi_result r = fi_last(d, 1.5, 0.3, 0.01, 512);
        CU_ASSERT(r.fi < 0.1);
        CU_ASSERT(!r.still);
        CU_ASSERT(!r.freeze);
        CU_ASSERT_DOUBLE_EQUAL(r.loco_power, 0.045, 0.005);
        gw_fi_free(d);
}

static void test_fi_quiet_standing_is_below_the_power_threshold(void)
{
        gw_fi *d = fi_default();
        /* 5 mg of 5 Hz jitter: a high ratio, but no energy to speak of. */
        gw_fi_result r = fi_last(d, 5.0, 0.005, 0.002, 512);
        CU_ASSERT(r.still);
        CU_ASSERT(!r.freeze);
        CU_ASSERT(r.power < 2048e-6);
        gw_fi_free(d);
}

static void test_fi_flat_signal_scores_zero(void)
{
        gw_fi *d = fi_default();
        float x[256];
        for (int i = 0; i < 256; i++)
                x[i] = 1.0f;
        gw_fi_result r;
        gw_fi_compute(d, x, &r);
        CU_ASSERT_EQUAL(r.fi, 0);
        CU_ASSERT_EQUAL(r.power, 0);
        CU_ASSERT(r.still);
        gw_fi_free(d);
}

static void test_fi_windows_come_every_hop_once_full(void)
{
        gw_fi *d = fi_default();
        gw_fi_result r;
        int windows = 0;
        int64_t first = -1, last = -1;
        for (int i = 0; i < 256 + 3 * 32; i++)
                if (gw_fi_push(d, 1000 + i, 0, &r)) {
                        if (windows++ == 0) {
                                first = r.t_first_ns;
                                last = r.t_last_ns;
                                CU_ASSERT_EQUAL(i, 255);
                        }
                }
        CU_ASSERT_EQUAL(windows, 4);
        CU_ASSERT_EQUAL(first, 1000);
        CU_ASSERT_EQUAL(last, 1255);
        CU_ASSERT_EQUAL(r.t_first_ns, 1000 + 96);
        gw_fi_reset(d);
        int again = 0;
        for (int i = 0; i < 255; i++)
                again += gw_fi_push(d, i, 0, &r);
        CU_ASSERT_EQUAL(again, 0);
        gw_fi_free(d);
}

/* Expected values from numpy (rfft of the de-meaned window, bins round(f *
 * N / fs), trapezoid edge bins halved, times 2 / N^2):
 *   n = np.arange(256); fs = 64
 *   x = (1 + 0.2*np.sin(2*np.pi*1.7*n/fs) + 0.1*np.sin(2*np.pi*4.3*n/fs + 0.5)
 *          + 0.05*np.cos(2*np.pi*6.1*n/fs) + 0.01*n/256).astype(np.float32)
 *   P = np.abs(np.fft.rfft(x - x.astype(np.float64).mean()))**2
 *   band = lambda a, b: (P[a:b+1].sum() - (P[a] + P[b]) / 2) * 2 / 256**2
 *   band(2, 12), band(12, 32) */
#define LOCO_EXPECTED 0.019599864976473924
#define FREEZE_EXPECTED 0.006323593192969741

static void test_fi_matches_numpy_on_a_mixed_signal(void)
{
        gw_fi *d = fi_default();
        float x[256];
        for (int n = 0; n < 256; n++)
                x[n] = (float) (1 + 0.2 * sin(2 * M_PI * 1.7 * n / FS) +
                                0.1 * sin(2 * M_PI * 4.3 * n / FS + 0.5) +
                                0.05 * cos(2 * M_PI * 6.1 * n / FS) + 0.01 * n / 256);
        gw_fi_result r;
        gw_fi_compute(d, x, &r);
        CU_ASSERT_DOUBLE_EQUAL(r.loco_power, LOCO_EXPECTED, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.freeze_power, FREEZE_EXPECTED, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(r.fi, FREEZE_EXPECTED / LOCO_EXPECTED, 1e-7);
        gw_fi_free(d);
}

static void test_fi_config_errors_name_the_key(void)
{
        gw_fi_config c;
        gw_fi *d = NULL;
        gw_fi_config_default(&c, FS);
        c.hop = 0;
        CU_ASSERT(gw_fi_new(&c, &d, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "freeze_index.hop: 0 out of range 1..256");
        gw_fi_config_default(&c, FS);
        c.freeze_hi_hz = 40;
        CU_ASSERT(gw_fi_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "freeze_index.freeze_band: 3..40 Hz is not within 0..32 Hz");
        gw_fi_config_default(&c, FS);
        c.window = 16;
        c.hop = 8;
        CU_ASSERT(gw_fi_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "freeze_index.loco_band: 0.5..3 Hz spans fewer than 2 DFT "
                                    "bins of a 16-sample window");
        gw_fi_config_default(&c, 0);
        CU_ASSERT(gw_fi_config_check(&c, err, sizeof err) < 0);
        CU_ASSERT_STRING_EQUAL(err, "freeze_index.rate_hz: 0 is not positive");
        CU_ASSERT_PTR_NULL(d);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("activity");
        gw_test_add(s, "config errors name the key", test_activity_config_errors_name_the_key);
        gw_test_add(s, "no smoothing follows every window", test_no_smoothing_follows_every_window);
        gw_test_add(s, "first event comes from no state", test_first_event_comes_from_no_state);
        gw_test_add(s, "majority of 5 does not flicker under alternating noise",
                    test_majority_of_5_does_not_flicker_under_alternating_noise);
        gw_test_add(s, "majority switches once the new class outvotes the old",
                    test_majority_switches_once_the_new_class_outvotes_the_old);
        gw_test_add(s, "majority tie keeps the current state",
                    test_majority_tie_keeps_the_current_state);
        gw_test_add(s, "hysteresis needs dwell consecutive confident windows",
                    test_hysteresis_needs_dwell_consecutive_confident_windows);
        gw_test_add(s, "hysteresis ignores a class below the enter probability",
                    test_hysteresis_ignores_a_class_below_the_enter_probability);
        gw_test_add(s, "hysteresis does not flicker under alternating noise",
                    test_hysteresis_does_not_flicker_under_alternating_noise);
        gw_test_add(s, "unsure and NaN windows are ignored", test_unsure_windows_are_ignored);

        s = gw_test_suite("fog episodes");
        gw_test_add(s, "config errors name the key", test_fog_config_errors_name_the_key);
        gw_test_add(s, "starts after on_windows with onset at the first",
                    test_fog_starts_after_on_windows_with_onset_at_the_first);
        gw_test_add(s, "isolated freezing windows do not start an episode",
                    test_fog_isolated_freezing_windows_do_not_start_an_episode);
        gw_test_add(s, "ends after off_windows at the start of the quiet run",
                    test_fog_ends_after_off_windows_at_the_start_of_the_quiet_run);
        gw_test_add(s, "short episodes are flagged", test_fog_short_episodes_are_flagged);
        gw_test_add(s, "flush ends the episode at end of stream",
                    test_fog_flush_ends_the_episode_at_end_of_stream);
        gw_test_add(s, "flush during a quiet run ends where it began",
                    test_fog_flush_during_a_quiet_run_ends_where_it_began);
        gw_test_add(s, "flush forgets a pending onset", test_fog_flush_forgets_a_pending_onset);
        gw_test_add(s, "NaN windows are ignored", test_fog_ignores_nan_windows);

        s = gw_test_suite("freeze index");
        gw_test_add(s, "defaults are Baechlin's", test_fi_defaults_are_baechlins);
        gw_test_add(s, "5 Hz tremor is a freeze", test_fi_tremor_at_5_hz_is_a_freeze);
        gw_test_add(s, "1.5 Hz walking is not a freeze", test_fi_walking_at_1_5_hz_is_not_a_freeze);
        gw_test_add(s, "quiet standing is below the power threshold",
                    test_fi_quiet_standing_is_below_the_power_threshold);
        gw_test_add(s, "flat signal scores zero", test_fi_flat_signal_scores_zero);
        gw_test_add(s, "windows come every hop once full", test_fi_windows_come_every_hop_once_full);
        gw_test_add(s, "matches numpy on a mixed signal", test_fi_matches_numpy_on_a_mixed_signal);
        gw_test_add(s, "config errors name the key", test_fi_config_errors_name_the_key);
}
