/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "ev-mosquitto.h"
#include "gaitway/common.h"
#include "log.h"
#include "mqtt-queue.h"

/* Messages handed to libmosquitto and not yet acknowledged (or written, for
 * QoS 0).  Equal to libmosquitto's default send maximum, so it never queues
 * internally. */
#define WINDOW 20

typedef enum {
        STATE_IDLE,
        STATE_CONNECTING,
        STATE_CONNECTED,
        STATE_WAITING,          /* reconnect timer running */
        STATE_STOPPED,
} ClientState;

typedef struct {
        int mid;
        int qos;
} Inflight;

struct MqttClient {
        struct ev_loop *loop;
        struct mosquitto *mosq;
        MqttClientOptions opt;
        char *strings[10];      /* our copies of the option strings */
        MqttClientCallbacks cb;
        void *userdata;

        ClientState state;
        bool stopping;          /* flushing before a clean disconnect */
        bool disconnect_sent;
        bool busy;
        bool pumping;
        bool in_send;           /* inside mosquitto_publish() */
        bool early;             /* ... which completed the message already */
        int early_mid;
        unsigned sent;          /* messages handed over since the last flush */
        MsgQueue queue;
        Inflight *inflight;
        size_t n_inflight, cap_inflight;
        Backoff backoff;
        MqttClientStats stats;
        char last_error[384];       /* the last failure logged as a warning */
        /* libmosquitto's first error of this attempt ("OpenSSL Error[0]:
         * ... certificate verify failed"): MOSQ_ERR_TLS alone says nothing. */
        char lib_error[160];

        ev_io io;
        int io_fd, io_events;
        ev_prepare prepare;
        ev_timer misc;          /* keepalive */
        ev_timer retry;         /* reconnect */
        ev_timer timeout;       /* connect timeout, then stop timeout */
        ev_timer later;         /* the stopped callback, outside of other callbacks */
};

static void client_link_lost(MqttClient *c, const char *reason);
static void client_pump(MqttClient *c);

/* The reason of a failed libmosquitto call, with the library's own error
 * line for TLS failures (wrong CA, expired certificate, unreadable key). */
static const char *client_error(MqttClient *c, int rc, char *buf, size_t n)
{
        if (rc == MOSQ_ERR_ERRNO)
                return strerror(errno);
        if (rc == MOSQ_ERR_TLS && c->lib_error[0]) {
                /* "OpenSSL Error[0]: error:0A000086:SSL routines::certificate
                 * verify failed" (the whole line is a debug message). */
                const char *tail = strstr(c->lib_error, "::");
                tail = tail ? tail + 2 : c->lib_error;
                /* OpenSSL's queue holds no verification detail. */
                snprintf(buf, n, "TLS error: %s%s", tail, strstr(tail, "certificate verify failed") ?
                         " (the broker's certificate is not signed by tls_ca or the system's CAs, has "
                         "expired, or does not name the host)" : "");
                return buf;
        }
        return mosquitto_strerror(rc);
}

static void client_log_failure(MqttClient *c, const char *what)
{
        /* A broker that stays away would otherwise fill the journal. */
        if (strcmp(c->last_error, what)) {
                log_warning("mqtt: %s:%d: %s", c->opt.host, c->opt.port, what);
                snprintf(c->last_error, sizeof c->last_error, "%s", what);
        } else
                log_debug("mqtt: %s:%d: %s", c->opt.host, c->opt.port, what);
}

static int inflight_add(MqttClient *c, int mid, int qos)
{
        if (c->n_inflight == c->cap_inflight) {
                size_t cap = c->cap_inflight ? c->cap_inflight * 2 : WINDOW * 2;
                Inflight *n = realloc(c->inflight, cap * sizeof *n);
                if (!n)
                        return -ENOMEM;
                c->inflight = n;
                c->cap_inflight = cap;
        }
        c->inflight[c->n_inflight++] = (Inflight) { mid, qos };
        return 0;
}

static bool inflight_remove(MqttClient *c, int mid)
{
        for (size_t i = 0; i < c->n_inflight; i++)
                if (c->inflight[i].mid == mid) {
                        c->inflight[i] = c->inflight[--c->n_inflight];
                        return true;
                }
        return false;
}

