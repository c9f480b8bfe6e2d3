/* SPDX-License-Identifier: MIT */
#include "backoff.h"

void backoff_init(Backoff *b, double min, double max, uint32_t seed)
{
        b->min = min > 0 ? min : 0.001;
        b->max = max > b->min ? max : b->min;
        b->attempts = 0;
        b->state = seed ? seed : 0x9e3779b9u;
}

static uint32_t xorshift32(uint32_t *s)
{
        uint32_t x = *s;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return *s = x;
}

double backoff_next(Backoff *b)
{
        double base = b->min;
        for (unsigned i = 0; i < b->attempts && base < b->max; i++)
                base *= 2;
        if (base > b->max)
                base = b->max;
        if (b->attempts < 64)
                b->attempts++;
        double u = (double) xorshift32(&b->state) / 4294967296.0;
        return base / 2 + u * base / 2;
}

void backoff_reset(Backoff *b)
{
        b->attempts = 0;
}
