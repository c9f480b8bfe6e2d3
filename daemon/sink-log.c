/* SPDX-License-Identifier: MIT */
/* The log sink: one readable line per activity change and freeze episode
 * on stdout (the journal, under systemd). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "manager.h"
#include "sink.h"
#include "stream-clock.h"

typedef struct {
        Sink base;
} LogSink;

static int log_sink_new(Manager *m, const Config *c, Sink **ret)
{
        if (!c->gateway.log_events) {
                *ret = NULL;
                return 0;
        }
        LogSink *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->base.kind = &sink_log;
        s->base.manager = m;
        *ret = &s->base;
        return 0;
}

static char *log_sink_fingerprint(const Config *c)
{
        return strdup(c->gateway.log_events ? "on" : "off");
}

static void log_sink_event(Sink *s, const Event *e)
{
        char iso[40];

        switch (e->type) {
        case EVENT_ACTIVITY:
                if (e->activity.previous)
                        printf("%s %s activity %s (confidence %.2f; was %s for %.1f s)\n",
                               format_iso8601(e->wall_ns, iso, sizeof iso), e->device->id,
                               e->activity.activity, e->activity.confidence, e->activity.previous,
                               (double) e->activity.previous_duration_ns / 1e9);
                else
                        printf("%s %s activity %s (confidence %.2f)\n",
                               format_iso8601(e->wall_ns, iso, sizeof iso), e->device->id,
                               e->activity.activity, e->activity.confidence);
                break;
        case EVENT_FOG:
                if (e->fog.start)
                        printf("%s %s freeze of gait: episode %u started (confidence %.2f)\n",
                               format_iso8601(e->wall_ns, iso, sizeof iso), e->device->id,
                               e->fog.episode, e->fog.confidence);
                else
                        printf("%s %s freeze of gait: episode %u ended after %.1f s%s (confidence %.2f)\n",
                               format_iso8601(e->wall_ns, iso, sizeof iso), e->device->id,
                               e->fog.episode, (double) e->fog.duration_ns / 1e9,
                               e->fog.is_short ? ", short" : "", e->fog.confidence);
                break;
        default:
                return;
        }
        fflush(stdout);
}

static void log_sink_stop(Sink *s)
{
        fflush(stdout);
        manager_sink_stopped(s->manager, s);
}

static Sink *log_sink_free(Sink *s)
{
        free(s);
        return NULL;
}

const SinkKind sink_log = {
        .name = "log",
        .new = log_sink_new,
        .fingerprint = log_sink_fingerprint,
        .event = log_sink_event,
        .stop = log_sink_stop,
        .free = log_sink_free,
};
