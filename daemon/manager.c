/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "manager.h"
#include "notify.h"

static uint64_t mono_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* ---- models -------------------------------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static bool slot_shared(const ModelSlot *s, const ModelSlot *others)
{
        for (int t = 0; others && t < _MODEL_TASK_MAX; t++)
                if (others[t].model && others[t].model == s->model)
                        return true;
        return false;
}

/* Frees the slots' models unless `keep` uses them too. */
static void model_slots_free(ModelSlot *slots, const ModelSlot *keep)
{
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                if (!slot_shared(&slots[t], keep)) {
                        gw_engine_free(slots[t].engine);
                        gw_model_free(slots[t].model);
                }
                free(slots[t].path);
                slots[t] = (ModelSlot) { 0 };
        }
}

/* Loads the models the configuration's devices use, reusing those of
 * `current` whose file has not changed. */
static int models_load(const Config *c, const ModelSlot *current, ModelSlot *ret, char *err, size_t errlen)
{
        char reason[GW_ERR_MAX];
        unsigned needed = 0;
        int r;

        for (size_t i = 0; i < c->n_devices; i++)
                needed |= device_conf_models(&c->devices[i], c);
        /* All of them: a failure frees every slot, also those not reached. */
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                ret[t] = (ModelSlot) { 0 };

        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                ModelSlot *s = &ret[t];
                const char *path = c->gateway.model[t];
                const char *key = t == MODEL_ACTIVITY ? "activity_model" : "fog_model";

                if (!(needed & (1u << t)) || !path)
                        continue;
                if (stat(path, &s->st) < 0) {
                        r = gw_error(err, errlen, errno, "[gateway] %s: %s: %s", key, path, strerror(errno));
                        goto fail;
                }
                s->path = strdup(path);
                if (!s->path) {
                        r = gw_error(err, errlen, ENOMEM, "out of memory");
                        goto fail;
                }
                if (current && current[t].model && !strcmp(current[t].path, path) &&
                    same_file(&current[t].st, &s->st)) {
                        s->model = current[t].model;
                        s->engine = current[t].engine;
                        continue;
                }
                r = gw_model_load_file(path, &s->model, reason, sizeof reason);
                if (r < 0) {
                        gw_error(err, errlen, -r, "[gateway] %s: %s", key, reason);
                        goto fail;
                }
                const gw_model_info *info = gw_model_info_get(s->model);
                if (strcmp(info->task, model_task_name((ModelTask) t))) {
                        r = gw_error(err, errlen, EINVAL, "[gateway] %s: %s is a model for task '%s', not '%s'",
                                     key, path, info->task, model_task_name((ModelTask) t));
                        goto fail;
                }
                r = gw_engine_new(s->model, &s->engine);
                if (r < 0) {
                        gw_error(err, errlen, -r, "[gateway] %s: %s: cannot create an engine", key, path);
                        goto fail;
                }
        }
        return 0;
fail:
        model_slots_free(ret, current);
        return r;
}

static void device_models(const Config *c, const DeviceConf *dc, const ModelSlot *slots, DeviceModels *ret)
{
        unsigned want = device_conf_models(dc, c);
        *ret = (DeviceModels) { 0 };
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if (want & (1u << t)) {
                        ret->model[t] = slots[t].model;
                        ret->engine[t] = slots[t].engine;
                }
}

static bool device_reusable(const Device *d, const DeviceConf *dc, const DeviceModels *dm)
{
        if (strcmp(d->conf->fingerprint, dc->fingerprint))
                return false;
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if (d->model[t] != dm->model[t])
                        return false;
        return true;
}

/* ---- events and sinks ---------------------------------------------------- */

void manager_emit(Manager *m, const Event *e)
{
        if (e->type == EVENT_ACTIVITY || e->type == EVENT_FOG)
                m->stats.events++;
        if (e->type == EVENT_WINDOW || e->type == EVENT_ACTIVITY || e->type == EVENT_FOG)
                event_lag_add(&m->lag, wall_clock_ns() - e->wall_ns);
        for (int i = 0; i < SINK_KINDS; i++)
                if (m->sinks[i])
                        m->sinks[i]->kind->event(m->sinks[i], e);
}

