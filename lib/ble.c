/* SPDX-License-Identifier: MIT */
/* The table of BLE profiles, per-stream decoder state and the clock mapping
 * shared by the decoders. */

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "ble-private.h"

static const gw_ble_profile *const profiles[] = {
        &gw_ble_profile_gaitway,
        &gw_ble_profile_thingy52,
};

#define N_PROFILES (sizeof profiles / sizeof profiles[0])

/* A larger disagreement between the tracked offset and a packet's arrival is
 * not drift or latency but a stall or a clock jump: re-anchor. */
#define CLOCK_RESYNC_NS (2 * GW_NSEC_PER_SEC)

size_t gw_ble_profile_count(void)
{
        return N_PROFILES;
}

const gw_ble_profile *gw_ble_profile_get(size_t i)
{
        return i < N_PROFILES ? profiles[i] : NULL;
}

const gw_ble_profile *gw_ble_profile_find(const char *name_or_uuid)
{
        char uuid[GW_BLE_UUID_MAX];
        bool is_uuid;

        if (!name_or_uuid)
                return NULL;
        is_uuid = gw_ble_uuid_normalize(name_or_uuid, uuid) == 0;
        for (size_t i = 0; i < N_PROFILES; i++) {
                if (!strcmp(profiles[i]->name, name_or_uuid))
                        return profiles[i];
                if (is_uuid && !strcmp(profiles[i]->service_uuid, uuid))
                        return profiles[i];
        }
        return NULL;
}

static bool all_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

int gw_ble_uuid_normalize(const char *in, char out[GW_BLE_UUID_MAX])
{
        static const char base_tail[] = "-0000-1000-8000-00805f9b34fb";
        size_t n;

        if (!in)
                return -EINVAL;
        n = strlen(in);
        if ((n == 4 || n == 8) && all_hex(in, n)) {
                /* Short UUIDs live on the Bluetooth base UUID. */
                memset(out, '0', 8);
                memcpy(out + 8 - n, in, n);
                memcpy(out + 8, base_tail, sizeof base_tail);
        } else if (n == 36) {
                for (size_t i = 0; i < n; i++) {
                        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                        if (dash ? in[i] != '-' : !isxdigit((unsigned char) in[i]))
                                return -EINVAL;
                }
                memcpy(out, in, n + 1);
        } else
                return -EINVAL;
        for (char *p = out; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        return 0;
}

void gw_ble_state_init(gw_ble_state *st, const gw_ble_profile *p, double nominal_hz)
{
        memset(st, 0, sizeof *st);
        st->profile = p;
        st->nominal_hz = nominal_hz > 0 ? nominal_hz : p->default_rate_hz;
        if (st->nominal_hz > p->max_rate_hz)
                st->nominal_hz = p->max_rate_hz;
        st->stats.rate_hz = st->nominal_hz;
}

void gw_ble_state_restart(gw_ble_state *st)
{
        st->synced = false;
}

int gw_ble_decode(gw_ble_state *st, const uint8_t *buf, size_t len, int64_t rx_ns,
                  gw_ble_sample *out, size_t max_out, char *err, size_t errlen)
{
        int r;

        if (!st || !st->profile || (!buf && len > 0) || (!out && max_out > 0))
                return gw_error(err, errlen, EINVAL, "BLE decode: missing state or buffer");
        r = st->profile->decode(st, buf, len, rx_ns, out, max_out, err, errlen);
        if (r == -EBADMSG)
                st->stats.malformed++;
        else if (r >= 0) {
                if (r > 0)
                        st->stats.packets++;
                st->stats.samples += (uint64_t) r;
        }
        return r;
}

void ble_clock_track(gw_ble_state *st, int64_t dev_last_ns, int64_t rx_ns, int64_t elapsed_ns)
{
        int64_t seen = rx_ns - dev_last_ns, e, lim;

        if (!st->synced) {
                st->offset_ns = seen;
                return;
        }
        e = seen - st->offset_ns;
        if (e > CLOCK_RESYNC_NS || e < -CLOCK_RESYNC_NS) {
                st->offset_ns = seen;
                st->stats.resyncs++;
                return;
        }
        /* Follow a lower latency quickly (0.1 % of elapsed time) and a
         * higher one slowly (0.01 %): the envelope of minimum latency absorbs
         * crystal drift without letting jitter into the timestamps, and a
         * slew this small can never make a timestamp step backwards. */
        if (e < 0) {
                lim = elapsed_ns / 1000;
                st->offset_ns += e < -lim ? -lim : e;
        } else {
                lim = elapsed_ns / 10000;
                st->offset_ns += e > lim ? lim : e;
        }
}

int64_t ble_clock_arrival(gw_ble_state *st, int64_t rx_ns, double period_ns)
{
        int64_t expect, t;

        if (!st->has_last || !st->synced)
                return rx_ns;
        expect = st->last_t_ns + (int64_t) period_ns;
        if (rx_ns - expect > CLOCK_RESYNC_NS / 4) {
                st->stats.resyncs++;
                return rx_ns;
        }
        /* Notifications arrive in bursts of a connection event: smooth the
         * arrival times (1/16 per sample) around the nominal period. */
        t = expect + (rx_ns - expect) / 16;
        if (t < st->last_t_ns + (int64_t) (period_ns / 2))
                t = st->last_t_ns + (int64_t) (period_ns / 2);
        return t;
}

int64_t ble_clock_deliver(gw_ble_state *st, int64_t t_ns)
{
        if (st->has_last && t_ns <= st->last_t_ns)
                t_ns = st->last_t_ns + 1;
        st->last_t_ns = t_ns;
        st->has_last = true;
        return t_ns;
}
