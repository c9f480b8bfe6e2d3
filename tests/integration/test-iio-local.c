/* SPDX-License-Identifier: MIT */
/* The IIO source against libiio's local backend: four fake devices (sysfs
 * tree + FIFOs) in a private mount namespace.  Needs root; exits 77 (skip)
 * when the namespace cannot be made. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw-test.h"
#include "iio/fake-iio.h"
#include "iio/iio-run.h"

#define ACC_SCALE 0.000598
#define GYRO_SCALE 0.000133
#define HW_T0 INT64_C(1700000000000000000)      /* realtime-like hardware clock */

static const FakeIioDevice devices[] = {
        { .name = "gw-imu", .label = "wrist", .accel = true, .gyro = true, .timestamp = true,
          .accel_scale = "0.000598", .accel_offset = "3", .gyro_scale = "0.000133",
          .sampling_frequency = "50", .sampling_frequency_available = "12.5 25 50 100 200",
          .mount_matrix = "0, 1, 0; 1, 0, 0; 0, 0, -1" },
        { .name = "gw-plain", .accel = true, .gyro = true, .accel_scale = "0.01", .gyro_scale = "0.001",
          .sampling_frequency = "100" },
        { .name = "gw-accel", .accel = true, .axes = "xy", .timestamp = true, .accel_scale = "0.5",
          .sampling_frequency = "100" },
        { .name = "gw-gyro", .gyro = true, .timestamp = true, .gyro_scale = "0.25",
          .sampling_frequency = "100" },
};

static int fifo[4] = { -1, -1, -1, -1 };
static char workdir[] = "/tmp/gw-iio-local-XXXXXX";

/* ---- feeding ------------------------------------------------------------ */

typedef struct {
        int dev;
        double rate;
        double t0;              /* wall start of feeding */
        uint64_t written;
        uint64_t limit;         /* stop after this many (stall) */
        int64_t hw_t0;
        int64_t hw_period;
        bool paused;
        FakeIioLayout layout;
        bool have_layout;
} Feed;

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int16_t raw_value(uint64_t i, int c)
{
        switch (c) {
        case 0: return (int16_t) ((int) (i % 200) - 100);
        case 1: return (int16_t) (1000 + (int) (i % 7));
        case 2: return -2000;
        case 3: return (int16_t) (i % 300);
        case 4: return -50;
        default: return 25;
        }
}

static void feed_tick(void *userdata)
{
        Feed *f = userdata;
        uint8_t buf[64 * 32];
        uint64_t due;
        size_t n = 0;

        if (f->paused)
                return;
        if (!f->have_layout) {
                if (fake_iio_layout(f->dev, &f->layout) < 0)
                        return;         /* the source has not enabled its channels yet */
                f->have_layout = true;
                f->t0 = now_s();
        }
        due = (uint64_t) ((now_s() - f->t0) * f->rate);
        if (f->limit && due > f->limit)
                due = f->limit;
        while (f->written < due && n + f->layout.size <= sizeof buf) {
                uint64_t i = f->written++;
                int16_t a[3], g[3];
                for (int c = 0; c < 3; c++) {
                        a[c] = raw_value(i, c);
                        g[c] = raw_value(i, 3 + c);
                }
                fake_iio_pack(&f->layout, a, g, f->hw_t0 + (int64_t) i * f->hw_period, buf + n);
                n += f->layout.size;
        }
        if (n && write(fifo[f->dev], buf, n) != (ssize_t) n)
                fprintf(stderr, "short write to the FIFO\n");
}

static void drain(int dev)
{
        uint8_t b[4096];
        while (read(fifo[dev], b, sizeof b) > 0)
                ;
}

static void feed_init(Feed *f, IioRun *r, int dev, double rate)
{
        memset(f, 0, sizeof *f);
        f->dev = dev;
        f->rate = rate;
        f->hw_t0 = HW_T0;
        f->hw_period = (int64_t) llround(1e9 / rate);
        r->tick = feed_tick;
        r->userdata = f;
        drain(dev);
}

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

static char err[GW_ERR_MAX];

/* ---- tests -------------------------------------------------------------- */

