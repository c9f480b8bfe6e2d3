/* SPDX-License-Identifier: MIT */
/* The MQTT sink: topics and payloads of docs/mqtt.md over the libev-driven
 * client (ev-mosquitto.c).  On every connect: retained `online` (the will
 * says `offline`), Home Assistant discovery, and the current activity of
 * every device, so a restarted broker or dashboard catches up. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "ev-mosquitto.h"
#include "gaitway/common.h"
#include "log.h"
#include "manager.h"
#include "mqtt-schema.h"
#include "sink.h"
#include "stream-clock.h"

#define STOP_TIMEOUT 5.0

typedef struct {
        Sink base;
        MqttClient *client;
        char *base_topic;
        char gateway[CONF_ID_MAX];
        int qos;
        bool probabilities;
        bool ha;
        char *ha_prefix;
        char ha_status[MQTT_TOPIC_MAX];
        char status[MQTT_TOPIC_MAX];
        char stats[MQTT_TOPIC_MAX];
} MqttSink;

static int device_topic(MqttSink *s, const Device *d, const char *leaf, char *buf, size_t n)
{
        return mqtt_topic(buf, n, s->base_topic, s->gateway, d->id, leaf);
}

static void common_of(MqttSink *s, const Device *d, const gw_model_info *model, PayloadCommon *c)
{
        *c = (PayloadCommon) {
                .gateway = s->gateway,
                .device = d->id,
                .model_id = model ? model->model_id : NULL,
                .model_version = model ? model->model_version : NULL,
        };
}

static void publish(MqttSink *s, const char *topic, char *payload, int qos, bool retain, bool now)
{
        if (!payload) {
                log_warning("mqtt: cannot build the payload for %s", topic);
                return;
        }
        int r = now ? mqtt_client_publish_now(s->client, topic, payload, strlen(payload), qos, retain)
                    : mqtt_client_publish(s->client, topic, payload, strlen(payload), qos, retain);
        if (r < 0 && r != -ENOTCONN)
                log_warning("mqtt: cannot publish to %s: %s", topic, strerror(-r));
        free(payload);
}

static void publish_discovery(MqttSink *s, Device *d, bool now)
{
        char topic[MQTT_TOPIC_MAX];
        const gw_model_info *act = device_model_info(d, MODEL_ACTIVITY);
        DiscoveryPayload p = {
                .ha_prefix = s->ha_prefix,
                .base = s->base_topic,
                .gateway = s->gateway,
                .device = d->id,
                .source = d->conf->source->name,
                .version = gw_version(),
                .activity = act != NULL,
                .classes = act ? act->classes : 0,
                .class_name = act ? act->class_name : NULL,
                .fog = device_model_info(d, MODEL_FOG) != NULL,
        };
        char *payload = mqtt_payload_discovery(&p, topic, sizeof topic);
        publish(s, topic, payload, 1, true, now);
}

static void publish_activity(MqttSink *s, Device *d, const Event *e, bool republish)
{
        char topic[MQTT_TOPIC_MAX];
        const gw_model_info *model = device_model_info(d, MODEL_ACTIVITY);
        ActivityPayload p;

        if (device_topic(s, d, "activity", topic, sizeof topic) < 0)
                return;
        common_of(s, d, model, &p.c);
        if (e) {
                p.c.wall_ns = e->wall_ns;
                p.c.stream_s = e->stream_s;
                p.activity = e->activity.activity;
                p.previous = e->activity.previous;
                p.confidence = e->activity.confidence;
                p.previous_duration_ns = e->activity.previous_duration_ns;
                p.republished = false;
        } else {
                p.c.wall_ns = d->activity_since_wall_ns;
                p.c.stream_s = stream_clock_seconds(&d->clock, d->activity_since_t_ns);
                p.activity = d->activity_name;
                p.previous = NULL;
                p.confidence = d->activity_confidence;
                p.previous_duration_ns = 0;
                p.republished = true;
        }
        publish(s, topic, mqtt_payload_activity(&p), s->qos, true, republish);
}

static void publish_fog(MqttSink *s, const Event *e)
{
        char topic[MQTT_TOPIC_MAX];
        FogPayload p = {
                .start = e->fog.start,
                .episode = e->fog.episode,
                .confidence = e->fog.confidence,
                .duration_ns = e->fog.duration_ns,
                .is_short = e->fog.is_short,
        };
        if (device_topic(s, e->device, "fog", topic, sizeof topic) < 0)
                return;
        common_of(s, e->device, e->model, &p.c);
        p.c.wall_ns = e->wall_ns;
        p.c.stream_s = e->stream_s;
        publish(s, topic, mqtt_payload_fog(&p), s->qos > 1 ? s->qos : 1, false, false);
}

static void publish_window(MqttSink *s, const Event *e)
{
        char topic[MQTT_TOPIC_MAX], leaf[GW_ID_MAX + 16];
        WindowPayload p = {
                .index = e->window.index,
                .classes = e->window.classes,
                .class_name = e->model->class_name,
                .prob = e->window.prob,
                .top = e->window.top,
        };
        snprintf(leaf, sizeof leaf, "probabilities/%s", e->model->task);
        if (device_topic(s, e->device, leaf, topic, sizeof topic) < 0)
                return;
        common_of(s, e->device, e->model, &p.c);
        p.c.wall_ns = e->wall_ns;
        p.c.stream_s = e->stream_s;
        publish(s, topic, mqtt_payload_window(&p), 0, false, false);
}

static void clear_device(MqttSink *s, Device *d)
{
        char topic[MQTT_TOPIC_MAX];
        /* Empty retained messages delete the retained state and the Home
         * Assistant device. */
        if (device_topic(s, d, "activity", topic, sizeof topic) == 0)
                mqtt_client_publish(s->client, topic, "", 0, 1, true);
        if (s->ha) {
                DiscoveryPayload p = { .ha_prefix = s->ha_prefix, .base = s->base_topic,
                                       .gateway = s->gateway, .device = d->id, .version = "" };
                char *payload = mqtt_payload_discovery(&p, topic, sizeof topic);
                if (payload)
                        mqtt_client_publish(s->client, topic, "", 0, 1, true);
                free(payload);
        }
}

