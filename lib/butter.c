/* SPDX-License-Identifier: MIT */
/* Digital Butterworth design, step for step as scipy.signal.butter(order,
 * cutoff, btype, fs=rate, output='sos') in scipy 1.10: analog prototype
 * poles, pre-warping, lp2lp/lp2hp, bilinear transform at fs = 2, then
 * zpk2sos with pairing='nearest'.  Following scipy's operations and its
 * pairing order (the section with the pole nearest the unit circle last)
 * keeps the coefficients within rounding of scipy's, so that training
 * references computed with scipy and the daemon's filters agree. */
#include <complex.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "gaitway/frontend.h"

#define MAX_ORDER (2 * GW_BIQUAD_MAX_SECTIONS)

typedef struct {
        double complex v[MAX_ORDER + 1];
        int n;
} root_set;

static void root_remove(root_set *s, int i)
{
        memmove(&s->v[i], &s->v[i + 1], (size_t) (s->n - i - 1) * sizeof s->v[0]);
        s->n--;
}

static bool is_real(double complex x)
{
        return cimag(x) == 0.0;
}

/* Index of the root closest to the unit circle among those selected by
 * `only_real`; the first on ties, as numpy.argmin. */
static int idx_worst(const root_set *s, bool only_real)
{
        int best = -1;
        double best_d = 0;

        for (int i = 0; i < s->n; i++) {
                if (only_real && !is_real(s->v[i]))
                        continue;
                double d = fabs(1.0 - cabs(s->v[i]));
                if (best < 0 || d < best_d) {
                        best = i;
                        best_d = d;
                }
        }
        return best;
}

/* Index of the zero nearest to `to` (zeros of a Butterworth filter are all
 * real, so scipy's 'real' and 'any' choices coincide). */
static int idx_nearest(const root_set *z, double complex to)
{
        int best = -1;
        double best_d = 0;

        for (int i = 0; i < z->n; i++) {
                double d = cabs(z->v[i] - to);
                if (best < 0 || d < best_d) {
                        best = i;
                        best_d = d;
                }
        }
        return best;
}

static int count_real(const root_set *s)
{
        int c = 0;
        for (int i = 0; i < s->n; i++)
                c += is_real(s->v[i]);
        return c;
}

/* numpy.poly of up to two roots, right-aligned into three coefficients as
 * scipy's _single_zpksos does. */
static void poly_into(const double complex *r, int n, double out[3])
{
        double complex c[3] = { 1.0, 0.0, 0.0 };

        if (n == 1) {
                c[1] = -r[0];
        } else if (n == 2) {
                c[1] = -r[1] + -r[0];
                c[2] = (-r[0]) * (-r[1]);
        }
        out[0] = out[1] = out[2] = 0.0;
        for (int i = 0; i <= n; i++)
                out[3 - (n + 1) + i] = creal(c[i]);
}

static void section_set(double sos[6], const double complex *z, int nz,
                        const double complex *p, int np)
{
        poly_into(z, nz, sos);
        poly_into(p, np, sos + 3);
}

/* scipy's _cplxreal for roots that come in exact conjugate pairs: the
 * members with positive imaginary part, then the real roots, each group
 * sorted by real part, then by magnitude of the imaginary part. */
static void cplxreal(root_set *s)
{
        const double tol = 100 * 2.220446049250313e-16;
        root_set out = { .n = 0 };

        for (int pass = 0; pass < 2; pass++) {
                int start = out.n;
                for (int i = 0; i < s->n; i++) {
                        double complex x = s->v[i];
                        bool real = fabs(cimag(x)) <= tol * cabs(x);
                        if (pass == 0 && !real && cimag(x) > 0)
                                out.v[out.n++] = x;
                        else if (pass == 1 && real)
                                out.v[out.n++] = creal(x);
                }
                for (int i = start + 1; i < out.n; i++) {
                        double complex x = out.v[i];
                        int j = i - 1;
                        while (j >= start && (creal(out.v[j]) > creal(x) ||
                                              (creal(out.v[j]) == creal(x) &&
                                               fabs(cimag(out.v[j])) > fabs(cimag(x))))) {
                                out.v[j + 1] = out.v[j];
                                j--;
                        }
                        out.v[j + 1] = x;
                }
        }
        *s = out;
}

