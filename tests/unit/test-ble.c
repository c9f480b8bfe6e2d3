/* SPDX-License-Identifier: MIT */
/* BLE notification decoders: the gaitway IMU profile and the Nordic
 * Thingy:52 raw motion characteristic, with crafted packets. */

#include <errno.h>
#include <math.h>
#include <string.h>

#include "gw-test.h"
#include "gaitway/ble.h"

#define MS INT64_C(1000000)
#define T0 (INT64_C(5000) * MS)

static gw_ble_state st;
static gw_ble_sample out[GW_BLE_MAX_SAMPLES];
static char err[GW_ERR_MAX];

static const gw_ble_profile *gaitway(void)
{
        return gw_ble_profile_find("gaitway");
}

/* A 100 Hz packet of n samples, +-8 g, +-2000 deg/s, sample i of packet seq
 * holding ax = seq * 10 + i. */
static int packet(uint8_t *buf, uint16_t seq, uint32_t t_us, size_t n)
{
        gw_ble_gaitway_header h = { .seq = seq, .t_us = t_us, .rate_hz = 100.0,
                                    .accel_fs_g = 8, .gyro_fs_dps = 2000 };
        int16_t raw[GW_BLE_GAITWAY_MAX_N][6];

        for (size_t i = 0; i < n; i++) {
                raw[i][0] = (int16_t) (seq * 10 + i);
                raw[i][1] = 4096;
                raw[i][2] = -4096;
                raw[i][3] = 16384;
                raw[i][4] = -32768;
                raw[i][5] = 0;
        }
        return gw_ble_gaitway_encode(&h, (const int16_t (*)[6]) raw, n, buf, 600);
}

/* Decodes packet (seq, 10 samples at 100 Hz, device time seq * 100 ms). */
static int feed(uint16_t seq, int64_t rx_ns)
{
        uint8_t buf[600];
        int len = packet(buf, seq, (uint32_t) seq * 100000u, 10);

        CU_ASSERT_FATAL(len > 0);
        return gw_ble_decode(&st, buf, (size_t) len, rx_ns, out, GW_BLE_MAX_SAMPLES, err, sizeof err);
}

static void start_gaitway(void)
{
        gw_ble_state_init(&st, gaitway(), 0);
        err[0] = 0;
}

