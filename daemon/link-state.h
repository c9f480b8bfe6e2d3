/* SPDX-License-Identifier: MIT */
#pragma once

/* The device's end of a live source's link (source-iio.c, source-ble.c):
 * whom to tell (the SourceCallbacks), whether the device was told the link
 * is up, how long to wait before the next attempt (exponential backoff; the
 * source resets it when the link proves good), and the recording of what
 * the link delivers while the source runs.  The device hears "connected" once when
 * data starts flowing and "disconnected" once with the reason when the link
 * is lost or the source stops, however often the source retries between. */

#include <ev.h>
#include <stdbool.h>

#include "backoff.h"
#include "recorder.h"
#include "source.h"

typedef struct {
        char *device_id;
        struct ev_loop *loop;
        SourceCallbacks cb;
        void *userdata;
        bool running;                   /* between start() and stop() */
        bool up;                        /* the device was told "connected" */
        Recorder *recorder;
        Backoff backoff;
} LinkState;

/* Copies what it needs from p; retries wait retry_min..retry_max seconds.
 * Returns 0 or -ENOMEM. */
int link_state_init(LinkState *l, const SourceParams *p, double retry_min, double retry_max);
/* Stops recording, frees; the struct may be initialised again. */
void link_state_done(LinkState *l);

/* The source starts: running, recording when rec asks for it (a failure is
 * logged, never fatal), the backoff from its minimum. */
void link_state_start(LinkState *l, const RecorderConf *rec, const char *address, const gw_source_desc *desc);
/* The source stopped: not running, not recording, the device told
 * "disconnected: stopped" if it was up. */
void link_state_stop(LinkState *l);

/* The link is up: the device is told "connected" unless it was.  Returns
 * true when the link was not up. */
bool link_state_up(LinkState *l);
/* The link is lost: the device is told "disconnected" with why if it was
 * up.  Returns whether it was. */
bool link_state_down(LinkState *l, const char *why);
/* Seconds to wait before the next attempt. */
double link_state_retry_delay(LinkState *l);