static void test_maps_channels_by_id_and_applies_offset_and_scale(void)
{
        static IioRun r;
        Feed f;
        const char *kv[] = { "device=gw-imu", "mount_matrix=no", NULL };

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 50, kv, err, sizeof err), 0);
        CU_ASSERT_EQUAL(r.desc->n, 6);
        CU_ASSERT_STRING_EQUAL(r.desc->ch[0].name, "acc_x");
        CU_ASSERT_STRING_EQUAL(r.desc->ch[2].name, "acc_z");
        CU_ASSERT_STRING_EQUAL(r.desc->ch[0].unit, "m/s^2");
        CU_ASSERT_STRING_EQUAL(r.desc->ch[3].name, "gyro_x");
        CU_ASSERT_STRING_EQUAL(r.desc->ch[5].unit, "rad/s");
        feed_init(&f, &r, 0, 50);
        want = 40;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        for (size_t i = 0; i < 40; i++) {
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 0], (raw_value(i, 0) + 3) * ACC_SCALE, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 1], (raw_value(i, 1) + 3) * ACC_SCALE, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 2], (raw_value(i, 2) + 3) * ACC_SCALE, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 3], raw_value(i, 3) * GYRO_SCALE, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 5], raw_value(i, 5) * GYRO_SCALE, 1e-6);
        }
        CU_ASSERT_EQUAL(r.ups, 1);
        iio_run_close(&r);
}

static void test_hardware_timestamps_keep_the_device_spacing(void)
{
        static IioRun r;
        Feed f;
        const char *kv[] = { "device=wrist", "timestamps=hardware", NULL };
        int64_t now;
        struct timespec ts;

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 50, kv, err, sizeof err), 0);
        feed_init(&f, &r, 0, 50);
        want = 60;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        for (size_t i = 1; i < 60; i++)
                CU_ASSERT_EQUAL(r.t[i] - r.t[i - 1], 20000000);
        /* mapped onto the monotonic clock: the last sample is not in the future */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
        CU_ASSERT(r.t[r.count - 1] <= now);
        CU_ASSERT(r.t[r.count - 1] > now - 2000000000);
        iio_run_close(&r);
}

static void test_without_a_timestamp_channel_uses_arrival_times(void)
{
        static IioRun r;
        Feed f;
        const char *kv[] = { "device=gw-plain", NULL };
        double mean;

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 100, kv, err, sizeof err), 0);
        feed_init(&f, &r, 1, 100);
        want = 150;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        for (size_t i = 1; i < r.count; i++)
                CU_ASSERT(r.t[i] > r.t[i - 1]);
        mean = (double) (r.t[r.count - 1] - r.t[50]) / (double) (r.count - 51);
        CU_ASSERT(fabs(mean - 1e7) < 1e6);      /* 10 ms +- 10 % */
        CU_ASSERT_DOUBLE_EQUAL(r.v[0], raw_value(0, 0) * 0.01, 1e-6);
        iio_run_close(&r);
}

static void test_sets_the_nearest_available_rate_and_reads_it_back(void)
{
        static IioRun r;
        const char *kv[] = { "device=gw-imu", NULL };
        char v[32];

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 90, kv, err, sizeof err), 0);
        CU_ASSERT_DOUBLE_EQUAL(r.desc->rate_hz, 100, 1e-9);
        CU_ASSERT_EQUAL(fake_iio_read_attr(0, "sampling_frequency", v, sizeof v), 0);
        CU_ASSERT_DOUBLE_EQUAL(atof(v), 100, 1e-9);
        iio_run_close(&r);

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 50, kv, err, sizeof err), 0);
        CU_ASSERT_DOUBLE_EQUAL(r.desc->rate_hz, 50, 1e-9);
        iio_run_close(&r);
}

static void test_applies_the_device_mount_matrix(void)
{
        static IioRun r;
        Feed f;
        const char *kv[] = { "device=gw-imu", NULL };

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 50, kv, err, sizeof err), 0);
        feed_init(&f, &r, 0, 50);
        want = 20;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        for (size_t i = 0; i < 20; i++) {
                /* 0 1 0; 1 0 0; 0 0 -1: x' = y, y' = x, z' = -z */
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 0], (raw_value(i, 1) + 3) * ACC_SCALE, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 1], (raw_value(i, 0) + 3) * ACC_SCALE, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 2], -(raw_value(i, 2) + 3) * ACC_SCALE, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 3], raw_value(i, 4) * GYRO_SCALE, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 4], raw_value(i, 3) * GYRO_SCALE, 1e-6);
        }
        iio_run_close(&r);
}