static void test_decodes_samples_scaled_by_announced_full_scales(void)
{
        start_gaitway();
        CU_ASSERT_EQUAL(feed(3, T0), 10);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[0], 30 * 8.0 / 32768, 1e-7);
        CU_ASSERT_DOUBLE_EQUAL(out[9].v[0], 39 * 8.0 / 32768, 1e-7);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[1], 1.0, 1e-7);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[2], -1.0, 1e-7);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[3], 1000.0, 1e-4);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[4], -2000.0, 1e-4);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[5], 0.0, 1e-7);
        CU_ASSERT_DOUBLE_EQUAL(st.stats.rate_hz, 100.0, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(st.stats.accel_fs_g, 8.0, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(st.stats.gyro_fs_dps, 2000.0, 1e-9);
        CU_ASSERT_EQUAL(st.stats.packets, 1);
        CU_ASSERT_EQUAL(st.stats.samples, 10);
}

static void test_first_packet_ends_at_its_arrival_spaced_by_the_rate(void)
{
        start_gaitway();
        CU_ASSERT_EQUAL(feed(0, T0), 10);
        CU_ASSERT_EQUAL(out[9].t_ns, T0);
        for (int i = 1; i < 10; i++)
                CU_ASSERT_EQUAL(out[i].t_ns - out[i - 1].t_ns, 10 * MS);
}

static void test_timestamps_follow_the_device_clock_not_arrival_jitter(void)
{
        start_gaitway();
        CU_ASSERT_EQUAL(feed(0, T0), 10);
        /* The next packet is 100 ms later on the device but arrives 30 ms late. */
        CU_ASSERT_EQUAL(feed(1, T0 + 130 * MS), 10);
        CU_ASSERT_EQUAL(out[0].t_ns, T0 + 10 * MS + 10000);     /* +0.01 % slew of 100 ms */
        CU_ASSERT_EQUAL(out[9].t_ns, T0 + 100 * MS + 10000);
}

static void test_timestamps_follow_a_lower_latency_within_the_slew(void)
{
        start_gaitway();
        CU_ASSERT_EQUAL(feed(0, T0), 10);
        CU_ASSERT_EQUAL(feed(1, T0 + 95 * MS), 10);    /* 5 ms earlier than the envelope */
        CU_ASSERT_EQUAL(out[9].t_ns, T0 + 100 * MS - 100000);   /* -0.1 % of 100 ms */
        CU_ASSERT(out[0].t_ns > T0);
}

static void test_counts_packets_lost_by_sequence_gap(void)
{
        start_gaitway();
        CU_ASSERT_EQUAL(feed(10, T0), 10);
        CU_ASSERT_EQUAL(feed(11, T0 + 100 * MS), 10);
        CU_ASSERT_EQUAL(feed(15, T0 + 500 * MS), 10);
        CU_ASSERT_EQUAL(st.stats.lost, 3);
        CU_ASSERT_EQUAL(st.stats.packets, 3);
        /* The gap stays a gap in time: 400 ms between the packets' first samples. */
        CU_ASSERT_EQUAL(out[0].t_ns, T0 + 410 * MS);
}

static void test_sequence_wraps_from_65535_to_0_without_loss(void)
{
        uint8_t buf[600];
        int len;

        start_gaitway();
        len = packet(buf, 65535, 1000000, 10);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, buf, (size_t) len, T0, out, 64, err, sizeof err), 10);
        len = packet(buf, 0, 1100000, 10);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, buf, (size_t) len, T0 + 100 * MS, out, 64, err, sizeof err), 10);
        len = packet(buf, 1, 1200000, 10);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, buf, (size_t) len, T0 + 200 * MS, out, 64, err, sizeof err), 10);
        CU_ASSERT_EQUAL(st.stats.lost, 0);
        CU_ASSERT_EQUAL(st.stats.resyncs, 0);
        CU_ASSERT_EQUAL(st.stats.packets, 3);
}

static void test_counts_loss_across_the_sequence_wrap_around(void)
{
        uint8_t buf[600];
        int len;

        start_gaitway();
        len = packet(buf, 65534, 1000000, 10);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, buf, (size_t) len, T0, out, 64, err, sizeof err), 10);
        len = packet(buf, 2, 1400000, 10);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, buf, (size_t) len, T0 + 400 * MS, out, 64, err, sizeof err), 10);
        CU_ASSERT_EQUAL(st.stats.lost, 3);      /* 65535, 0, 1 */
}

static void test_device_time_wraps_at_2_pow_32_microseconds(void)
{
        uint8_t buf[600];
        int len;
        int64_t last;

        start_gaitway();
        len = packet(buf, 7, UINT32_MAX - 49999, 10);   /* 50 ms before the wrap */
        CU_ASSERT_EQUAL(gw_ble_decode(&st, buf, (size_t) len, T0, out, 64, err, sizeof err), 10);
        last = out[9].t_ns;
        len = packet(buf, 8, 50000, 10);                /* 100 ms later, after the wrap */
        CU_ASSERT_EQUAL(gw_ble_decode(&st, buf, (size_t) len, T0 + 100 * MS, out, 64, err, sizeof err), 10);
        CU_ASSERT_EQUAL(out[0].t_ns, last + 10 * MS);
        CU_ASSERT_EQUAL(st.stats.resyncs, 0);
}

static void test_drops_a_repeated_packet_as_duplicate(void)
{
        start_gaitway();
        CU_ASSERT_EQUAL(feed(4, T0), 10);
        CU_ASSERT_EQUAL(feed(5, T0 + 100 * MS), 10);
        CU_ASSERT_EQUAL(feed(5, T0 + 110 * MS), 0);
        CU_ASSERT_EQUAL(feed(4, T0 + 120 * MS), 0);
        CU_ASSERT_EQUAL(st.stats.duplicates, 2);
        CU_ASSERT_EQUAL(st.stats.packets, 2);
        CU_ASSERT_EQUAL(st.stats.lost, 0);
        CU_ASSERT_EQUAL(feed(6, T0 + 200 * MS), 10);
        CU_ASSERT_EQUAL(st.stats.lost, 0);
}