static void zpk2sos_nearest(root_set *z, root_set *p, double k, gw_sos *ret)
{
        int n_sections = (p->n + 1) / 2;

        if (p->n % 2 == 1) {
                p->v[p->n++] = 0.0;
                z->v[z->n++] = 0.0;
        }
        cplxreal(z);
        cplxreal(p);

        memset(ret, 0, sizeof *ret);
        ret->n = n_sections;
        for (int si = n_sections - 1; si >= 0; si--) {
                int i = idx_worst(p, false);
                double complex p1 = p->v[i], p2;
                root_remove(p, i);

                if (is_real(p1) && count_real(p) == 0) {
                        int j = idx_nearest(z, p1);
                        double complex zz[2] = { z->v[j], 0.0 }, pp[2] = { p1, 0.0 };
                        root_remove(z, j);
                        section_set(ret->sos[si], zz, 2, pp, 2);
                        continue;
                }
                if (is_real(p1)) {
                        int j = idx_worst(p, true);
                        p2 = p->v[j];
                        root_remove(p, j);
                } else {
                        p2 = conj(p1);
                }
                double complex pp[2] = { p1, p2 };
                if (z->n == 0) {
                        section_set(ret->sos[si], NULL, 0, pp, 2);
                        continue;
                }
                int j = idx_nearest(z, p1);
                double complex zz[2] = { z->v[j], 0.0 };
                root_remove(z, j);
                if (z->n == 0) {
                        section_set(ret->sos[si], zz, 1, pp, 2);
                        continue;
                }
                j = idx_nearest(z, p1);
                zz[1] = z->v[j];
                root_remove(z, j);
                section_set(ret->sos[si], zz, 2, pp, 2);
        }
        for (int i = 0; i < 3; i++)
                ret->sos[0][i] *= k;
}

int gw_butter_design(int order, double cutoff_hz, double rate_hz, gw_butter_type type, gw_sos *ret)
{
        root_set z = { .n = 0 }, p = { .n = 0 };
        double complex prod;
        double wn, warped, k;

        if (!ret || order < 1 || order > MAX_ORDER || !isfinite(cutoff_hz) ||
            !isfinite(rate_hz) || rate_hz <= 0 ||
            (type != GW_BUTTER_LOWPASS && type != GW_BUTTER_HIGHPASS))
                return -EINVAL;
        wn = 2 * cutoff_hz / rate_hz;
        if (!(wn > 0 && wn < 1))
                return -EINVAL;
        warped = 2 * 2.0 * tan(M_PI * wn / 2.0);

        /* buttap: poles on the left half of the unit circle */
        for (int m = -order + 1; m < order; m += 2) {
                double theta = M_PI * m / (2 * order);
                p.v[p.n++] = -(cos(theta) + I * sin(theta));
        }

        if (type == GW_BUTTER_LOWPASS) {
                for (int i = 0; i < p.n; i++)
                        p.v[i] = warped * p.v[i];
                k = pow(warped, order);
        } else {
                prod = 1.0;
                for (int i = 0; i < p.n; i++)
                        prod *= -p.v[i];
                k = creal(1.0 / prod);
                for (int i = 0; i < p.n; i++)
                        p.v[i] = warped / p.v[i];
                for (int i = 0; i < order; i++)
                        z.v[z.n++] = 0.0;
        }

        /* bilinear_zpk at fs = 2; zeros at infinity go to -1 (Nyquist) */
        const double fs2 = 2.0 * 2.0;
        double complex num = 1.0, den = 1.0;
        for (int i = 0; i < z.n; i++)
                num *= fs2 - z.v[i];
        for (int i = 0; i < p.n; i++)
                den *= fs2 - p.v[i];
        for (int i = 0; i < z.n; i++)
                z.v[i] = (fs2 + z.v[i]) / (fs2 - z.v[i]);
        for (int i = 0; i < p.n; i++)
                p.v[i] = (fs2 + p.v[i]) / (fs2 - p.v[i]);
        while (z.n < p.n)
                z.v[z.n++] = -1.0;
        k = k * creal(num / den);

        zpk2sos_nearest(&z, &p, k, ret);
        return 0;
}
