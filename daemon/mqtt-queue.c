/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt-queue.h"

void msg_queue_init(MsgQueue *q, size_t limit)
{
        *q = (MsgQueue) { .limit = limit ? limit : 1 };
}

/* Unlinks and frees the oldest QoS 0 message; false if there is none. */
static bool drop_oldest_qos0(MsgQueue *q)
{
        Msg *prev = NULL;
        for (Msg *m = q->head; m; prev = m, m = m->next) {
                if (m->qos != 0)
                        continue;
                if (prev)
                        prev->next = m->next;
                else
                        q->head = m->next;
                if (q->tail == m)
                        q->tail = prev;
                q->n--;
                free(m);
                return true;
        }
        return false;
}

int msg_queue_push(MsgQueue *q, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
        size_t tlen = strlen(topic);
        int dropped = 0;

        if (len > INT32_MAX)
                return -EINVAL;
        if (q->n >= q->limit) {
                if (drop_oldest_qos0(q)) {
                        q->dropped_qos0++;
                        dropped = MSG_DROPPED_QOS0;
                } else if (qos == 0) {
                        q->dropped_qos0++;
                        return MSG_DROPPED_QOS0;
                } else {
                        free(msg_queue_pop(q));
                        q->dropped++;
                        dropped = MSG_DROPPED;
                }
        }
        Msg *m = malloc(sizeof *m + tlen + 1 + len + 1);
        if (!m)
                return -ENOMEM;
        m->next = NULL;
        m->topic = m->data;
        memcpy(m->topic, topic, tlen + 1);
        m->payload = m->data + tlen + 1;
        if (len)
                memcpy(m->payload, payload, len);
        ((char *) m->payload)[len] = 0;
        m->len = (int) len;
        m->qos = qos;
        m->retain = retain;

        if (q->tail)
                q->tail->next = m;
        else
                q->head = m;
        q->tail = m;
        q->n++;
        return dropped;
}

Msg *msg_queue_peek(const MsgQueue *q)
{
        return q->head;
}

Msg *msg_queue_pop(MsgQueue *q)
{
        Msg *m = q->head;
        if (!m)
                return NULL;
        q->head = m->next;
        if (!q->head)
                q->tail = NULL;
        q->n--;
        m->next = NULL;
        return m;
}

size_t msg_queue_clear(MsgQueue *q)
{
        size_t n = 0;
        Msg *m;
        while ((m = msg_queue_pop(q))) {
                free(m);
                n++;
        }
        return n;
}

bool msg_queue_has_topic(const MsgQueue *q, const char *topic)
{
        for (const Msg *m = q->head; m; m = m->next)
                if (!strcmp(m->topic, topic))
                        return true;
        return false;
}
