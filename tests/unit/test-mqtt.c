/* SPDX-License-Identifier: MIT */
/* The MQTT side of gaitwayd without a broker: topics and JSON payloads
 * (daemon/mqtt-schema.c), the bounded queue (mqtt-queue.c), the reconnect
 * backoff (backoff.c) and the event clock (stream-clock.c). */

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "gw-test.h"
#include "mqtt-queue.h"
#include "mqtt-schema.h"
#include "stream-clock.h"

static const char classes[3][GW_NAME_MAX] = { "WALKING", "SITTING", "LAYING" };

static json_t *parse(char *s)
{
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        json_error_t e;
        json_t *o = json_loads(s, 0, &e);
        free(s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        return o;
}

static const char *str(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

static PayloadCommon common(void)
{
        return (PayloadCommon) {
                .gateway = "gw1",
                .device = "left-ankle",
                .model_id = "uci-har",
                .model_version = "1.2.0",
                .wall_ns = INT64_C(1700000000123456789),
                .stream_s = 12.3456,
        };
}

/* ---- topics -------------------------------------------------------------- */

static void test_topic_device(void)
{
        char t[MQTT_TOPIC_MAX];
        CU_ASSERT_EQUAL(mqtt_topic(t, sizeof t, "gaitway", "gw1", "left-ankle", "activity"), 0);
        CU_ASSERT_STRING_EQUAL(t, "gaitway/gw1/left-ankle/activity");
}

static void test_topic_gateway(void)
{
        char t[MQTT_TOPIC_MAX];
        CU_ASSERT_EQUAL(mqtt_topic(t, sizeof t, "site/a", "gw1", NULL, "status"), 0);
        CU_ASSERT_STRING_EQUAL(t, "site/a/gw1/status");
}

static void test_topic_refuses_bad_levels(void)
{
        char t[MQTT_TOPIC_MAX];
        CU_ASSERT_EQUAL(mqtt_topic(t, sizeof t, "gaitway", "g/w", NULL, "status"), -EINVAL);
        CU_ASSERT_EQUAL(mqtt_topic(t, sizeof t, "gaitway", "gw", "a+b", "fog"), -EINVAL);
        CU_ASSERT_EQUAL(mqtt_topic(t, sizeof t, "gaitway", "gw", "#", "fog"), -EINVAL);
        CU_ASSERT_EQUAL(mqtt_topic(t, sizeof t, "gaitway", "", NULL, "status"), -EINVAL);
}

static void test_topic_too_long(void)
{
        char t[16];
        CU_ASSERT_EQUAL(mqtt_topic(t, sizeof t, "gaitway", "gateway-one", "device", "activity"), -ENAMETOOLONG);
}

/* ---- payloads ------------------------------------------------------------ */

static void test_activity_payload(void)
{
        ActivityPayload p = {
                .c = common(),
                .activity = "WALKING",
                .previous = "SITTING",
                .confidence = 0.912345,
                .previous_duration_ns = INT64_C(12500000000),
        };
        json_t *o = parse(mqtt_payload_activity(&p));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "v")), 1);
        CU_ASSERT_STRING_EQUAL(str(o, "gateway"), "gw1");
        CU_ASSERT_STRING_EQUAL(str(o, "device"), "left-ankle");
        CU_ASSERT_STRING_EQUAL(str(o, "activity"), "WALKING");
        CU_ASSERT_STRING_EQUAL(str(o, "previous"), "SITTING");
        CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(o, "confidence")), 0.9123, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(o, "previous_duration_s")), 12.5, 1e-9);
        CU_ASSERT_STRING_EQUAL(str(o, "reason"), "change");
        CU_ASSERT_STRING_EQUAL(str(json_object_get(o, "model"), "id"), "uci-har");
        CU_ASSERT_STRING_EQUAL(str(json_object_get(o, "model"), "version"), "1.2.0");
        json_decref(o);
}

static void test_activity_timestamps_agree(void)
{
        ActivityPayload p = { .c = common(), .activity = "WALKING", .confidence = 1 };
        json_t *o = parse(mqtt_payload_activity(&p));
        CU_ASSERT_STRING_EQUAL(str(o, "time"), "2023-11-14T22:13:20.123Z");
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "time_ms")), INT64_C(1700000000123));
        CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(o, "stream_s")), 12.346, 1e-9);
        json_decref(o);
}

