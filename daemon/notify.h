/* SPDX-License-Identifier: MIT */
#pragma once

/* systemd notification: READY=1, STATUS=, RELOADING=1, STOPPING=1, and
 * WATCHDOG=1 sent from the event loop (so a stuck loop stops the pings)
 * every half WATCHDOG_USEC.  Without $NOTIFY_SOCKET all of it is a no-op. */

#include <ev.h>
#include <stdbool.h>

void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct {
        struct ev_loop *loop;
        ev_timer timer;
        bool active;
} Watchdog;

/* Starts pinging when the service manager asked for a watchdog. */
void watchdog_start(Watchdog *w, struct ev_loop *loop);
void watchdog_stop(Watchdog *w);
