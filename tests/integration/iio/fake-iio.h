/* SPDX-License-Identifier: MIT */
#pragma once

/* A fake Industrial I/O device for libiio's local backend
 * (../shared/docs/test-harness.md): a sysfs tree bind-mounted over /sys/bus
 * and a FIFO named /dev/iio:deviceN in an overlay over /dev, inside a private
 * mount namespace of the calling process (its children inherit it).  The
 * host's mounts are untouched.  Data written to the FIFO follows the kernel
 * buffer layout of the channels libiio enabled. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_IIO_MAX_DEVICES 4

typedef struct {
        const char *name;              /* the name file */
        const char *label;             /* NULL = no label file */
        bool accel, gyro;              /* in_accel_{x,y,z}, in_anglvel_{x,y,z} */
        const char *axes;              /* axes present, "xyz" (NULL) or a subset: a partial set */
        bool timestamp;                /* in_timestamp (s64) */
        const char *accel_scale;       /* "0.000598" (m/s^2 per LSB) */
        const char *accel_offset;      /* NULL = no offset file */
        const char *gyro_scale;
        const char *sampling_frequency;        /* initial value, e.g. "100" */
        const char *sampling_frequency_available;  /* "12.5 25 50 100 200"; NULL = none */
        const char *mount_matrix;      /* in_accel_mount_matrix / in_anglvel_mount_matrix, NULL = none */
} FakeIioDevice;

/* unshare(CLONE_NEWNS) and make / private.  Returns 0, 77 when not
 * permitted (not root, no CAP_SYS_ADMIN, seccomp), or a negative errno.
 * Call before any thread exists. */
int fake_iio_enter_namespace(void);

/* Builds the trees of n devices (iio:device0..) under workdir and mounts
 * them.  Returns 0 or a negative errno with a message in err. */
int fake_iio_setup(const char *workdir, const FakeIioDevice *devs, int n, char *err, size_t errlen);

/* Unmounts the overlay and the tree and removes workdir (at exit). */
void fake_iio_cleanup(void);

/* The FIFO of device i, opened read-write and non-blocking (never blocks
 * on open, never sees EOF).  Returns the fd or a negative errno. */
int fake_iio_open_fifo(int i);

/* Bytes per sample for the channels currently enabled (scan_elements/<chan>_en
 * = 1) and the offsets of each, kernel rules: index order, each element
 * aligned to its size, the sample padded to the largest element. */
typedef struct {
        size_t size;
        int off_accel[3], off_gyro[3], off_ts;     /* -1 = not enabled */
} FakeIioLayout;

int fake_iio_layout(int i, FakeIioLayout *ret);

/* Packs one sample (raw values, x y z; absent axes ignored) into out. */
void fake_iio_pack(const FakeIioLayout *l, const int16_t acc[3], const int16_t gyro[3], int64_t ts,
                   uint8_t *out);

/* Removes device i (sysfs entry and /dev node) as a hot-unplug does, and
 * puts it back. */
int fake_iio_vanish(int i);
int fake_iio_reappear(int i);

/* Reads a file of device i's tree ("sampling_frequency", "buffer/enable")
 * into buf without the trailing newline or NUL libiio leaves. */
int fake_iio_read_attr(int i, const char *file, char *buf, size_t len);