static void stats_device(void *userdata, size_t i, StatsDevice *ret)
{
        Manager *m = userdata;
        Device *d = m->devices[i];
        SourceStats st;

        device_source_stats(d, &st);
        *ret = (StatsDevice) {
                .id = d->id,
                .source = device_source_address(d),
                .connected = d->connected,
                .sample_rate = d->desc.rate_hz,
                .samples = d->samples,
                .windows = d->windows,
                .activity = d->activity >= 0 ? d->activity_name : NULL,
                .freeze_active = d->freeze_active,
                .freeze_episodes = d->freeze_episodes,
                .link = st.link,
                .source_rate = st.rate_hz,
                .packets = st.packets,
                .packets_lost = st.packets_lost,
                .packets_malformed = st.packets_malformed,
                .reconnects = st.reconnects,
        };
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                if (!d->pipeline[t])
                        continue;
                const gw_frontend_stats *fs = pipeline_frontend_stats(d->pipeline[t]);
                ret->has_frontend = true;
                ret->gaps = fs->gaps;
                ret->dropped_samples = fs->duplicates + fs->out_of_order + fs->non_finite;
                break;
        }
}

static void publish_stats(MqttSink *s)
{
        Manager *m = s->base.manager;
        const MqttClientStats *ms = mqtt_client_stats(s->client);
        const EventLag *lag = &m->lag;
        StatsPayload p = {
                .gateway = s->gateway,
                .version = gw_version(),
                .wall_ns = wall_clock_ns(),
                .uptime_s = manager_uptime_usec(m) / 1000000,
                .events = m->stats.events,
                .mqtt = {
                        .published = ms->published,
                        .delivered = ms->delivered,
                        .queued = ms->queued,
                        .dropped = ms->dropped,
                        .dropped_qos0 = ms->dropped_qos0,
                        .connects = ms->connects,
                        .connect_failures = ms->connect_failures,
                },
                .lag_events = lag->n,
                .lag_p50_ms = (double) event_lag_quantile(lag, 0.5) / 1e6,
                .lag_p99_ms = (double) event_lag_quantile(lag, 0.99) / 1e6,
                .lag_max_ms = (double) lag->max_ns / 1e6,
                .n_devices = m->n_devices,
                .device = stats_device,
                .userdata = m,
        };
        publish(s, s->stats, mqtt_payload_stats(&p), 0, true, false);
}

