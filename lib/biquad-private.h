/* SPDX-License-Identifier: MIT */
#pragma once

/* Biquad cascades over caller-owned state, so a front end can keep the
 * state of many channels in one compact block (two doubles per section)
 * next to one shared coefficient set. */

#include "gaitway/frontend.h"

/* Steady state for a constant input x0 (scipy's sosfilt_zi * x0); returns
 * the cascade's output at that steady state (x0 times the DC gain). */
double gw_sos_settle(const gw_sos *sos, double (*z)[2], double x0);

/* One sample through the cascade, transposed direct form II as scipy's
 * sosfilt. */
static inline double gw_sos_step(const gw_sos *sos, double (*z)[2], double x)
{
        for (int s = 0; s < sos->n; s++) {
                const double *c = sos->sos[s];
                double y = c[0] * x + z[s][0];
                z[s][0] = c[1] * x - c[4] * y + z[s][1];
                z[s][1] = c[2] * x - c[5] * y;
                x = y;
        }
        return x;
}