static void test_first_activity_has_null_previous(void)
{
        ActivityPayload p = { .c = common(), .activity = "LAYING", .confidence = 0.5 };
        json_t *o = parse(mqtt_payload_activity(&p));
        CU_ASSERT_TRUE(json_is_null(json_object_get(o, "previous")));
        CU_ASSERT_TRUE(json_is_null(json_object_get(o, "previous_duration_s")));
        json_decref(o);
}

static void test_republished_activity_says_so(void)
{
        ActivityPayload p = { .c = common(), .activity = "LAYING", .confidence = 0.5, .republished = true };
        json_t *o = parse(mqtt_payload_activity(&p));
        CU_ASSERT_STRING_EQUAL(str(o, "reason"), "republish");
        json_decref(o);
}

static void test_fog_start_payload(void)
{
        FogPayload p = { .c = common(), .start = true, .episode = 3, .confidence = 0.8 };
        json_t *o = parse(mqtt_payload_fog(&p));
        CU_ASSERT_STRING_EQUAL(str(o, "event_type"), "start");
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "episode")), 3);
        CU_ASSERT_PTR_NULL(json_object_get(o, "duration_s"));
        CU_ASSERT_PTR_NULL(json_object_get(o, "short"));
        json_decref(o);
}

static void test_fog_end_payload(void)
{
        FogPayload p = { .c = common(), .start = false, .episode = 3, .confidence = 0.7,
                         .duration_ns = INT64_C(4250000000), .is_short = false };
        json_t *o = parse(mqtt_payload_fog(&p));
        CU_ASSERT_STRING_EQUAL(str(o, "event_type"), "end");
        CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(o, "duration_s")), 4.25, 1e-9);
        CU_ASSERT_TRUE(json_is_false(json_object_get(o, "short")));
        json_decref(o);
}

static void test_non_finite_confidence_is_null(void)
{
        ActivityPayload p = { .c = common(), .activity = "WALKING", .confidence = NAN };
        json_t *o = parse(mqtt_payload_activity(&p));
        CU_ASSERT_TRUE(json_is_null(json_object_get(o, "confidence")));
        json_decref(o);
}

static void test_window_payload(void)
{
        const float prob[3] = { 0.7f, 0.2f, 0.1f };
        WindowPayload p = { .c = common(), .index = 41, .classes = 3, .class_name = classes, .prob = prob, .top = 0 };
        json_t *o = parse(mqtt_payload_window(&p));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "window")), 41);
        CU_ASSERT_STRING_EQUAL(str(o, "top"), "WALKING");
        json_t *pm = json_object_get(o, "p");
        CU_ASSERT_EQUAL(json_object_size(pm), 3);
        CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(pm, "SITTING")), 0.2, 1e-6);
        json_decref(o);
}

/* The window writer against the jansson tree it replaces, byte for byte. */
static void assert_window_same(const WindowPayload *p)
{
        char *fast = mqtt_payload_window(p), *ref = mqtt_payload_window_json(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fast);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
        CU_ASSERT_STRING_EQUAL(fast, ref);
        free(fast);
        free(ref);
}

static void test_window_payload_bytes_as_jansson(void)
{
        static const char two[2][GW_NAME_MAX] = { "no_freeze", "freeze" };
        float prob[3];
        WindowPayload p = { .c = common(), .index = 0, .classes = 2, .class_name = two, .prob = prob, .top = 1 };

        /* every probability the rounding to 1e-4 can give, and between */
        for (int k = 0; k <= 100000; k++) {
                prob[0] = (float) k / 100000.0f;
                prob[1] = 1.0f - prob[0];
                p.index = (uint64_t) k * 7919;
                assert_window_same(&p);
        }
        /* stream seconds of every magnitude, negative, huge, not finite */
        const double stream[] = { 0, -0.0, 0.0004, 0.0005, 1, 12.3456, 999999.4, 999999.6, 123456789.123,
                                  -42.5, 1e-7, 1e21, -1e300, 1.7e308, NAN, INFINITY };
        for (size_t i = 0; i < sizeof stream / sizeof stream[0]; i++) {
                p.c.stream_s = stream[i];
                p.c.wall_ns = INT64_C(1700000000123456789) - (int64_t) i * INT64_C(86400000000000);
                assert_window_same(&p);
        }
        /* no model, no version, no valid top, three classes, odd values */
        prob[0] = -0.0f;
        prob[1] = NAN;
        prob[2] = 1.5f;
        p.c.model_id = NULL;
        p.classes = 3;
        p.class_name = classes;
        p.top = 7;
        assert_window_same(&p);
        p.c.model_id = "m";
        p.c.model_version = NULL;
        p.top = -1;
        assert_window_same(&p);
}

