/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the gaitway IMU profile decoder (lib/ble-gaitway.c)
 * through gw_ble_decode, on a stream of notifications as one wearable would
 * send them, with the promises of lib/include/gaitway/ble.h checked on
 * every packet:
 *   - a packet is accepted (samples), dropped as a duplicate (0) or refused
 *     (-EBADMSG, counted as malformed, one line in err), nothing else;
 *   - never more samples than the packet holds or the caller has room for;
 *   - sample timestamps strictly increase across the whole stream;
 *   - values are finite and within the announced full scales;
 *   - the counters add up.
 *
 * Input: a list of records { u16 little-endian length, u16 arrival step in
 * 100 us units (0xffff: a 10 s stall), the packet bytes }, up to the end of
 * the input; a record with length 0xffff is a reconnect
 * (gw_ble_state_restart).  The host clock only moves forward, as
 * CLOCK_MONOTONIC does. */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-input.h"
#include "gaitway/ble.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        FuzzInput in = { data, size };
        const gw_ble_profile *p = gw_ble_profile_find("gaitway");
        gw_ble_state st;
        gw_ble_sample out[GW_BLE_MAX_SAMPLES];
        char err[GW_ERR_MAX];
        int64_t rx = INT64_C(1) << 40, last_t = INT64_MIN;
        uint64_t accepted = 0, samples = 0, refused = 0;

        if (!p || p != gw_ble_profile_find(GW_BLE_GAITWAY_SERVICE_UUID) || p->n_values != 6)
                abort();
        gw_ble_state_init(&st, p, 0);

        while (in.n) {
                uint16_t len = fuzz_u16(&in), step = fuzz_u16(&in);
                size_t got;
                if (len == 0xffff) {
                        gw_ble_state_restart(&st);
                        continue;
                }
                const uint8_t *pkt = fuzz_bytes(&in, len, &got);
                rx += step == 0xffff ? 10 * GW_NSEC_PER_SEC : (int64_t) step * 100000;
                /* Room for fewer samples than the packet holds, now and then. */
                size_t room = step % 7 == 3 ? step % GW_BLE_GAITWAY_MAX_N : GW_BLE_MAX_SAMPLES;

                err[0] = 0;
                int r = gw_ble_decode(&st, pkt, got, rx, out, room, err, sizeof err);
                if (r == -EBADMSG || r == -ENOBUFS) {
                        if (!err[0] || strchr(err, '\n'))
                                abort();
                        refused += r == -EBADMSG;
                        continue;
                }
                if (r < 0 || (size_t) r > room || (r > 0 && got != GW_BLE_GAITWAY_HEADER +
                                                   (size_t) r * GW_BLE_GAITWAY_SAMPLE))
                        abort();
                accepted += r > 0;
                samples += (uint64_t) r;
                for (int i = 0; i < r; i++) {
                        if (out[i].t_ns <= last_t)
                                abort();
                        last_t = out[i].t_ns;
                        for (int k = 0; k < 6; k++) {
                                double fs = k < 3 ? st.stats.accel_fs_g : st.stats.gyro_fs_dps;
                                if (!isfinite(out[i].v[k]) || fabs(out[i].v[k]) > fs)
                                        abort();
                        }
                }
                if (r > 0 && !(st.stats.rate_hz >= 1 && st.stats.rate_hz <= 1600))
                        abort();
        }
        if (st.stats.packets != accepted || st.stats.samples != samples || st.stats.malformed != refused)
                abort();
        return 0;
}
