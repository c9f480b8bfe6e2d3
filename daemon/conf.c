/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-value.h"
#include "conf.h"
#include "gaitway/common.h"

#define LINE_MAX_BYTES 4096
/* Bounds on what a configuration may ask for: every device costs its
 * pipelines' memory, a D-Bus object and MQTT topics (a BLE adapter serves
 * some ten links, a busy ward gateway a few dozen devices; one gaitwayd
 * is benchmarked with 5000, bench/scale.py). */
#define DEVICES_MAX 8192
/* Keys of one [device] section, the kinds' own included (about 40 exist). */
#define DEVICE_KEYS_MAX 128

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static const char *const task_names[_MODEL_TASK_MAX] = {
        [MODEL_ACTIVITY] = "activity",
        [MODEL_FOG] = "fog",
};

const char *model_task_name(ModelTask t)
{
        return t < _MODEL_TASK_MAX ? task_names[t] : "?";
}

/* ---- key tables -------------------------------------------------------- */

typedef enum {
        T_BOOL,
        T_INT,          /* int */
        T_LONG,         /* long */
        T_DOUBLE,       /* double */
        T_FLOAT,        /* float */
        T_STRING,       /* char *, strdup'ed */
        T_PATH,         /* char *, relative to the file's directory */
        T_MODEL,        /* char *, a path, or empty to disable */
        T_ID,           /* char[CONF_ID_MAX] */
        T_NS,           /* int64_t nanoseconds, configured in seconds */
        T_CUSTOM,
} KeyType;

typedef int (*CustomParser)(void *obj, const char *value, const char *base_dir, char *err, size_t errlen);

typedef struct {
        const char *key;
        KeyType type;
        size_t offset;
        double min, max;
        CustomParser custom;
} KeyDef;

static int parse_topic(void *field, const char *v, const char *base_dir, char *err, size_t errlen)
{
        char **s = field;
        if (!*v || v[0] == '/' || v[strlen(v) - 1] == '/' || strpbrk(v, "+#") || strstr(v, "//"))
                return gw_error(err, errlen, EINVAL,
                                "expected a topic prefix without wildcards or empty levels, got '%s'", v);
        if (strlen(v) > 512)
                return gw_error(err, errlen, EINVAL, "topic prefix longer than 512 bytes");
        char *d = strdup(v);
        if (!d)
                return -ENOMEM;
        free(*s);
        *s = d;
        return 0;
}

static int parse_bus(void *field, const char *v, const char *base_dir, char *err, size_t errlen)
{
        DbusConf *d = field;
        free(d->address);
        d->address = NULL;
        if (!strcmp(v, "system"))
                d->bus = BUS_SYSTEM;
        else if (!strcmp(v, "session"))
                d->bus = BUS_SESSION;
        else if (!strcmp(v, "none"))
                d->bus = BUS_NONE;
        else if (strchr(v, ':') && strchr(v, '=')) {
                d->bus = BUS_ADDRESS;
                d->address = strdup(v);
                if (!d->address)
                        return -ENOMEM;
        } else
                return gw_error(err, errlen, EINVAL,
                                "expected system, session, none or a D-Bus address "
                                "(unix:path=...), got '%s'", v);
        return 0;
}

/* A group name as useradd and systemd-sysusers accept them; empty: no
 * group (root only). */
static int parse_group(void *field, const char *v, const char *base_dir, char *err, size_t errlen)
{
        char **s = field;
        size_t n = strlen(v);
        if (n > 31 || (n && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n) ||
            v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))
                return gw_error(err, errlen, EINVAL, "expected a group name (up to 31 of A-Z a-z 0-9 _ -, "
                                "not starting with a digit or '-') or nothing, got '%s'", v);
        char *d = n ? strdup(v) : NULL;
        if (n && !d)
                return -ENOMEM;
        free(*s);
        *s = d;
        return 0;
}

static int parse_smoothing(void *field, const char *v, const char *base_dir, char *err, size_t errlen)
{
        gw_smooth_mode *m = field;
        if (!strcmp(v, "none"))
                *m = GW_SMOOTH_NONE;
        else if (!strcmp(v, "majority"))
                *m = GW_SMOOTH_MAJORITY;
        else if (!strcmp(v, "hysteresis"))
                *m = GW_SMOOTH_HYSTERESIS;
        else
                return gw_error(err, errlen, EINVAL, "expected none, majority or hysteresis, got '%s'", v);
        return 0;
}

static int parse_models(void *field, const char *v, const char *base_dir, char *err, size_t errlen)
{
        unsigned *mask = field;
        char words[_MODEL_TASK_MAX + 1][32];
        int n = conf_split(v, words, _MODEL_TASK_MAX, err, errlen);
        if (n < 0)
                return n;
        if (n == 0)
                return gw_error(err, errlen, EINVAL, "expected activity, fog or both");
        unsigned m = 0;
        for (int i = 0; i < n; i++) {
                int t;
                for (t = 0; t < _MODEL_TASK_MAX; t++)
                        if (!strcmp(words[i], task_names[t]))
                                break;
                if (t == _MODEL_TASK_MAX)
                        return gw_error(err, errlen, EINVAL, "expected activity, fog or both, got '%s'",
                                        words[i]);
                m |= 1u << t;
        }
        *mask = m;
        return 0;
}

/* Renames and units are kept in as many slots as were given: a gateway
 * keeps thousands of device sections, most without either. */
static int keep_words(char (*words)[32], int n, char (**ret)[32])
{
        char (*w)[32] = malloc((size_t) n * sizeof *w);
        if (!w)
                return -ENOMEM;
        memcpy(w, words, (size_t) n * sizeof *w);
        free(*ret);
        *ret = w;
        return 0;
}