static void test_window_payload_escapes_as_jansson(void)
{
        static const char odd[3][GW_NAME_MAX] = { "say \"hi\"", "back\\slash\ttab", "caf\xc3\xa9" };
        static const char twice[2][GW_NAME_MAX] = { "same", "same" };
        const float prob[3] = { 0.25f, 0.5f, 0.25f };
        WindowPayload p = { .c = common(), .index = 3, .classes = 3, .class_name = odd, .prob = prob, .top = 0 };

        assert_window_same(&p);
        p.c.model_id = "model \x01 \"x\"";
        assert_window_same(&p);
        p.classes = 2;
        p.class_name = twice;
        assert_window_same(&p);
}

static const StatsDevice stats_devices[] = {
        { .id = "w0001", .source = "replay:/var/lib/gaitway/w1.csv", .connected = true, .sample_rate = 50,
          .samples = 123456789, .windows = 42, .activity = "WALKING", .freeze_episodes = 3, .link = "streaming",
          .has_frontend = true, .gaps = 2, .dropped_samples = 7 },
        { .id = "ankle.left", .source = "ble:C0:FF:EE:00:00:01/gaitway", .sample_rate = 64.001, .link = "waiting",
          .source_rate = 1e-7, .packets = UINT64_MAX, .packets_lost = 5, .reconnects = 1, .freeze_active = true },
        /* what jansson escapes or refuses: quotes, control characters, bytes
         * that are not UTF-8, a rate that is not finite */
        { .id = "odd", .source = "replay:/tmp/\"a\"\\b\x01\x1f\t\n/caf\xc3\xa9.csv", .sample_rate = NAN,
          .activity = "bad \xff name", .link = "x", .source_rate = INFINITY, .has_frontend = true },
        { .id = "bad-\xc0\xaf-id", .source = "s", .link = "l" },
        { .id = "surrogate", .source = "\xed\xa0\x80", .link = "\xf4\x90\x80\x80", .activity = "\xe2\x82\xac" },
};

static void stats_device(void *userdata, size_t i, StatsDevice *ret)
{
        *ret = stats_devices[i];
}

static void test_stats_payload_bytes_as_jansson(void)
{
        StatsPayload p = {
                .gateway = "gw1",
                .version = "0.9.1",
                .wall_ns = INT64_C(1700000000123456789),
                .uptime_s = 86400,
                .events = 17,
                .mqtt = { .published = 1000, .delivered = 990, .queued = 10, .dropped = 1, .dropped_qos0 = 2,
                          .connects = 3, .connect_failures = 4 },
                .lag_events = 31000,
                .lag_p50_ms = 0.5,
                .lag_p99_ms = 12.345678,
                .lag_max_ms = 1234567.0,
                .device = stats_device,
        };
        for (size_t n = 0; n <= sizeof stats_devices / sizeof stats_devices[0]; n++) {
                p.n_devices = n;
                char *fast = mqtt_payload_stats(&p), *ref = mqtt_payload_stats_json(&p);
                CU_ASSERT_PTR_NOT_NULL_FATAL(fast);
                CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
                CU_ASSERT_STRING_EQUAL(fast, ref);
                free(fast);
                free(ref);
        }
}

