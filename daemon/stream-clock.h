/* SPDX-License-Identifier: MIT */
#pragma once

/* Maps a source's timestamps to Unix time for the events.  Timestamps after
 * 2001-09-09 (>= 1e18 ns) are taken as Unix time already (a trace recorded
 * with wall-clock stamps); any other clock (monotonic, a device counter, a
 * trace starting at 0) is anchored at the wall-clock time of the first
 * sample, so event times advance with the stream. */

#include <stdbool.h>
#include <stdint.h>

typedef struct {
        bool anchored;
        int64_t first_t_ns;
        int64_t offset_ns;              /* wall = t + offset */
} StreamClock;

int64_t wall_clock_ns(void);
void stream_clock_init(StreamClock *c);
/* Call on every sample before converting; anchors on the first. */
void stream_clock_see(StreamClock *c, int64_t t_ns, int64_t now_wall_ns);
int64_t stream_clock_wall(const StreamClock *c, int64_t t_ns);
double stream_clock_seconds(const StreamClock *c, int64_t t_ns);

/* "2024-05-01T12:00:00.123Z" into buf (at least 32 bytes). */
char *format_iso8601(int64_t wall_ns, char *buf, size_t n);
