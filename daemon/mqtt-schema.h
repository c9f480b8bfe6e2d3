/* SPDX-License-Identifier: MIT */
#pragma once

/* Topics and JSON payloads of the MQTT API (docs/mqtt.md).  Pure functions
 * of their inputs so they are unit-tested without a broker; payloads are
 * returned as malloc'ed strings (free()). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gaitway/common.h"

#define MQTT_SCHEMA_VERSION 1
#define MQTT_TOPIC_MAX 640

/* base/gateway[/device]/leaf.  Returns 0, or -ENAMETOOLONG / -EINVAL for an
 * id that is empty or holds '/', '+' or '#'. */
int mqtt_topic(char *buf, size_t n, const char *base, const char *gateway, const char *device,
               const char *leaf);

typedef struct {
        const char *gateway;
        const char *device;
        const char *model_id;
        const char *model_version;
        int64_t wall_ns;                /* Unix time of the event */
        double stream_s;                /* seconds since the device's first sample */
} PayloadCommon;

typedef struct {
        PayloadCommon c;
        const char *activity;
        const char *previous;           /* NULL for the first state */
        double confidence;
        int64_t previous_duration_ns;   /* 0 with no previous state */
        bool republished;               /* re-sent after a reconnect, not a change */
} ActivityPayload;

typedef struct {
        PayloadCommon c;
        bool start;
        uint32_t episode;
        double confidence;
        int64_t duration_ns;            /* end only */
        bool is_short;                  /* end only */
} FogPayload;

typedef struct {
        PayloadCommon c;
        uint64_t index;
        int classes;
        const char (*class_name)[GW_NAME_MAX];
        const float *prob;
        int top;
} WindowPayload;

typedef struct {
        const char *ha_prefix;
        const char *base;
        const char *gateway;
        const char *device;
        const char *source;             /* source kind, for the model field */
        const char *version;
        bool activity;
        int classes;                    /* activity classes */
        const char (*class_name)[GW_NAME_MAX];
        bool fog;
} DiscoveryPayload;

char *mqtt_payload_activity(const ActivityPayload *p);
char *mqtt_payload_fog(const FogPayload *p);
/* One device in the stats. */
typedef struct {
        const char *id;
        const char *source;             /* the source's address */
        bool connected;
        double sample_rate;
        uint64_t samples, windows;
        const char *activity;           /* NULL: none yet */
        bool freeze_active;
        uint32_t freeze_episodes;
        const char *link;
        double source_rate;
        uint64_t packets, packets_lost, packets_malformed, reconnects;
        bool has_frontend;              /* gaps and dropped_samples are known */
        uint64_t gaps, dropped_samples;
} StatsDevice;

typedef struct {
        const char *gateway;
        const char *version;
        int64_t wall_ns;
        uint64_t uptime_s, events;
        struct {
                uint64_t published, delivered, queued, dropped, dropped_qos0, connects, connect_failures;
        } mqtt;
        uint64_t lag_events;
        double lag_p50_ms, lag_p99_ms, lag_max_ms;
        size_t n_devices;
        /* Fills device i (0..n_devices-1), asked for once each, in order. */
        void (*device)(void *userdata, size_t i, StatsDevice *ret);
        void *userdata;
} StatsPayload;

/* Written without jansson (every window of every device, and every device
 * in the stats, go through them), the same bytes as the _json builders,
 * which stay as their reference (test-mqtt). */
char *mqtt_payload_window(const WindowPayload *p);
char *mqtt_payload_window_json(const WindowPayload *p);
char *mqtt_payload_stats(const StatsPayload *p);
char *mqtt_payload_stats_json(const StatsPayload *p);
/* Home Assistant device-based discovery; the topic goes into topic. */
char *mqtt_payload_discovery(const DiscoveryPayload *p, char *topic, size_t topic_len);