static void test_discovery_payload(void)
{
        char topic[MQTT_TOPIC_MAX];
        DiscoveryPayload p = {
                .ha_prefix = "homeassistant", .base = "gaitway", .gateway = "gw1", .device = "left-ankle",
                .source = "replay", .version = "0.1.0", .activity = true, .classes = 3,
                .class_name = classes, .fog = true,
        };
        json_t *o = parse(mqtt_payload_discovery(&p, topic, sizeof topic));
        CU_ASSERT_STRING_EQUAL(topic, "homeassistant/device/gaitway_gw1_left-ankle/config");
        json_t *dev = json_object_get(o, "dev");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(dev, "ids"), 0)),
                               "gaitway_gw1_left-ankle");
        json_t *cmps = json_object_get(o, "cmps");
        json_t *act = json_object_get(cmps, "gaitway_gw1_left-ankle_activity");
        CU_ASSERT_PTR_NOT_NULL_FATAL(act);
        CU_ASSERT_STRING_EQUAL(str(act, "p"), "sensor");
        CU_ASSERT_STRING_EQUAL(str(act, "device_class"), "enum");
        CU_ASSERT_STRING_EQUAL(str(act, "state_topic"), "gaitway/gw1/left-ankle/activity");
        CU_ASSERT_EQUAL(json_array_size(json_object_get(act, "options")), 3);
        json_t *fog = json_object_get(cmps, "gaitway_gw1_left-ankle_fog");
        CU_ASSERT_PTR_NOT_NULL_FATAL(fog);
        CU_ASSERT_STRING_EQUAL(str(fog, "p"), "event");
        CU_ASSERT_STRING_EQUAL(str(fog, "state_topic"), "gaitway/gw1/left-ankle/fog");
        json_t *avail = json_array_get(json_object_get(o, "availability"), 0);
        CU_ASSERT_STRING_EQUAL(str(avail, "topic"), "gaitway/gw1/status");
        CU_ASSERT_STRING_EQUAL(str(avail, "payload_not_available"), "offline");
        json_decref(o);
}

static void test_discovery_without_fog(void)
{
        char topic[MQTT_TOPIC_MAX];
        DiscoveryPayload p = {
                .ha_prefix = "ha", .base = "gaitway", .gateway = "gw.1", .device = "d",
                .version = "0.1.0", .activity = true, .classes = 3, .class_name = classes,
        };
        json_t *o = parse(mqtt_payload_discovery(&p, topic, sizeof topic));
        /* Home Assistant node ids take no dots. */
        CU_ASSERT_STRING_EQUAL(topic, "ha/device/gaitway_gw_1_d/config");
        CU_ASSERT_EQUAL(json_object_size(json_object_get(o, "cmps")), 2);
        CU_ASSERT_PTR_NULL(json_object_get(json_object_get(o, "cmps"), "gaitway_gw_1_d_fog"));
        json_decref(o);
}

/* ---- queue --------------------------------------------------------------- */

static void test_queue_fifo(void)
{
        MsgQueue q;
        msg_queue_init(&q, 10);
        CU_ASSERT_EQUAL(msg_queue_push(&q, "a", "1", 1, 1, false), 0);
        CU_ASSERT_EQUAL(msg_queue_push(&q, "b", "22", 2, 0, true), 0);
        CU_ASSERT_EQUAL(q.n, 2);
        Msg *m = msg_queue_pop(&q);
        CU_ASSERT_STRING_EQUAL(m->topic, "a");
        CU_ASSERT_EQUAL(m->len, 1);
        CU_ASSERT_EQUAL(m->qos, 1);
        free(m);
        m = msg_queue_pop(&q);
        CU_ASSERT_STRING_EQUAL(m->topic, "b");
        CU_ASSERT_EQUAL(memcmp(m->payload, "22", 2), 0);
        CU_ASSERT_TRUE(m->retain);
        free(m);
        CU_ASSERT_PTR_NULL(msg_queue_pop(&q));
}

static void test_queue_full_drops_oldest(void)
{
        MsgQueue q;
        char t[8];
        msg_queue_init(&q, 3);
        for (int i = 0; i < 5; i++) {
                snprintf(t, sizeof t, "t%d", i);
                CU_ASSERT_EQUAL(msg_queue_push(&q, t, "x", 1, 1, false), i < 3 ? 0 : MSG_DROPPED);
        }
        CU_ASSERT_EQUAL(q.n, 3);
        CU_ASSERT_EQUAL(q.dropped, 2);
        Msg *m = msg_queue_pop(&q);
        CU_ASSERT_STRING_EQUAL(m->topic, "t2");
        free(m);
        CU_ASSERT_EQUAL(msg_queue_clear(&q), 2);
        CU_ASSERT_EQUAL(q.n, 0);
}

