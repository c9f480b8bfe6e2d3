/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the BLE profile decoders (lib/ble-*.c): byte access and the
 * mapping of a wearable's clock onto the host's. */

#include "gaitway/ble.h"

extern const gw_ble_profile gw_ble_profile_gaitway;
extern const gw_ble_profile gw_ble_profile_thingy52;

static inline uint16_t ble_le16(const uint8_t *p)
{
        return (uint16_t) (p[0] | (p[1] << 8));
}

static inline int16_t ble_le16s(const uint8_t *p)
{
        return (int16_t) ble_le16(p);
}

static inline uint32_t ble_le32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static inline void ble_put16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static inline void ble_put32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* Device clock profiles: a packet whose last sample was taken at device time
 * dev_last_ns arrived at rx_ns; elapsed_ns is the device time since the
 * previous packet.  Updates st->offset_ns (host - device, minimum latency
 * envelope, slew-limited so timestamps never step backwards). */
void ble_clock_track(gw_ble_state *st, int64_t dev_last_ns, int64_t rx_ns, int64_t elapsed_ns);

/* Host clock profiles: the next sample's timestamp from its arrival, the
 * nominal period and the previous timestamp (smoothed arrival times). */
int64_t ble_clock_arrival(gw_ble_state *st, int64_t rx_ns, double period_ns);

/* Makes t strictly later than the last delivered sample and records it. */
int64_t ble_clock_deliver(gw_ble_state *st, int64_t t_ns);