static int parse_names(void *field, const char *v, const char *base_dir, char *err, size_t errlen)
{
        DeviceConf *d = (DeviceConf *) ((char *) field - offsetof(DeviceConf, n_names));
        char names[GW_MAX_INPUTS][32];
        int n = conf_split(v, names, GW_MAX_INPUTS, err, errlen);
        if (n < 0)
                return n;
        if (n == 0)
                return gw_error(err, errlen, EINVAL, "expected a list of channel names");
        for (int i = 0; i < n; i++)
                for (int j = 0; j < i; j++)
                        if (!strcmp(names[i], names[j]))
                                return gw_error(err, errlen, EINVAL, "channel '%s' named twice",
                                                names[i]);
        if (keep_words(names, n, &d->names) < 0)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        d->n_names = n;
        return 0;
}

static int parse_units(void *field, const char *v, const char *base_dir, char *err, size_t errlen)
{
        DeviceConf *d = (DeviceConf *) ((char *) field - offsetof(DeviceConf, n_units));
        char units[GW_MAX_INPUTS][32];
        int n = conf_split(v, units, GW_MAX_INPUTS, err, errlen);
        if (n < 0)
                return n;
        if (n == 0)
                return gw_error(err, errlen, EINVAL, "expected a list of units");
        for (int i = 0; i < n; i++) {
                double f;
                /* Accept only units the front end can convert. */
                if (gw_unit_factor(units[i], "m/s^2", &f) < 0 &&
                    gw_unit_factor(units[i], "rad/s", &f) < 0)
                        return gw_error(err, errlen, EINVAL,
                                        "unknown unit '%s' (m/s^2, g, mg, rad/s, deg/s, mrad/s)",
                                        units[i]);
        }
        if (keep_words(units, n, &d->units) < 0)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        d->n_units = n;
        return 0;
}

static int parse_mount(void *field, const char *v, const char *base_dir, char *err, size_t errlen)
{
        DeviceConf *d = (DeviceConf *) ((char *) field - offsetof(DeviceConf, has_mount));
        char words[10][32];
        int n = conf_split(v, words, 10, err, errlen);
        if (n < 0 || n != 9)
                return gw_error(err, errlen, EINVAL, "expected 9 numbers (row-major 3x3 matrix)");
        for (int i = 0; i < 9; i++) {
                double x;
                int r = conf_parse_double(words[i], -1e3, 1e3, &x, err, errlen);
                if (r < 0)
                        return r;
                d->mount[i / 3][i % 3] = x;
        }
        d->has_mount = true;
        return 0;
}

static int parse_class(void *field, const char *v, const char *base_dir, char *err, size_t errlen)
{
        return conf_parse_string(v, field, GW_NAME_MAX, err, errlen);
}

#define G(k, t, f, lo, hi) { k, t, offsetof(Config, f), lo, hi, NULL }
#define GC(k, f, fn) { k, T_CUSTOM, offsetof(Config, f), 0, 0, fn }

static const KeyDef gateway_keys[] = {
        G("id", T_ID, gateway.id, 0, 0),
        G("activity_model", T_MODEL, gateway.model[MODEL_ACTIVITY], 0, 0),
        G("fog_model", T_MODEL, gateway.model[MODEL_FOG], 0, 0),
        G("stats_interval", T_DOUBLE, gateway.stats_interval, 0, 86400),
        G("log_events", T_BOOL, gateway.log_events, 0, 0),
        { NULL, 0, 0, 0, 0, NULL },
};

static const KeyDef mqtt_keys[] = {
        G("enabled", T_BOOL, mqtt.enabled, 0, 0),
        G("host", T_STRING, mqtt.host, 0, 0),
        G("port", T_INT, mqtt.port, 1, 65535),
        GC("base_topic", mqtt.base_topic, parse_topic),
        G("client_id", T_STRING, mqtt.client_id, 0, 0),
        G("qos", T_INT, mqtt.qos, 0, 2),
        G("keepalive", T_INT, mqtt.keepalive, 5, 3600),
        G("username", T_STRING, mqtt.username, 0, 0),
        G("password_file", T_PATH, mqtt.password_file, 0, 0),
        G("tls", T_BOOL, mqtt.tls, 0, 0),
        G("tls_ca", T_PATH, mqtt.tls_ca, 0, 0),
        G("tls_cert", T_PATH, mqtt.tls_cert, 0, 0),
        G("tls_key", T_PATH, mqtt.tls_key, 0, 0),
        G("tls_insecure", T_BOOL, mqtt.tls_insecure, 0, 0),
        G("queue_limit", T_LONG, mqtt.queue_limit, 1, 1000000),
        G("probabilities", T_BOOL, mqtt.probabilities, 0, 0),
        G("homeassistant", T_BOOL, mqtt.ha_discovery, 0, 0),
        GC("homeassistant_prefix", mqtt.ha_prefix, parse_topic),
        G("reconnect_min", T_DOUBLE, mqtt.reconnect_min, 0.05, 3600),
        G("reconnect_max", T_DOUBLE, mqtt.reconnect_max, 0.05, 86400),
        { NULL, 0, 0, 0, 0, NULL },
};

static const KeyDef dbus_keys[] = {
        GC("bus", dbus, parse_bus),
        GC("admin_group", dbus.admin_group, parse_group),
        { NULL, 0, 0, 0, 0, NULL },
};

#define D(k, t, f, lo, hi) { k, t, offsetof(DeviceConf, f), lo, hi, NULL }
#define DC(k, f, fn) { k, T_CUSTOM, offsetof(DeviceConf, f), 0, 0, fn }

