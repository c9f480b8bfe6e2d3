/* SPDX-License-Identifier: MIT */
#pragma once

/* Where events go.  Each kind is one file, sink-<kind>.c, exporting one
 * SinkKind; the table in sink.c lists them.  A sink reads any state it
 * needs (devices, their current activity) from the manager. */

#include <stdbool.h>

#include "conf.h"
#include "event.h"

typedef struct Manager Manager;
typedef struct Sink Sink;

typedef struct {
        const char *name;
        /* Creates the sink from the configuration; *ret = NULL (and 0) when
         * the configuration disables it. */
        int (*new)(Manager *m, const Config *c, Sink **ret);
        /* Text of the configuration the sink depends on (malloc'ed): a
         * change recreates the sink on reload. */
        char *(*fingerprint)(const Config *c);
        void (*event)(Sink *s, const Event *e);
        /* Optional: true while the sink has a backlog a replay should wait
         * for; the sink calls manager_sink_drained() when it clears. */
        bool (*busy)(Sink *s);
        /* Optional: true when the sink wants EVENT_WINDOW (costly). */
        bool (*wants_windows)(Sink *s);
        /* Graceful end: flush, say goodbye, then call manager_sink_stopped()
         * (possibly later, from the loop). */
        void (*stop)(Sink *s);
        Sink *(*free)(Sink *s);
} SinkKind;

struct Sink {
        const SinkKind *kind;
        Manager *manager;
};

#define SINK_KINDS 3
extern const SinkKind *const sink_kinds[SINK_KINDS];

extern const SinkKind sink_log;
extern const SinkKind sink_mqtt;
extern const SinkKind sink_dbus;
