/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "source.h"

/* One entry per source kind (one file each). */
static const SourceKind *const kinds[] = {
        &source_replay,
#if GW_HAVE_IIO
        &source_iio,
#endif
        &source_ble,
};

const SourceKind *source_kind_find(const char *name)
{
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
                if (!strcmp(kinds[i]->name, name))
                        return kinds[i];
        return NULL;
}

const char *source_kind_names(void)
{
        static char names[128];
        if (!names[0])
                for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                        if (i)
                                strncat(names, " ", sizeof names - strlen(names) - 1);
                        strncat(names, kinds[i]->name, sizeof names - strlen(names) - 1);
                }
        return names;
}

int source_kind_owning_key(const SourceKind *except, const char *key, const char *value,
                           const char *base_dir, const SourceKind **ret)
{
        char reason[GW_ERR_MAX];

        *ret = NULL;
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                if (kinds[i] == except)
                        continue;
                /* Asking the kind itself keeps one list of its keys; a
                 * throw-away options object takes the value. */
                void *conf = kinds[i]->conf_new();
                if (!conf)
                        return -ENOMEM;
                int r = kinds[i]->conf_key(conf, key, value, base_dir, reason, sizeof reason);
                kinds[i]->conf_free(conf);
                if (r != 0) {
                        *ret = kinds[i];
                        return r;
                }
        }
        return 0;
}

int source_desc_apply(const DeviceConf *conf, const gw_source_desc *src, gw_source_desc *ret,
                      char *err, size_t errlen)
{
        *ret = *src;
        if (conf->n_names) {
                if (conf->n_names != src->n)
                        return gw_error(err, errlen, EINVAL, "channels: %d names for the %d channels of "
                                        "the source", conf->n_names, src->n);
                for (int i = 0; i < src->n; i++)
                        snprintf(ret->ch[i].name, sizeof ret->ch[i].name, "%s", conf->names[i]);
        }
        if (conf->n_units) {
                if (conf->n_units != src->n)
                        return gw_error(err, errlen, EINVAL, "units: %d units for the %d channels of "
                                        "the source", conf->n_units, src->n);
                for (int i = 0; i < src->n; i++)
                        snprintf(ret->ch[i].unit, sizeof ret->ch[i].unit, "%s", conf->units[i]);
        }
        if (conf->sample_rate > 0)
                ret->rate_hz = conf->sample_rate;
        if (conf->has_mount) {
                ret->has_mount = true;
                memcpy(ret->mount, conf->mount, sizeof ret->mount);
        }
        if (conf->max_gap > 0)
                ret->max_gap_ns = (int64_t) (conf->max_gap * 1e9);
        return 0;
}