static void manager_update_want_windows(Manager *m)
{
        m->want_windows = false;
        for (int i = 0; i < SINK_KINDS; i++)
                if (m->sinks[i] && m->sinks[i]->kind->wants_windows &&
                    m->sinks[i]->kind->wants_windows(m->sinks[i]))
                        m->want_windows = true;
}

static int manager_create_sink(Manager *m, int i)
{
        const SinkKind *k = sink_kinds[i];
        free(m->sink_fp[i]);
        m->sink_fp[i] = k->fingerprint(m->config);
        int r = k->new(m, m->config, &m->sinks[i]);
        if (r < 0)
                return log_error_errno(r, "cannot set up the %s sink", k->name);
        return 0;
}

static bool sink_changed(Manager *m, int i)
{
        char *fp = sink_kinds[i]->fingerprint(m->config);
        bool changed = !fp || !m->sink_fp[i] || strcmp(fp, m->sink_fp[i]);
        free(fp);
        return changed;
}

bool manager_busy(Manager *m)
{
        for (int i = 0; i < SINK_KINDS; i++)
                if (m->sinks[i] && m->sinks[i]->kind->busy && m->sinks[i]->kind->busy(m->sinks[i]))
                        return true;
        return false;
}

/* Room in the waiting list for n devices (before a configuration with n
 * devices is committed: adding to it never allocates). */
static int waiting_reserve(Manager *m, size_t n)
{
        if (n <= m->waiting_cap)
                return 0;
        Device **w = realloc(m->waiting, n * sizeof *w);
        if (!w)
                return -ENOMEM;
        m->waiting = w;
        m->waiting_cap = n;
        return 0;
}

static void waiting_forget(Manager *m, Device *d)
{
        if (!d->waiting)
                return;
        for (size_t i = 0; i < m->n_waiting; i++)
                if (m->waiting[i] == d) {
                        m->waiting[i] = m->waiting[--m->n_waiting];
                        break;
                }
        d->waiting = false;
}

void manager_device_waits(Manager *m, Device *d)
{
        if (d->waiting || m->n_waiting >= m->waiting_cap)
                return;
        d->waiting = true;
        m->waiting[m->n_waiting++] = d;
}

/* Only the devices told to wait: with thousands of devices, resuming every
 * one at each drain touched every device's memory. */
void manager_sink_drained(Manager *m)
{
        while (m->n_waiting > 0) {
                Device *d = m->waiting[--m->n_waiting];
                d->waiting = false;
                device_resume(d);
        }
}

void manager_sink_stopped(Manager *m, Sink *s)
{
        if (!m->stopping || m->sinks_stopping == 0)
                return;
        if (--m->sinks_stopping == 0)
                ev_break(m->loop, EVBREAK_ALL);
}

void manager_set_mqtt_connected(Manager *m, bool connected)
{
        if (m->mqtt_connected == connected)
                return;
        m->mqtt_connected = connected;
        Event e = { .type = EVENT_MQTT_CONNECTED, .link.connected = connected };
        manager_emit(m, &e);
}

/* ---- stats --------------------------------------------------------------- */

/* The lag figures of a stats event cover the events since the previous. */
static void emit_stats(Manager *m)
{
        Event e = { .type = EVENT_STATS };
        manager_emit(m, &e);
        event_lag_reset(&m->lag);
}

static void stats_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        Manager *m = w->data;
        emit_stats(m);
        /* Idle costs nothing: the timer runs only while data flows. */
        if (!m->stats_dirty)
                ev_timer_stop(loop, w);
        m->stats_dirty = false;
}

void manager_samples_arrived(Manager *m)
{
        m->stats_dirty = true;
        if (!ev_is_active(&m->stats_timer) && m->config->gateway.stats_interval > 0 && !m->stopping) {
                double iv = m->config->gateway.stats_interval;
                ev_timer_set(&m->stats_timer, iv, iv);
                ev_timer_start(m->loop, &m->stats_timer);
        }
}

/* ---- lifecycle ----------------------------------------------------------- */

static void deferred_cb(struct ev_loop *loop, ev_timer *w, int revents);