static void test_resyncs_when_the_device_restarts_its_counter(void)
{
        int64_t last;

        start_gaitway();
        CU_ASSERT_EQUAL(feed(500, T0), 10);
        last = out[9].t_ns;
        CU_ASSERT_EQUAL(feed(0, T0 + 3000 * MS), 10);   /* sequence and device time back to 0 */
        CU_ASSERT_EQUAL(st.stats.resyncs, 1);
        CU_ASSERT_EQUAL(st.stats.lost, 0);
        CU_ASSERT_EQUAL(st.stats.duplicates, 0);
        CU_ASSERT(out[0].t_ns > last);
        CU_ASSERT_EQUAL(out[9].t_ns, T0 + 3000 * MS);
}

static void test_restart_forgets_sequence_and_keeps_counters(void)
{
        start_gaitway();
        CU_ASSERT_EQUAL(feed(1, T0), 10);
        CU_ASSERT_EQUAL(feed(3, T0 + 200 * MS), 10);
        CU_ASSERT_EQUAL(st.stats.lost, 1);
        gw_ble_state_restart(&st);
        CU_ASSERT_EQUAL(feed(900, T0 + 5000 * MS), 10);
        CU_ASSERT_EQUAL(st.stats.lost, 1);
        CU_ASSERT_EQUAL(st.stats.resyncs, 1);
        CU_ASSERT_EQUAL(st.stats.packets, 3);
        CU_ASSERT_EQUAL(out[9].t_ns, T0 + 5000 * MS);
}

static void test_timestamps_never_go_backwards_after_a_restart(void)
{
        start_gaitway();
        CU_ASSERT_EQUAL(feed(1, T0), 10);
        gw_ble_state_restart(&st);
        /* Arrives at the same host time as the previous packet. */
        CU_ASSERT_EQUAL(feed(2, T0), 10);
        CU_ASSERT(out[0].t_ns > T0);
        for (int i = 1; i < 10; i++)
                CU_ASSERT(out[i].t_ns > out[i - 1].t_ns);
}

static int decode_bytes(const uint8_t *buf, size_t len)
{
        err[0] = 0;
        return gw_ble_decode(&st, buf, len, T0, out, GW_BLE_MAX_SAMPLES, err, sizeof err);
}

static void test_refuses_an_empty_packet(void)
{
        uint8_t buf[1] = { 0 };

        start_gaitway();
        CU_ASSERT_EQUAL(decode_bytes(buf, 0), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "shorter than the 14-byte header"));
        CU_ASSERT_EQUAL(st.stats.malformed, 1);
}

static void test_refuses_a_packet_shorter_than_the_header(void)
{
        uint8_t buf[600];

        start_gaitway();
        packet(buf, 0, 0, 1);
        CU_ASSERT_EQUAL(decode_bytes(buf, 13), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "13 bytes"));
        CU_ASSERT_EQUAL(st.stats.malformed, 1);
        CU_ASSERT_EQUAL(st.stats.packets, 0);
}

static void test_refuses_a_length_that_does_not_match_the_sample_count(void)
{
        uint8_t buf[600];
        int len;

        start_gaitway();
        len = packet(buf, 0, 0, 3);
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len - 1), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected 50 for 3 samples"));
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len + 12), -EBADMSG);
        CU_ASSERT_EQUAL(st.stats.malformed, 2);
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), 3);
}

static void test_refuses_a_wrong_version(void)
{
        uint8_t buf[600];
        int len;

        start_gaitway();
        len = packet(buf, 0, 0, 2);
        buf[0] = 2;
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "version 2, expected 1"));
        buf[0] = 0;
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), -EBADMSG);
        CU_ASSERT_EQUAL(st.stats.malformed, 2);
}

