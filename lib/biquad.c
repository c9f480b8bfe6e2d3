/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "biquad-private.h"

double gw_sos_settle(const gw_sos *sos, double (*z)[2], double x0)
{
        return gw_sections_settle((const double (*)[6]) sos->sos, sos->n, z, x0);
}

double gw_sections_settle(const double (*sections)[6], int n, double (*z)[2], double x0)
{
        double v = x0;

        for (int s = 0; s < n; s++) {
                const double *c = sections[s];
                /* Gain of this section at DC: its output when the input has
                 * been v forever, which fixes both state variables. */
                double h = (c[0] + c[1] + c[2]) / (1.0 + c[4] + c[5]);
                z[s][1] = (c[2] - c[5] * h) * v;
                z[s][0] = (c[1] + c[2] - (c[4] + c[5]) * h) * v;
                v *= h;
        }
        return v;
}

void gw_biquad_init(gw_biquad_state *s, const gw_sos *sos)
{
        memset(s, 0, sizeof *s);
        s->sos = sos;
}

void gw_biquad_settle(gw_biquad_state *s, double x0)
{
        gw_sos_settle(s->sos, s->z, x0);
}

double gw_biquad_step(gw_biquad_state *s, double x)
{
        return gw_sos_step(s->sos, s->z, x);
}