static void test_queue_full_drops_qos0_first(void)
{
        MsgQueue q;
        msg_queue_init(&q, 3);
        msg_queue_push(&q, "event1", "x", 1, 1, false);
        msg_queue_push(&q, "prob1", "x", 1, 0, false);
        msg_queue_push(&q, "event2", "x", 1, 1, false);
        CU_ASSERT_EQUAL(msg_queue_push(&q, "event3", "x", 1, 1, false), MSG_DROPPED_QOS0);
        CU_ASSERT_EQUAL(q.dropped, 0);
        CU_ASSERT_EQUAL(q.dropped_qos0, 1);
        CU_ASSERT_FALSE(msg_queue_has_topic(&q, "prob1"));
        /* Only events queued: a new QoS 0 message is refused, not an event dropped. */
        CU_ASSERT_EQUAL(msg_queue_push(&q, "prob2", "x", 1, 0, false), MSG_DROPPED_QOS0);
        CU_ASSERT_EQUAL(q.n, 3);
        CU_ASSERT_TRUE(msg_queue_has_topic(&q, "event1"));
        Msg *m = msg_queue_pop(&q);
        CU_ASSERT_STRING_EQUAL(m->topic, "event1");
        free(m);
        /* The tail stays right after dropping a message in the middle or end. */
        msg_queue_push(&q, "prob3", "x", 1, 0, false);
        msg_queue_push(&q, "event4", "x", 1, 1, false);
        msg_queue_push(&q, "event5", "x", 1, 1, false);
        CU_ASSERT_EQUAL(q.n, 3);
        const char *want[] = { "event3", "event4", "event5" };
        for (int i = 0; i < 3; i++) {
                m = msg_queue_pop(&q);
                CU_ASSERT_PTR_NOT_NULL_FATAL(m);
                CU_ASSERT_STRING_EQUAL(m->topic, want[i]);
                free(m);
        }
        CU_ASSERT_PTR_NULL(q.head);
        CU_ASSERT_PTR_NULL(q.tail);
}

static void test_queue_has_topic(void)
{
        MsgQueue q;
        msg_queue_init(&q, 4);
        msg_queue_push(&q, "gaitway/gw/d/activity", "{}", 2, 1, true);
        CU_ASSERT_TRUE(msg_queue_has_topic(&q, "gaitway/gw/d/activity"));
        CU_ASSERT_FALSE(msg_queue_has_topic(&q, "gaitway/gw/d/fog"));
        msg_queue_clear(&q);
}

static void test_queue_empty_payload(void)
{
        MsgQueue q;
        msg_queue_init(&q, 4);
        CU_ASSERT_EQUAL(msg_queue_push(&q, "x", NULL, 0, 1, true), 0);
        Msg *m = msg_queue_peek(&q);
        CU_ASSERT_EQUAL(m->len, 0);
        msg_queue_clear(&q);
}

/* ---- backoff ------------------------------------------------------------- */

static void test_backoff_first_delay(void)
{
        Backoff b;
        backoff_init(&b, 1, 60, 42);
        double d = backoff_next(&b);
        CU_ASSERT_TRUE(d >= 0.5 && d <= 1.0);
}

static void test_backoff_doubles_to_cap(void)
{
        Backoff b;
        backoff_init(&b, 1, 60, 7);
        double base = 1;
        for (int i = 0; i < 12; i++) {
                double d = backoff_next(&b);
                CU_ASSERT_TRUE(d >= base / 2 - 1e-9 && d <= base + 1e-9);
                base = base * 2 > 60 ? 60 : base * 2;
        }
        for (int i = 0; i < 100; i++)
                CU_ASSERT_TRUE(backoff_next(&b) <= 60);
}

static void test_backoff_reset(void)
{
        Backoff b;
        backoff_init(&b, 2, 100, 1);
        for (int i = 0; i < 10; i++)
                backoff_next(&b);
        backoff_reset(&b);
        double d = backoff_next(&b);
        CU_ASSERT_TRUE(d >= 1 && d <= 2);
}

static void test_backoff_jitter(void)
{
        Backoff a, b;
        backoff_init(&a, 1, 60, 1);
        backoff_init(&b, 1, 60, 2);
        int differ = 0;
        for (int i = 0; i < 8; i++)
                differ += backoff_next(&a) != backoff_next(&b);
        CU_ASSERT_TRUE(differ >= 7);
}

/* ---- event clock --------------------------------------------------------- */