static const KeyDef device_keys[] = {
        D("sample_rate", T_DOUBLE, sample_rate, 0.1, 10000),
        DC("channels", n_names, parse_names),
        DC("units", n_units, parse_units),
        DC("mount_matrix", has_mount, parse_mount),
        D("max_gap", T_DOUBLE, max_gap, 0.001, 3600),
        DC("models", models, parse_models),
        DC("smoothing", activity.mode, parse_smoothing),
        D("smoothing_length", T_INT, activity.length, 1, GW_SMOOTH_MAX_LENGTH),
        D("smoothing_dwell", T_INT, activity.dwell, 1, GW_SMOOTH_MAX_LENGTH),
        D("smoothing_enter", T_FLOAT, activity.enter, 0, 1),
        D("min_confidence", T_FLOAT, activity.min_confidence, 0, 1),
        D("fog_on_threshold", T_FLOAT, fog.on_threshold, 0, 1),
        D("fog_off_threshold", T_FLOAT, fog.off_threshold, 0, 1),
        D("fog_on_windows", T_INT, fog.on_windows, 1, 1000),
        D("fog_off_windows", T_INT, fog.off_windows, 1, 1000),
        D("fog_min_duration", T_NS, fog.min_duration_ns, 0, 3600),
        DC("fog_class", fog_class, parse_class),
        { NULL, 0, 0, 0, 0, NULL },
};

static int apply_key(const KeyDef *k, void *base, const char *value, const char *base_dir,
                     char *err, size_t errlen)
{
        void *f = (char *) base + k->offset;
        long l;
        double d;
        int r;

        switch (k->type) {
        case T_BOOL:
                return conf_parse_bool(value, f, err, errlen);
        case T_INT:
                r = conf_parse_int(value, (long) k->min, (long) k->max, &l, err, errlen);
                if (r == 0)
                        *(int *) f = (int) l;
                return r;
        case T_LONG:
                return conf_parse_int(value, (long) k->min, (long) k->max, f, err, errlen);
        case T_DOUBLE:
                return conf_parse_double(value, k->min, k->max, f, err, errlen);
        case T_FLOAT:
                r = conf_parse_double(value, k->min, k->max, &d, err, errlen);
                if (r == 0)
                        *(float *) f = (float) d;
                return r;
        case T_NS:
                r = conf_parse_double(value, k->min, k->max, &d, err, errlen);
                if (r == 0)
                        *(int64_t *) f = (int64_t) (d * 1e9 + 0.5);
                return r;
        case T_STRING: {
                if (!*value)
                        return gw_error(err, errlen, EINVAL, "expected a value, got an empty string");
                if (strlen(value) > 1024)
                        return gw_error(err, errlen, EINVAL, "value longer than 1024 bytes");
                char *s = strdup(value);
                if (!s)
                        return -ENOMEM;
                free(*(char **) f);
                *(char **) f = s;
                return 0;
        }
        case T_PATH:
                return conf_parse_path(value, base_dir, f, err, errlen);
        case T_MODEL:
                if (!*value) {
                        free(*(char **) f);
                        *(char **) f = NULL;
                        return 0;
                }
                return conf_parse_path(value, base_dir, f, err, errlen);
        case T_ID:
                return conf_parse_id(value, f, CONF_ID_MAX, err, errlen);
        case T_CUSTOM:
                return k->custom(f, value, base_dir, err, errlen);
        }
        return -EINVAL;
}

static const KeyDef *find_key(const KeyDef *table, const char *key)
{
        for (const KeyDef *k = table; k->key; k++)
                if (!strcmp(k->key, key))
                        return k;
        return NULL;
}

/* ---- loader ------------------------------------------------------------ */

typedef struct {
        char *key;
        char *value;
        char *file;
        char *base_dir;
        unsigned line;
        unsigned long seq;      /* order of assignment over all files */
} Entry;

typedef struct {
        char id[CONF_ID_MAX];
        char *file;
        unsigned line;
        Entry *entries;
        size_t n_entries;
        /* A later file changed `source` (gaitway replay, or a drop-in
         * replaying a live device): the keys of other kinds set before are
         * left over from the section as first written, not mistakes. */
        bool source_replaced;
} PendingDevice;

struct ConfigLoader {
        Config *config;
        PendingDevice *devices;
        size_t n_devices;
        char *mqtt_fp;
        size_t mqtt_fp_len;
        char *dbus_fp;
        size_t dbus_fp_len;

        bool model_set[_MODEL_TASK_MAX];   /* [gateway] *_model given */
        bool check;                        /* config_loader_set_check() */
        /* Where each [gateway]/[mqtt]/[dbus] key was last set, for errors
         * found once all files are read. */
        struct { const KeyDef *key; char *where; } *locs;
        size_t n_locs;

        /* state of the file being parsed */
        const char *file;
        char *base_dir;
        unsigned line;
        unsigned long_line;
        unsigned long seq;
        int error;
        char err[GW_ERR_MAX * 2];
};

