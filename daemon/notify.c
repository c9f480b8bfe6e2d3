/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

void notify_ready(const char *status)
{
        sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "Running");
}

void notify_reloading(void)
{
        sd_notify(0, "RELOADING=1\nSTATUS=Reloading configuration");
}

void notify_stopping(void)
{
        sd_notify(0, "STOPPING=1\nSTATUS=Shutting down");
}

void notify_status(const char *fmt, ...)
{
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        sd_notifyf(0, "STATUS=%s", buf);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
        sd_notify(0, "WATCHDOG=1");
}

void watchdog_start(Watchdog *w, struct ev_loop *loop)
{
        uint64_t usec = 0;
        int r = sd_watchdog_enabled(0, &usec);
        w->loop = loop;
        w->active = false;
        if (r <= 0 || usec == 0)
                return;
        double period = (double) usec / 2e6;
        log_debug("watchdog: pinging every %.3f s", period);
        ev_timer_init(&w->timer, watchdog_cb, period, period);
        w->timer.data = w;
        ev_timer_start(loop, &w->timer);
        w->active = true;
        sd_notify(0, "WATCHDOG=1");
}

void watchdog_stop(Watchdog *w)
{
        if (w->active)
                ev_timer_stop(w->loop, &w->timer);
        w->active = false;
}
