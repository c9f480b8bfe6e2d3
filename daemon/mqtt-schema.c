/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "json-out.h"
#include "mqtt-schema.h"
#include "stream-clock.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(6))

static bool level_ok(const char *s)
{
        return s && *s && !strpbrk(s, "/+#");
}

int mqtt_topic(char *buf, size_t n, const char *base, const char *gateway, const char *device,
               const char *leaf)
{
        int r;
        if (!level_ok(gateway) || (device && !level_ok(device)) || !base || !*base)
                return -EINVAL;
        if (device)
                r = snprintf(buf, n, "%s/%s/%s/%s", base, gateway, device, leaf);
        else
                r = snprintf(buf, n, "%s/%s/%s", base, gateway, leaf);
        return r < 0 || (size_t) r >= n ? -ENAMETOOLONG : 0;
}

/* Rounded so payloads stay short and stable across platforms. */
static json_t *real(double x, double scale)
{
        if (!isfinite(x))
                return json_null();
        return json_real(round(x * scale) / scale);
}

static json_t *common(const PayloadCommon *c)
{
        char iso[40];
        json_t *o = json_object();
        if (!o)
                return NULL;
        json_object_set_new(o, "v", json_integer(MQTT_SCHEMA_VERSION));
        json_object_set_new(o, "gateway", json_string(c->gateway));
        json_object_set_new(o, "device", json_string(c->device));
        json_object_set_new(o, "time", json_string(format_iso8601(c->wall_ns, iso, sizeof iso)));
        json_object_set_new(o, "time_ms", json_integer(c->wall_ns / 1000000));
        json_object_set_new(o, "stream_s", real(c->stream_s, 1e3));
        if (c->model_id) {
                json_t *m = json_object();
                json_object_set_new(m, "id", json_string(c->model_id));
                json_object_set_new(m, "version", json_string(c->model_version ? c->model_version : ""));
                json_object_set_new(o, "model", m);
        }
        return o;
}

static char *dump(json_t *o)
{
        if (!o)
                return NULL;
        char *s = json_dumps(o, DUMP_FLAGS);
        json_decref(o);
        return s;
}

char *mqtt_payload_activity(const ActivityPayload *p)
{
        json_t *o = common(&p->c);
        if (!o)
                return NULL;
        json_object_set_new(o, "activity", json_string(p->activity));
        json_object_set_new(o, "previous", p->previous ? json_string(p->previous) : json_null());
        json_object_set_new(o, "confidence", real(p->confidence, 1e4));
        json_object_set_new(o, "previous_duration_s",
                            p->previous ? real((double) p->previous_duration_ns / 1e9, 1e3) : json_null());
        json_object_set_new(o, "reason", json_string(p->republished ? "republish" : "change"));
        return dump(o);
}

char *mqtt_payload_fog(const FogPayload *p)
{
        json_t *o = common(&p->c);
        if (!o)
                return NULL;
        /* event_type is what a Home Assistant event entity reads. */
        json_object_set_new(o, "event_type", json_string(p->start ? "start" : "end"));
        json_object_set_new(o, "episode", json_integer(p->episode));
        json_object_set_new(o, "confidence", real(p->confidence, 1e4));
        if (!p->start) {
                json_object_set_new(o, "duration_s", real((double) p->duration_ns / 1e9, 1e3));
                json_object_set_new(o, "short", json_boolean(p->is_short));
        }
        return dump(o);
}

char *mqtt_payload_window_json(const WindowPayload *p)
{
        json_t *o = common(&p->c);
        if (!o)
                return NULL;
        json_object_set_new(o, "window", json_integer((json_int_t) p->index));
        json_object_set_new(o, "top", json_string(p->top >= 0 && p->top < p->classes ?
                                                  p->class_name[p->top] : ""));
        json_t *probs = json_object();
        for (int k = 0; k < p->classes; k++)
                json_object_set_new(probs, p->class_name[k], real(p->prob[k], 1e4));
        json_object_set_new(o, "p", probs);
        return dump(o);
}

/* ---- payloads without jansson -------------------------------------------- */

/* With probabilities = yes every window of every device is published, and
 * the stats list every device: as jansson trees they cost a dozen
 * allocations per value (more than the window's inference; megabytes of
 * small objects every stats interval at thousands of devices).  They are
 * written with json-out.h, the same bytes as json_dumps(DUMP_FLAGS) of the
 * trees (test-mqtt compares them with the builders below, kept as the
 * reference).  A window whose classes repeat a name (jansson keeps the
 * first key with the last value) goes through jansson. */