static size_t inflight_qos(const MqttClient *c)
{
        size_t n = 0;
        for (size_t i = 0; i < c->n_inflight; i++)
                n += c->inflight[i].qos > 0;
        return n;
}

/* ---- timers and I/O ------------------------------------------------------ */

static void client_stop_io(MqttClient *c)
{
        ev_io_stop(c->loop, &c->io);
        c->io_fd = -1;
        c->io_events = 0;
        ev_timer_stop(c->loop, &c->misc);
}

static void client_stopped_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        MqttClient *c = w->data;
        if (c->cb.stopped)
                c->cb.stopped(c->userdata);
}

static void client_finish_stop(MqttClient *c)
{
        if (c->state == STATE_STOPPED)
                return;
        client_stop_io(c);
        ev_timer_stop(c->loop, &c->retry);
        ev_timer_stop(c->loop, &c->timeout);
        c->state = STATE_STOPPED;
        size_t lost = msg_queue_clear(&c->queue);
        if (lost)
                log_warning("mqtt: %zu queued message(s) not sent before exit", lost);
        c->stats.dropped += lost;
        ev_timer_set(&c->later, 0, 0);
        ev_timer_start(c->loop, &c->later);
}

static void client_maybe_disconnect(MqttClient *c)
{
        if (!c->stopping || c->state != STATE_CONNECTED || c->disconnect_sent)
                return;
        if (c->queue.n || inflight_qos(c))
                return;
        c->disconnect_sent = true;
        mosquitto_disconnect(c->mosq);
        /* The DISCONNECT is written by the I/O watcher; on_disconnect ends
         * the stop. */
}

static void client_connect(MqttClient *c);

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        client_connect(w->data);
}

static void client_schedule_retry(MqttClient *c)
{
        if (c->stopping) {
                client_finish_stop(c);
                return;
        }
        double delay = backoff_next(&c->backoff);
        log_debug("mqtt: reconnecting in %.2f s", delay);
        c->state = STATE_WAITING;
        ev_timer_stop(c->loop, &c->retry);
        ev_timer_set(&c->retry, delay, 0);
        ev_timer_start(c->loop, &c->retry);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        MqttClient *c = w->data;
        if (c->stopping) {
                log_warning("mqtt: giving up flushing after the stop timeout");
                client_finish_stop(c);
        } else if (c->state == STATE_CONNECTING)
                client_link_lost(c, "connection timed out");
}

static void misc_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        MqttClient *c = w->data;
        /* Sends PINGREQ when due and notices an unanswered one. */
        int rc = mosquitto_loop_misc(c->mosq);
        if (rc != MOSQ_ERR_SUCCESS && c->state == STATE_CONNECTED)
                client_link_lost(c, mosquitto_strerror(rc));
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
        MqttClient *c = w->data;
        char buf[384];
        int rc;

        if (revents & EV_READ) {
                /* Drains TLS records already decrypted too; on failure
                 * libmosquitto calls on_disconnect and closes the socket. */
                rc = mosquitto_loop_read(c->mosq, 1);
                if (rc != MOSQ_ERR_SUCCESS) {
                        client_link_lost(c, client_error(c, rc, buf, sizeof buf));
                        return;
                }
        }
        if ((revents & EV_WRITE) && mosquitto_socket(c->mosq) >= 0 &&
            (c->state == STATE_CONNECTING || c->state == STATE_CONNECTED)) {
                rc = mosquitto_loop_write(c->mosq, 1);
                if (rc != MOSQ_ERR_SUCCESS) {
                        client_link_lost(c, client_error(c, rc, buf, sizeof buf));
                        return;
                }
        }
}

/* libmosquitto only queues what is published (threaded mode): everything
 * the loop published in one iteration is written here, corked, so a burst
 * of windows leaves in a few TCP segments instead of one segment (and one
 * wake-up of the broker) per message. */