int manager_new(struct ev_loop *loop, const ManagerOptions *opt, Manager **ret)
{
        Manager *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->loop = loop;
        m->opt = *opt;
        m->start_mono_usec = (int64_t) mono_usec();
        ev_init(&m->stats_timer, stats_cb);
        m->stats_timer.data = m;
        ev_init(&m->deferred, deferred_cb);
        m->deferred.data = m;
        *ret = m;
        return 0;
}

static void manager_defer(Manager *m)
{
        if (!ev_is_active(&m->deferred)) {
                ev_timer_set(&m->deferred, 0, 0);
                ev_timer_start(m->loop, &m->deferred);
        }
}

static void devices_free(Device **devs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                device_free(devs[i]);
        free(devs);
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        if (m->loop) {
                ev_timer_stop(m->loop, &m->stats_timer);
                ev_timer_stop(m->loop, &m->deferred);
        }
        for (int i = 0; i < SINK_KINDS; i++) {
                if (m->sinks[i])
                        m->sinks[i]->kind->free(m->sinks[i]);
                free(m->sink_fp[i]);
        }
        devices_free(m->devices, m->n_devices);
        free(m->waiting);
        model_slots_free(m->models, NULL);
        config_free(m->config);
        free(m);
        return NULL;
}

static int config_read(Manager *m, Config **ret, char *err, size_t errlen)
{
        int r = config_load(m->opt.config_file, m->opt.config_required, m->opt.config_dir, ret, err, errlen);
        for (size_t i = 0; r == 0 && i < (*ret)->n_ignored; i++)
                log_info("%s", (*ret)->ignored[i]);
        return r;
}

/* Creates every device of c (none started); on failure nothing is left. */
static int devices_create(Manager *m, const Config *c, const ModelSlot *slots, Device **reuse, size_t n_reuse,
                          Device ***ret, bool **ret_kept, char *err, size_t errlen)
{
        Device **devs = calloc(c->n_devices ? c->n_devices : 1, sizeof *devs);
        bool *kept = calloc(c->n_devices ? c->n_devices : 1, sizeof *kept);
        int r = 0;

        if (!devs || !kept) {
                free(devs);
                free(kept);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < c->n_devices; i++) {
                const DeviceConf *dc = &c->devices[i];
                DeviceModels dm;
                device_models(c, dc, slots, &dm);
                for (size_t j = 0; j < n_reuse; j++)
                        if (reuse[j] && !strcmp(reuse[j]->id, dc->id) && device_reusable(reuse[j], dc, &dm)) {
                                devs[i] = reuse[j];
                                kept[i] = true;
                                break;
                        }
                if (devs[i])
                        continue;
                r = device_new(m, dc, &dm, &devs[i], err, errlen);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                for (size_t i = 0; i < c->n_devices; i++)
                        if (!kept[i])
                                device_free(devs[i]);
                free(devs);
                free(kept);
                return r;
        }
        *ret = devs;
        *ret_kept = kept;
        return 0;
}

void manager_status(Manager *m, char *buf, size_t n)
{
        size_t connected = 0;
        for (size_t i = 0; i < m->n_devices; i++)
                connected += m->devices[i]->connected;
        snprintf(buf, n, "%zu device(s), %zu streaming, %" PRIu64 " event(s); MQTT %s", m->n_devices, connected,
                 m->stats.events, !m->config->mqtt.enabled ? "off" :
                 m->mqtt_connected ? "connected" : "not connected");
}

static void manager_check_done(Manager *m)
{
        if (!m->opt.exit_when_done || m->stopping)
                return;
        for (size_t i = 0; i < m->n_devices; i++)
                if (!m->devices[i]->ended)
                        return;
        m->pending_shutdown = true;
        manager_defer(m);
}

