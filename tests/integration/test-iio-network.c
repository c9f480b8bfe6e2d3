/* SPDX-License-Identifier: MIT */
/* The IIO source against libiio's network backend (ip:127.0.0.1:PORT) and
 * the test responder of the iiod protocol: no privilege needed, and the
 * place where stalls and disappearances are injected. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw-test.h"
#include "log.h"
#include "iio/iio-run.h"
#include "iio/iiod-responder.h"

static char err[GW_ERR_MAX];
static size_t want;

static bool have_want(IioRun *r)
{
        return r->count >= want;
}

static bool is_up(IioRun *r)
{
        return r->connected;
}

static bool is_down(IioRun *r)
{
        return !r->connected;
}

/* Opens the source on a fresh responder. */
static IiodResponder *serve(IioRun *r, const IiodResponderOptions *o, double rate, const char *extra)
{
        IiodResponder *resp = NULL;
        char uri[64];
        const char *kv[6] = { uri, "device=net", NULL, NULL, NULL, NULL };
        int n = 2;

        memset(r, 0, sizeof *r);
        CU_ASSERT_EQUAL_FATAL(iiod_responder_start(o, 0, &resp), 0);
        snprintf(uri, sizeof uri, "uri=ip:127.0.0.1:%d", iiod_responder_port(resp));
        kv[n++] = "stall_timeout=0.5";
        kv[n++] = "reopen_min=0.05";
        kv[n++] = extra;
        if (iio_run_open(r, rate, kv, err, sizeof err) < 0) {
                fprintf(stderr, "open: %s\n", err);
                CU_FAIL_FATAL("cannot open the source");
        }
        return resp;
}

static const IiodResponderOptions full = { .timestamp = true, .gyro = true, .rate = "100",
                                           .available = "25 50 100 200" };

/* Index of the responder sample a delivered acc_x/gyro_x pair came from:
 * acc_x raw = i % 2000 - 1000, gyro_x raw = (7 i) % 3000 - 1500. */
static long sample_index(const float *v)
{
        long ax = lround(v[0] / atof(IIOD_RESP_ACCEL_SCALE)) + 1000;
        long gx = lround(v[3] / atof(IIOD_RESP_GYRO_SCALE)) + 1500;
        for (long i = ax; i < 6000; i += 2000)
                if ((i * 7) % 3000 == gx)
                        return i;
        return -1;
}

static void test_streams_scaled_channels_over_the_network(void)
{
        static IioRun r;
        IiodResponder *resp = serve(&r, &full, 100, NULL);
        long i0;

        CU_ASSERT_EQUAL(r.desc->n, 6);
        CU_ASSERT_STRING_EQUAL(r.desc->ch[4].name, "gyro_y");
        want = 50;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        i0 = sample_index(r.v);
        CU_ASSERT_FATAL(i0 >= 0);
        for (size_t k = 0; k < 50; k++) {
                uint64_t i = (uint64_t) i0 + k;
                for (int c = 0; c < 6; c++) {
                        double scale = atof(c < 3 ? IIOD_RESP_ACCEL_SCALE : IIOD_RESP_GYRO_SCALE);
                        CU_ASSERT_DOUBLE_EQUAL(r.v[k * 6 + c], iiod_responder_raw(i, c) * scale, 1e-5);
                }
        }
        CU_ASSERT(r.connected);
        iio_run_close(&r);
        iiod_responder_stop(resp);
}

static void test_hardware_timestamps_travel_over_the_network(void)
{
        static IioRun r;
        IiodResponder *resp = serve(&r, &full, 100, NULL);

        want = 60;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        for (size_t k = 1; k < 60; k++)
                CU_ASSERT(llabs(r.t[k] - r.t[k - 1] - 10000000) <= 1);
        iio_run_close(&r);
        iiod_responder_stop(resp);
}

static void test_without_timestamps_uses_arrival_times(void)
{
        static IioRun r;
        IiodResponderOptions o = full;
        IiodResponder *resp;

        o.timestamp = false;
        resp = serve(&r, &o, 100, NULL);
        want = 100;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        for (size_t k = 1; k < r.count; k++)
                CU_ASSERT(r.t[k] > r.t[k - 1]);
        double mean = (double) (r.t[r.count - 1] - r.t[0]) / (double) (r.count - 1);
        CU_ASSERT(fabs(mean - 1e7) < 1.5e6);
        iio_run_close(&r);
        iiod_responder_stop(resp);
}

static void test_sets_the_nearest_available_rate_over_the_network(void)
{
        static IioRun r;
        IiodResponder *resp = serve(&r, &full, 180, NULL);

        CU_ASSERT_DOUBLE_EQUAL(r.desc->rate_hz, 200, 1e-9);
        want = 40;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        for (size_t k = 1; k < 40; k++)
                CU_ASSERT(llabs(r.t[k] - r.t[k - 1] - 5000000) <= 1);
        iio_run_close(&r);
        iiod_responder_stop(resp);
}