static void config_defaults(Config *c)
{
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) < 0 || !*host)
                strcpy(host, "gateway");
        host[CONF_ID_MAX - 1] = 0;
        /* A host name like "pi.local" is a valid id; anything else is
         * replaced so the default always is. */
        for (char *p = host; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
                        *p = '-';
        strcpy(c->gateway.id, host);
        c->gateway.model[MODEL_ACTIVITY] = strdup(CONF_ACTIVITY_MODEL_DEFAULT);
        c->gateway.model[MODEL_FOG] = strdup(CONF_FOG_MODEL_DEFAULT);
        c->gateway.stats_interval = 60;
        c->gateway.log_events = true;

        c->mqtt.enabled = true;
        c->mqtt.host = strdup("localhost");
        c->mqtt.port = 1883;
        c->mqtt.base_topic = strdup("gaitway");
        c->mqtt.qos = 1;
        c->mqtt.keepalive = 60;
        c->mqtt.queue_limit = 1000;
        c->mqtt.ha_discovery = true;
        c->mqtt.ha_prefix = strdup("homeassistant");
        c->mqtt.reconnect_min = 1;
        c->mqtt.reconnect_max = 60;

        c->dbus.bus = BUS_SYSTEM;
        c->dbus.admin_group = strdup(CONF_ADMIN_GROUP_DEFAULT);
}

static void device_defaults(DeviceConf *d)
{
        d->activity = (gw_activity_config) {
                .mode = GW_SMOOTH_HYSTERESIS,
                .length = 5,
                .dwell = 2,
                .enter = 0.6f,
                .min_confidence = 0.0f,
        };
        d->fog = (gw_fog_config) {
                .on_threshold = 0.6f,
                .off_threshold = 0.4f,
                .on_windows = 2,
                .off_windows = 2,
                .min_duration_ns = GW_NSEC_PER_SEC,
        };
}

ConfigLoader *config_loader_new(void)
{
        ConfigLoader *l = calloc(1, sizeof *l);
        if (!l)
                return NULL;
        l->config = calloc(1, sizeof *l->config);
        if (!l->config) {
                free(l);
                return NULL;
        }
        config_defaults(l->config);
        return l;
}

static void entry_clear(Entry *e)
{
        free(e->key);
        free(e->value);
        free(e->file);
        free(e->base_dir);
}

void config_loader_set_check(ConfigLoader *l, bool check)
{
        l->check = check;
}