#define WINDOW_PAYLOAD_MAX 4096

static void out_rounded(JsonOut *o, const char *key, double x, double scale)
{
        /* real(): null when not finite, left out when the rounding is not */
        if (!isfinite(x))
                json_out_null(o, key);
        else
                json_out_real(o, key, round(x * scale) / scale);
}

static void out_common(JsonOut *o, const PayloadCommon *c)
{
        char iso[40];

        json_out_int(o, "v", MQTT_SCHEMA_VERSION);
        json_out_string(o, "gateway", c->gateway);
        json_out_string(o, "device", c->device);
        json_out_string(o, "time", format_iso8601(c->wall_ns, iso, sizeof iso));
        json_out_int(o, "time_ms", (long long) (c->wall_ns / 1000000));
        out_rounded(o, "stream_s", c->stream_s, 1e3);
        if (c->model_id) {
                json_out_object(o, "model");
                json_out_string(o, "id", c->model_id);
                json_out_string(o, "version", c->model_version ? c->model_version : "");
                json_out_close(o);
        }
}

char *mqtt_payload_window(const WindowPayload *p)
{
        char buf[WINDOW_PAYLOAD_MAX];
        JsonOut o;

        for (int k = 0; k < p->classes; k++)
                for (int j = 0; j < k; j++)
                        if (!strcmp(p->class_name[j], p->class_name[k]))
                                return mqtt_payload_window_json(p);
        json_out_fixed(&o, buf, sizeof buf);
        json_out_open(&o);
        out_common(&o, &p->c);
        json_out_int(&o, "window", (long long) p->index);
        json_out_string(&o, "top", p->top >= 0 && p->top < p->classes ? p->class_name[p->top] : "");
        json_out_object(&o, "p");
        for (int k = 0; k < p->classes; k++)
                if (json_utf8_valid(p->class_name[k]))
                        out_rounded(&o, p->class_name[k], p->prob[k], 1e4);
        json_out_close(&o);
        json_out_close(&o);
        if (!json_out_finish(&o))
                return mqtt_payload_window_json(p);
        return strdup(buf);
}

/* The stats as jansson built them: the reference for the writer below. */
char *mqtt_payload_stats_json(const StatsPayload *p)
{
        char iso[40];
        json_t *o = json_object();
        if (!o)
                return NULL;
        json_object_set_new(o, "v", json_integer(MQTT_SCHEMA_VERSION));
        json_object_set_new(o, "gateway", json_string(p->gateway));
        json_object_set_new(o, "time", json_string(format_iso8601(p->wall_ns, iso, sizeof iso)));
        json_object_set_new(o, "time_ms", json_integer(p->wall_ns / 1000000));
        json_object_set_new(o, "version", json_string(p->version));
        json_object_set_new(o, "uptime_s", json_integer((json_int_t) p->uptime_s));
        json_object_set_new(o, "events", json_integer((json_int_t) p->events));

        json_t *mq = json_object();
        json_object_set_new(mq, "published", json_integer((json_int_t) p->mqtt.published));
        json_object_set_new(mq, "delivered", json_integer((json_int_t) p->mqtt.delivered));
        json_object_set_new(mq, "queued", json_integer((json_int_t) p->mqtt.queued));
        json_object_set_new(mq, "dropped", json_integer((json_int_t) p->mqtt.dropped));
        json_object_set_new(mq, "dropped_qos0", json_integer((json_int_t) p->mqtt.dropped_qos0));
        json_object_set_new(mq, "connects", json_integer((json_int_t) p->mqtt.connects));
        json_object_set_new(mq, "connect_failures", json_integer((json_int_t) p->mqtt.connect_failures));
        json_object_set_new(o, "mqtt", mq);

        json_t *lj = json_object();
        json_object_set_new(lj, "events", json_integer((json_int_t) p->lag_events));
        json_object_set_new(lj, "p50_ms", json_real(p->lag_p50_ms));
        json_object_set_new(lj, "p99_ms", json_real(p->lag_p99_ms));
        json_object_set_new(lj, "max_ms", json_real(p->lag_max_ms));
        json_object_set_new(o, "lag", lj);

        json_t *devs = json_object();
        for (size_t i = 0; i < p->n_devices; i++) {
                StatsDevice d;
                p->device(p->userdata, i, &d);
                json_t *dj = json_object();
                json_object_set_new(dj, "source", json_string(d.source));
                json_object_set_new(dj, "connected", json_boolean(d.connected));
                json_object_set_new(dj, "sample_rate", json_real(d.sample_rate));
                json_object_set_new(dj, "samples", json_integer((json_int_t) d.samples));
                json_object_set_new(dj, "windows", json_integer((json_int_t) d.windows));
                json_object_set_new(dj, "activity", d.activity ? json_string(d.activity) : json_null());
                json_object_set_new(dj, "freeze_active", json_boolean(d.freeze_active));
                json_object_set_new(dj, "freeze_episodes", json_integer(d.freeze_episodes));
                json_object_set_new(dj, "link", json_string(d.link));
                json_object_set_new(dj, "source_rate", json_real(d.source_rate));
                json_object_set_new(dj, "packets", json_integer((json_int_t) d.packets));
                json_object_set_new(dj, "packets_lost", json_integer((json_int_t) d.packets_lost));
                json_object_set_new(dj, "packets_malformed", json_integer((json_int_t) d.packets_malformed));
                json_object_set_new(dj, "reconnects", json_integer((json_int_t) d.reconnects));
                if (d.has_frontend) {
                        json_object_set_new(dj, "gaps", json_integer((json_int_t) d.gaps));
                        json_object_set_new(dj, "dropped_samples", json_integer((json_int_t) d.dropped_samples));
                }
                json_object_set_new(devs, d.id, dj);
        }
        json_object_set_new(o, "devices", devs);
        return dump(o);
}

