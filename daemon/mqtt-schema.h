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
char *mqtt_payload_window(const WindowPayload *p);
/* Home Assistant device-based discovery; the topic goes into topic. */
char *mqtt_payload_discovery(const DiscoveryPayload *p, char *topic, size_t topic_len);
