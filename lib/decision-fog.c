/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "gaitway/decision.h"

#define FOG_MAX_WINDOWS 1024

int gw_fog_config_check(const gw_fog_config *cfg, char *err, size_t errlen)
{
        if (!(cfg->on_threshold >= 0 && cfg->on_threshold <= 1))
                return gw_error(err, errlen, EINVAL, "fog.on_threshold: %g out of range 0..1",
                                cfg->on_threshold);
        if (!(cfg->off_threshold >= 0 && cfg->off_threshold <= 1))
                return gw_error(err, errlen, EINVAL, "fog.off_threshold: %g out of range 0..1",
                                cfg->off_threshold);
        if (cfg->off_threshold > cfg->on_threshold)
                return gw_error(err, errlen, EINVAL,
                                "fog.off_threshold: %g above fog.on_threshold %g",
                                cfg->off_threshold, cfg->on_threshold);
        if (cfg->on_windows < 1 || cfg->on_windows > FOG_MAX_WINDOWS)
                return gw_error(err, errlen, EINVAL, "fog.on_windows: %d out of range 1..%d",
                                cfg->on_windows, FOG_MAX_WINDOWS);
        if (cfg->off_windows < 1 || cfg->off_windows > FOG_MAX_WINDOWS)
                return gw_error(err, errlen, EINVAL, "fog.off_windows: %d out of range 1..%d",
                                cfg->off_windows, FOG_MAX_WINDOWS);
        if (cfg->min_duration_ns < 0)
                return gw_error(err, errlen, EINVAL, "fog.min_duration: %lld ns is negative",
                                (long long) cfg->min_duration_ns);
        return 0;
}

void gw_fog_init(gw_fog_tracker *t, const gw_fog_config *cfg)
{
        memset(t, 0, sizeof *t);
        t->cfg = *cfg;
}

static void fog_idle(gw_fog_tracker *t)
{
        t->active = false;
        t->run_on = t->run_off = 0;
        t->run_sum = t->ep_sum = 0;
        t->ep_n = 0;
}

static int fog_end(gw_fog_tracker *t, int64_t end_ns, gw_fog_event *ev)
{
        ev->kind = GW_FOG_END;
        ev->episode = t->episodes;
        ev->t_ns = end_ns;
        ev->duration_ns = end_ns - t->onset_ns;
        ev->confidence = t->ep_n ? (float) (t->ep_sum / t->ep_n) : 0.f;
        ev->is_short = ev->duration_ns < t->cfg.min_duration_ns;
        fog_idle(t);
        return 1;
}

int gw_fog_update(gw_fog_tracker *t, float p, int64_t t_start_ns, int64_t t_end_ns,
                  gw_fog_event *ev)
{
        (void) t_end_ns;
        /* A window without a usable probability says nothing either way. */
        if (p != p)
                return 0;

        if (!t->active) {
                if (!(p >= t->cfg.on_threshold)) {
                        t->run_on = 0;
                        t->run_sum = 0;
                        return 0;
                }
                if (t->run_on == 0)
                        t->run_start_ns = t_start_ns;
                t->run_on++;
                t->run_sum += p;
                if (t->run_on < t->cfg.on_windows)
                        return 0;
                t->active = true;
                t->episodes++;
                t->onset_ns = t->run_start_ns;
                t->ep_sum = t->run_sum;
                t->ep_n = (uint32_t) t->run_on;
                ev->kind = GW_FOG_START;
                ev->episode = t->episodes;
                ev->t_ns = t->onset_ns;
                ev->duration_ns = 0;
                ev->confidence = (float) (t->run_sum / t->run_on);
                ev->is_short = false;
                t->run_on = 0;
                t->run_sum = 0;
                return 1;
        }

        if (p < t->cfg.off_threshold) {
                /* The episode ends where the quiet run began, not where it
                 * was confirmed. */
                if (t->run_off == 0)
                        t->run_start_ns = t_start_ns;
                t->run_off++;
                t->run_sum += p;
                if (t->run_off < t->cfg.off_windows)
                        return 0;
                return fog_end(t, t->run_start_ns, ev);
        }
        /* An unconfirmed quiet run was part of the episode after all. */
        t->ep_sum += t->run_sum + p;
        t->ep_n += (uint32_t) t->run_off + 1;
        t->run_off = 0;
        t->run_sum = 0;
        return 0;
}

int gw_fog_flush(gw_fog_tracker *t, int64_t t_ns, gw_fog_event *ev)
{
        if (!t->active) {
                fog_idle(t);
                return 0;
        }
        int64_t end = t->run_off > 0 && t->run_start_ns < t_ns ? t->run_start_ns : t_ns;
        return fog_end(t, end, ev);
}