static void test_a_gyroscope_less_device_gives_a_partial_set(void)
{
        static IioRun r;
        IiodResponderOptions o = full;
        IiodResponder *resp;

        o.gyro = false;
        resp = serve(&r, &o, 100, NULL);
        CU_ASSERT_EQUAL(r.desc->n, 3);
        want = 20;
        CU_ASSERT(iio_run_until(&r, 5, have_want));
        iio_run_close(&r);
        iiod_responder_stop(resp);
}

static void test_a_stalled_remote_sensor_is_reopened_and_resumes(void)
{
        static IioRun r;
        IiodResponder *resp = serve(&r, &full, 100, "buffer_samples=10");
        size_t before;

        want = 30;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        iiod_responder_stall(resp, true);
        CU_ASSERT_FATAL(iio_run_until(&r, 5, is_down));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.last_reason, "stalled"));
        before = r.count;
        iiod_responder_stall(resp, false);
        CU_ASSERT_FATAL(iio_run_until(&r, 5, is_up));
        want = before + 30;
        CU_ASSERT(iio_run_until(&r, 5, have_want));
        CU_ASSERT(iiod_responder_opens(resp) >= 2);
        for (size_t k = 1; k < r.count; k++)
                CU_ASSERT(r.t[k] > r.t[k - 1]);
        iio_run_close(&r);
        iiod_responder_stop(resp);
}

static void test_a_server_that_vanishes_and_comes_back_resumes(void)
{
        static IioRun r;
        IiodResponder *resp = serve(&r, &full, 100, "reopen_max=0.3");
        size_t before;

        want = 30;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        iiod_responder_vanish(resp, true);
        CU_ASSERT_FATAL(iio_run_until(&r, 5, is_down));
        CU_ASSERT_FALSE(iio_run_until(&r, 1.0, is_up));
        before = r.count;
        iiod_responder_vanish(resp, false);
        CU_ASSERT_FATAL(iio_run_until(&r, 5, is_up));
        want = before + 30;
        CU_ASSERT(iio_run_until(&r, 5, have_want));
        CU_ASSERT_EQUAL(r.ups, 2);
        CU_ASSERT_EQUAL(r.downs, 1);
        iio_run_close(&r);
        iiod_responder_stop(resp);
}

static void test_mount_matrix_yes_no_is_the_source_key_nine_numbers_the_common_one(void)
{
        const SourceKind *k = source_kind_find("iio");
        void *c = k->conf_new();

        CU_ASSERT_EQUAL(k->conf_key(c, "mount_matrix", "no", NULL, err, sizeof err), 1);
        CU_ASSERT_EQUAL(k->conf_key(c, "mount_matrix", "yes", NULL, err, sizeof err), 1);
        CU_ASSERT_EQUAL(k->conf_key(c, "mount_matrix", "0 1 0 1 0 0 0 0 -1", NULL, err, sizeof err), 0);
        CU_ASSERT_EQUAL(k->conf_key(c, "uri", "usb:1.2.3", NULL, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "ip:host"));
        CU_ASSERT_EQUAL(k->conf_key(c, "accel_channels", "accel_x accel_x", NULL, err, sizeof err), -EINVAL);
        CU_ASSERT_EQUAL(k->conf_key(c, "record_max_size", "12", NULL, err, sizeof err), -EINVAL);
        CU_ASSERT_EQUAL(k->conf_key(c, "record_max_size", "64M", NULL, err, sizeof err), 1);
        CU_ASSERT_EQUAL(k->conf_key(c, "nonsense", "1", NULL, err, sizeof err), 0);
        k->conf_free(c);
}

void gw_test_register(void)
{
        if (getenv("GW_TEST_DEBUG"))
                log_set_max_level(LOG_DEBUG);
        CU_pSuite s = gw_test_suite("IIO source, network backend");
        gw_test_add(s, "streams scaled channels over the network", test_streams_scaled_channels_over_the_network);
        gw_test_add(s, "hardware timestamps travel over the network", test_hardware_timestamps_travel_over_the_network);
        gw_test_add(s, "without timestamps uses arrival times", test_without_timestamps_uses_arrival_times);
        gw_test_add(s, "sets the nearest available rate over the network", test_sets_the_nearest_available_rate_over_the_network);
        gw_test_add(s, "a gyroscope-less device gives a partial set", test_a_gyroscope_less_device_gives_a_partial_set);
        gw_test_add(s, "a stalled remote sensor is reopened and resumes", test_a_stalled_remote_sensor_is_reopened_and_resumes);
        gw_test_add(s, "a server that vanishes and comes back resumes", test_a_server_that_vanishes_and_comes_back_resumes);
        gw_test_add(s, "mount_matrix yes/no is the source's key, nine numbers the common one",
                    test_mount_matrix_yes_no_is_the_source_key_nine_numbers_the_common_one);
}
