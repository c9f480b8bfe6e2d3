/* SPDX-License-Identifier: MIT */
#pragma once

/* The gateway: configuration, the models (one instance each, shared by all
 * devices), the devices, the sinks, reloads and the orderly shutdown. */

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "event-lag.h"
#include "conf.h"
#include "device.h"
#include "event.h"
#include "sink.h"

typedef struct {
        const char *config_file;
        bool config_required;
        const char *config_dir;
        bool exit_when_done;            /* shut down once every source has ended */
} ManagerOptions;

typedef struct {
        char *path;
        struct stat st;                 /* identity, to reuse an unchanged file on reload */
        gw_model *model;
        gw_engine *engine;
} ModelSlot;

typedef struct {
        uint64_t events;                /* activity and FoG events emitted */
        uint64_t reloads;
        uint64_t reload_failures;
} ManagerStats;

struct Manager {
        struct ev_loop *loop;
        ManagerOptions opt;
        Config *config;
        ModelSlot models[_MODEL_TASK_MAX];
        Device **devices;
        size_t n_devices;
        /* Devices whose source was told to wait (busy) and awaits a resume;
         * room for every device. */
        Device **waiting;
        size_t n_waiting, waiting_cap;
        Sink *sinks[SINK_KINDS];
        char *sink_fp[SINK_KINDS];      /* configuration each sink was made from */

        bool mqtt_connected;
        bool want_windows;
        int64_t start_mono_usec;
        ManagerStats stats;
        EventLag lag;                   /* since the previous stats event */

        ev_timer stats_timer;
        bool stats_dirty;
        ev_timer deferred;              /* work that must not run inside a callback */
        bool pending_shutdown;
        bool pending_sinks;             /* sinks whose configuration changed */
        bool stopping;
        int sinks_stopping;
        int exit_code;
};

int manager_new(struct ev_loop *loop, const ManagerOptions *opt, Manager **ret);
Manager *manager_free(Manager *m);

/* Loads the configuration and models, creates sinks and devices, starts the
 * sources and tells systemd READY=1.  Errors are logged. */
int manager_start(Manager *m);
/* Loads the configuration (check-only: see config_loader_set_check) and
 * the models, and opens the devices whose source opens offline (replays),
 * starting nothing (gaitwayd --check-config).  Live devices are validated
 * but not opened: their entry in devices[] stays NULL.  No loop needed. */
int manager_check(Manager *m, char *err, size_t errlen);
/* Reloads the configuration; on any error the running one stays and err
 * says why. */
int manager_reload(Manager *m, char *err, size_t errlen);
/* Stops sources, flushes the sinks, then breaks the loop. */
void manager_shutdown(Manager *m, int exit_code);

void manager_emit(Manager *m, const Event *e);
bool manager_busy(Manager *m);
/* A source of d was told to wait: it is resumed when the sinks drain. */
void manager_device_waits(Manager *m, Device *d);
void manager_sink_drained(Manager *m);
void manager_sink_stopped(Manager *m, Sink *s);
void manager_device_ended(Manager *m, Device *d, int error, const char *err);
void manager_samples_arrived(Manager *m);
void manager_set_mqtt_connected(Manager *m, bool connected);

uint64_t manager_uptime_usec(const Manager *m);
Device *manager_find_device(Manager *m, const char *id);
/* Fills STATUS= for systemd. */
void manager_status(Manager *m, char *buf, size_t n);