/* ---- client callbacks ---------------------------------------------------- */

static void on_connected(void *userdata)
{
        MqttSink *s = userdata;
        Manager *m = s->base.manager;
        char topic[MQTT_TOPIC_MAX];

        mqtt_client_publish_now(s->client, s->status, "online", 6, 1, true);
        if (s->ha) {
                mqtt_client_subscribe(s->client, s->ha_status, 1);
                for (size_t i = 0; i < m->n_devices; i++)
                        publish_discovery(s, m->devices[i], true);
        }
        /* The broker may have lost retained state; queued changes will
         * bring it up to date themselves. */
        for (size_t i = 0; i < m->n_devices; i++) {
                Device *d = m->devices[i];
                if (d->activity < 0 || device_topic(s, d, "activity", topic, sizeof topic) < 0 ||
                    mqtt_client_queued_topic(s->client, topic))
                        continue;
                publish_activity(s, d, NULL, true);
        }
        manager_set_mqtt_connected(m, true);
}

static void on_disconnected(void *userdata, const char *reason)
{
        MqttSink *s = userdata;
        manager_set_mqtt_connected(s->base.manager, false);
}

static void on_message(void *userdata, const char *topic, const void *payload, int len)
{
        MqttSink *s = userdata;
        Manager *m = s->base.manager;
        /* Home Assistant restarted: it forgets non-retained discovery. */
        if (s->ha && !strcmp(topic, s->ha_status) && len == 6 && !memcmp(payload, "online", 6)) {
                log_debug("mqtt: Home Assistant is online: re-sending discovery");
                for (size_t i = 0; i < m->n_devices; i++)
                        publish_discovery(s, m->devices[i], false);
        }
}

static void on_drained(void *userdata)
{
        MqttSink *s = userdata;
        manager_sink_drained(s->base.manager);
}

static void on_stopped(void *userdata)
{
        MqttSink *s = userdata;
        manager_sink_stopped(s->base.manager, &s->base);
}

static const MqttClientCallbacks client_callbacks = {
        .connected = on_connected,
        .disconnected = on_disconnected,
        .message = on_message,
        .drained = on_drained,
        .stopped = on_stopped,
};

/* ---- sink ---------------------------------------------------------------- */

static Sink *mqtt_sink_free(Sink *base);

