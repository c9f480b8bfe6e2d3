/* SPDX-License-Identifier: MIT */
#pragma once

/* The running median of gw_median_step() over many channels that always
 * advance together (a front end's inputs): one block of rings, one write
 * position, no per-channel bookkeeping.  Same values as gw_median_step()
 * channel by channel. */

#include <stdbool.h>

/* ring: channels x n floats (n odd, 1 < n <= GW_MEDIAN_MAX); *pos the next
 * slot, shared.  restart: every ring starts over padded with its value (as
 * after gw_median_init()).  y[c] is replaced by the median of channel c,
 * the value taken being (float) y[c]. */
void gw_median_rings_step(float *ring, int n, int channels, int *pos, bool restart, double *y);