/* A line for Config.unchecked or Config.ignored. */
static int add_line(char ***lines, size_t *n_lines, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add_line(char ***lines, size_t *n_lines, const char *fmt, ...)
{
        char **n = realloc(*lines, (*n_lines + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        *lines = n;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&n[*n_lines], fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        (*n_lines)++;
        return 0;
}

ConfigLoader *config_loader_free(ConfigLoader *l)
{
        if (!l)
                return NULL;
        config_free(l->config);
        for (size_t i = 0; i < l->n_devices; i++) {
                for (size_t j = 0; j < l->devices[i].n_entries; j++)
                        entry_clear(&l->devices[i].entries[j]);
                free(l->devices[i].entries);
                free(l->devices[i].file);
        }
        free(l->devices);
        free(l->mqtt_fp);
        free(l->dbus_fp);
        free(l->base_dir);
        for (size_t i = 0; i < l->n_locs; i++)
                free(l->locs[i].where);
        free(l->locs);
        free(l);
        return NULL;
}

static int fp_append(char **fp, size_t *len, const char *key, const char *value)
{
        size_t add = strlen(key) + strlen(value) + 2;
        char *n = realloc(*fp, *len + add + 1);
        if (!n)
                return -ENOMEM;
        sprintf(n + *len, "%s=%s\n", key, value);
        *fp = n;
        *len += add;
        return 0;
}

static int loader_fail(ConfigLoader *l, const char *section, const char *key, const char *reason)
{
        if (l->error)
                return 0;
        l->error = -EINVAL;
        if (key)
                snprintf(l->err, sizeof l->err, "%s:%u: [%s] %s: %s", l->file, l->line, section, key, reason);
        else
                snprintf(l->err, sizeof l->err, "%s:%u: %s", l->file, l->line, reason);
        return 0;
}

static PendingDevice *pending_device(ConfigLoader *l, const char *id)
{
        for (size_t i = 0; i < l->n_devices; i++)
                if (!strcmp(l->devices[i].id, id))
                        return &l->devices[i];
        PendingDevice *n = realloc(l->devices, (l->n_devices + 1) * sizeof *n);
        if (!n)
                return NULL;
        l->devices = n;
        PendingDevice *d = &n[l->n_devices];
        memset(d, 0, sizeof *d);
        strcpy(d->id, id);
        d->file = strdup(l->file);
        d->line = l->line;
        if (!d->file)
                return NULL;
        l->n_devices++;
        return d;
}

static int device_entry(ConfigLoader *l, PendingDevice *d, const char *key, const char *value)
{
        Entry *e = NULL;
        for (size_t i = 0; i < d->n_entries; i++)
                if (!strcmp(d->entries[i].key, key)) {
                        e = &d->entries[i];
                        if (!strcmp(key, "source") && strcmp(e->value, value))
                                d->source_replaced = true;
                        entry_clear(e);
                        break;
                }
        if (!e) {
                Entry *n = realloc(d->entries, (d->n_entries + 1) * sizeof *n);
                if (!n)
                        return -ENOMEM;
                d->entries = n;
                e = &n[d->n_entries++];
        }
        e->key = strdup(key);
        e->value = strdup(value);
        e->file = strdup(l->file);
        e->base_dir = l->base_dir ? strdup(l->base_dir) : NULL;
        e->line = l->line;
        e->seq = ++l->seq;
        if (!e->key || !e->value || !e->file || (l->base_dir && !e->base_dir))
                return -ENOMEM;
        return 0;
}

static void remember_location(ConfigLoader *l, const KeyDef *k)
{
        char *w;
        if (asprintf(&w, "%s:%u: ", l->file, l->line) < 0)
                return;
        for (size_t i = 0; i < l->n_locs; i++)
                if (l->locs[i].key == k) {
                        free(l->locs[i].where);
                        l->locs[i].where = w;
                        return;
                }
        void *n = realloc(l->locs, (l->n_locs + 1) * sizeof *l->locs);
        if (!n) {
                free(w);
                return;
        }
        l->locs = n;
        l->locs[l->n_locs].key = k;
        l->locs[l->n_locs++].where = w;
}

/* "file:line: " where a [mqtt] key was set, or "" for a default. */
static const char *mqtt_key_location(const ConfigLoader *l, const char *key)
{
        const KeyDef *k = find_key(mqtt_keys, key);
        for (size_t i = 0; k && i < l->n_locs; i++)
                if (l->locs[i].key == k)
                        return l->locs[i].where;
        return "";
}

static int conf_ini_handler(void *user, const char *section, const char *key, const char *value)
{
        ConfigLoader *l = user;
        char reason[GW_ERR_MAX];
        const KeyDef *table = NULL;
        int r;

        if (l->error)
                return 1;
        if (l->long_line == l->line)
                return loader_fail(l, section, key, "line longer than 4096 bytes");
        if (!*section)
                return loader_fail(l, section, NULL, "key outside of any section");

        if (!strncmp(section, "device", 6) && (section[6] == ' ' || section[6] == 0)) {
                const char *id = section + 6;
                id += strspn(id, " \t");
                if (!conf_id_valid(id))
                        return loader_fail(l, section, NULL,
                                           "device id must be 1 to 63 of A-Z a-z 0-9 . _ - "
                                           "([device <id>])");
                bool known = false;
                for (size_t i = 0; i < l->n_devices && !known; i++)
                        known = !strcmp(l->devices[i].id, id);
                if (!known && l->n_devices >= DEVICES_MAX) {
                        char why[GW_ERR_MAX];
                        snprintf(why, sizeof why, "[%s]: more than " STRINGIFY(DEVICES_MAX) " devices", section);
                        return loader_fail(l, section, NULL, why);
                }
                PendingDevice *d = pending_device(l, id);
                if (d && d->n_entries >= DEVICE_KEYS_MAX) {
                        bool again = false;
                        for (size_t i = 0; i < d->n_entries && !again; i++)
                                again = !strcmp(d->entries[i].key, key);
                        if (!again)
                                return loader_fail(l, section, key, "more than " STRINGIFY(DEVICE_KEYS_MAX)
                                                   " keys in one device section");
                }
                if (!d || device_entry(l, d, key, value) < 0) {
                        l->error = -ENOMEM;
                        snprintf(l->err, sizeof l->err, "out of memory");
                }
                return 1;
        }

        if (!strcmp(section, "gateway"))
                table = gateway_keys;
        else if (!strcmp(section, "mqtt"))
                table = mqtt_keys;
        else if (!strcmp(section, "dbus"))
                table = dbus_keys;
        else
                return loader_fail(l, section, NULL, "unknown section (expected [gateway], [mqtt], "
                                   "[dbus] or [device <id>])");

        const KeyDef *k = find_key(table, key);
        if (!k)
                return loader_fail(l, section, key, "unknown key");
        r = apply_key(k, l->config, value, l->base_dir, reason, sizeof reason);
        if (r == -ENOKEY && l->check && k->type == T_PATH) {
                /* A credential outside the service: kept as written, its
                 * file is not checked. */
                char **f = (char **) ((char *) l->config + k->offset);
                free(*f);
                *f = strdup(value);
                if (!*f || add_line(&l->config->unchecked, &l->config->n_unchecked, "%s:%u: [%s] %s: %s",
                                    l->file, l->line, section, key, reason) < 0) {
                        l->error = -ENOMEM;
                        snprintf(l->err, sizeof l->err, "out of memory");
                        return 1;
                }
                r = 0;
        }
        if (r < 0)
                return loader_fail(l, section, key, reason);
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if ((char *) l->config + k->offset == (char *) &l->config->gateway.model[t])
                        l->model_set[t] = true;
        remember_location(l, k);
        if (table == mqtt_keys)
                r = fp_append(&l->mqtt_fp, &l->mqtt_fp_len, key, value);
        else if (table == dbus_keys)
                r = fp_append(&l->dbus_fp, &l->dbus_fp_len, key, value);
        if (r < 0) {
                l->error = r;
                snprintf(l->err, sizeof l->err, "out of memory");
        }
        return 1;
}

typedef struct {
        ConfigLoader *l;
        FILE *f;
        const char *text;
        char *buf;
        size_t cap;
} LineReader;

/* Our own reader counts lines, so errors can name them, and flags lines
 * longer than the parser's buffer instead of letting them split. */
static char *conf_ini_reader(char *str, int num, void *stream)
{
        LineReader *r = stream;
        ssize_t n;

        if (r->f) {
                n = getline(&r->buf, &r->cap, r->f);
                if (n < 0)
                        return NULL;
        } else {
                if (!*r->text)
                        return NULL;
                size_t len = strcspn(r->text, "\n");
                if (r->text[len] == '\n')
                        len++;
                if (len + 1 > r->cap) {
                        char *b = realloc(r->buf, len + 1);
                        if (!b)
                                return NULL;
                        r->buf = b;
                        r->cap = len + 1;
                }
                memcpy(r->buf, r->text, len);
                r->buf[len] = 0;
                r->text += len;
                n = (ssize_t) len;
        }
        r->l->line++;
        if (n >= num - 1) {
                r->l->long_line = r->l->line;
                n = num - 2;
        }
        memcpy(str, r->buf, (size_t) n);
        str[n] = 0;
        return str;
}

static int parse_stream(ConfigLoader *l, const char *name, FILE *f, const char *text,
                        const char *base_dir, char *err, size_t errlen)
{
        LineReader r = { .l = l, .f = f, .text = text };

        /* Values may contain ';' and '#' (passwords, topics); comments are
         * whole lines only.  A continuation-line syntax would make a stray
         * indented line silently change the previous key. */
        ini_allow_inline_comments = false;
        ini_allow_multiline = false;
        ini_use_stack = false;
        ini_max_line = LINE_MAX_BYTES;

        l->file = name;
        free(l->base_dir);
        l->base_dir = base_dir ? strdup(base_dir) : NULL;
        l->line = 0;
        l->long_line = 0;
        int r0 = ini_parse_stream(conf_ini_reader, &r, conf_ini_handler, l);
        free(r.buf);
        if (l->error)
                return gw_error(err, errlen, -l->error, "%s", l->err);
        if (r0 > 0)
                return gw_error(err, errlen, EINVAL, "%s:%d: syntax error (expected [section] or key = value)",
                                name, r0);
        if (r0 < 0)
                return gw_error(err, errlen, ENOMEM, "%s: cannot parse", name);
        return 0;
}

/* Anyone who can write the configuration decides what the daemon reads,
 * writes and runs: refused when every user may write it (group write is
 * left to the administrator, e.g. the group gaitway). */
static int check_not_world_writable(const char *path, const struct stat *st, char *err, size_t errlen)
{
        if ((st->st_mode & S_IWOTH) && !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))
                return gw_error(err, errlen, EPERM, "%s: writable by every user (mode %04o): refused; "
                                "chmod o-w %s", path, (unsigned) (st->st_mode & 07777), path);
        return 0;
}

int config_loader_add_file(ConfigLoader *l, const char *path, bool required, char *err, size_t errlen)
{
        struct stat st;
        FILE *f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && !required)
                        return 0;
                return gw_error(err, errlen, errno, "%s: %s", path, strerror(errno));
        }
        int r = fstat(fileno(f), &st) < 0 ? gw_error(err, errlen, errno, "%s: %s", path, strerror(errno))
                                           : check_not_world_writable(path, &st, err, errlen);
        if (r < 0) {
                fclose(f);
                return r;
        }
        char *copy = strdup(path);
        if (!copy) {
                fclose(f);
                return -ENOMEM;
        }
        r = parse_stream(l, path, f, NULL, dirname(copy), err, errlen);
        free(copy);
        fclose(f);
        return r;
}

