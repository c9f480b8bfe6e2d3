/* SPDX-License-Identifier: MIT */
#pragma once

/* The bounded FIFO of MQTT messages waiting for the broker.  When full, a
 * message is dropped and counted, so memory stays bounded however long the
 * broker is away: the oldest QoS 0 message if there is one (a flood of
 * per-window probabilities never pushes out an event), else the oldest. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Msg {
        struct Msg *next;
        char *topic;
        void *payload;
        int len;
        int qos;
        bool retain;
        char data[];            /* topic and payload live here */
} Msg;

typedef struct {
        Msg *head, *tail;
        size_t n;
        size_t limit;
        uint64_t dropped;       /* QoS >= 1 messages dropped */
        uint64_t dropped_qos0;  /* QoS 0 messages dropped (or refused) */
} MsgQueue;

#define MSG_DROPPED       1     /* a QoS >= 1 message was dropped */
#define MSG_DROPPED_QOS0  2     /* a QoS 0 message was dropped, or the new one refused */

void msg_queue_init(MsgQueue *q, size_t limit);
/* Appends a copy.  Returns 0, MSG_DROPPED or MSG_DROPPED_QOS0 when a full
 * queue made room (a new QoS 0 message is refused when only QoS >= 1
 * messages are queued), or -ENOMEM. */
int msg_queue_push(MsgQueue *q, const char *topic, const void *payload, size_t len, int qos, bool retain);
Msg *msg_queue_peek(const MsgQueue *q);
/* Detaches the head; the caller frees it with free(). */
Msg *msg_queue_pop(MsgQueue *q);
/* Frees everything; returns how many messages were discarded. */
size_t msg_queue_clear(MsgQueue *q);
bool msg_queue_has_topic(const MsgQueue *q, const char *topic);