int manager_start(Manager *m)
{
        char err[GW_ERR_MAX * 2], status[256];
        bool *kept = NULL;
        int r;

        r = config_read(m, &m->config, err, sizeof err);
        if (r < 0) {
                log_error("%s", err);
                return r;
        }
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if (m->config->gateway.model_not_installed[t])
                        log_notice("%s model %s is not installed: %s detection is off",
                                   model_task_name((ModelTask) t), m->config->gateway.model_not_installed[t],
                                   t == MODEL_FOG ? "freeze-of-gait" : "activity");
        r = models_load(m->config, NULL, m->models, err, sizeof err);
        if (r < 0) {
                log_error("%s", err);
                return r;
        }
        r = devices_create(m, m->config, m->models, NULL, 0, &m->devices, &kept, err, sizeof err);
        free(kept);
        if (r < 0) {
                log_error("%s", err);
                return r;
        }
        if (waiting_reserve(m, m->config->n_devices) < 0)
                return log_error_errno(ENOMEM, "out of memory");
        m->n_devices = m->config->n_devices;
        for (int i = 0; i < SINK_KINDS; i++) {
                r = manager_create_sink(m, i);
                if (r < 0)
                        return r;
        }
        manager_update_want_windows(m);
        for (size_t i = 0; i < m->n_devices; i++) {
                r = device_start(m->devices[i]);
                if (r < 0)
                        return log_error_errno(r, "device %s: cannot start", m->devices[i]->id);
        }
        for (size_t i = 0; i < m->n_devices; i++)
                log_info("device %s: %s at %.1f Hz, %s%s%s", m->devices[i]->id,
                         device_source_address(m->devices[i]), m->devices[i]->desc.rate_hz,
                         m->devices[i]->pipeline[MODEL_ACTIVITY] ? "activity" : "",
                         m->devices[i]->pipeline[MODEL_ACTIVITY] && m->devices[i]->pipeline[MODEL_FOG] ? " + " : "",
                         m->devices[i]->pipeline[MODEL_FOG] ? "freeze of gait" : "");
        manager_status(m, status, sizeof status);
        notify_ready(status);
        log_info("gateway %s ready: %s", m->config->gateway.id, status);
        manager_check_done(m);
        return 0;
}

int manager_check(Manager *m, char *err, size_t errlen)
{
        ConfigLoader *l = config_loader_new();
        int r;

        if (!l)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        /* Outside the service: credentials may be missing from the
         * environment, and are then listed rather than refused. */
        config_loader_set_check(l, true);
        r = config_loader_add_file(l, m->opt.config_file, m->opt.config_required, err, errlen);
        if (r == 0 && m->opt.config_dir)
                r = config_loader_add_dir(l, m->opt.config_dir, err, errlen);
        if (r == 0)
                r = config_loader_finish(l, &m->config, err, errlen);
        config_loader_free(l);
        if (r < 0)
                return r;
        r = models_load(m->config, NULL, m->models, err, errlen);
        if (r < 0)
                return r;
        /* Sources that open offline (files) are opened and bound to the
         * models; live ones stay NULL: no hardware, bus or loop needed. */
        const Config *c = m->config;
        m->devices = calloc(c->n_devices ? c->n_devices : 1, sizeof *m->devices);
        if (!m->devices)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        m->n_devices = c->n_devices;
        for (size_t i = 0; i < c->n_devices; i++) {
                DeviceModels dm;
                if (!c->devices[i].source->opens_offline)
                        continue;
                device_models(c, &c->devices[i], m->models, &dm);
                r = device_new(m, &c->devices[i], &dm, &m->devices[i], err, errlen);
                if (r < 0)
                        return r;
        }
        return 0;
}

