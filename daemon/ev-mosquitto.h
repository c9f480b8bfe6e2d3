/* SPDX-License-Identifier: MIT */
#pragma once

/* An MQTT client on libmosquitto driven by a libev loop: no library thread,
 * an ev_io on the client socket (write interest while the library has
 * bytes to send), a keepalive timer, and our own reconnect timer with
 * exponential backoff and jitter (libmosquitto's backoff only works inside
 * its own loop).
 *
 * Messages go through a bounded queue: handed to libmosquitto only while
 * connected and at most `window` at a time, so the library never holds an
 * unbounded backlog; while disconnected the queue keeps QoS >= 1 messages up
 * to its limit, dropping (and counting) the oldest.  QoS 0 messages are not
 * kept while disconnected (counted as dropped).  Messages in flight when the
 * link drops are re-sent by libmosquitto after the reconnect, so QoS 1
 * delivery is at least once. */

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct MqttClient MqttClient;

typedef struct {
        const char *host;
        int port;
        const char *client_id;
        int keepalive;
        const char *username;
        const char *password;
        bool tls;
        const char *tls_ca;             /* NULL: the system's CA store */
        const char *tls_cert;
        const char *tls_key;
        bool tls_insecure;
        const char *will_topic;         /* retained, QoS 1 */
        const char *will_payload;
        size_t queue_limit;
        double reconnect_min;
        double reconnect_max;
        double connect_timeout;         /* seconds; 0 = 10 */
} MqttClientOptions;

typedef struct {
        /* The broker accepted us: publish the birth message, subscriptions
         * and state here (mqtt_client_publish_now, mqtt_client_subscribe);
         * the queue is flushed after this returns. */
        void (*connected)(void *userdata);
        void (*disconnected)(void *userdata, const char *reason);
        void (*message)(void *userdata, const char *topic, const void *payload, int len);
        /* The backlog fell below the low-water mark after being busy. */
        void (*drained)(void *userdata);
        /* mqtt_client_stop() has finished. */
        void (*stopped)(void *userdata);
} MqttClientCallbacks;

typedef struct {
        uint64_t published;             /* handed to libmosquitto */
        uint64_t delivered;             /* acknowledged (QoS >= 1) or written (QoS 0) */
        uint64_t dropped;               /* QoS >= 1 dropped from a full queue */
        uint64_t dropped_qos0;          /* QoS 0 not sent for lack of a link */
        uint64_t connects;
        uint64_t connect_failures;
        size_t queued;
        size_t inflight;
} MqttClientStats;

int mqtt_client_new(struct ev_loop *loop, const MqttClientOptions *opt, const MqttClientCallbacks *cb,
                    void *userdata, MqttClient **ret, char *err, size_t errlen);
MqttClient *mqtt_client_free(MqttClient *c);

/* Starts connecting (and reconnecting for as long as the client lives). */
void mqtt_client_start(MqttClient *c);
/* Queues a message (the normal path). */
int mqtt_client_publish(MqttClient *c, const char *topic, const void *payload, size_t len, int qos, bool retain);
/* Sends ahead of the queue; only while connected (from the connected
 * callback).  Returns -ENOTCONN otherwise. */
int mqtt_client_publish_now(MqttClient *c, const char *topic, const void *payload, size_t len, int qos,
                            bool retain);
int mqtt_client_subscribe(MqttClient *c, const char *topic, int qos);
/* Sends what is queued (waiting at most timeout seconds while connected),
 * disconnects cleanly and calls the stopped callback from the loop. */
void mqtt_client_stop(MqttClient *c, double timeout);

bool mqtt_client_connected(const MqttClient *c);
bool mqtt_client_busy(const MqttClient *c);
bool mqtt_client_queued_topic(const MqttClient *c, const char *topic);
const MqttClientStats *mqtt_client_stats(MqttClient *c);