static void test_refuses_an_absurd_sample_count(void)
{
        uint8_t buf[600];
        int len;

        start_gaitway();
        len = packet(buf, 0, 0, 1);
        buf[1] = 0;
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "sample count 0 outside 1..41"));
        buf[1] = 42;
        CU_ASSERT_EQUAL(decode_bytes(buf, 14 + 42 * 12), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "sample count 42"));
        buf[1] = 255;
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), -EBADMSG);
        CU_ASSERT_EQUAL(st.stats.malformed, 3);
}

static void test_refuses_an_absurd_rate(void)
{
        uint8_t buf[600];
        int len;

        start_gaitway();
        len = packet(buf, 0, 0, 1);
        buf[8] = 0;
        buf[9] = 0;
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "rate 0.0 Hz"));
        buf[8] = 0x81;          /* 16001 = 1600.1 Hz */
        buf[9] = 0x3e;
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "rate 1600.1 Hz"));
        CU_ASSERT_EQUAL(st.stats.malformed, 2);
}

static void test_refuses_zero_or_absurd_full_scales(void)
{
        uint8_t buf[600];
        int len;

        start_gaitway();
        len = packet(buf, 0, 0, 1);
        buf[12] = 0;
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "accelerometer full scale 0 g"));
        buf[12] = 65;
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), -EBADMSG);
        buf[12] = 8;
        buf[10] = 0;
        buf[11] = 0;
        CU_ASSERT_EQUAL(decode_bytes(buf, (size_t) len), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "gyroscope full scale 0 deg/s"));
        CU_ASSERT_EQUAL(st.stats.malformed, 3);
}

static void test_a_refused_packet_does_not_disturb_the_sequence(void)
{
        uint8_t junk[5] = { 1, 2, 3, 4, 5 };

        start_gaitway();
        CU_ASSERT_EQUAL(feed(20, T0), 10);
        CU_ASSERT_EQUAL(decode_bytes(junk, sizeof junk), -EBADMSG);
        CU_ASSERT_EQUAL(feed(21, T0 + 100 * MS), 10);
        CU_ASSERT_EQUAL(st.stats.lost, 0);
        CU_ASSERT_EQUAL(st.stats.malformed, 1);
        CU_ASSERT_EQUAL(st.stats.packets, 2);
}

static void test_reports_no_room_without_counting_it_malformed(void)
{
        uint8_t buf[600];
        int len;

        start_gaitway();
        len = packet(buf, 0, 0, 10);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, buf, (size_t) len, T0, out, 9, err, sizeof err), -ENOBUFS);
        CU_ASSERT_EQUAL(st.stats.malformed, 0);
}

static void test_encoder_refuses_fields_out_of_range(void)
{
        int16_t raw[1][6] = { { 0 } };
        uint8_t buf[600];
        gw_ble_gaitway_header h = { .rate_hz = 100, .accel_fs_g = 16, .gyro_fs_dps = 2000 };

        CU_ASSERT_EQUAL(gw_ble_gaitway_encode(&h, (const int16_t (*)[6]) raw, 1, buf, sizeof buf), 26);
        CU_ASSERT_EQUAL(gw_ble_gaitway_encode(&h, (const int16_t (*)[6]) raw, 0, buf, sizeof buf), -EINVAL);
        CU_ASSERT_EQUAL(gw_ble_gaitway_encode(&h, (const int16_t (*)[6]) raw, 1, buf, 25), -ENOBUFS);
        h.rate_hz = 12.34;
        CU_ASSERT_EQUAL(gw_ble_gaitway_encode(&h, (const int16_t (*)[6]) raw, 1, buf, sizeof buf), -EINVAL);
        h.rate_hz = 12.5;
        CU_ASSERT_EQUAL(gw_ble_gaitway_encode(&h, (const int16_t (*)[6]) raw, 1, buf, sizeof buf), 26);
        CU_ASSERT_EQUAL(buf[8] | buf[9] << 8, 125);
        h.accel_fs_g = 0;
        CU_ASSERT_EQUAL(gw_ble_gaitway_encode(&h, (const int16_t (*)[6]) raw, 1, buf, sizeof buf), -EINVAL);
}

