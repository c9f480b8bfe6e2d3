/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "gaitway/frontend.h"

typedef enum { KIND_ACCEL, KIND_ANGULAR_RATE } unit_kind;

typedef struct {
        const char *name;
        unit_kind kind;
        double si;              /* value of one unit in m/s^2 or rad/s */
} unit_def;

/* Exact spellings only: a unit string comes from a model file or a config
 * file, and guessing at case or spacing would hide a typo that changes the
 * signal by a factor of 1000. */
static const unit_def units[] = {
        { "m/s^2",  KIND_ACCEL, 1.0 },
        { "m/s2",   KIND_ACCEL, 1.0 },
        { "m/s/s",  KIND_ACCEL, 1.0 },
        { "g",      KIND_ACCEL, 9.80665 },
        { "mg",     KIND_ACCEL, 9.80665e-3 },
        { "rad/s",  KIND_ANGULAR_RATE, 1.0 },
        { "mrad/s", KIND_ANGULAR_RATE, 1e-3 },
        { "deg/s",  KIND_ANGULAR_RATE, 0.017453292519943295 },   /* pi / 180 */
        { "dps",    KIND_ANGULAR_RATE, 0.017453292519943295 },
};

static const unit_def *unit_find(const char *name)
{
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
                if (strcmp(units[i].name, name) == 0)
                        return &units[i];
        return NULL;
}

int gw_unit_factor(const char *from, const char *to, double *factor)
{
        const unit_def *f, *t;

        if (!from || !to || !factor || !*from || !*to)
                return -EINVAL;

        f = unit_find(from);
        t = unit_find(to);
        if (!f || !t) {
                /* Channels of other kinds (a magnetometer in uT, a pressure)
                 * pass through unchanged when both sides agree. */
                if (strcmp(from, to) != 0)
                        return -EINVAL;
                *factor = 1.0;
                return 0;
        }
        if (f->kind != t->kind)
                return -EINVAL;
        *factor = f == t || f->si == t->si ? 1.0 : f->si / t->si;
        return 0;
}
