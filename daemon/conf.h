/* SPDX-License-Identifier: MIT */
#pragma once

/* gaitway.conf: /etc/gaitway/gaitway.conf followed by the drop-ins
 * /etc/gaitway/gaitway.conf.d/ (files ending in .conf) in lexical order, INI syntax (libinih).
 * A later assignment of a key overrides an earlier one.  Every key is
 * validated; an error names the file, the line, the section and the key.
 * conf/gaitway.conf documents every key. */

#include <stdbool.h>
#include <stddef.h>

#include "gaitway/decision.h"
#include "gaitway/frontend.h"
#include "gw-paths.h"
#include "source.h"

/* GW_SYSCONFDIR and GW_PKGDATADIR come from meson's prefix, sysconfdir and
 * datadir (daemon/meson.build). */
#define CONF_FILE_DEFAULT   GW_SYSCONFDIR "/gaitway.conf"
#define CONF_DIR_DEFAULT    GW_SYSCONFDIR "/gaitway.conf.d"
#define CONF_MODEL_DIR      GW_PKGDATADIR "/models"
#define CONF_ACTIVITY_MODEL_DEFAULT CONF_MODEL_DIR "/activity-ucihar.gwm"
#define CONF_FOG_MODEL_DEFAULT      CONF_MODEL_DIR "/fog-daphnet.gwm"
#define CONF_ADMIN_GROUP_DEFAULT    "gaitway"
#define CONF_ID_MAX         64

typedef enum {
        MODEL_ACTIVITY = 0,
        MODEL_FOG,
        _MODEL_TASK_MAX,
} ModelTask;

const char *model_task_name(ModelTask t);

typedef struct {
        char id[CONF_ID_MAX];
        char *model[_MODEL_TASK_MAX];    /* paths; NULL = task disabled */
        /* A task left at its default path whose model is not installed is
         * disabled (not an error): the path, for a log line. */
        char *model_not_installed[_MODEL_TASK_MAX];
        double stats_interval;           /* seconds between stats while busy; 0 = never */
        bool log_events;                 /* events as lines on stdout */
} GatewayConf;

typedef struct {
        bool enabled;
        char *host;
        int port;
        char *base_topic;
        char *client_id;                 /* NULL = gaitway-<gateway id> */
        int qos;
        int keepalive;                   /* seconds */
        char *username;
        char *password_file;
        char *password;                  /* read from password_file; never logged */
        bool tls;
        char *tls_ca;                    /* CA file; NULL = system store */
        char *tls_cert;
        char *tls_key;
        bool tls_insecure;               /* skip host name verification */
        long queue_limit;                /* messages kept while disconnected */
        bool probabilities;
        bool ha_discovery;
        char *ha_prefix;
        double reconnect_min;            /* seconds */
        double reconnect_max;
} MqttConf;

typedef enum {
        BUS_NONE = 0,
        BUS_SYSTEM,
        BUS_SESSION,
        BUS_ADDRESS,
} BusKind;

typedef struct {
        BusKind bus;
        char *address;                   /* BUS_ADDRESS */
        /* Members may call the methods that change state (Reload), as may
         * root; NULL: root only. */
        char *admin_group;
} DbusConf;

typedef struct DeviceConf {
        char id[CONF_ID_MAX];
        char *file;                      /* where the section first appears */
        unsigned line;

        const SourceKind *source;
        void *source_conf;

        double sample_rate;              /* 0 = as the source says */
        int n_names;                     /* channel renames, in source order */
        char (*names)[32];               /* [n_names] */
        int n_units;                     /* unit overrides, in source order */
        char (*units)[32];               /* [n_units] */
        bool has_mount;
        double mount[3][3];
        double max_gap;                  /* seconds; 0 = front-end default */

        unsigned models;                 /* 1 << ModelTask; 0 = every gateway model */
        gw_activity_config activity;
        gw_fog_config fog;
        char fog_class[GW_NAME_MAX];     /* "" = automatic */

        char *fingerprint;               /* the section's final keys, to spot changes */
} DeviceConf;

typedef struct {
        GatewayConf gateway;
        MqttConf mqtt;
        DbusConf dbus;
        DeviceConf *devices;
        size_t n_devices;
        /* Canonical text of each section, compared on reload. */
        char *mqtt_fingerprint;
        char *dbus_fingerprint;
        /* What a check-only load (config_loader_set_check) could not
         * verify, one line each, for gaitwayd --check-config to print. */
        char **unchecked;
        size_t n_unchecked;
        /* Keys of another source kind left in a device section whose
         * source a later file replaced (gaitway replay --device, a drop-in
         * replaying a live device): not applied, one line each for the log. */
        char **ignored;
        size_t n_ignored;
} Config;

typedef struct ConfigLoader ConfigLoader;

ConfigLoader *config_loader_new(void);
ConfigLoader *config_loader_free(ConfigLoader *l);
/* A check without the service's environment (gaitwayd --check-config):
 * a path under $CREDENTIALS_DIRECTORY while the variable is unset is kept
 * as written and listed in Config.unchecked instead of failing. */
void config_loader_set_check(ConfigLoader *l, bool check);
/* Adds a file; a missing file is an error only when required. */
int config_loader_add_file(ConfigLoader *l, const char *path, bool required, char *err, size_t errlen);
/* Adds the files ending in .conf in dir, in lexical order; a missing
 * directory is fine. */
int config_loader_add_dir(ConfigLoader *l, const char *dir, char *err, size_t errlen);
/* Adds text as if it were a file called name; relative paths resolve
 * against base_dir (NULL: the working directory). */
int config_loader_add_string(ConfigLoader *l, const char *name, const char *text,
                             const char *base_dir, char *err, size_t errlen);
int config_loader_finish(ConfigLoader *l, Config **ret, char *err, size_t errlen);

/* main file (required when explicitly given) + drop-in directory. */
int config_load(const char *file, bool required, const char *dir, Config **ret, char *err, size_t errlen);

Config *config_free(Config *c);
const DeviceConf *config_device(const Config *c, const char *id);
/* The model tasks a device runs (its own list, or all the gateway's). */
unsigned device_conf_models(const DeviceConf *d, const Config *c);