static void test_encoder_writes_the_documented_layout(void)
{
        int16_t raw[1][6] = { { 1, -1, 256, 0x1234, -32768, 32767 } };
        uint8_t buf[64];
        gw_ble_gaitway_header h = { .seq = 0xBEEF, .t_us = 0x01020304, .rate_hz = 104,
                                    .accel_fs_g = 4, .gyro_fs_dps = 245 };
        static const uint8_t expect[26] = {
                1, 1, 0xEF, 0xBE, 0x04, 0x03, 0x02, 0x01, 0x10, 0x04, 0xF5, 0x00, 4, 0,
                0x01, 0x00, 0xFF, 0xFF, 0x00, 0x01, 0x34, 0x12, 0x00, 0x80, 0xFF, 0x7F,
        };

        CU_ASSERT_EQUAL_FATAL(gw_ble_gaitway_encode(&h, (const int16_t (*)[6]) raw, 1, buf, sizeof buf), 26);
        CU_ASSERT_EQUAL(memcmp(buf, expect, sizeof expect), 0);
}

/* ---- Thingy:52 --------------------------------------------------------- */

static void start_thingy(double hz)
{
        gw_ble_state_init(&st, gw_ble_profile_find("thingy52"), hz);
        err[0] = 0;
}

static void put(uint8_t *p, int16_t v)
{
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) ((uint16_t) v >> 8);
}

static void test_thingy_decodes_documented_fixed_point_units(void)
{
        uint8_t b[18];
        const int16_t v[9] = { 1024, -512, 0x03F6, 32, -48, 0, 16, -8, 800 };

        start_thingy(50);
        for (int i = 0; i < 9; i++)
                put(b + 2 * i, v[i]);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, b, sizeof b, T0, out, 64, err, sizeof err), 1);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[0], 1.0, 1e-7);          /* Q6.10 g */
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[1], -0.5, 1e-7);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[2], 1014.0 / 1024, 1e-7); /* 0x03F6 from a resting Thingy */
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[3], 1.0, 1e-7);          /* Q11.5 deg/s */
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[4], -1.5, 1e-7);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[6], 1.0, 1e-7);          /* Q12.4 uT */
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[7], -0.5, 1e-7);
        CU_ASSERT_DOUBLE_EQUAL(out[0].v[8], 50.0, 1e-7);
        CU_ASSERT_EQUAL(out[0].t_ns, T0);
        CU_ASSERT_DOUBLE_EQUAL(st.stats.rate_hz, 50.0, 1e-9);
}

static void test_thingy_refuses_any_length_but_18(void)
{
        uint8_t b[19] = { 0 };

        start_thingy(0);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, b, 17, T0, out, 64, err, sizeof err), -EBADMSG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "17 bytes, expected 18"));
        CU_ASSERT_EQUAL(gw_ble_decode(&st, b, 19, T0, out, 64, err, sizeof err), -EBADMSG);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, b, 0, T0, out, 64, err, sizeof err), -EBADMSG);
        CU_ASSERT_EQUAL(st.stats.malformed, 3);
        CU_ASSERT_EQUAL(gw_ble_decode(&st, b, 18, T0, out, 64, err, sizeof err), 1);
}

static void test_thingy_spreads_a_burst_of_notifications_over_the_period(void)
{
        uint8_t b[18] = { 0 };
        int64_t prev = 0;

        start_thingy(100);
        /* Four notifications delivered in one connection event. */
        for (int i = 0; i < 4; i++) {
                CU_ASSERT_EQUAL(gw_ble_decode(&st, b, 18, T0, out, 64, err, sizeof err), 1);
                if (i > 0) {
                        CU_ASSERT(out[0].t_ns - prev >= 5 * MS);
                        CU_ASSERT(out[0].t_ns - prev <= 10 * MS);
                }
                prev = out[0].t_ns;
        }
}