/* Device ids are unique within a configuration (one section each); the
 * writer relies on it (jansson would keep one key per id). */
char *mqtt_payload_stats(const StatsPayload *p)
{
        char iso[40];
        JsonOut o;

        json_out_growing(&o, 512 + 512 * p->n_devices);
        json_out_open(&o);
        json_out_int(&o, "v", MQTT_SCHEMA_VERSION);
        json_out_string(&o, "gateway", p->gateway);
        json_out_string(&o, "time", format_iso8601(p->wall_ns, iso, sizeof iso));
        json_out_int(&o, "time_ms", (long long) (p->wall_ns / 1000000));
        json_out_string(&o, "version", p->version);
        json_out_int(&o, "uptime_s", (long long) p->uptime_s);
        json_out_int(&o, "events", (long long) p->events);

        json_out_object(&o, "mqtt");
        json_out_int(&o, "published", (long long) p->mqtt.published);
        json_out_int(&o, "delivered", (long long) p->mqtt.delivered);
        json_out_int(&o, "queued", (long long) p->mqtt.queued);
        json_out_int(&o, "dropped", (long long) p->mqtt.dropped);
        json_out_int(&o, "dropped_qos0", (long long) p->mqtt.dropped_qos0);
        json_out_int(&o, "connects", (long long) p->mqtt.connects);
        json_out_int(&o, "connect_failures", (long long) p->mqtt.connect_failures);
        json_out_close(&o);

        json_out_object(&o, "lag");
        json_out_int(&o, "events", (long long) p->lag_events);
        json_out_real(&o, "p50_ms", p->lag_p50_ms);
        json_out_real(&o, "p99_ms", p->lag_p99_ms);
        json_out_real(&o, "max_ms", p->lag_max_ms);
        json_out_close(&o);

        json_out_object(&o, "devices");
        for (size_t i = 0; i < p->n_devices; i++) {
                StatsDevice d;
                p->device(p->userdata, i, &d);
                if (!json_utf8_valid(d.id))
                        continue;
                json_out_object(&o, d.id);
                json_out_string(&o, "source", d.source);
                json_out_bool(&o, "connected", d.connected);
                json_out_real(&o, "sample_rate", d.sample_rate);
                json_out_int(&o, "samples", (long long) d.samples);
                json_out_int(&o, "windows", (long long) d.windows);
                if (d.activity)
                        json_out_string(&o, "activity", d.activity);
                else
                        json_out_null(&o, "activity");
                json_out_bool(&o, "freeze_active", d.freeze_active);
                json_out_int(&o, "freeze_episodes", (long long) d.freeze_episodes);
                json_out_string(&o, "link", d.link);
                json_out_real(&o, "source_rate", d.source_rate);
                json_out_int(&o, "packets", (long long) d.packets);
                json_out_int(&o, "packets_lost", (long long) d.packets_lost);
                json_out_int(&o, "packets_malformed", (long long) d.packets_malformed);
                json_out_int(&o, "reconnects", (long long) d.reconnects);
                if (d.has_frontend) {
                        json_out_int(&o, "gaps", (long long) d.gaps);
                        json_out_int(&o, "dropped_samples", (long long) d.dropped_samples);
                }
                json_out_close(&o);
        }
        json_out_close(&o);
        json_out_close(&o);
        return json_out_finish(&o);
}

