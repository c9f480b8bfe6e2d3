/* SPDX-License-Identifier: MIT */
#pragma once

/* What the manager tells its sinks.  Events are built on the stack and only
 * valid during the call. */

#include <stdbool.h>
#include <stdint.h>

#include "gaitway/model.h"

typedef struct Device Device;

typedef enum {
        EVENT_DEVICE_ADDED,
        EVENT_DEVICE_REMOVED,
        EVENT_DEVICE_CONNECTED,         /* Connected changed: link.connected */
        EVENT_ACTIVITY,                 /* smoothed activity changed */
        EVENT_FOG,                      /* freeze episode started or ended */
        EVENT_WINDOW,                   /* per-window probabilities */
        EVENT_STATS,                    /* counters are worth publishing */
        EVENT_MQTT_CONNECTED,           /* link.connected: the MQTT sink's link */
        EVENT_RELOADED,                 /* the configuration changed */
} EventType;

typedef struct {
        EventType type;
        Device *device;                 /* NULL for gateway-wide events */
        const gw_model_info *model;     /* ACTIVITY, FOG, WINDOW */
        int64_t t_ns;                   /* source clock */
        int64_t wall_ns;                /* Unix time */
        double stream_s;                /* seconds since the device's first sample */
        union {
                struct {
                        const char *previous;   /* NULL for the first state */
                        const char *activity;
                        float confidence;
                        int64_t previous_duration_ns;
                } activity;
                struct {
                        bool start;
                        uint32_t episode;
                        float confidence;
                        int64_t duration_ns;    /* end only */
                        bool is_short;          /* end only */
                } fog;
                struct {
                        uint64_t index;
                        int64_t t_first_ns;
                        const float *prob;
                        int classes;
                        int top;
                } window;
                struct {
                        bool connected;
                } link;
        };
} Event;
