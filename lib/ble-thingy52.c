/* SPDX-License-Identifier: MIT */
/* Nordic Thingy:52, Motion Service (EF680400-9B35-4933-9B10-52FFA9740042),
 * raw data characteristic EF680406: one 18-byte notification per sample,
 * int16 little-endian accelerometer x y z, gyroscope x y z, compass x y z in
 * fixed point: accelerometer Q6.10 in g, gyroscope Q11.5 in deg/s, compass
 * Q12.4 in microtesla.
 *
 * Sources: Nordic Thingy:52 firmware documentation v2.2.0: "Firmware
 * architecture", BLE services, Thingy motion service (base UUID and
 * characteristic numbers,
 * https://nordicsemiconductor.github.io/Nordic-Thingy52-FW/documentation/firmware_architecture.html)
 * and ble_tms.h (ble_tms_raw_t, ble_tms_config_t, BLE_TMS_CONFIG_MPUF_MIN/MAX
 * 5..200 Hz, .../documentation/ble__tms_8h.html); the fixed-point formats are
 * those of the firmware that fills the packet, source/modules/m_motion.c in
 * github.com/NordicSemiconductor/Nordic-Thingy52-FW (a 16Q16 value shifted
 * right by RAW_Q_FORMAT_{ACC,GYR,CMP}_INTEGER_BITS = 6, 11, 12).
 *
 * The packet has no sequence number and no device time: losses cannot be
 * counted and timestamps come from arrival times smoothed around the rate
 * written to the configuration characteristic (EF680401, motion processing
 * frequency, 5..200 Hz). */

#include <errno.h>
#include <math.h>
#include <string.h>

#include "ble-private.h"

#define RAW_LEN     18
#define CONFIG_LEN  9       /* pedo, temp, compass intervals (ms), motion Hz: u16; wake on motion: u8 */
#define CONFIG_FREQ 6       /* offset of motion_freq_hz */
#define MIN_HZ      5
#define MAX_HZ      200

static const gw_channel_desc channels[] = {
        { "acc_x", "g" }, { "acc_y", "g" }, { "acc_z", "g" },
        { "gyro_x", "deg/s" }, { "gyro_y", "deg/s" }, { "gyro_z", "deg/s" },
        { "mag_x", "uT" }, { "mag_y", "uT" }, { "mag_z", "uT" },
};

static const float unit[3] = { 1.0f / 1024.0f, 1.0f / 32.0f, 1.0f / 16.0f };

static int decode(gw_ble_state *st, const uint8_t *b, size_t len, int64_t rx_ns,
                  gw_ble_sample *out, size_t max_out, char *err, size_t errlen)
{
        double period_ns;

        if (len != RAW_LEN)
                return gw_error(err, errlen, EBADMSG,
                                "thingy52 raw data: %zu bytes, expected %d", len, RAW_LEN);
        if (max_out < 1)
                return gw_error(err, errlen, ENOBUFS, "thingy52 raw data: no room for a sample");

        period_ns = 1e9 / st->nominal_hz;
        if (!st->synced && st->stats.packets > 0)
                st->stats.resyncs++;
        out[0].t_ns = ble_clock_deliver(st, ble_clock_arrival(st, rx_ns, period_ns));
        st->synced = true;
        for (int k = 0; k < 9; k++)
                out[0].v[k] = (float) ble_le16s(b + 2 * k) * unit[k / 3];
        return 1;
}

static int configure(const uint8_t *cur, size_t len, double rate_hz, uint8_t *out,
                     size_t out_max, size_t *out_len, char *err, size_t errlen)
{
        long hz = lround(rate_hz);

        if (len != CONFIG_LEN)
                return gw_error(err, errlen, EINVAL, "thingy52 config: %zu bytes, expected %d",
                                len, CONFIG_LEN);
        if (!isfinite(rate_hz) || hz < MIN_HZ || hz > MAX_HZ)
                return gw_error(err, errlen, EINVAL,
                                "thingy52 config: rate %g Hz outside %d..%d", rate_hz, MIN_HZ, MAX_HZ);
        if (out_max < CONFIG_LEN)
                return gw_error(err, errlen, ENOBUFS, "thingy52 config: output too small");
        memcpy(out, cur, CONFIG_LEN);
        ble_put16(out + CONFIG_FREQ, (uint16_t) hz);
        *out_len = CONFIG_LEN;
        return 0;
}

const gw_ble_profile gw_ble_profile_thingy52 = {
        .name = "thingy52",
        .summary = "Nordic Thingy:52 Motion Service raw data: acc Q6.10 g, gyro Q11.5 deg/s, compass Q12.4 uT",
        .service_uuid = GW_BLE_THINGY52_SERVICE_UUID,
        .data_uuid = GW_BLE_THINGY52_RAW_UUID,
        .config_uuid = GW_BLE_THINGY52_CONFIG_UUID,
        .n_values = 9,
        .channels = channels,
        .default_rate_hz = 100.0,
        .max_rate_hz = MAX_HZ,
        .decode = decode,
        .configure = configure,
};