static void client_flush(MqttClient *c)
{
        char buf[384];
        unsigned sent = c->sent;

        c->sent = 0;
        if (c->state != STATE_CONNECTED || !mosquitto_want_write(c->mosq))
                return;
        int fd = mosquitto_socket(c->mosq), on = 1, off = 0;
        bool cork = sent > 1 && fd >= 0 &&
                    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on) == 0;
        int rc = mosquitto_loop_write(c->mosq, 1);
        if (cork)
                (void) setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
        if (rc != MOSQ_ERR_SUCCESS)
                client_link_lost(c, client_error(c, rc, buf, sizeof buf));
}

/* Before the loop sleeps: write what was published, then watch the current
 * socket, for writing only while libmosquitto has bytes to send. */
static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
        MqttClient *c = w->data;
        client_flush(c);
        if (c->state != STATE_CONNECTING && c->state != STATE_CONNECTED)
                return;
        int fd = mosquitto_socket(c->mosq);
        int want = fd >= 0 ? EV_READ | (mosquitto_want_write(c->mosq) ? EV_WRITE : 0) : 0;
        if (fd == c->io_fd && want == c->io_events)
                return;
        ev_io_stop(loop, &c->io);
        c->io_fd = fd;
        c->io_events = want;
        if (fd >= 0 && want) {
                ev_io_set(&c->io, fd, want);
                ev_io_start(loop, &c->io);
        }
}

/* ---- connection ---------------------------------------------------------- */

static void client_connect(MqttClient *c)
{
        char buf[384];
        int rc;

        c->state = STATE_CONNECTING;
        c->lib_error[0] = 0;
        /* Closes any previous socket; libmosquitto keeps unacknowledged
         * QoS >= 1 messages and re-sends them once connected.  The name
         * lookup blocks (getaddrinfo): use an address or /etc/hosts. */
        rc = mosquitto_connect_async(c->mosq, c->opt.host, c->opt.port, c->opt.keepalive);
        if (rc != MOSQ_ERR_SUCCESS) {
                c->stats.connect_failures++;
                client_log_failure(c, client_error(c, rc, buf, sizeof buf));
                client_stop_io(c);
                client_schedule_retry(c);
                return;
        }
        ev_timer_stop(c->loop, &c->timeout);
        ev_timer_set(&c->timeout, c->opt.connect_timeout, 0);
        ev_timer_start(c->loop, &c->timeout);
        ev_timer_set(&c->misc, c->opt.keepalive / 2.0, c->opt.keepalive / 2.0);
        ev_timer_start(c->loop, &c->misc);
}

static void client_link_lost(MqttClient *c, const char *reason)
{
        bool was_connected = c->state == STATE_CONNECTED;

        if (c->state != STATE_CONNECTING && c->state != STATE_CONNECTED)
                return;
        client_stop_io(c);
        ev_timer_stop(c->loop, &c->timeout);
        c->state = STATE_WAITING;

        /* QoS 0 messages in flight are gone with the socket. */
        for (size_t i = 0; i < c->n_inflight;)
                if (c->inflight[i].qos == 0) {
                        c->stats.dropped_qos0++;
                        c->inflight[i] = c->inflight[--c->n_inflight];
                } else
                        i++;

        if (was_connected) {
                log_warning("mqtt: connection to %s:%d lost: %s", c->opt.host, c->opt.port, reason);
                snprintf(c->last_error, sizeof c->last_error, "%s", reason);
                if (c->cb.disconnected)
                        c->cb.disconnected(c->userdata, reason);
        } else {
                c->stats.connect_failures++;
                client_log_failure(c, reason);
        }
        client_schedule_retry(c);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
        MqttClient *c = obj;

        ev_timer_stop(c->loop, &c->timeout);
        if (rc != 0) {
                char reason[96];
                snprintf(reason, sizeof reason, "refused: %s", mosquitto_connack_string(rc));
                client_link_lost(c, reason);
                return;
        }
        c->state = STATE_CONNECTED;
        c->stats.connects++;
        c->last_error[0] = 0;
        backoff_reset(&c->backoff);
        log_info("mqtt: connected to %s:%d%s", c->opt.host, c->opt.port, c->opt.tls ? " (TLS)" : "");
        if (c->cb.connected)
                c->cb.connected(c->userdata);
        client_pump(c);
        client_maybe_disconnect(c);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
        MqttClient *c = obj;
        if (c->disconnect_sent && c->state == STATE_CONNECTED) {
                log_debug("mqtt: disconnected cleanly");
                client_finish_stop(c);
                return;
        }
        /* Keepalive failures arrive here from mosquitto_loop_misc(). */
        if (c->state == STATE_CONNECTED || c->state == STATE_CONNECTING)
                client_link_lost(c, rc ? mosquitto_strerror(rc) : "disconnected");
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
        MqttClient *c = obj;
        if (inflight_remove(c, mid))
                c->stats.delivered++;
        else if (c->in_send) {
                /* libmosquitto writes a QoS 0 message from within
                 * mosquitto_publish() when it can: the message completed
                 * before we knew its id. */
                c->early = true;
                c->early_mid = mid;
                return;
        }
        client_pump(c);
        if (c->busy && c->queue.n <= c->queue.limit / 4) {
                c->busy = false;
                if (c->cb.drained)
                        c->cb.drained(c->userdata);
        }
        client_maybe_disconnect(c);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
        MqttClient *c = obj;
        if (c->cb.message && m->topic)
                c->cb.message(c->userdata, m->topic, m->payload, m->payloadlen);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *msg)
{
        MqttClient *c = obj;
        if ((level & MOSQ_LOG_ERR) && !c->lib_error[0])
                snprintf(c->lib_error, sizeof c->lib_error, "%s", msg);
        if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
                log_debug("mqtt: libmosquitto: %s", msg);
}

