/* SPDX-License-Identifier: MIT */
#pragma once

/* Sources of IMU samples.  Each kind (replay, and later iio, ble) is one
 * file, source-<kind>.c, exporting one SourceKind; the table in source.c
 * lists them.  A source delivers timestamped raw samples to its device
 * through SourceCallbacks from the libev loop; it never blocks and never
 * busy-polls.
 *
 * Configuration: the [device <id>] section of gaitway.conf holds the keys
 * common to every device (conf.c) plus the keys of its source kind, which the
 * kind parses itself (conf_key) into its own options object. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gaitway/frontend.h"

struct ev_loop;

typedef struct SourceKind SourceKind;
typedef struct Source Source;
struct DeviceConf;

typedef struct {
        /* n samples: timestamps t_ns[n] (the source's clock, strictly the
         * order of acquisition) and values n x desc->n floats, in the units
         * of the source description.  Called from the loop. */
        void (*samples)(void *userdata, size_t n, const int64_t *t_ns, const float *values);
        /* Link state changed; reason is for the log (may be NULL). */
        void (*connected)(void *userdata, bool connected, const char *reason);
        /* The source has ended for good (a replay at its end, not looped);
         * error is 0 or a negative errno with err holding the message. */
        void (*ended)(void *userdata, int error, const char *err);
        /* Sources that can wait (replay) ask before each batch; true means
         * hold back until SourceKind.resume() is called. */
        bool (*busy)(void *userdata);
        /* Optional, a hint: samples() is about to be called, the memory it
         * touches may be asked for now (a source serving many devices in a
         * row calls it one device ahead). */
        void (*prefetch)(void *userdata);
} SourceCallbacks;

typedef struct {
        struct ev_loop *loop;             /* NULL for offline use (gaitway replay) */
        const char *device_id;
        const void *conf;                 /* this kind's options from conf_new() */
        double rate_hz;                   /* the device's sample_rate key, 0 if unset */
        double hop_s;                     /* shortest window hop of the device's models in
                                           * seconds, 0 if none: live sources size their
                                           * reads to it */
        const SourceCallbacks *cb;
        void *userdata;
} SourceParams;

/* Link and transport counters of live sources (D-Bus and MQTT stats). */
typedef struct {
        const char *link;                 /* "streaming", "connecting", "waiting", ... */
        double rate_hz;                   /* rate the device reports, 0 if unknown */
        uint64_t packets;                 /* notifications or refills received */
        uint64_t packets_lost;            /* missing by sequence number */
        uint64_t packets_malformed;       /* refused by the decoder */
        uint64_t reconnects;              /* links lost and re-established */
} SourceStats;

struct SourceKind {
        const char *name;
        /* open() needs neither hardware nor the loop (a file): gaitwayd
         * --check-config opens such sources; live ones are only validated. */
        bool opens_offline;

        /* Options of the kind: created empty (defaults), filled key by key.
         * conf_key returns 1 when the key is the kind's, 0 when unknown, or a
         * negative errno with a one-line reason in err ("expected ...").
         * conf_check validates the whole set once all keys are read. */
        void *(*conf_new)(void);
        void (*conf_free)(void *conf);
        int (*conf_key)(void *conf, const char *key, const char *value, const char *base_dir,
                        char *err, size_t errlen);
        int (*conf_check)(void *conf, const struct DeviceConf *dc, char *err, size_t errlen);

        /* Opens the source (files, sockets) so describe() can answer; no data
         * flows before start(). */
        int (*open)(const SourceParams *p, Source **ret, char *err, size_t errlen);
        int (*start)(Source *s);
        void (*stop)(Source *s);
        Source *(*close)(Source *s);
        /* Channels, units and nominal rate, after open(); valid until the
         * next describe() of any source (a replay builds it on demand rather
         * than keep 2 KB per device): copy what you keep. */
        const gw_source_desc *(*describe)(const Source *s);
        /* Human-readable address ("replay:/path/trace.csv"). */
        const char *(*address)(const Source *s);
        /* Optional: continue after busy() said to wait. */
        void (*resume)(Source *s);
        /* Optional, offline use: delivers every sample synchronously through
         * the callbacks until the end (gaitway replay).  Returns 0 or a
         * negative errno with err filled. */
        int (*run_to_end)(Source *s, char *err, size_t errlen);
        /* Optional, live sources: link state and counters. */
        void (*stats)(const Source *s, SourceStats *ret);
};

/* Every source object begins with this header. */
struct Source {
        const SourceKind *kind;
};

/* Applies a [device] section's channel renames, unit overrides, sample
 * rate, mount matrix and max_gap to what a source describes. */
int source_desc_apply(const struct DeviceConf *conf, const gw_source_desc *src, gw_source_desc *ret,
                      char *err, size_t errlen);

const SourceKind *source_kind_find(const char *name);
/* Space-separated list of the known kinds, for error messages. */
const char *source_kind_names(void);
/* The known kind, other than except, that has key among its options: *ret,
 * or NULL when none.  Returns 0 when none, else that kind's conf_key result
 * for value (1, or a negative errno when it refuses the value); -ENOMEM with
 * *ret NULL when out of memory. */
int source_kind_owning_key(const SourceKind *except, const char *key, const char *value,
                           const char *base_dir, const SourceKind **ret);

extern const SourceKind source_replay;
extern const SourceKind source_ble;
#if GW_HAVE_IIO
extern const SourceKind source_iio;
#endif
