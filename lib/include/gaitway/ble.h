/* SPDX-License-Identifier: MIT */
#pragma once

/* Decoders of BLE wearable notifications: one table entry per GATT profile
 * (docs/ble-profile.md), one file per profile (lib/ble-<name>.c).  A decoder
 * turns one notification into samples with timestamps on the host's clock
 * and keeps per-stream counters (packets lost by sequence number, malformed
 * packets refused).  Pure: no D-Bus, no allocation, bounded reads. */

#include "gaitway/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GW_BLE_MAX_VALUES   9     /* values per sample (acc, gyro, compass) */
#define GW_BLE_MAX_SAMPLES  64    /* most samples one notification can decode to */
#define GW_BLE_UUID_MAX     37    /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

/* The gaitway IMU profile (docs/ble-profile.md). */
#define GW_BLE_GAITWAY_SERVICE_UUID "13fd0001-ab1c-45f7-89e9-ab589dd82332"
#define GW_BLE_GAITWAY_IMU_UUID     "13fd0002-ab1c-45f7-89e9-ab589dd82332"
#define GW_BLE_GAITWAY_VERSION      1
#define GW_BLE_GAITWAY_HEADER       14    /* bytes before the first sample */
#define GW_BLE_GAITWAY_SAMPLE       12    /* int16 ax ay az gx gy gz */
#define GW_BLE_GAITWAY_MAX_N        41    /* (517 - 3 - 14) / 12 */

/* The Nordic Thingy:52 Motion Service, raw data characteristic. */
#define GW_BLE_THINGY52_SERVICE_UUID "ef680400-9b35-4933-9b10-52ffa9740042"
#define GW_BLE_THINGY52_RAW_UUID     "ef680406-9b35-4933-9b10-52ffa9740042"
#define GW_BLE_THINGY52_CONFIG_UUID  "ef680401-9b35-4933-9b10-52ffa9740042"

typedef struct {
        int64_t t_ns;                      /* host clock (the rx_ns domain), strictly increasing */
        float v[GW_BLE_MAX_VALUES];        /* in the units of the profile's channels */
} gw_ble_sample;

typedef struct {
        uint64_t packets;       /* notifications accepted */
        uint64_t samples;       /* samples delivered */
        uint64_t lost;          /* packets missing by sequence number */
        uint64_t malformed;     /* notifications refused (short, wrong length, version, fields) */
        uint64_t duplicates;    /* repeated or late packets (sequence just behind): dropped */
        uint64_t resyncs;       /* clock re-anchored: device restart, large jump, restart() */
        double rate_hz;         /* sample rate in use (announced by the packet or nominal) */
        double accel_fs_g;      /* full scales announced by the last packet, 0 if none */
        double gyro_fs_dps;
} gw_ble_stats;

typedef struct gw_ble_profile gw_ble_profile;

/* Per-stream decoder state; the caller owns it (one per wearable). */
typedef struct {
        const gw_ble_profile *profile;
        gw_ble_stats stats;
        /* private */
        bool synced;            /* a packet has anchored the clocks */
        uint16_t next_seq;
        uint32_t last_dev_us;   /* raw device time of the last accepted packet */
        int64_t dev_ns;         /* unwrapped device time of the last accepted packet */
        int64_t offset_ns;      /* host time - device time, tracked */
        int64_t last_t_ns;      /* timestamp of the last sample delivered */
        bool has_last;
        double nominal_hz;      /* profiles without a rate field */
} gw_ble_state;

struct gw_ble_profile {
        const char *name;                    /* "gaitway", "thingy52": the config's profile= */
        const char *summary;
        const char *service_uuid;            /* lower case, 128-bit */
        const char *data_uuid;               /* the characteristic whose notifications carry samples */
        const char *config_uuid;             /* optional characteristic set before streaming, or NULL */
        int n_values;
        const gw_channel_desc *channels;     /* n_values names and units */
        double default_rate_hz;              /* nominal rate for profiles whose packets carry none */
        double max_rate_hz;

        /* Decodes one notification received at host time rx_ns.  Returns
         * the number of samples written to out (0 for a dropped duplicate),
         * -EBADMSG with one line in err for a refused packet, -ENOBUFS when
         * max_out cannot hold the packet.  Use gw_ble_decode(), which counts. */
        int (*decode)(gw_ble_state *st, const uint8_t *buf, size_t len, int64_t rx_ns,
                      gw_ble_sample *out, size_t max_out, char *err, size_t errlen);

        /* Optional: rewrites the config characteristic's current value (cur,
         * len bytes) to request rate_hz; writes the new value to out and
         * its length to *out_len.  Returns 0 or -EINVAL naming the field. */
        int (*configure)(const uint8_t *cur, size_t len, double rate_hz,
                         uint8_t *out, size_t out_max, size_t *out_len, char *err, size_t errlen);
};

size_t gw_ble_profile_count(void);
const gw_ble_profile *gw_ble_profile_get(size_t i);
/* By name ("gaitway") or by service UUID (any case); NULL if unknown. */
const gw_ble_profile *gw_ble_profile_find(const char *name_or_uuid);

/* nominal_hz: the rate the wearable was asked for, used by profiles whose
 * packets carry no rate (0 = the profile's default). */
void gw_ble_state_init(gw_ble_state *st, const gw_ble_profile *p, double nominal_hz);
/* Forgets sequence and clock (after a reconnect); keeps the counters. */
void gw_ble_state_restart(gw_ble_state *st);

/* Decodes through st->profile and maintains st->stats (malformed included). */
int gw_ble_decode(gw_ble_state *st, const uint8_t *buf, size_t len, int64_t rx_ns,
                  gw_ble_sample *out, size_t max_out, char *err, size_t errlen);

/* Canonical form of a UUID: 16-bit ("2a37") and 32-bit values expand on the
 * Bluetooth base UUID, letters become lower case.  Returns 0 or -EINVAL. */
int gw_ble_uuid_normalize(const char *in, char out[GW_BLE_UUID_MAX]);

/* Encoder of the gaitway profile, for simulators, firmware tests and the
 * test harness.  Writes GW_BLE_GAITWAY_HEADER + 12 n bytes; returns that
 * length or -EINVAL (n, rate or full scales out of range), -ENOBUFS. */
typedef struct {
        uint16_t seq;
        uint32_t t_us;           /* device time of sample 0 */
        double rate_hz;          /* 1..1600, multiple of 0.1 */
        unsigned accel_fs_g;     /* 1..64 */
        unsigned gyro_fs_dps;    /* 1..8000 */
} gw_ble_gaitway_header;

int gw_ble_gaitway_encode(const gw_ble_gaitway_header *h, const int16_t (*raw)[6], size_t n,
                          uint8_t *out, size_t out_max);

#ifdef __cplusplus
}
#endif