static json_t *component(const char *platform, const char *name, const char *uid, const char *state_topic)
{
        json_t *c = json_object();
        json_object_set_new(c, "p", json_string(platform));
        json_object_set_new(c, "name", json_string(name));
        json_object_set_new(c, "unique_id", json_string(uid));
        json_object_set_new(c, "state_topic", json_string(state_topic));
        return c;
}

char *mqtt_payload_discovery(const DiscoveryPayload *p, char *topic, size_t topic_len)
{
        char node[160], uid[224], t[MQTT_TOPIC_MAX], status[MQTT_TOPIC_MAX], model[96];

        if (!level_ok(p->gateway) || !level_ok(p->device))
                return NULL;
        snprintf(node, sizeof node, "gaitway_%s_%s", p->gateway, p->device);
        /* Node ids allow [a-zA-Z0-9_-] only. */
        for (char *c = node; *c; c++)
                if (*c == '.')
                        *c = '_';
        int r = snprintf(topic, topic_len, "%s/device/%s/config", p->ha_prefix, node);
        if (r < 0 || (size_t) r >= topic_len)
                return NULL;
        if (mqtt_topic(status, sizeof status, p->base, p->gateway, NULL, "status") < 0)
                return NULL;

        json_t *o = json_object();
        json_t *dev = json_object();
        json_t *ids = json_array();
        char via[128];
        snprintf(via, sizeof via, "gaitway_%s", p->gateway);
        for (char *c = via; *c; c++)
                if (*c == '.')
                        *c = '_';
        json_array_append_new(ids, json_string(node));
        json_object_set_new(dev, "ids", ids);
        json_object_set_new(dev, "name", json_string(p->device));
        json_object_set_new(dev, "mf", json_string("gaitway"));
        snprintf(model, sizeof model, "IMU wearable (%s)", p->source ? p->source : "?");
        json_object_set_new(dev, "mdl", json_string(model));
        json_object_set_new(dev, "sw", json_string(p->version));
        json_object_set_new(dev, "via_device", json_string(via));
        json_object_set_new(o, "dev", dev);

        json_t *origin = json_object();
        json_object_set_new(origin, "name", json_string("gaitway"));
        json_object_set_new(origin, "sw", json_string(p->version));
        json_object_set_new(o, "o", origin);

        json_t *cmps = json_object();
        if (p->activity) {
                json_t *c;
                mqtt_topic(t, sizeof t, p->base, p->gateway, p->device, "activity");

                snprintf(uid, sizeof uid, "%s_activity", node);
                c = component("sensor", "Activity", uid, t);
                json_object_set_new(c, "device_class", json_string("enum"));
                json_t *opts = json_array();
                for (int k = 0; k < p->classes; k++)
                        json_array_append_new(opts, json_string(p->class_name[k]));
                json_object_set_new(c, "options", opts);
                json_object_set_new(c, "value_template", json_string("{{ value_json.activity }}"));
                json_object_set_new(c, "json_attributes_topic", json_string(t));
                json_object_set_new(c, "icon", json_string("mdi:walk"));
                json_object_set_new(cmps, uid, c);

                snprintf(uid, sizeof uid, "%s_confidence", node);
                c = component("sensor", "Activity confidence", uid, t);
                json_object_set_new(c, "unit_of_measurement", json_string("%"));
                json_object_set_new(c, "state_class", json_string("measurement"));
                json_object_set_new(c, "value_template",
                                    json_string("{{ (value_json.confidence * 100) | round(1) }}"));
                json_object_set_new(cmps, uid, c);
        }
        if (p->fog) {
                mqtt_topic(t, sizeof t, p->base, p->gateway, p->device, "fog");
                snprintf(uid, sizeof uid, "%s_fog", node);
                json_t *c = component("event", "Freeze of gait", uid, t);
                json_t *types = json_array();
                json_array_append_new(types, json_string("start"));
                json_array_append_new(types, json_string("end"));
                json_object_set_new(c, "event_types", types);
                json_object_set_new(cmps, uid, c);
        }
        json_object_set_new(o, "cmps", cmps);

        json_t *avail = json_array();
        json_t *a = json_object();
        json_object_set_new(a, "topic", json_string(status));
        json_object_set_new(a, "payload_available", json_string("online"));
        json_object_set_new(a, "payload_not_available", json_string("offline"));
        json_array_append_new(avail, a);
        json_object_set_new(o, "availability", avail);
        json_object_set_new(o, "qos", json_integer(1));
        return dump(o);
}
