/* SPDX-License-Identifier: MIT */
#pragma once

/* The bounded FIFO of MQTT messages waiting for the broker.  When full, the
 * oldest message is dropped and counted: memory stays bounded however long
 * the broker is away. */

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
        uint64_t dropped;
} MsgQueue;

void msg_queue_init(MsgQueue *q, size_t limit);
/* Appends a copy.  Returns the number of old messages dropped to make room
 * (0 or 1), or -ENOMEM. */
int msg_queue_push(MsgQueue *q, const char *topic, const void *payload, size_t len, int qos, bool retain);
Msg *msg_queue_peek(const MsgQueue *q);
/* Detaches the head; the caller frees it with free(). */
Msg *msg_queue_pop(MsgQueue *q);
/* Frees everything; returns how many messages were discarded. */
size_t msg_queue_clear(MsgQueue *q);
bool msg_queue_has_topic(const MsgQueue *q, const char *topic);
