/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the daemon's configuration loader (daemon/conf.c over
 * inih, with the value parsers of daemon/conf-value.c and the keys of every
 * source kind) on a main file followed by drop-ins, as gaitwayd reads
 * /etc/gaitway/gaitway.conf and gaitway.conf.d/.
 *
 * Input: the main file, then each drop-in after a line "#--".  Files are
 * memfds read through config_loader_add_file (the daemon's path, NUL bytes
 * and all); every other drop-in goes through config_loader_add_string, the
 * in-memory reader.  A configuration that loads must hold what the loader
 * promises: valid unique device ids, each device with a source kind and a
 * model to run.  Every refusal is one line naming the file. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-value.h"
#include "conf.h"
#include "fuzz-input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 8

static void check(const Config *c)
{
        for (size_t i = 0; i < c->n_devices; i++) {
                const DeviceConf *d = &c->devices[i];
                if (!conf_id_valid(d->id) || !d->source || !d->source_conf || !d->file)
                        abort();
                if (config_device(c, d->id) != d)
                        abort();
                unsigned m = device_conf_models(d, c);
                if (!m)
                        abort();
                for (int t = 0; t < _MODEL_TASK_MAX; t++)
                        if ((m & (1u << t)) && !c->gateway.model[t])
                                abort();
                if (d->n_names < 0 || d->n_names > GW_MAX_INPUTS || d->n_units < 0 ||
                    d->n_units > GW_MAX_INPUTS)
                        abort();
        }
        if (!c->mqtt_fingerprint || !c->dbus_fingerprint)
                abort();
        if (c->mqtt.enabled && (!c->mqtt.host || !c->mqtt.base_topic || !c->mqtt.ha_prefix))
                abort();
        if (c->mqtt.reconnect_max < c->mqtt.reconnect_min)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        FuzzInput in = { data, size };
        ConfigLoader *l = config_loader_new();
        char err[GW_ERR_MAX * 2];
        Config *c = NULL;
        const uint8_t *p;
        size_t n;
        int r = 0, k = 0;

        if (!l)
                abort();
        err[0] = 0;
        while (r == 0 && k < MAX_FILES && (p = fuzz_piece(&in, "\n#--\n", &n))) {
                char name[64];
                if (k % 2 == 0) {
                        /* A memfd is created 0777; the loader rightly refuses
                         * a configuration every user may write. */
                        int fd = memfd_create("fuzz-conf", MFD_CLOEXEC);
                        if (fd < 0 || fchmod(fd, 0640) < 0 || write(fd, p, n) != (ssize_t) n)
                                abort();
                        snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
                        r = config_loader_add_file(l, name, true, err, sizeof err);
                        close(fd);
                } else {
                        char *text = fuzz_strndup(p, n);
                        snprintf(name, sizeof name, "drop-in-%d.conf", k);
                        r = config_loader_add_string(l, name, text, "/nonexistent/fuzz", err, sizeof err);
                        free(text);
                }
                k++;
        }
        if (r == 0)
                r = config_loader_finish(l, &c, err, sizeof err);
        if (r == 0) {
                if (!c)
                        abort();
                check(c);
                config_free(c);
        } else if (c || !err[0] || strchr(err, '\n'))
                abort();
        config_loader_free(l);
        return 0;
}