static int conf_filter(const struct dirent *de)
{
        size_t n = strlen(de->d_name);
        return de->d_name[0] != '.' && n > 5 && !strcmp(de->d_name + n - 5, ".conf");
}

int config_loader_add_dir(ConfigLoader *l, const char *dir, char *err, size_t errlen)
{
        struct dirent **list;
        struct stat st;
        /* Anyone could add a drop-in to a world-writable directory. */
        if (stat(dir, &st) == 0) {
                int r = check_not_world_writable(dir, &st, err, errlen);
                if (r < 0)
                        return r;
        }
        int n = scandir(dir, &list, conf_filter, alphasort);
        if (n < 0) {
                if (errno == ENOENT)
                        return 0;
                return gw_error(err, errlen, errno, "%s: %s", dir, strerror(errno));
        }
        int r = 0;
        for (int i = 0; i < n; i++) {
                if (r == 0) {
                        char *p;
                        if (asprintf(&p, "%s/%s", dir, list[i]->d_name) < 0)
                                r = -ENOMEM;
                        else {
                                r = config_loader_add_file(l, p, true, err, errlen);
                                free(p);
                        }
                }
                free(list[i]);
        }
        free(list);
        return r;
}

int config_loader_add_string(ConfigLoader *l, const char *name, const char *text,
                             const char *base_dir, char *err, size_t errlen)
{
        return parse_stream(l, name, NULL, text, base_dir, err, errlen);
}

/* A secret (password, private key) must be a regular file that not every
 * user may read.  The systemd credential directory is private anyway. */
static int check_secret(const char *key, const char *path, const struct stat *st, const char *where,
                        char *err, size_t errlen)
{
        if (!S_ISREG(st->st_mode))
                return gw_error(err, errlen, EINVAL, "%s[mqtt] %s: %s: not a regular file", where, key, path);
        if (st->st_mode & S_IROTH)
                return gw_error(err, errlen, EPERM, "%s[mqtt] %s: %s is readable by every user (mode %04o): "
                                "refused; chmod o-r %s, or better pass it as a systemd credential",
                                where, key, path, (unsigned) (st->st_mode & 07777), path);
        return 0;
}

