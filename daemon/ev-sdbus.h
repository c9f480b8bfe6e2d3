/* SPDX-License-Identifier: MIT */
#pragma once

/* Drives an sd-bus connection from a libev loop: an ev_io on the bus fd
 * whose events are re-armed from sd_bus_get_events() before every loop
 * iteration (ev_prepare), and an ev_timer for sd_bus_get_timeout().  No
 * thread, no polling. */

#include <ev.h>
#include <systemd/sd-bus.h>

typedef struct EvSdbus EvSdbus;

/* Called when sd_bus_process() fails (the bus went away). */
typedef void (*ev_sdbus_error_cb)(void *userdata, int error);

int ev_sdbus_attach(sd_bus *bus, struct ev_loop *loop, ev_sdbus_error_cb on_error, void *userdata,
                    EvSdbus **ret);
EvSdbus *ev_sdbus_detach(EvSdbus *e);
/* Writes what is queued, waiting at most timeout_usec: sd_bus_flush() waits
 * forever for a bus that does not read (a stopped dbus-daemon or BlueZ).
 * Returns 0, -ETIMEDOUT, or the bus's error. */
int ev_sdbus_flush(sd_bus *bus, uint64_t timeout_usec);