static void test_thingy_follows_steady_arrivals(void)
{
        uint8_t b[18] = { 0 };

        start_thingy(100);
        for (int i = 0; i < 200; i++)
                CU_ASSERT_EQUAL(gw_ble_decode(&st, b, 18, T0 + i * 10 * MS, out, 64, err, sizeof err), 1);
        CU_ASSERT_EQUAL(out[0].t_ns, T0 + 199 * 10 * MS);
        CU_ASSERT_EQUAL(st.stats.resyncs, 0);
}

static void test_thingy_configure_writes_the_motion_frequency(void)
{
        const uint8_t cur[9] = { 0xE8, 0x03, 0xF4, 0x01, 0x64, 0x00, 0x0A, 0x00, 0x01 };
        uint8_t nv[16];
        size_t n = 0;
        const gw_ble_profile *p = gw_ble_profile_find("thingy52");

        CU_ASSERT_EQUAL(p->configure(cur, sizeof cur, 100, nv, sizeof nv, &n, err, sizeof err), 0);
        CU_ASSERT_EQUAL(n, 9);
        CU_ASSERT_EQUAL(memcmp(nv, cur, 6), 0);
        CU_ASSERT_EQUAL(nv[6], 100);
        CU_ASSERT_EQUAL(nv[7], 0);
        CU_ASSERT_EQUAL(nv[8], 1);
        CU_ASSERT_EQUAL(p->configure(cur, sizeof cur, 250, nv, sizeof nv, &n, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "outside 5..200"));
        CU_ASSERT_EQUAL(p->configure(cur, 8, 100, nv, sizeof nv, &n, err, sizeof err), -EINVAL);
}

/* ---- table ------------------------------------------------------------- */

static void test_profiles_are_found_by_name_and_service_uuid(void)
{
        CU_ASSERT_PTR_EQUAL(gw_ble_profile_find("gaitway"), gaitway());
        CU_ASSERT_PTR_EQUAL(gw_ble_profile_find("13FD0001-AB1C-45F7-89E9-AB589DD82332"), gaitway());
        CU_ASSERT_PTR_EQUAL(gw_ble_profile_find(GW_BLE_THINGY52_SERVICE_UUID),
                            gw_ble_profile_find("thingy52"));
        CU_ASSERT_PTR_NULL(gw_ble_profile_find("polar"));
        CU_ASSERT_PTR_NULL(gw_ble_profile_find(NULL));
}

static void test_every_profile_has_normalized_uuids_and_channels(void)
{
        char u[GW_BLE_UUID_MAX];

        CU_ASSERT(gw_ble_profile_count() >= 2);
        for (size_t i = 0; i < gw_ble_profile_count(); i++) {
                const gw_ble_profile *p = gw_ble_profile_get(i);
                CU_ASSERT_EQUAL(gw_ble_uuid_normalize(p->service_uuid, u), 0);
                CU_ASSERT_STRING_EQUAL(u, p->service_uuid);
                CU_ASSERT_EQUAL(gw_ble_uuid_normalize(p->data_uuid, u), 0);
                CU_ASSERT_STRING_EQUAL(u, p->data_uuid);
                CU_ASSERT(p->n_values >= 6 && p->n_values <= GW_BLE_MAX_VALUES);
                CU_ASSERT_STRING_EQUAL(p->channels[0].name, "acc_x");
        }
        CU_ASSERT_PTR_NULL(gw_ble_profile_get(gw_ble_profile_count()));
}