/* ---- publishing ---------------------------------------------------------- */

static int client_send(MqttClient *c, const char *topic, const void *payload, int len, int qos, bool retain)
{
        int mid = 0;
        c->in_send = true;
        c->early = false;
        int rc = mosquitto_publish(c->mosq, &mid, topic, len, payload, qos, retain);
        c->in_send = false;
        if (rc != MOSQ_ERR_SUCCESS)
                return rc;
        c->stats.published++;
        c->sent++;
        if (c->early && c->early_mid == mid) {
                c->stats.delivered++;
                return MOSQ_ERR_SUCCESS;
        }
        if (inflight_add(c, mid, qos) < 0)
                log_warning("mqtt: out of memory tracking message %d", mid);
        return MOSQ_ERR_SUCCESS;
}

/* A failure of the link (or of memory), not of the message: the message
 * stays queued for the next connection. */
static bool link_error(int rc)
{
        return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO ||
               rc == MOSQ_ERR_NOMEM || rc == MOSQ_ERR_TLS;
}

static void client_pump(MqttClient *c)
{
        char broken[384] = "";

        /* on_publish() may run inside mosquitto_publish(): one pump at a
         * time. */
        if (c->pumping)
                return;
        c->pumping = true;
        while (c->state == STATE_CONNECTED && c->n_inflight < WINDOW) {
                Msg *m = msg_queue_peek(&c->queue);
                if (!m)
                        break;
                int rc = client_send(c, m->topic, m->payload, m->len, m->qos, m->retain);
                if (link_error(rc)) {
                        /* A write that fails (EPIPE after the broker died)
                         * is how a busy loop may learn of a lost link first.
                         * libmosquitto may have kept a QoS >= 1 copy and
                         * re-send it too: at least once. */
                        snprintf(broken, sizeof broken, "%s", rc == MOSQ_ERR_ERRNO ? strerror(errno) :
                                 mosquitto_strerror(rc));
                        break;
                }
                if (rc != MOSQ_ERR_SUCCESS)
                        log_warning("mqtt: cannot publish to %s: %s (message dropped)", m->topic,
                                    mosquitto_strerror(rc));
                free(msg_queue_pop(&c->queue));
        }
        c->pumping = false;
        if (broken[0])
                client_link_lost(c, broken);
}