static void test_delivers_a_partial_channel_set(void)
{
        static IioRun r;
        Feed f;
        const char *kv[] = { "device=gw-accel", NULL };

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 100, kv, err, sizeof err), 0);
        CU_ASSERT_EQUAL_FATAL(r.desc->n, 2);
        CU_ASSERT_STRING_EQUAL(r.desc->ch[0].name, "acc_x");
        CU_ASSERT_STRING_EQUAL(r.desc->ch[1].name, "acc_y");
        feed_init(&f, &r, 2, 100);
        want = 30;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        for (size_t i = 0; i < 30; i++) {
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 0], raw_value(i, 0) * 0.5, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(r.v[i * 6 + 1], raw_value(i, 1) * 0.5, 1e-6);
        }
        iio_run_close(&r);
}

static void test_refuses_a_configured_channel_the_device_lacks(void)
{
        static IioRun r;
        const char *kv[] = { "device=gw-accel", "accel_channels=accel_x accel_z", "gyro_channels=none", NULL };

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL(iio_run_open(&r, 100, kv, err, sizeof err), -ENOENT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "accel_z"));
        iio_run_close(&r);
}

static void test_refuses_an_unknown_device_naming_it(void)
{
        static IioRun r;
        const char *kv[] = { "device=gw-nothing", NULL };

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL(iio_run_open(&r, 100, kv, err, sizeof err), -ENODEV);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "gw-nothing"));
        iio_run_close(&r);
}

static Feed *gyro_feed;

static void two_feeds(void *userdata)
{
        feed_tick(userdata);
        feed_tick(gyro_feed);
}

static void test_merges_accelerometer_and_gyroscope_of_two_devices(void)
{
        static IioRun r;
        Feed fa, fg;
        const char *kv[] = { "device=gw-accel", "gyro_device=gw-gyro", NULL };

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 100, kv, err, sizeof err), 0);
        CU_ASSERT_EQUAL_FATAL(r.desc->n, 5);
        CU_ASSERT_STRING_EQUAL(r.desc->ch[2].name, "gyro_x");
        feed_init(&fg, &r, 3, 100);
        feed_init(&fa, &r, 2, 100);
        gyro_feed = &fg;
        r.tick = two_feeds;
        want = 80;
        CU_ASSERT_FATAL(iio_run_until(&r, 6, have_want));
        for (size_t i = 1; i < r.count; i++)
                CU_ASSERT(r.t[i] > r.t[i - 1]);
        /* Both devices sample at the same hardware instants: sample i's
         * gyroscope is the gyroscope sample taken with it.  i is recovered
         * from acc_x = (i % 200 - 100) / 2 and acc_y = (1000 + i % 7) / 2. */
        unsigned matched = 0;
        for (size_t k = 0; k < r.count; k++) {
                long ix = lround(r.v[k * 6 + 0] / 0.5) + 100, iy = lround(r.v[k * 6 + 1] / 0.5) - 1000;
                long i = -1;
                for (long c = ix; c < 1400; c += 200)
                        if (c % 7 == iy) {
                                i = c;
                                break;
                        }
                if (i >= 0 && fabs(r.v[k * 6 + 2] - raw_value((uint64_t) i, 3) * 0.25) < 1e-6 &&
                    fabs(r.v[k * 6 + 3] - raw_value(0, 4) * 0.25) < 1e-6 &&
                    fabs(r.v[k * 6 + 4] - raw_value(0, 5) * 0.25) < 1e-6)
                        matched++;
        }
        CU_ASSERT_EQUAL(matched, r.count);
        iio_run_close(&r);
}