static void test_short_uuids_expand_on_the_bluetooth_base(void)
{
        char u[GW_BLE_UUID_MAX];

        CU_ASSERT_EQUAL(gw_ble_uuid_normalize("2A37", u), 0);
        CU_ASSERT_STRING_EQUAL(u, "00002a37-0000-1000-8000-00805f9b34fb");
        CU_ASSERT_EQUAL(gw_ble_uuid_normalize("0000180d", u), 0);
        CU_ASSERT_STRING_EQUAL(u, "0000180d-0000-1000-8000-00805f9b34fb");
        CU_ASSERT_EQUAL(gw_ble_uuid_normalize("2a3", u), -EINVAL);
        CU_ASSERT_EQUAL(gw_ble_uuid_normalize("13fd0001xab1c-45f7-89e9-ab589dd82332", u), -EINVAL);
        CU_ASSERT_EQUAL(gw_ble_uuid_normalize("13fd0001-ab1c-45f7-89e9-ab589dd8233g", u), -EINVAL);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("BLE gaitway profile");
        gw_test_add(s, "decodes samples scaled by the announced full scales", test_decodes_samples_scaled_by_announced_full_scales);
        gw_test_add(s, "first packet ends at its arrival, samples spaced by the rate", test_first_packet_ends_at_its_arrival_spaced_by_the_rate);
        gw_test_add(s, "timestamps follow the device clock, not arrival jitter", test_timestamps_follow_the_device_clock_not_arrival_jitter);
        gw_test_add(s, "timestamps follow a lower latency within the slew", test_timestamps_follow_a_lower_latency_within_the_slew);
        gw_test_add(s, "counts packets lost by a sequence gap", test_counts_packets_lost_by_sequence_gap);
        gw_test_add(s, "sequence wraps from 65535 to 0 without loss", test_sequence_wraps_from_65535_to_0_without_loss);
        gw_test_add(s, "counts loss across the sequence wrap-around", test_counts_loss_across_the_sequence_wrap_around);
        gw_test_add(s, "device time wraps at 2^32 microseconds", test_device_time_wraps_at_2_pow_32_microseconds);
        gw_test_add(s, "drops a repeated packet as duplicate", test_drops_a_repeated_packet_as_duplicate);
        gw_test_add(s, "resyncs when the device restarts its counter", test_resyncs_when_the_device_restarts_its_counter);
        gw_test_add(s, "restart forgets the sequence and keeps the counters", test_restart_forgets_sequence_and_keeps_counters);
        gw_test_add(s, "timestamps never go backwards after a restart", test_timestamps_never_go_backwards_after_a_restart);
        gw_test_add(s, "refuses an empty packet", test_refuses_an_empty_packet);
        gw_test_add(s, "refuses a packet shorter than the header", test_refuses_a_packet_shorter_than_the_header);
        gw_test_add(s, "refuses a length that does not match the sample count", test_refuses_a_length_that_does_not_match_the_sample_count);
        gw_test_add(s, "refuses a wrong version", test_refuses_a_wrong_version);
        gw_test_add(s, "refuses an absurd sample count", test_refuses_an_absurd_sample_count);
        gw_test_add(s, "refuses an absurd rate", test_refuses_an_absurd_rate);
        gw_test_add(s, "refuses zero or absurd full scales", test_refuses_zero_or_absurd_full_scales);
        gw_test_add(s, "a refused packet does not disturb the sequence", test_a_refused_packet_does_not_disturb_the_sequence);
        gw_test_add(s, "reports no room without counting it malformed", test_reports_no_room_without_counting_it_malformed);
        gw_test_add(s, "encoder refuses fields out of range", test_encoder_refuses_fields_out_of_range);
        gw_test_add(s, "encoder writes the documented byte layout", test_encoder_writes_the_documented_layout);

        s = gw_test_suite("BLE Thingy:52 raw motion");
        gw_test_add(s, "decodes the documented fixed-point units", test_thingy_decodes_documented_fixed_point_units);
        gw_test_add(s, "refuses any length but 18", test_thingy_refuses_any_length_but_18);
        gw_test_add(s, "spreads a burst of notifications over the period", test_thingy_spreads_a_burst_of_notifications_over_the_period);
        gw_test_add(s, "follows steady arrivals", test_thingy_follows_steady_arrivals);
        gw_test_add(s, "configure writes the motion frequency", test_thingy_configure_writes_the_motion_frequency);

        s = gw_test_suite("BLE profile table");
        gw_test_add(s, "profiles are found by name and service UUID", test_profiles_are_found_by_name_and_service_uuid);
        gw_test_add(s, "every profile has normalized UUIDs and channels", test_every_profile_has_normalized_uuids_and_channels);
        gw_test_add(s, "short UUIDs expand on the Bluetooth base", test_short_uuids_expand_on_the_bluetooth_base);
}