int mqtt_client_publish(MqttClient *c, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
        if (c->state == STATE_STOPPED)
                return -ESHUTDOWN;
        /* QoS 0 waits through the first connection attempt (so a fast
         * start loses nothing) but not through a known outage. */
        if (qos == 0 && c->state == STATE_WAITING) {
                c->stats.dropped_qos0++;
                return 0;
        }
        int r = msg_queue_push(&c->queue, topic, payload, len, qos, retain);
        if (r < 0)
                return r;
        if (r == MSG_DROPPED_QOS0)
                c->stats.dropped_qos0++;
        if (r == MSG_DROPPED) {
                c->stats.dropped++;
                if (c->queue.dropped == 1 || c->queue.dropped % 1000 == 0)
                        log_warning("mqtt: queue full (%zu messages): dropped the oldest event "
                                    "(%" PRIu64 " so far)", c->queue.limit, c->queue.dropped);
        }
        client_pump(c);
        if (!c->busy && c->state == STATE_CONNECTED && c->queue.n >= c->queue.limit / 2 &&
            c->queue.n >= WINDOW)
                c->busy = true;
        return 0;
}

int mqtt_client_publish_now(MqttClient *c, const char *topic, const void *payload, size_t len, int qos,
                            bool retain)
{
        if (c->state != STATE_CONNECTED)
                return -ENOTCONN;
        int rc = client_send(c, topic, payload, (int) len, qos, retain);
        return rc == MOSQ_ERR_SUCCESS ? 0 : -EIO;
}

int mqtt_client_subscribe(MqttClient *c, const char *topic, int qos)
{
        if (c->state != STATE_CONNECTED)
                return -ENOTCONN;
        return mosquitto_subscribe(c->mosq, NULL, topic, qos) == MOSQ_ERR_SUCCESS ? 0 : -EIO;
}

/* ---- lifecycle ----------------------------------------------------------- */

static char *dup_opt(MqttClient *c, int i, const char *s)
{
        if (!s)
                return NULL;
        c->strings[i] = strdup(s);
        return c->strings[i];
}