static int read_password(MqttConf *m, const char *where, char *err, size_t errlen)
{
        struct stat st;
        FILE *f = fopen(m->password_file, "re");
        if (!f)
                return gw_error(err, errlen, errno, "%s[mqtt] password_file: %s: %s", where,
                                m->password_file, strerror(errno));
        if (fstat(fileno(f), &st) < 0) {
                int r = gw_error(err, errlen, errno, "%s[mqtt] password_file: %s: %s", where,
                                 m->password_file, strerror(errno));
                fclose(f);
                return r;
        }
        int r = check_secret("password_file", m->password_file, &st, where, err, errlen);
        if (r < 0) {
                fclose(f);
                return r;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, f);
        fclose(f);
        if (n < 0) {
                free(line);
                return gw_error(err, errlen, EINVAL, "%s[mqtt] password_file: %s: empty file", where,
                                m->password_file);
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = 0;
        free(m->password);
        m->password = line;
        return 0;
}

/* A key the device's source kind does not take, and that is either not a
 * common key or a common key with a value refused (reason holds why).  Set
 * before the source was replaced, a key of another kind is ignored, with a
 * line in Config.ignored (returns 1); a common key too when the other kind
 * takes its value (iio's mount_matrix = no).  Otherwise 0 keeps the common
 * key's reason, or a negative errno with reason filled. */
static int foreign_key(Config *c, const PendingDevice *p, const Entry *src, const Entry *e, bool common,
                       char *reason, size_t reasonlen)
{
        bool left_over = p->source_replaced && e->seq < src->seq;
        const SourceKind *owner;
        int r = source_kind_owning_key(source_kind_find(src->value), e->key, e->value, e->base_dir, &owner);
        if (!owner && r == -ENOMEM)
                return gw_error(reason, reasonlen, ENOMEM, "out of memory");
        if (common && (!owner || r != 1 || !left_over))
                return 0;
        if (!owner)
                return gw_error(reason, reasonlen, EINVAL, "unknown key");
        if (!left_over)
                return gw_error(reason, reasonlen, EINVAL, "unknown key (a key of the %s source; this "
                                "device's source is %s)", owner->name, src->value);
        if (add_line(&c->ignored, &c->n_ignored, "%s:%u: [device %s] %s: ignored, a key of the %s source "
                     "(source is %s since %s:%u)", e->file, e->line, p->id, e->key, owner->name, src->value,
                     src->file, src->line) < 0)
                return gw_error(reason, reasonlen, ENOMEM, "out of memory");
        return 1;
}

static int finish_device(ConfigLoader *l, PendingDevice *p, DeviceConf *d, char *err, size_t errlen)
{
        char reason[GW_ERR_MAX];
        size_t fp_len = 0;
        int r;

        strcpy(d->id, p->id);
        d->file = strdup(p->file);
        d->line = p->line;
        if (!d->file)
                return -ENOMEM;
        device_defaults(d);

        /* The source kind first: it owns some of the other keys. */
        const Entry *src = NULL;
        for (size_t i = 0; i < p->n_entries; i++)
                if (!strcmp(p->entries[i].key, "source"))
                        src = &p->entries[i];
        if (!src)
                return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] source: missing (one of: %s)",
                                p->file, p->line, p->id, source_kind_names());
        d->source = source_kind_find(src->value);
        if (!d->source)
                return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] source: unknown kind '%s' "
                                "(one of: %s)", src->file, src->line, p->id, src->value,
                                source_kind_names());
        d->source_conf = d->source->conf_new();
        if (!d->source_conf)
                return -ENOMEM;

        for (size_t i = 0; i < p->n_entries; i++) {
                const Entry *e = &p->entries[i];
                if (fp_append(&d->fingerprint, &fp_len, e->key, e->value) < 0)
                        return -ENOMEM;
                if (e == src)
                        continue;
                /* The source kind first: it may give a common key its own
                 * meaning (iio's mount_matrix = yes reads the driver's). */
                r = d->source->conf_key(d->source_conf, e->key, e->value, e->base_dir,
                                        reason, sizeof reason);
                if (r == 0) {
                        const KeyDef *k = find_key(device_keys, e->key);
                        r = k ? apply_key(k, d, e->value, e->base_dir, reason, sizeof reason) : -ENOENT;
                        if (r < 0) {
                                int f = foreign_key(l->config, p, src, e, k != NULL, reason, sizeof reason);
                                if (f == 1)
                                        continue;
                                if (f < 0)
                                        r = f;
                        }
                }
                if (r < 0)
                        return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] %s: %s", e->file,
                                        e->line, p->id, e->key, reason);
        }

        r = d->source->conf_check(d->source_conf, d, reason, sizeof reason);
        if (r < 0)
                return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] %s", p->file, p->line, p->id,
                                reason);
        /* The library's message names the setting ("smoothing.length: ..."). */
        if (gw_activity_config_check(&d->activity, reason, sizeof reason) < 0)
                return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] %s", p->file, p->line, p->id,
                                reason);
        if (gw_fog_config_check(&d->fog, reason, sizeof reason) < 0)
                return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] %s", p->file, p->line, p->id,
                                reason);
        if (d->n_names && d->n_units && d->n_names != d->n_units)
                return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] units: %d units for %d channels",
                                p->file, p->line, p->id, d->n_units, d->n_names);

        const Config *c = l->config;
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                if (!(d->models & (1u << t)) || c->gateway.model[t])
                        continue;
                if (c->gateway.model_not_installed[t])
                        return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] models: %s requested "
                                        "but its model %s is not installed", p->file, p->line, p->id,
                                        task_names[t], c->gateway.model_not_installed[t]);
                return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] models: %s requested "
                                "but [gateway] %s_model is empty", p->file, p->line, p->id,
                                task_names[t], task_names[t]);
        }
        if (!device_conf_models(d, c))
                return gw_error(err, errlen, EINVAL, "%s:%u: [device %s] models: no model to run "
                                "([gateway] activity_model and fog_model are empty or, left at their "
                                "defaults, not installed in " CONF_MODEL_DIR ")", p->file, p->line, p->id);
        return 0;
}

