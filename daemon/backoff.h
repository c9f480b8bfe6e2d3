/* SPDX-License-Identifier: MIT */
#pragma once

/* Exponential backoff with jitter for reconnects: the n-th delay is drawn
 * uniformly from [b/2, b] with b = min(max, min * 2^n), so many gateways
 * losing one broker do not come back in lock-step. */

#include <stdint.h>

typedef struct {
        double min, max;
        unsigned attempts;
        uint32_t state;         /* xorshift32; deterministic for a given seed */
} Backoff;

void backoff_init(Backoff *b, double min, double max, uint32_t seed);
double backoff_next(Backoff *b);
void backoff_reset(Backoff *b);