int manager_reload(Manager *m, char *err, size_t errlen)
{
        Config *nc = NULL;
        ModelSlot nm[_MODEL_TASK_MAX];
        Device **devs = NULL;
        bool *kept = NULL;
        char status[256];
        int r;

        if (m->stopping)
                return gw_error(err, errlen, ESHUTDOWN, "shutting down");
        notify_reloading();
        r = config_read(m, &nc, err, errlen);
        if (r < 0)
                goto fail;
        if (waiting_reserve(m, nc->n_devices) < 0) {
                r = gw_error(err, errlen, ENOMEM, "out of memory");
                goto fail;
        }
        r = models_load(nc, m->models, nm, err, errlen);
        if (r < 0)
                goto fail;
        r = devices_create(m, nc, nm, m->devices, m->n_devices, &devs, &kept, err, errlen);
        if (r < 0) {
                model_slots_free(nm, m->models);
                goto fail;
        }

        /* Committed from here on: nothing below can fail. */
        for (size_t j = 0; j < m->n_devices; j++) {
                Device *old = m->devices[j];
                bool still = false;
                for (size_t i = 0; i < nc->n_devices; i++)
                        still |= devs[i] == old;
                if (still)
                        continue;
                device_stop(old);
                waiting_forget(m, old);
                Event e = { .type = EVENT_DEVICE_REMOVED, .device = old };
                manager_emit(m, &e);
                log_info("device %s: removed", old->id);
                device_free(old);
        }
        free(m->devices);
        m->devices = devs;
        m->n_devices = nc->n_devices;
        for (size_t i = 0; i < m->n_devices; i++)
                if (kept[i])
                        m->devices[i]->conf = &nc->devices[i];

        config_free(m->config);
        m->config = nc;
        model_slots_free(m->models, nm);
        memcpy(m->models, nm, sizeof nm);

        for (size_t i = 0; i < m->n_devices; i++) {
                if (kept[i])
                        continue;
                Event e = { .type = EVENT_DEVICE_ADDED, .device = m->devices[i] };
                manager_emit(m, &e);
                device_start(m->devices[i]);
                log_info("device %s: added (%s)", m->devices[i]->id, device_source_address(m->devices[i]));
        }
        free(kept);

        for (int i = 0; i < SINK_KINDS; i++)
                if (sink_changed(m, i))
                        m->pending_sinks = true;
        if (m->pending_sinks)
                manager_defer(m);
        Event e = { .type = EVENT_RELOADED };
        manager_emit(m, &e);
        m->stats.reloads++;
        manager_status(m, status, sizeof status);
        notify_ready(status);
        log_info("configuration reloaded: %s", status);
        manager_check_done(m);
        return 0;

fail:
        config_free(nc);
        m->stats.reload_failures++;
        manager_status(m, status, sizeof status);
        notify_ready(status);
        return r;
}

/* Sinks whose configuration changed are replaced outside of any callback
 * (a D-Bus Reload call runs inside the D-Bus sink). */
static void manager_replace_sinks(Manager *m)
{
        for (int i = 0; i < SINK_KINDS; i++) {
                if (!sink_changed(m, i))
                        continue;
                log_info("%s: configuration changed, restarting it", sink_kinds[i]->name);
                if (m->sinks[i])
                        m->sinks[i] = m->sinks[i]->kind->free(m->sinks[i]);
                if (sink_kinds[i] == &sink_mqtt)
                        manager_set_mqtt_connected(m, false);
                manager_create_sink(m, i);
        }
        manager_update_want_windows(m);
}

static void deferred_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        Manager *m = w->data;
        if (m->pending_sinks && !m->stopping) {
                m->pending_sinks = false;
                manager_replace_sinks(m);
        }
        if (m->pending_shutdown) {
                m->pending_shutdown = false;
                manager_shutdown(m, m->exit_code);
        }
}

void manager_device_ended(Manager *m, Device *d, int error, const char *err)
{
        if (error < 0) {
                log_error("device %s: %s", d->id, err ? err : strerror(-error));
                if (m->opt.exit_when_done)
                        m->exit_code = 1;
        } else
                log_info("device %s: end of stream after %" PRIu64 " samples, %" PRIu64 " windows", d->id,
                         d->samples, d->windows);
        emit_stats(m);
        manager_check_done(m);
}

void manager_shutdown(Manager *m, int exit_code)
{
        if (m->stopping)
                return;
        if (exit_code)
                m->exit_code = exit_code;
        m->stopping = true;
        notify_stopping();
        log_info("shutting down");
        ev_timer_stop(m->loop, &m->stats_timer);
        for (size_t i = 0; i < m->n_devices; i++)
                device_stop(m->devices[i]);
        emit_stats(m);

        int n = 0;
        for (int i = 0; i < SINK_KINDS; i++)
                n += m->sinks[i] != NULL;
        m->sinks_stopping = n;
        if (n == 0) {
                ev_break(m->loop, EVBREAK_ALL);
                return;
        }
        for (int i = 0; i < SINK_KINDS; i++)
                if (m->sinks[i])
                        m->sinks[i]->kind->stop(m->sinks[i]);
}

uint64_t manager_uptime_usec(const Manager *m)
{
        return mono_usec() - (uint64_t) m->start_mono_usec;
}

Device *manager_find_device(Manager *m, const char *id)
{
        for (size_t i = 0; i < m->n_devices; i++)
                if (!strcmp(m->devices[i]->id, id))
                        return m->devices[i];
        return NULL;
}
