/* SPDX-License-Identifier: MIT */
/* The gaitway IMU profile, version 1 (docs/ble-profile.md):
 *
 *   0  u8   version (1)        8  u16  rate in 0.1 Hz (10..16000)
 *   1  u8   n samples (1..41) 10  u16  gyro full scale, deg/s (1..8000)
 *   2  u16  sequence          12  u8   accel full scale, g (1..64)
 *   4  u32  device time, us   13  u8   reserved (0, ignored)
 *  14  n x { int16 ax ay az gx gy gz }, all little-endian.
 *
 * Lost packets are counted from gaps in the 16-bit sequence number. */

#include <errno.h>
#include <math.h>

#include "ble-private.h"

/* A packet this far behind the expected sequence is late or repeated; any
 * further behind, the device restarted its counter. */
#define LATE_WINDOW 64

static const gw_channel_desc channels[] = {
        { "acc_x", "g" }, { "acc_y", "g" }, { "acc_z", "g" },
        { "gyro_x", "deg/s" }, { "gyro_y", "deg/s" }, { "gyro_z", "deg/s" },
};

static int check_header(const uint8_t *b, size_t len, char *err, size_t errlen)
{
        unsigned n, rate, gfs, afs;

        if (len < GW_BLE_GAITWAY_HEADER)
                return gw_error(err, errlen, EBADMSG,
                                "gaitway packet: %zu bytes, shorter than the %d-byte header",
                                len, GW_BLE_GAITWAY_HEADER);
        if (b[0] != GW_BLE_GAITWAY_VERSION)
                return gw_error(err, errlen, EBADMSG, "gaitway packet: version %u, expected %d",
                                b[0], GW_BLE_GAITWAY_VERSION);
        n = b[1];
        if (n < 1 || n > GW_BLE_GAITWAY_MAX_N)
                return gw_error(err, errlen, EBADMSG,
                                "gaitway packet: sample count %u outside 1..%d", n,
                                GW_BLE_GAITWAY_MAX_N);
        if (len != GW_BLE_GAITWAY_HEADER + (size_t) n * GW_BLE_GAITWAY_SAMPLE)
                return gw_error(err, errlen, EBADMSG,
                                "gaitway packet: %zu bytes, expected %zu for %u samples", len,
                                GW_BLE_GAITWAY_HEADER + (size_t) n * GW_BLE_GAITWAY_SAMPLE, n);
        rate = ble_le16(b + 8);
        if (rate < 10 || rate > 16000)
                return gw_error(err, errlen, EBADMSG,
                                "gaitway packet: rate %u.%u Hz outside 1..1600 Hz", rate / 10,
                                rate % 10);
        gfs = ble_le16(b + 10);
        if (gfs < 1 || gfs > 8000)
                return gw_error(err, errlen, EBADMSG,
                                "gaitway packet: gyroscope full scale %u deg/s outside 1..8000", gfs);
        afs = b[12];
        if (afs < 1 || afs > 64)
                return gw_error(err, errlen, EBADMSG,
                                "gaitway packet: accelerometer full scale %u g outside 1..64", afs);
        return (int) n;
}

static void resync(gw_ble_state *st)
{
        if (st->stats.packets > 0)
                st->stats.resyncs++;
        st->synced = false;
        st->dev_ns = 0;
}

