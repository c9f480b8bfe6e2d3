/* SPDX-License-Identifier: MIT */
#pragma once

/* How late gaitwayd is: for each event, the time from the moment its last
 * sample was due (the event's wall-clock time) to its hand-off to the
 * sinks, in a fixed histogram (no allocation, constant time per event).
 * Bins are 1 us wide up to 16 us, then 8 per octave: a quantile read from
 * them is an upper bound at most 12.5 % above the true value. */

#include <stdint.h>

#define EVENT_LAG_BINS (16 + 8 * 40)

typedef struct {
        uint64_t bins[EVENT_LAG_BINS];
        uint64_t n;
        int64_t max_ns;
} EventLag;

void event_lag_reset(EventLag *h);
/* A negative lag (an event stamped ahead of the wall clock) counts as 0. */
void event_lag_add(EventLag *h, int64_t lag_ns);
/* Upper bound, in ns, of the bin holding the q-quantile (0 < q <= 1) by
 * nearest rank; 0 with no events. */
int64_t event_lag_quantile(const EventLag *h, double q);