static int mqtt_sink_new(Manager *m, const Config *c, Sink **ret)
{
        char err[GW_ERR_MAX], client_id[CONF_ID_MAX + 16];
        const MqttConf *mc = &c->mqtt;
        int r;

        *ret = NULL;
        if (!mc->enabled)
                return 0;
        MqttSink *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->base.kind = &sink_mqtt;
        s->base.manager = m;
        s->base_topic = strdup(mc->base_topic);
        s->ha_prefix = strdup(mc->ha_prefix);
        if (!s->base_topic || !s->ha_prefix) {
                mqtt_sink_free(&s->base);
                return -ENOMEM;
        }
        strcpy(s->gateway, c->gateway.id);
        s->qos = mc->qos;
        s->probabilities = mc->probabilities;
        s->ha = mc->ha_discovery;
        snprintf(s->ha_status, sizeof s->ha_status, "%s/status", mc->ha_prefix);
        if (mqtt_topic(s->status, sizeof s->status, s->base_topic, s->gateway, NULL, "status") < 0 ||
            mqtt_topic(s->stats, sizeof s->stats, s->base_topic, s->gateway, NULL, "stats") < 0) {
                mqtt_sink_free(&s->base);
                return log_error_errno(EINVAL, "mqtt: base_topic and gateway id make no valid topic");
        }
        snprintf(client_id, sizeof client_id, "gaitway-%s", c->gateway.id);
        if (mc->tls && mc->tls_insecure)
                log_warning("mqtt: tls_insecure = yes: the broker's host name is not verified");

        MqttClientOptions opt = {
                .host = mc->host,
                .port = mc->port,
                .client_id = mc->client_id ? mc->client_id : client_id,
                .keepalive = mc->keepalive,
                .username = mc->username,
                .password = mc->password,
                .tls = mc->tls,
                .tls_ca = mc->tls_ca,
                .tls_cert = mc->tls_cert,
                .tls_key = mc->tls_key,
                .tls_insecure = mc->tls_insecure,
                .will_topic = s->status,
                .will_payload = "offline",
                .queue_limit = (size_t) mc->queue_limit,
                .reconnect_min = mc->reconnect_min,
                .reconnect_max = mc->reconnect_max,
        };
        r = mqtt_client_new(m->loop, &opt, &client_callbacks, s, &s->client, err, sizeof err);
        if (r < 0) {
                mqtt_sink_free(&s->base);
                return log_error_errno(r, "%s", err);
        }
        mqtt_client_start(s->client);
        *ret = &s->base;
        return 0;
}

static char *mqtt_sink_fingerprint(const Config *c)
{
        char *fp;
        /* The gateway id is part of every topic. */
        if (asprintf(&fp, "id=%s\n%s", c->gateway.id, c->mqtt_fingerprint) < 0)
                return NULL;
        return fp;
}

static void mqtt_sink_event(Sink *base, const Event *e)
{
        MqttSink *s = (MqttSink *) base;

        switch (e->type) {
        case EVENT_ACTIVITY:
                publish_activity(s, e->device, e, false);
                break;
        case EVENT_FOG:
                publish_fog(s, e);
                break;
        case EVENT_WINDOW:
                if (s->probabilities)
                        publish_window(s, e);
                break;
        case EVENT_DEVICE_ADDED:
                if (s->ha && mqtt_client_connected(s->client))
                        publish_discovery(s, e->device, false);
                break;
        case EVENT_DEVICE_REMOVED:
                clear_device(s, e->device);
                break;
        case EVENT_STATS:
                publish_stats(s);
                break;
        default:
                break;
        }
}

static bool mqtt_sink_busy(Sink *base)
{
        return mqtt_client_busy(((MqttSink *) base)->client);
}

static void mqtt_sink_stop(Sink *base)
{
        MqttSink *s = (MqttSink *) base;
        /* A clean disconnect suppresses the will: say it ourselves. */
        mqtt_client_publish(s->client, s->status, "offline", 7, 1, true);
        mqtt_client_stop(s->client, STOP_TIMEOUT);
}

static Sink *mqtt_sink_free(Sink *base)
{
        MqttSink *s = (MqttSink *) base;
        if (!s)
                return NULL;
        mqtt_client_free(s->client);
        free(s->base_topic);
        free(s->ha_prefix);
        free(s);
        return NULL;
}

static bool mqtt_sink_wants_windows(Sink *base)
{
        return ((MqttSink *) base)->probabilities;
}

const SinkKind sink_mqtt = {
        .name = "mqtt",
        .new = mqtt_sink_new,
        .fingerprint = mqtt_sink_fingerprint,
        .event = mqtt_sink_event,
        .busy = mqtt_sink_busy,
        .wants_windows = mqtt_sink_wants_windows,
        .stop = mqtt_sink_stop,
        .free = mqtt_sink_free,
};