static int decode(gw_ble_state *st, const uint8_t *b, size_t len, int64_t rx_ns,
                  gw_ble_sample *out, size_t max_out, char *err, size_t errlen)
{
        int n = check_header(b, len, err, errlen);
        uint16_t seq;
        uint32_t t_us;
        double period_ns, afs, gfs;
        int64_t elapsed_ns = 0;

        if (n < 0)
                return n;
        if ((size_t) n > max_out)
                return gw_error(err, errlen, ENOBUFS, "gaitway packet: %d samples, room for %zu",
                                n, max_out);

        seq = ble_le16(b + 2);
        t_us = ble_le32(b + 4);
        period_ns = 1e10 / ble_le16(b + 8);
        gfs = ble_le16(b + 10);
        afs = b[12];

        if (st->synced) {
                uint16_t ahead = (uint16_t) (seq - st->next_seq);
                int32_t dt_us = (int32_t) (t_us - st->last_dev_us);

                if (ahead >= 0x8000) {
                        if (0x10000 - ahead <= LATE_WINDOW && dt_us <= 0) {
                                st->stats.duplicates++;
                                return 0;
                        }
                        resync(st);
                } else if (dt_us <= 0) {
                        /* Sequence ahead but time backwards: the device restarted. */
                        resync(st);
                } else {
                        st->stats.lost += ahead;
                        elapsed_ns = (int64_t) dt_us * 1000;
                        st->dev_ns += elapsed_ns;
                }
        } else if (st->stats.packets > 0)
                st->stats.resyncs++;

        ble_clock_track(st, st->dev_ns + (int64_t) ((n - 1) * period_ns), rx_ns, elapsed_ns);
        st->synced = true;
        st->next_seq = (uint16_t) (seq + 1);
        st->last_dev_us = t_us;
        st->stats.rate_hz = 1e9 / period_ns;
        st->stats.accel_fs_g = afs;
        st->stats.gyro_fs_dps = gfs;

        for (int i = 0; i < n; i++) {
                const uint8_t *s = b + GW_BLE_GAITWAY_HEADER + i * GW_BLE_GAITWAY_SAMPLE;
                int64_t t = st->dev_ns + (int64_t) llround(i * period_ns) + st->offset_ns;

                out[i].t_ns = ble_clock_deliver(st, t);
                for (int k = 0; k < 3; k++) {
                        out[i].v[k] = (float) (ble_le16s(s + 2 * k) * afs / 32768.0);
                        out[i].v[3 + k] = (float) (ble_le16s(s + 6 + 2 * k) * gfs / 32768.0);
                }
                for (int k = 6; k < GW_BLE_MAX_VALUES; k++)
                        out[i].v[k] = 0.0f;
        }
        return n;
}

int gw_ble_gaitway_encode(const gw_ble_gaitway_header *h, const int16_t (*raw)[6], size_t n,
                          uint8_t *out, size_t out_max)
{
        size_t len = GW_BLE_GAITWAY_HEADER + n * GW_BLE_GAITWAY_SAMPLE;
        double dhz;

        if (!h || !raw || !out || n < 1 || n > GW_BLE_GAITWAY_MAX_N)
                return -EINVAL;
        dhz = h->rate_hz * 10.0;
        if (!isfinite(dhz) || dhz < 10 || dhz > 16000 || fabs(dhz - round(dhz)) > 1e-6)
                return -EINVAL;
        if (h->accel_fs_g < 1 || h->accel_fs_g > 64 || h->gyro_fs_dps < 1 || h->gyro_fs_dps > 8000)
                return -EINVAL;
        if (len > out_max)
                return -ENOBUFS;

        out[0] = GW_BLE_GAITWAY_VERSION;
        out[1] = (uint8_t) n;
        ble_put16(out + 2, h->seq);
        ble_put32(out + 4, h->t_us);
        ble_put16(out + 8, (uint16_t) lround(dhz));
        ble_put16(out + 10, (uint16_t) h->gyro_fs_dps);
        out[12] = (uint8_t) h->accel_fs_g;
        out[13] = 0;
        for (size_t i = 0; i < n; i++)
                for (int k = 0; k < 6; k++)
                        ble_put16(out + GW_BLE_GAITWAY_HEADER + i * GW_BLE_GAITWAY_SAMPLE + 2 * k,
                                  (uint16_t) raw[i][k]);
        return (int) len;
}

const gw_ble_profile gw_ble_profile_gaitway = {
        .name = "gaitway",
        .summary = "gaitway IMU profile v1: sequence, device time, rate, full scales, N x int16 acc+gyro",
        .service_uuid = GW_BLE_GAITWAY_SERVICE_UUID,
        .data_uuid = GW_BLE_GAITWAY_IMU_UUID,
        .config_uuid = NULL,
        .n_values = 6,
        .channels = channels,
        .default_rate_hz = 100.0,
        .max_rate_hz = 1600.0,
        .decode = decode,
        .configure = NULL,
};
