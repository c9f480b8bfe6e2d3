/* SPDX-License-Identifier: MIT */
#pragma once

/* A small server of libiio's iiod text protocol (the subset a libiio 0.24
 * client uses: PRINT, TIMEOUT, READ, WRITE, OPEN, READBUF, CLOSE, EXIT) for
 * one simulated IMU "iio:device0" (name "gw-net-imu", label "net"): accel
 * and anglvel x/y/z (le:s16) and a timestamp (le:s64), produced in real time
 * at the device's sampling_frequency.  It needs no privilege and is where
 * faults are injected: a stall (buffers stop filling) and a disappearance
 * (every connection dropped, connections refused).
 *
 * Sample i carries raw values iiod_responder_raw(i, c) for channel c (0..5)
 * and timestamp t0 + i * 1e9 / rate (CLOCK_MONOTONIC ns of its production). */

#include <stdbool.h>
#include <stdint.h>

#define IIOD_RESP_ACCEL_SCALE "0.000598550"     /* m/s^2 per LSB: +-2 g in 16 bits */
#define IIOD_RESP_GYRO_SCALE  "0.000266316"     /* rad/s per LSB: +-500 deg/s */

typedef struct IiodResponder IiodResponder;

typedef struct {
        bool timestamp;              /* offer the timestamp channel */
        bool gyro;                   /* offer anglvel channels */
        const char *rate;            /* initial sampling_frequency, "100" */
        const char *available;       /* sampling_frequency_available, "25 50 100 200" */
} IiodResponderOptions;

/* Listens on 127.0.0.1 (port 0 = any) in a thread of its own. */
int iiod_responder_start(const IiodResponderOptions *o, int port, IiodResponder **ret);
int iiod_responder_port(const IiodResponder *r);
void iiod_responder_stall(IiodResponder *r, bool stalled);
/* gone: drop every connection and refuse new ones; !gone: accept again. */
void iiod_responder_vanish(IiodResponder *r, bool gone);
uint64_t iiod_responder_samples_sent(IiodResponder *r);
/* Number of OPEN commands served (each reopen of a buffer counts). */
unsigned iiod_responder_opens(IiodResponder *r);
void iiod_responder_stop(IiodResponder *r);

int16_t iiod_responder_raw(uint64_t i, int channel);