int mqtt_client_new(struct ev_loop *loop, const MqttClientOptions *opt, const MqttClientCallbacks *cb,
                    void *userdata, MqttClient **ret, char *err, size_t errlen)
{
        MqttClient *c = calloc(1, sizeof *c);
        int rc;

        if (!c)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        static bool lib_ready;
        if (!lib_ready) {
                /* Once per process: the library's random source and TLS. */
                mosquitto_lib_init();
                lib_ready = true;
        }
        c->loop = loop;
        c->opt = *opt;
        c->opt.host = dup_opt(c, 0, opt->host);
        c->opt.client_id = dup_opt(c, 1, opt->client_id);
        c->opt.username = dup_opt(c, 2, opt->username);
        c->opt.password = dup_opt(c, 3, opt->password);
        c->opt.tls_ca = dup_opt(c, 4, opt->tls_ca);
        c->opt.tls_cert = dup_opt(c, 5, opt->tls_cert);
        c->opt.tls_key = dup_opt(c, 6, opt->tls_key);
        c->opt.will_topic = dup_opt(c, 7, opt->will_topic);
        c->opt.will_payload = dup_opt(c, 8, opt->will_payload);
        if (c->opt.connect_timeout <= 0)
                c->opt.connect_timeout = 10;
        if (c->opt.keepalive < 5)
                c->opt.keepalive = 60;
        c->cb = *cb;
        c->userdata = userdata;
        c->io_fd = -1;
        msg_queue_init(&c->queue, opt->queue_limit);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        backoff_init(&c->backoff, opt->reconnect_min, opt->reconnect_max,
                     (uint32_t) (ts.tv_nsec ^ (getpid() << 16)));

        c->mosq = mosquitto_new(c->opt.client_id, true, c);
        if (!c->mosq) {
                mqtt_client_free(c);
                return gw_error(err, errlen, ENOMEM, "mqtt: cannot create a client");
        }
        mosquitto_int_option(c->mosq, MOSQ_OPT_SEND_MAXIMUM, WINDOW);
        mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
        /* Publishing queues; prepare_cb writes (client_flush). */
        mosquitto_threaded_set(c->mosq, true);
        mosquitto_connect_callback_set(c->mosq, on_connect);
        mosquitto_disconnect_callback_set(c->mosq, on_disconnect);
        mosquitto_publish_callback_set(c->mosq, on_publish);
        mosquitto_message_callback_set(c->mosq, on_message);
        mosquitto_log_callback_set(c->mosq, on_log);

        if (c->opt.username) {
                rc = mosquitto_username_pw_set(c->mosq, c->opt.username, c->opt.password);
                if (rc != MOSQ_ERR_SUCCESS) {
                        mqtt_client_free(c);
                        return gw_error(err, errlen, EINVAL, "mqtt: username: %s", mosquitto_strerror(rc));
                }
        }
        if (c->opt.tls) {
                if (!c->opt.tls_ca)
                        mosquitto_int_option(c->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
                rc = mosquitto_tls_set(c->mosq, c->opt.tls_ca, NULL, c->opt.tls_cert, c->opt.tls_key, NULL);
                if (rc != MOSQ_ERR_SUCCESS) {
                        mqtt_client_free(c);
                        return gw_error(err, errlen, EINVAL, "mqtt: TLS setup (tls_ca, tls_cert, tls_key): %s",
                                        rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
                }
                if (c->opt.tls_insecure)
                        mosquitto_tls_insecure_set(c->mosq, true);
        }
        if (c->opt.will_topic) {
                rc = mosquitto_will_set(c->mosq, c->opt.will_topic, (int) strlen(c->opt.will_payload),
                                        c->opt.will_payload, 1, true);
                if (rc != MOSQ_ERR_SUCCESS) {
                        mqtt_client_free(c);
                        return gw_error(err, errlen, EINVAL, "mqtt: will: %s", mosquitto_strerror(rc));
                }
        }

        ev_init(&c->io, io_cb);
        c->io.data = c;
        ev_prepare_init(&c->prepare, prepare_cb);
        c->prepare.data = c;
        ev_prepare_start(loop, &c->prepare);
        ev_init(&c->misc, misc_cb);
        c->misc.data = c;
        ev_init(&c->retry, retry_cb);
        c->retry.data = c;
        ev_init(&c->timeout, timeout_cb);
        c->timeout.data = c;
        ev_init(&c->later, client_stopped_cb);
        c->later.data = c;
        *ret = c;
        return 0;
}

void mqtt_client_start(MqttClient *c)
{
        if (c->state == STATE_IDLE)
                client_connect(c);
}

void mqtt_client_stop(MqttClient *c, double timeout)
{
        if (c->stopping || c->state == STATE_STOPPED)
                return;
        c->stopping = true;
        if (c->state != STATE_CONNECTED && c->state != STATE_CONNECTING) {
                client_finish_stop(c);
                return;
        }
        ev_timer_stop(c->loop, &c->timeout);
        ev_timer_set(&c->timeout, timeout, 0);
        ev_timer_start(c->loop, &c->timeout);
        client_pump(c);
        client_maybe_disconnect(c);
}

MqttClient *mqtt_client_free(MqttClient *c)
{
        if (!c)
                return NULL;
        if (c->loop) {
                ev_io_stop(c->loop, &c->io);
                ev_prepare_stop(c->loop, &c->prepare);
                ev_timer_stop(c->loop, &c->misc);
                ev_timer_stop(c->loop, &c->retry);
                ev_timer_stop(c->loop, &c->timeout);
                ev_timer_stop(c->loop, &c->later);
        }
        if (c->mosq)
                mosquitto_destroy(c->mosq);
        msg_queue_clear(&c->queue);
        free(c->inflight);
        if (c->strings[3])
                explicit_bzero(c->strings[3], strlen(c->strings[3]));
        for (size_t i = 0; i < sizeof c->strings / sizeof c->strings[0]; i++)
                free(c->strings[i]);
        free(c);
        return NULL;
}

bool mqtt_client_connected(const MqttClient *c)
{
        return c->state == STATE_CONNECTED;
}

bool mqtt_client_busy(const MqttClient *c)
{
        return c->busy && c->state == STATE_CONNECTED;
}

bool mqtt_client_queued_topic(const MqttClient *c, const char *topic)
{
        return msg_queue_has_topic(&c->queue, topic);
}

const MqttClientStats *mqtt_client_stats(MqttClient *c)
{
        c->stats.queued = c->queue.n;
        c->stats.inflight = c->n_inflight;
        return &c->stats;
}
