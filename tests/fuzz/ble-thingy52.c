/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the Nordic Thingy:52 raw-motion decoder and its
 * configuration writer (lib/ble-thingy52.c), on a stream of notifications
 * as one wearable would send them:
 *   - an 18-byte packet gives one sample, anything else is refused
 *     (-EBADMSG, counted as malformed, one line in err);
 *   - sample timestamps strictly increase across the whole stream,
 *     reconnects and stalls included;
 *   - values are finite and inside the fixed-point ranges;
 *   - configure() either refuses (one line) or rewrites exactly the motion
 *     frequency field of a 9-byte value to the requested rate.
 *
 * Input: u8 nominal rate selector, 9 bytes of the current configuration
 * value, a f64 requested rate, then records { u8 length, u16 arrival step in
 * 100 us units (0xffff: a 10 s stall), the packet bytes }; length 0xff is a
 * reconnect (gw_ble_state_restart). */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-input.h"
#include "gaitway/ble.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_configure(const gw_ble_profile *p, const uint8_t *cur, size_t len, double hz)
{
        uint8_t out[32];
        size_t out_len = 0;
        char err[GW_ERR_MAX];

        for (size_t max = 0; max <= sizeof out; max += 8) {
                memset(out, 0xa5, sizeof out);
                err[0] = 0;
                int r = p->configure(cur, len, hz, out, max, &out_len, err, sizeof err);
                if (r < 0) {
                        if (!err[0] || strchr(err, '\n'))
                                abort();
                        continue;
                }
                long want = lround(hz);
                if (len != 9 || out_len != 9 || max < 9 || want < 5 || want > 200)
                        abort();
                if (memcmp(out, cur, 6) || out[8] != cur[8] || (out[6] | out[7] << 8) != want)
                        abort();
                for (size_t i = 9; i < sizeof out; i++)
                        if (out[i] != 0xa5)
                                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const double nominal[] = { 0, 5, 50, 100, 200, 400, 0.5, 1e-3 };
        FuzzInput in = { data, size };
        const gw_ble_profile *p = gw_ble_profile_find("thingy52");
        gw_ble_state st;
        gw_ble_sample out[GW_BLE_MAX_SAMPLES];
        char err[GW_ERR_MAX];
        int64_t rx = INT64_C(1) << 40, last_t = INT64_MIN;
        uint64_t samples = 0, refused = 0;
        size_t got;

        if (!p || p != gw_ble_profile_find("EF680400-9B35-4933-9B10-52FFA9740042") || !p->configure)
                abort();
        gw_ble_state_init(&st, p, nominal[fuzz_u8(&in) % (sizeof nominal / sizeof nominal[0])]);
        if (!(st.nominal_hz > 0) || st.nominal_hz > p->max_rate_hz)
                abort();

        const uint8_t *cfg = fuzz_bytes(&in, 9, &got);
        uint8_t cur[9] = { 0 };
        memcpy(cur, cfg, got);
        double hz = fuzz_f64(&in);
        check_configure(p, cur, 9, hz);
        check_configure(p, cur, got & 7, hz);

        while (in.n) {
                uint8_t len = fuzz_u8(&in);
                uint16_t step = fuzz_u16(&in);
                if (len == 0xff) {
                        gw_ble_state_restart(&st);
                        continue;
                }
                const uint8_t *pkt = fuzz_bytes(&in, len, &got);
                rx += step == 0xffff ? 10 * GW_NSEC_PER_SEC : (int64_t) step * 100000;
                size_t room = step % 11 == 5 ? 0 : GW_BLE_MAX_SAMPLES;

                err[0] = 0;
                int r = gw_ble_decode(&st, pkt, got, rx, out, room, err, sizeof err);
                if (r == -EBADMSG || r == -ENOBUFS) {
                        if (!err[0] || strchr(err, '\n') || (r == -EBADMSG && got == 18))
                                abort();
                        refused += r == -EBADMSG;
                        continue;
                }
                if (r != 1 || got != 18)
                        abort();
                samples++;
                if (out[0].t_ns <= last_t)
                        abort();
                last_t = out[0].t_ns;
                for (int k = 0; k < 9; k++) {
                        static const double lim[3] = { 32.0, 1024.0, 2048.0 };
                        if (!isfinite(out[0].v[k]) || fabs(out[0].v[k]) > lim[k / 3])
                                abort();
                }
        }
        if (st.stats.samples != samples || st.stats.packets != samples || st.stats.malformed != refused ||
            st.stats.lost != 0)
                abort();
        return 0;
}