static void test_clock_unix_timestamps_kept(void)
{
        StreamClock c;
        stream_clock_init(&c);
        stream_clock_see(&c, INT64_C(1700000000000000000), INT64_C(1800000000000000000));
        CU_ASSERT_EQUAL(stream_clock_wall(&c, INT64_C(1700000001000000000)), INT64_C(1700000001000000000));
        CU_ASSERT_DOUBLE_EQUAL(stream_clock_seconds(&c, INT64_C(1700000001000000000)), 1.0, 1e-12);
}

static void test_clock_relative_anchored(void)
{
        StreamClock c;
        stream_clock_init(&c);
        stream_clock_see(&c, 5000000000, INT64_C(1700000000000000000));
        CU_ASSERT_EQUAL(stream_clock_wall(&c, 7000000000), INT64_C(1700000002000000000));
        CU_ASSERT_DOUBLE_EQUAL(stream_clock_seconds(&c, 7000000000), 2.0, 1e-12);
}

static void test_iso8601(void)
{
        char buf[40];
        CU_ASSERT_STRING_EQUAL(format_iso8601(0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
        CU_ASSERT_STRING_EQUAL(format_iso8601(INT64_C(1700000000999999999), buf, sizeof buf),
                               "2023-11-14T22:13:20.999Z");
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("topics");
        gw_test_add(s, "a device topic is base/gateway/device/leaf", test_topic_device);
        gw_test_add(s, "a gateway topic is base/gateway/leaf", test_topic_gateway);
        gw_test_add(s, "ids with '/', '+', '#' or nothing are refused", test_topic_refuses_bad_levels);
        gw_test_add(s, "a topic longer than the buffer is refused", test_topic_too_long);

        s = gw_test_suite("payloads");
        gw_test_add(s, "an activity change carries state, previous, confidence, model", test_activity_payload);
        gw_test_add(s, "time, time_ms and stream_s describe the same instant", test_activity_timestamps_agree);
        gw_test_add(s, "the first activity has a null previous state", test_first_activity_has_null_previous);
        gw_test_add(s, "a state re-sent after a reconnect says republish", test_republished_activity_says_so);
        gw_test_add(s, "a FoG start has no duration", test_fog_start_payload);
        gw_test_add(s, "a FoG end has its duration and short flag", test_fog_end_payload);
        gw_test_add(s, "a non-finite number is written as null", test_non_finite_confidence_is_null);
        gw_test_add(s, "a window carries every class probability and the top class", test_window_payload);
        gw_test_add(s, "a window payload has jansson's bytes for every probability and time",
                    test_window_payload_bytes_as_jansson);
        gw_test_add(s, "a window payload with strings to escape or a repeated class is jansson's",
                    test_window_payload_escapes_as_jansson);
        gw_test_add(s, "the stats have jansson's bytes, strings escaped or left out as jansson does",
                    test_stats_payload_bytes_as_jansson);
        gw_test_add(s, "discovery describes the device, activity enum, FoG event, availability",
                    test_discovery_payload);
        gw_test_add(s, "discovery of an activity-only device has no FoG entity", test_discovery_without_fog);

        s = gw_test_suite("queue");
        gw_test_add(s, "messages leave in the order they came", test_queue_fifo);
        gw_test_add(s, "a full queue drops and counts the oldest", test_queue_full_drops_oldest);
        gw_test_add(s, "a full queue drops QoS 0 before any event", test_queue_full_drops_qos0_first);
        gw_test_add(s, "the queue tells whether a topic is waiting", test_queue_has_topic);
        gw_test_add(s, "an empty payload (a retained delete) can be queued", test_queue_empty_payload);

        s = gw_test_suite("backoff");
        gw_test_add(s, "the first delay lies in [min/2, min]", test_backoff_first_delay);
        gw_test_add(s, "delays double up to the cap, with jitter in [b/2, b]", test_backoff_doubles_to_cap);
        gw_test_add(s, "a reset starts again from min", test_backoff_reset);
        gw_test_add(s, "two gateways draw different delays", test_backoff_jitter);

        s = gw_test_suite("clock");
        gw_test_add(s, "Unix timestamps from a source are kept", test_clock_unix_timestamps_kept);
        gw_test_add(s, "other clocks are anchored at the first sample", test_clock_relative_anchored);
        gw_test_add(s, "ISO 8601 in UTC with milliseconds", test_iso8601);
}