static void test_a_stalled_sensor_is_reopened_and_resumes(void)
{
        static IioRun r;
        Feed f;
        const char *kv[] = { "device=gw-imu", "stall_timeout=0.3", "reopen_min=0.05", "reopen_max=0.2",
                             "buffer_samples=5", NULL };
        size_t before;

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 50, kv, err, sizeof err), 0);
        feed_init(&f, &r, 0, 50);
        want = 20;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        CU_ASSERT(r.connected);
        f.paused = true;
        CU_ASSERT_FATAL(iio_run_until(&r, 3, is_down));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.last_reason, "stalled"));
        before = r.count;
        f.paused = false;
        f.t0 = now_s() - (double) f.written / f.rate;   /* carry on without a burst */
        CU_ASSERT_FATAL(iio_run_until(&r, 5, is_up));
        want = before + 20;
        CU_ASSERT(iio_run_until(&r, 5, have_want));
        CU_ASSERT_EQUAL(r.ups, 2);
        CU_ASSERT_EQUAL(r.downs, 1);
        for (size_t i = 1; i < r.count; i++)
                CU_ASSERT(r.t[i] > r.t[i - 1]);
        iio_run_close(&r);
}

static void test_a_device_that_vanishes_and_comes_back_resumes(void)
{
        static IioRun r;
        Feed f;
        const char *kv[] = { "device=gw-imu", "stall_timeout=0.3", "reopen_min=0.05", "reopen_max=0.2",
                             "buffer_samples=5", NULL };
        size_t before;

        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(iio_run_open(&r, 50, kv, err, sizeof err), 0);
        feed_init(&f, &r, 0, 50);
        want = 20;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, have_want));
        f.paused = true;
        CU_ASSERT_EQUAL_FATAL(fake_iio_vanish(0), 0);
        CU_ASSERT_FATAL(iio_run_until(&r, 3, is_down));
        /* gone for a while: attempts fail and back off */
        CU_ASSERT_FALSE(iio_run_until(&r, 1.0, is_up));
        CU_ASSERT_EQUAL_FATAL(fake_iio_reappear(0), 0);
        close(fifo[0]);
        fifo[0] = fake_iio_open_fifo(0);
        CU_ASSERT_FATAL(fifo[0] >= 0);
        f.have_layout = false;
        f.paused = false;
        f.written = 0;
        before = r.count;
        CU_ASSERT_FATAL(iio_run_until(&r, 5, is_up));
        want = before + 20;
        CU_ASSERT(iio_run_until(&r, 5, have_want));
        CU_ASSERT_EQUAL(r.ups, 2);
        iio_run_close(&r);
}

void gw_test_register(void)
{
        int r = fake_iio_enter_namespace();

        if (r == 77) {
                printf("gaitway-test: test-iio-local: skipped (needs root for a private mount namespace)\n");
                exit(77);
        }
        if (r < 0 || !mkdtemp(workdir) ||
            fake_iio_setup(workdir, devices, 4, err, sizeof err) < 0) {
                fprintf(stderr, "test-iio-local: cannot set up the fake devices: %s\n", err);
                exit(r == 0 ? 77 : 1);
        }
        atexit(fake_iio_cleanup);
        for (int i = 0; i < 4; i++)
                fifo[i] = fake_iio_open_fifo(i);

        CU_pSuite s = gw_test_suite("IIO source, local backend");
        gw_test_add(s, "maps channels by id and applies offset and scale", test_maps_channels_by_id_and_applies_offset_and_scale);
        gw_test_add(s, "hardware timestamps keep the device spacing", test_hardware_timestamps_keep_the_device_spacing);
        gw_test_add(s, "without a timestamp channel uses arrival times", test_without_a_timestamp_channel_uses_arrival_times);
        gw_test_add(s, "sets the nearest available rate and reads it back", test_sets_the_nearest_available_rate_and_reads_it_back);
        gw_test_add(s, "applies the device mount matrix", test_applies_the_device_mount_matrix);
        gw_test_add(s, "delivers a partial channel set", test_delivers_a_partial_channel_set);
        gw_test_add(s, "refuses a configured channel the device lacks", test_refuses_a_configured_channel_the_device_lacks);
        gw_test_add(s, "refuses an unknown device, naming it", test_refuses_an_unknown_device_naming_it);
        gw_test_add(s, "merges accelerometer and gyroscope of two devices", test_merges_accelerometer_and_gyroscope_of_two_devices);
        gw_test_add(s, "a stalled sensor is reopened and resumes", test_a_stalled_sensor_is_reopened_and_resumes);
        gw_test_add(s, "a device that vanishes and comes back resumes", test_a_device_that_vanishes_and_comes_back_resumes);
}
