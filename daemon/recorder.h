/* SPDX-License-Identifier: MIT */
#pragma once

/* Recording of a live stream in the gaitway trace format: what a source
 * delivers (physical units, before any filtering), so that `gaitway replay`
 * of the files gives the events of the live run.  Files rotate by size or
 * age; an error (a full disk) stops the recording with one log line and
 * never the processing. */

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gaitway/frontend.h"

typedef struct {
        char *path;                     /* NULL: not recording */
        long long max_bytes;            /* rotate after this many bytes, 0 = never */
        double max_seconds;             /* rotate after this long, 0 = never */
} RecorderConf;

/* Keys of a source section: record = PATH (a directory: files named
 * <device>-<UTC time>.csv in it; else a file, rotations numbered
 * PATH-1, PATH-2 before the extension), record_max_size = N[k|M|G],
 * record_max_time = SECONDS.  Returns 1 when the key is one of these, 0 when
 * not, or a negative errno with err filled. */
int recorder_conf_key(RecorderConf *c, const char *key, const char *value, const char *base_dir,
                      char *err, size_t errlen);
void recorder_conf_done(RecorderConf *c);        /* frees, keeps the struct */
int recorder_conf_copy(RecorderConf *to, const RecorderConf *from);

typedef struct Recorder Recorder;

/* Opens the first file.  loop may be NULL (no periodic flush). */
int recorder_new(const RecorderConf *c, struct ev_loop *loop, const char *device_id,
                 const char *source_address, const gw_source_desc *desc, Recorder **ret,
                 char *err, size_t errlen);
void recorder_samples(Recorder *r, size_t n, const int64_t *t_ns, const float *v);
/* Flushes and closes; returns NULL. */
Recorder *recorder_free(Recorder *r);

bool recorder_active(const Recorder *r);
uint64_t recorder_rows(const Recorder *r);
unsigned recorder_files(const Recorder *r);
