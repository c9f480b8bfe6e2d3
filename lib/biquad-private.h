/* SPDX-License-Identifier: MIT */
#pragma once

/* Biquad cascades over caller-owned state, so a front end can keep the
 * state of many channels in one compact block (two doubles per section)
 * next to one shared coefficient set. */

#include "gaitway/frontend.h"

/* Steady state for a constant input x0 (scipy's sosfilt_zi * x0); returns
 * the cascade's output at that steady state (x0 times the DC gain). */
double gw_sos_settle(const gw_sos *sos, double (*z)[2], double x0);
/* The same on n sections c[n] (a gw_sos's rows, kept without the unused
 * ones: a front end per device and model). */
double gw_sections_settle(const double (*c)[6], int n, double (*z)[2], double x0);

/* One sample through n sections, transposed direct form II as scipy's
 * sosfilt. */
static inline double gw_sections_step(const double (*c)[6], int n, double (*z)[2], double x)
{
        for (int s = 0; s < n; s++) {
                double y = c[s][0] * x + z[s][0];
                z[s][0] = c[s][1] * x - c[s][4] * y + z[s][1];
                z[s][1] = c[s][2] * x - c[s][5] * y;
                x = y;
        }
        return x;
}

static inline double gw_sos_step(const gw_sos *sos, double (*z)[2], double x)
{
        return gw_sections_step((const double (*)[6]) sos->sos, sos->n, z, x);
}
