/* SPDX-License-Identifier: MIT */
#pragma once

/* Runs the IIO source of gaitwayd (daemon/source-iio.c) in a libev loop of
 * the test and collects what it delivers. */

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "source.h"

#define IIO_RUN_MAX 20000

typedef struct {
        struct ev_loop *loop;
        void *conf;
        Source *src;
        const gw_source_desc *desc;
        int n;                          /* channels per sample */
        size_t count;
        int64_t t[IIO_RUN_MAX];
        float v[IIO_RUN_MAX * 6];
        unsigned ups, downs;            /* connected(true/false) calls */
        bool connected;
        char last_reason[160];
        /* called every 5 ms while running, e.g. to feed a FIFO */
        void (*tick)(void *userdata);
        void *userdata;
} IioRun;

/* Creates the options from "key=value" strings (NULL-terminated), checks
 * them with sample_rate, and opens the source.  Returns 0 or a negative
 * errno with err filled. */
int iio_run_open(IioRun *r, double sample_rate, const char *const *kv, char *err, size_t errlen);
void iio_run_close(IioRun *r);
/* Runs the loop until done(r) is true or `seconds` pass; returns done(r). */
bool iio_run_until(IioRun *r, double seconds, bool (*done)(IioRun *r));