int config_loader_finish(ConfigLoader *l, Config **ret, char *err, size_t errlen)
{
        Config *c = l->config;
        int r;

        /* The packaged defaults may lack a model (a gateway without the FoG
         * model): that task is off.  A configured path must exist. */
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if (!l->model_set[t] && c->gateway.model[t] && access(c->gateway.model[t], F_OK) < 0) {
                        c->gateway.model_not_installed[t] = c->gateway.model[t];
                        c->gateway.model[t] = NULL;
                }

        if (c->mqtt.reconnect_max < c->mqtt.reconnect_min)
                return gw_error(err, errlen, EINVAL, "%s[mqtt] reconnect_max: %g is less than "
                                "reconnect_min %g", mqtt_key_location(l, "reconnect_max"),
                                c->mqtt.reconnect_max, c->mqtt.reconnect_min);
        if (!!c->mqtt.tls_cert != !!c->mqtt.tls_key)
                return gw_error(err, errlen, EINVAL, "%s[mqtt] tls_cert and tls_key: set both or neither",
                                mqtt_key_location(l, c->mqtt.tls_cert ? "tls_cert" : "tls_key"));
        if (c->mqtt.tls_ca || c->mqtt.tls_cert)
                c->mqtt.tls = true;
        if (c->mqtt.enabled) {
                /* Found now rather than at connect time, and by --check-config. */
                const struct { const char *key; const char *path; } files[] = {
                        { "tls_ca", c->mqtt.tls_ca }, { "tls_cert", c->mqtt.tls_cert },
                        { "tls_key", c->mqtt.tls_key },
                };
                for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                        struct stat st;
                        const char *where = mqtt_key_location(l, files[i].key);
                        /* Left unexpanded by a check-only load. */
                        if (!files[i].path || conf_credential_prefix(files[i].path))
                                continue;
                        if (access(files[i].path, R_OK) < 0 || stat(files[i].path, &st) < 0)
                                return gw_error(err, errlen, errno, "%s[mqtt] %s: %s: %s", where,
                                                files[i].key, files[i].path, strerror(errno));
                        if (files[i].path == c->mqtt.tls_key) {
                                r = check_secret("tls_key", files[i].path, &st, where, err, errlen);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        if (c->mqtt.password_file && c->mqtt.enabled && !conf_credential_prefix(c->mqtt.password_file)) {
                r = read_password(&c->mqtt, mqtt_key_location(l, "password_file"), err, errlen);
                if (r < 0)
                        return r;
        }

        c->devices = calloc(l->n_devices ? l->n_devices : 1, sizeof *c->devices);
        if (!c->devices)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_devices; i++) {
                c->n_devices = i + 1;
                r = finish_device(l, &l->devices[i], &c->devices[i], err, errlen);
                if (r < 0)
                        return r;
        }

        c->mqtt_fingerprint = l->mqtt_fp ? l->mqtt_fp : strdup("");
        c->dbus_fingerprint = l->dbus_fp ? l->dbus_fp : strdup("");
        l->mqtt_fp = l->dbus_fp = NULL;
        if (!c->mqtt_fingerprint || !c->dbus_fingerprint)
                return -ENOMEM;
        /* The password lives in a file: a changed password must reconnect. */
        if (c->mqtt.password) {
                size_t len = strlen(c->mqtt_fingerprint);
                if (fp_append(&c->mqtt_fingerprint, &len, "password", c->mqtt.password) < 0)
                        return -ENOMEM;
        }
        *ret = c;
        l->config = NULL;
        return 0;
}

int config_load(const char *file, bool required, const char *dir, Config **ret, char *err, size_t errlen)
{
        ConfigLoader *l = config_loader_new();
        int r;
        if (!l)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        r = config_loader_add_file(l, file, required, err, errlen);
        if (r == 0 && dir)
                r = config_loader_add_dir(l, dir, err, errlen);
        if (r == 0)
                r = config_loader_finish(l, ret, err, errlen);
        config_loader_free(l);
        return r;
}

Config *config_free(Config *c)
{
        if (!c)
                return NULL;
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                free(c->gateway.model[t]);
                free(c->gateway.model_not_installed[t]);
        }
        free(c->mqtt.host);
        free(c->mqtt.base_topic);
        free(c->mqtt.client_id);
        free(c->mqtt.username);
        free(c->mqtt.password_file);
        if (c->mqtt.password) {
                explicit_bzero(c->mqtt.password, strlen(c->mqtt.password));
                free(c->mqtt.password);
        }
        free(c->mqtt.tls_ca);
        free(c->mqtt.tls_cert);
        free(c->mqtt.tls_key);
        free(c->mqtt.ha_prefix);
        free(c->dbus.address);
        free(c->dbus.admin_group);
        for (size_t i = 0; i < c->n_unchecked; i++)
                free(c->unchecked[i]);
        free(c->unchecked);
        for (size_t i = 0; i < c->n_ignored; i++)
                free(c->ignored[i]);
        free(c->ignored);
        for (size_t i = 0; i < c->n_devices; i++) {
                DeviceConf *d = &c->devices[i];
                if (d->source && d->source_conf)
                        d->source->conf_free(d->source_conf);
                free(d->file);
                free(d->fingerprint);
                free(d->names);
                free(d->units);
        }
        free(c->devices);
        if (c->mqtt_fingerprint) {
                explicit_bzero(c->mqtt_fingerprint, strlen(c->mqtt_fingerprint));
                free(c->mqtt_fingerprint);
        }
        free(c->dbus_fingerprint);
        free(c);
        return NULL;
}

const DeviceConf *config_device(const Config *c, const char *id)
{
        for (size_t i = 0; i < c->n_devices; i++)
                if (!strcmp(c->devices[i].id, id))
                        return &c->devices[i];
        return NULL;
}

unsigned device_conf_models(const DeviceConf *d, const Config *c)
{
        unsigned all = 0;
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if (c->gateway.model[t])
                        all |= 1u << t;
        return d->models ? d->models & all : all;
}
