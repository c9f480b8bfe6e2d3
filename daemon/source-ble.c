/* SPDX-License-Identifier: MIT */
/* The BLE source: one wearable, by address, through BlueZ's D-Bus API
 * (sd-bus only).  It connects (retrying BlueZ's transient failures with
 * backoff), waits for ServicesResolved, finds the profile's characteristics
 * by UUID in BlueZ's object tree, optionally writes the profile's
 * configuration, and streams notifications: through the socket of
 * AcquireNotify in the libev loop where BlueZ offers it, else StartNotify
 * and PropertiesChanged(Value).  Every loss of the link (Connected false,
 * objects removed, the socket hung up, a silent stream, BlueZ restarting)
 * tears the subscription down and starts over, so streaming is re-armed
 * after every reconnect.  Packets are decoded by lib/ble-<profile>.c. */

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ble-bus.h"
#include "conf-value.h"
#include "conf.h"
#include "gaitway/ble.h"
#include "link-state.h"
#include "log.h"
#include "recorder.h"
#include "source.h"

#define USEC 1000000ULL
#define MALFORMED_LOGGED 5

typedef struct {
        char address[18];                /* upper case */
        char adapter[16];                /* "" = any */
        const gw_ble_profile *profile;
        double connect_timeout;
        double resolve_timeout;
        double reconnect_min, reconnect_max;
        double stall_timeout;            /* 0 = never */
        bool acquire;
        RecorderConf rec;
} BleConf;

typedef enum {
        LINK_IDLE,
        LINK_SEARCHING,          /* looking for the device object */
        LINK_CONNECTING,
        LINK_RESOLVING,          /* connected, waiting for ServicesResolved */
        LINK_SUBSCRIBING,        /* discovery, configuration, notification setup */
        LINK_STREAMING,
        LINK_WAITING,            /* backoff before the next attempt */
        _LINK_MAX,
} Link;

static const char *const link_names[_LINK_MAX] = {
        "idle", "searching", "connecting", "resolving", "subscribing", "streaming", "waiting",
};

typedef struct {
        Source base;
        BleConf conf;
        LinkState ls;
        gw_source_desc desc;
        char address[64];

        BleBus *bus;
        BleWatch watch;
        bool got_data;
        Link link;
        bool scanning;

        char dev_path[128];
        char data_path[192];
        char config_path[192];
        bool dev_connected, dev_resolved, acquire_offered;

        sd_bus_slot *call;               /* the one pending method call */
        ev_timer timer;                  /* backoff and resolve timeout */
        ev_timer stall;

        int fd;
        ev_io io;
        uint16_t mtu;
        bool notifying;

        gw_ble_state dec;
        gw_ble_sample samples[GW_BLE_MAX_SAMPLES];
        int64_t t[GW_BLE_MAX_SAMPLES];
        float v[GW_BLE_MAX_SAMPLES * GW_BLE_MAX_VALUES];
        uint8_t rx[1024];

        uint64_t reconnects, connect_failures;
        double announced_rate;
} BleSource;

static void begin(BleSource *s);
static void lost(BleSource *s, const char *why);

static int64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * GW_NSEC_PER_SEC + ts.tv_nsec;
}

/* ---- configuration ----------------------------------------------------- */

static void *ble_conf_new(void)
{
        BleConf *c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        c->profile = gw_ble_profile_find("gaitway");
        c->connect_timeout = 30;
        c->resolve_timeout = 30;
        c->reconnect_min = 1;
        c->reconnect_max = 60;
        c->stall_timeout = 10;
        c->acquire = true;
        return c;
}

static void ble_conf_free(void *p)
{
        BleConf *c = p;
        if (!c)
                return;
        recorder_conf_done(&c->rec);
        free(c);
}

static int parse_address(const char *v, char *out, char *err, size_t errlen)
{
        if (strlen(v) != 17)
                goto bad;
        for (int i = 0; i < 17; i++) {
                char c = v[i];
                if (i % 3 == 2 ? c != ':' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                                              (c >= 'A' && c <= 'F')))
                        goto bad;
                out[i] = (char) (c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
        }
        out[17] = 0;
        return 0;
bad:
        return gw_error(err, errlen, EINVAL, "expected a Bluetooth address like C0:FF:EE:00:00:01, got '%s'", v);
}

static int ble_conf_key(void *p, const char *key, const char *v, const char *base_dir,
                        char *err, size_t errlen)
{
        BleConf *c = p;
        int r = recorder_conf_key(&c->rec, key, v, base_dir, err, errlen);

        if (r != 0)
                return r;
        if (!strcmp(key, "address"))
                r = parse_address(v, c->address, err, errlen);
        else if (!strcmp(key, "adapter"))
                r = conf_parse_id(v, c->adapter, sizeof c->adapter, err, errlen);
        else if (!strcmp(key, "profile")) {
                c->profile = gw_ble_profile_find(v);
                if (!c->profile) {
                        char names[128] = "";
                        for (size_t i = 0; i < gw_ble_profile_count(); i++) {
                                strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
                                strncat(names, gw_ble_profile_get(i)->name, sizeof names - strlen(names) - 1);
                        }
                        return gw_error(err, errlen, EINVAL, "expected a profile (%s) or its service UUID, got '%s'",
                                        names, v);
                }
                r = 0;
        } else if (!strcmp(key, "connect_timeout"))
                r = conf_parse_double(v, 1, 600, &c->connect_timeout, err, errlen);
        else if (!strcmp(key, "resolve_timeout"))
                r = conf_parse_double(v, 1, 600, &c->resolve_timeout, err, errlen);
        else if (!strcmp(key, "reconnect_min"))
                r = conf_parse_double(v, 0.01, 3600, &c->reconnect_min, err, errlen);
        else if (!strcmp(key, "reconnect_max"))
                r = conf_parse_double(v, 0.01, 86400, &c->reconnect_max, err, errlen);
        else if (!strcmp(key, "stall_timeout"))
                r = conf_parse_double(v, 0, 3600, &c->stall_timeout, err, errlen);
        else if (!strcmp(key, "acquire_notify"))
                r = conf_parse_bool(v, &c->acquire, err, errlen);
        else
                return 0;
        return r < 0 ? r : 1;
}

static int ble_conf_check(void *p, const DeviceConf *dc, char *err, size_t errlen)
{
        BleConf *c = p;
        if (!c->address[0])
                return gw_error(err, errlen, EINVAL, "address: missing (the wearable's Bluetooth address)");
        if (c->reconnect_min > c->reconnect_max)
                return gw_error(err, errlen, EINVAL, "reconnect_min: %g s is above reconnect_max %g s",
                                c->reconnect_min, c->reconnect_max);
        if (dc->sample_rate > c->profile->max_rate_hz)
                return gw_error(err, errlen, EINVAL, "sample_rate: %g Hz is above the %s profile's %g Hz",
                                dc->sample_rate, c->profile->name, c->profile->max_rate_hz);
        return 0;
}

/* ---- state ------------------------------------------------------------- */

static void set_link(BleSource *s, Link l)
{
        if (s->link == l)
                return;
        log_debug("device %s: %s -> %s", s->ls.device_id, link_names[s->link], link_names[l]);
        s->link = l;
}

static void cancel_call(BleSource *s)
{
        s->call = sd_bus_slot_unref(s->call);
}

static void close_stream(BleSource *s)
{
        if (s->fd >= 0) {
                ev_io_stop(s->ls.loop, &s->io);
                close(s->fd);
                s->fd = -1;
        }
        ev_timer_stop(s->ls.loop, &s->stall);
}

static void set_scanning(BleSource *s, bool on)
{
        if (s->scanning == on)
                return;
        s->scanning = on;
        ble_bus_discovery(s->bus, on);
}

static void schedule(BleSource *s, double delay)
{
        set_link(s, LINK_WAITING);
        ev_timer_stop(s->ls.loop, &s->timer);
        ev_timer_set(&s->timer, delay, 0);
        ev_timer_start(s->ls.loop, &s->timer);
}

static void retry(BleSource *s)
{
        if (s->ls.running)
                schedule(s, link_state_retry_delay(&s->ls));
}

/* The link is gone or useless: drop everything and start over. */
static void lost(BleSource *s, const char *why)
{
        bool was_streaming = s->link == LINK_STREAMING;

        cancel_call(s);
        close_stream(s);
        ev_timer_stop(s->ls.loop, &s->timer);
        s->notifying = false;
        s->got_data = false;
        s->data_path[0] = s->config_path[0] = 0;
        gw_ble_state_restart(&s->dec);
        if (was_streaming) {
                s->reconnects++;
                log_warning("device %s: %s; reconnecting", s->ls.device_id, why);
        } else
                log_info("device %s: %s", s->ls.device_id, why);
        link_state_down(&s->ls, why);
        retry(s);
}

static bool transient_error(const sd_bus_error *e)
{
        static const char *const names[] = {
                "org.bluez.Error.Failed",               /* le-connection-abort-by-local, Page Timeout, ... */
                "org.bluez.Error.InProgress",
                "org.bluez.Error.NotReady",
                "org.bluez.Error.NotConnected",
                "org.freedesktop.DBus.Error.NoReply",
                "org.freedesktop.DBus.Error.Timeout",
        };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (sd_bus_error_has_name(e, names[i]))
                        return true;
        return false;
}

static void call_failed(BleSource *s, const char *what, const sd_bus_error *e)
{
        char why[256];

        snprintf(why, sizeof why, "%s failed: %s%s%s", what, e->name ? e->name : "error",
                 e->message ? ": " : "", e->message ? e->message : "");
        if (transient_error(e))
                log_debug("device %s: %s (transient)", s->ls.device_id, why);
        lost(s, why);
}

/* ---- streaming --------------------------------------------------------- */

static void deliver(BleSource *s, const uint8_t *buf, size_t len)
{
        char err[GW_ERR_MAX];
        int n = gw_ble_decode(&s->dec, buf, len, mono_ns(), s->samples, GW_BLE_MAX_SAMPLES, err, sizeof err);
        int nv = s->desc.n;

        if (n < 0) {
                if (s->dec.stats.malformed <= MALFORMED_LOGGED)
                        log_warning("device %s: refused a notification: %s%s", s->ls.device_id, err,
                                    s->dec.stats.malformed == MALFORMED_LOGGED ?
                                    " (further ones are only counted)" : "");
                return;
        }
        ev_timer_again(s->ls.loop, &s->stall);
        if (!s->got_data) {
                /* A link that delivers is a success: the next failure starts
                 * the backoff from its minimum. */
                s->got_data = true;
                backoff_reset(&s->ls.backoff);
        }
        if (s->dec.stats.rate_hz != s->announced_rate) {
                s->announced_rate = s->dec.stats.rate_hz;
                if (fabs(s->announced_rate - s->desc.rate_hz) > 0.01 * s->desc.rate_hz)
                        log_warning("device %s: the wearable streams at %g Hz, configured for %g Hz "
                                    "(the front end's filters are designed for sample_rate)",
                                    s->ls.device_id, s->announced_rate, s->desc.rate_hz);
        }
        for (int i = 0; i < n; i++) {
                s->t[i] = s->samples[i].t_ns;
                memcpy(s->v + i * nv, s->samples[i].v, (size_t) nv * sizeof(float));
        }
        recorder_samples(s->ls.recorder, (size_t) n, s->t, s->v);
        if (n > 0 && s->ls.cb.samples)
                s->ls.cb.samples(s->ls.userdata, (size_t) n, s->t, s->v);
}

static void fd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
        BleSource *s = w->data;

        /* One notification per datagram; drain what is queued. */
        for (int i = 0; i < 64; i++) {
                ssize_t k = recv(s->fd, s->rx, sizeof s->rx, MSG_DONTWAIT);
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (k <= 0) {
                        lost(s, k == 0 ? "the notification socket closed" : "the notification socket failed");
                        return;
                }
                deliver(s, s->rx, (size_t) k);
                if (s->fd < 0)
                        return;
        }
}

static void stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        BleSource *s = w->data;
        char why[96];

        snprintf(why, sizeof why, "no notification for %.0f s", s->conf.stall_timeout);
        /* The link may still be up: drop it so the next attempt starts clean. */
        if (s->dev_path[0])
                sd_bus_call_method_async(ble_bus_get(s->bus), NULL, BLUEZ_SERVICE, s->dev_path,
                                         BLUEZ_DEVICE_IFACE, "Disconnect", NULL, NULL, "");
        lost(s, why);
}

static void streaming(BleSource *s, const char *how)
{
        set_link(s, LINK_STREAMING);
        log_info("device %s: streaming %s notifications from %s (%s)", s->ls.device_id, s->conf.profile->name,
                 s->conf.address, how);
        if (s->conf.stall_timeout > 0) {
                ev_timer_set(&s->stall, 0, s->conf.stall_timeout);
                ev_timer_again(s->ls.loop, &s->stall);
        }
        link_state_up(&s->ls);
}

static int start_notify_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleSource *s = userdata;

        cancel_call(s);
        if (sd_bus_message_is_method_error(m, NULL)) {
                call_failed(s, "StartNotify", sd_bus_message_get_error(m));
                return 0;
        }
        s->notifying = true;
        streaming(s, "StartNotify");
        return 0;
}

/* Calls a GATT characteristic's method that takes an optional byte array,
 * then an options dictionary (empty: BlueZ's defaults), replying to reply. */
static int call_characteristic(BleSource *s, const char *path, const char *method, const uint8_t *value,
                               size_t len, sd_bus_message_handler_t reply)
{
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(ble_bus_get(s->bus), &m, BLUEZ_SERVICE, path, BLUEZ_CHRC_IFACE,
                                               method);
        if (r >= 0 && value)
                r = sd_bus_message_append_array(m, 'y', value, len);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_call_async(ble_bus_get(s->bus), &s->call, m, reply, s,
                                      (uint64_t) (s->conf.connect_timeout * USEC));
        sd_bus_message_unref(m);
        return r;
}

static void start_notify(BleSource *s)
{
        int r = sd_bus_call_method_async(ble_bus_get(s->bus), &s->call, BLUEZ_SERVICE, s->data_path,
                                         BLUEZ_CHRC_IFACE, "StartNotify", start_notify_reply, s, "");
        if (r < 0)
                lost(s, "cannot call StartNotify");
}

static int acquire_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleSource *s = userdata;
        uint16_t mtu;
        int fd, r;

        cancel_call(s);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                if (sd_bus_error_has_name(e, "org.bluez.Error.NotSupported") ||
                    sd_bus_error_has_name(e, "org.bluez.Error.NotPermitted") ||
                    sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.UnknownMethod")) {
                        log_info("device %s: AcquireNotify refused (%s); using StartNotify", s->ls.device_id,
                                 e->message ? e->message : e->name);
                        start_notify(s);
                } else
                        call_failed(s, "AcquireNotify", e);
                return 0;
        }
        r = sd_bus_message_read(m, "hq", &fd, &mtu);
        if (r < 0) {
                lost(s, "AcquireNotify returned no socket");
                return 0;
        }
        /* The message owns its descriptor. */
        s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (s->fd < 0) {
                lost(s, "cannot keep the notification socket");
                return 0;
        }
        s->mtu = mtu;
        ev_io_init(&s->io, fd_cb, s->fd, EV_READ);
        s->io.data = s;
        ev_io_start(s->ls.loop, &s->io);
        streaming(s, "AcquireNotify");
        return 0;
}

static void subscribe(BleSource *s)
{
        if (!s->conf.acquire || !s->acquire_offered) {
                start_notify(s);
                return;
        }
        if (call_characteristic(s, s->data_path, "AcquireNotify", NULL, 0, acquire_reply) < 0)
                lost(s, "cannot call AcquireNotify");
}

/* ---- profile configuration (Thingy:52: the motion rate) ----------------- */

static int write_config_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleSource *s = userdata;

        cancel_call(s);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                log_warning("device %s: cannot write the configuration: %s", s->ls.device_id,
                            e->message ? e->message : e->name);
        }
        subscribe(s);
        return 0;
}

static int read_config_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleSource *s = userdata;
        const void *cur;
        size_t len, out_len = 0;
        uint8_t out[64];
        char err[GW_ERR_MAX];
        int r;

        cancel_call(s);
        if (sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read_array(m, 'y', &cur, &len) < 0) {
                log_warning("device %s: cannot read the configuration; streaming at the wearable's rate",
                            s->ls.device_id);
                subscribe(s);
                return 0;
        }
        r = s->conf.profile->configure(cur, len, s->desc.rate_hz, out, sizeof out, &out_len, err, sizeof err);
        if (r < 0) {
                log_warning("device %s: %s", s->ls.device_id, err);
                subscribe(s);
                return 0;
        }
        if (call_characteristic(s, s->config_path, "WriteValue", out, out_len, write_config_reply) < 0)
                subscribe(s);
        return 0;
}

static void configure(BleSource *s)
{
        if (!s->conf.profile->configure || !s->config_path[0]) {
                subscribe(s);
                return;
        }
        if (call_characteristic(s, s->config_path, "ReadValue", NULL, 0, read_config_reply) < 0)
                subscribe(s);
}

/* ---- the object tree --------------------------------------------------- */

static int read_basic_variant(sd_bus_message *m, char type, void *p)
{
        char sig[2] = { type, 0 };
        int r = sd_bus_message_enter_container(m, 'v', sig);
        if (r <= 0) {
                sd_bus_message_skip(m, "v");
                return r < 0 ? r : -EBADMSG;
        }
        r = sd_bus_message_read_basic(m, type, p);
        sd_bus_message_exit_container(m);
        return r;
}

static bool flags_notify(sd_bus_message *m)
{
        const char *f;
        bool notify = false;

        if (sd_bus_message_enter_container(m, 'v', "as") <= 0) {
                sd_bus_message_skip(m, "v");
                return false;
        }
        if (sd_bus_message_enter_container(m, 'a', "s") > 0) {
                while (sd_bus_message_read_basic(m, 's', &f) > 0)
                        if (!strcmp(f, "notify") || !strcmp(f, "indicate"))
                                notify = true;
                sd_bus_message_exit_container(m);
        }
        sd_bus_message_exit_container(m);
        return notify;
}

typedef struct {
        const char *address, *uuid, *device, *service;
        int connected, resolved, notify, acquired;
        bool has_acquired;
} ObjProps;

/* Reads the properties we use from an a{sv}; m is at the array. */
static void read_props(sd_bus_message *m, ObjProps *o)
{
        const char *key;

        if (sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
                return;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read_basic(m, 's', &key) <= 0)
                        break;
                if (!strcmp(key, "Address"))
                        read_basic_variant(m, 's', &o->address);
                else if (!strcmp(key, "UUID"))
                        read_basic_variant(m, 's', &o->uuid);
                else if (!strcmp(key, "Device"))
                        read_basic_variant(m, 'o', &o->device);
                else if (!strcmp(key, "Service"))
                        read_basic_variant(m, 'o', &o->service);
                else if (!strcmp(key, "Connected"))
                        read_basic_variant(m, 'b', &o->connected);
                else if (!strcmp(key, "ServicesResolved"))
                        read_basic_variant(m, 'b', &o->resolved);
                else if (!strcmp(key, "NotifyAcquired")) {
                        o->has_acquired = true;
                        read_basic_variant(m, 'b', &o->acquired);
                } else if (!strcmp(key, "Flags"))
                        o->notify = flags_notify(m);
                else
                        sd_bus_message_skip(m, "v");
                sd_bus_message_exit_container(m);
        }
        sd_bus_message_exit_container(m);
}

static bool uuid_is(const char *have, const char *want)
{
        char u[GW_BLE_UUID_MAX];
        return have && gw_ble_uuid_normalize(have, u) == 0 && !strcmp(u, want);
}

static bool adapter_matches(const BleSource *s, const char *path)
{
        char prefix[64];
        if (!s->conf.adapter[0])
                return true;
        snprintf(prefix, sizeof prefix, "/org/bluez/%s/", s->conf.adapter);
        return !strncmp(path, prefix, strlen(prefix));
}

/* Calls found() for each object of a GetManagedObjects reply that has the
 * interface iface, with the properties we use. */
static void scan_objects(BleSource *s, sd_bus_message *m, const char *iface,
                         void (*found)(BleSource *s, const char *path, const ObjProps *o, void *userdata),
                         void *userdata)
{
        const char *path, *name;

        sd_bus_message_rewind(m, true);
        if (sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}") <= 0)
                return;
        while (sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}") > 0) {
                sd_bus_message_read_basic(m, 'o', &path);
                sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
                while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                        ObjProps o = { 0 };
                        sd_bus_message_read_basic(m, 's', &name);
                        if (!strcmp(name, iface)) {
                                read_props(m, &o);
                                found(s, path, &o, userdata);
                        } else
                                sd_bus_message_skip(m, "a{sv}");
                        sd_bus_message_exit_container(m);
                }
                sd_bus_message_exit_container(m);
                sd_bus_message_exit_container(m);
        }
}

static void found_device(BleSource *s, const char *path, const ObjProps *o, void *userdata)
{
        if (o->address && !strcasecmp(o->address, s->conf.address) && adapter_matches(s, path) &&
            !s->dev_path[0]) {
                snprintf(s->dev_path, sizeof s->dev_path, "%s", path);
                s->dev_connected = o->connected;
                s->dev_resolved = o->resolved;
        }
}

#define SERVICE_PATH_MAX 192

static void found_service(BleSource *s, const char *path, const ObjProps *o, void *userdata)
{
        if (o->device && s->dev_path[0] && !strcmp(o->device, s->dev_path) &&
            uuid_is(o->uuid, s->conf.profile->service_uuid))
                snprintf(userdata, SERVICE_PATH_MAX, "%s", path);
}

static void found_characteristic(BleSource *s, const char *path, const ObjProps *o, void *userdata)
{
        const char *svc_path = userdata;

        if (!o->service || strcmp(o->service, svc_path))
                return;
        if (uuid_is(o->uuid, s->conf.profile->data_uuid) && o->notify) {
                snprintf(s->data_path, sizeof s->data_path, "%s", path);
                s->acquire_offered = o->has_acquired;
        } else if (s->conf.profile->config_uuid && uuid_is(o->uuid, s->conf.profile->config_uuid))
                snprintf(s->config_path, sizeof s->config_path, "%s", path);
}

static int discover_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleSource *s = userdata;
        char svc[SERVICE_PATH_MAX] = "", why[320];

        cancel_call(s);
        if (sd_bus_message_is_method_error(m, NULL)) {
                call_failed(s, "GetManagedObjects", sd_bus_message_get_error(m));
                return 0;
        }
        scan_objects(s, m, BLUEZ_SERVICE_IFACE, found_service, svc);
        if (!svc[0]) {
                snprintf(why, sizeof why, "no GATT service %s on %s", s->conf.profile->service_uuid,
                         s->conf.address);
                lost(s, why);
                return 0;
        }
        scan_objects(s, m, BLUEZ_CHRC_IFACE, found_characteristic, svc);
        if (!s->data_path[0]) {
                snprintf(why, sizeof why, "no notifying characteristic %s in %s", s->conf.profile->data_uuid, svc);
                lost(s, why);
                return 0;
        }
        configure(s);
        return 0;
}

static void discover(BleSource *s)
{
        int r;

        set_link(s, LINK_SUBSCRIBING);
        ev_timer_stop(s->ls.loop, &s->timer);
        r = sd_bus_call_method_async(ble_bus_get(s->bus), &s->call, BLUEZ_SERVICE, "/",
                                     "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                     discover_reply, s, "");
        if (r < 0)
                lost(s, "cannot call GetManagedObjects");
}

static void resolve_timeout_cb(BleSource *s)
{
        char why[96];
        snprintf(why, sizeof why, "services not resolved within %.0f s", s->conf.resolve_timeout);
        sd_bus_call_method_async(ble_bus_get(s->bus), NULL, BLUEZ_SERVICE, s->dev_path, BLUEZ_DEVICE_IFACE,
                                 "Disconnect", NULL, NULL, "");
        lost(s, why);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        BleSource *s = w->data;

        if (s->link == LINK_RESOLVING)
                resolve_timeout_cb(s);
        else if (s->link == LINK_WAITING)
                begin(s);
}

static void connected_now(BleSource *s)
{
        if (s->dev_resolved) {
                discover(s);
                return;
        }
        set_link(s, LINK_RESOLVING);
        ev_timer_stop(s->ls.loop, &s->timer);
        ev_timer_set(&s->timer, s->conf.resolve_timeout, 0);
        ev_timer_start(s->ls.loop, &s->timer);
}

static int connect_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleSource *s = userdata;

        cancel_call(s);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                if (!sd_bus_error_has_name(e, "org.bluez.Error.AlreadyConnected")) {
                        s->connect_failures++;
                        call_failed(s, "Connect", e);
                        return 0;
                }
        }
        s->dev_connected = true;
        connected_now(s);
        return 0;
}

static void connect_device(BleSource *s)
{
        int r;

        set_link(s, LINK_CONNECTING);
        r = sd_bus_call_method_async(ble_bus_get(s->bus), &s->call, BLUEZ_SERVICE, s->dev_path,
                                     BLUEZ_DEVICE_IFACE, "Connect", connect_reply, s, "");
        if (r >= 0)
                r = sd_bus_slot_set_description(s->call, "ble-connect");
        if (r < 0)
                lost(s, "cannot call Connect");
}

static int search_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleSource *s = userdata;

        cancel_call(s);
        if (sd_bus_message_is_method_error(m, NULL)) {
                call_failed(s, "GetManagedObjects", sd_bus_message_get_error(m));
                return 0;
        }
        s->dev_path[0] = 0;
        scan_objects(s, m, BLUEZ_DEVICE_IFACE, found_device, NULL);
        if (!s->dev_path[0]) {
                /* Not known to BlueZ yet: scan, and look again on
                 * InterfacesAdded or after the backoff. */
                log_info("device %s: %s not known to BlueZ; scanning", s->ls.device_id, s->conf.address);
                set_scanning(s, true);
                retry(s);
                return 0;
        }
        set_scanning(s, false);
        snprintf(s->watch.path, sizeof s->watch.path, "%s", s->dev_path);
        if (s->dev_connected)
                connected_now(s);
        else
                connect_device(s);
        return 0;
}

static void begin(BleSource *s)
{
        int r;

        if (!s->ls.running)
                return;
        cancel_call(s);
        ev_timer_stop(s->ls.loop, &s->timer);
        set_link(s, LINK_SEARCHING);
        r = sd_bus_call_method_async(ble_bus_get(s->bus), &s->call, BLUEZ_SERVICE, "/",
                                     "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                     search_reply, s, "");
        if (r < 0) {
                log_warning_errno(r, "device %s: cannot ask BlueZ for its objects", s->ls.device_id);
                retry(s);
        }
}

/* ---- signals ----------------------------------------------------------- */

static void on_properties(BleWatch *w, const char *path, const char *iface, sd_bus_message *m)
{
        BleSource *s = w->userdata;
        const char *key;

        if (!strcmp(iface, BLUEZ_CHRC_IFACE)) {
                if (!s->notifying || strcmp(path, s->data_path))
                        return;
                if (sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
                        return;
                while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        const void *p;
                        size_t len;
                        if (sd_bus_message_read_basic(m, 's', &key) <= 0)
                                return;
                        if (strcmp(key, "Value") || sd_bus_message_enter_container(m, 'v', "ay") <= 0) {
                                sd_bus_message_skip(m, "v");
                                sd_bus_message_exit_container(m);
                                continue;
                        }
                        if (sd_bus_message_read_array(m, 'y', &p, &len) >= 0)
                                deliver(s, p, len);
                        return;         /* s may be gone from streaming now */
                }
                return;
        }
        if (strcmp(iface, BLUEZ_DEVICE_IFACE) || strcmp(path, s->dev_path))
                return;
        if (sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
                return;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                int b;
                if (sd_bus_message_read_basic(m, 's', &key) <= 0)
                        return;
                if (!strcmp(key, "Connected") && read_basic_variant(m, 'b', &b) > 0) {
                        s->dev_connected = b;
                        if (!b) {
                                s->dev_resolved = false;
                                if (s->link >= LINK_RESOLVING && s->link <= LINK_STREAMING) {
                                        lost(s, "the link dropped");
                                        return;
                                }
                        }
                } else if (!strcmp(key, "ServicesResolved") && read_basic_variant(m, 'b', &b) > 0) {
                        s->dev_resolved = b;
                        if (b && s->link == LINK_RESOLVING) {
                                discover(s);
                                return;
                        }
                        if (!b && (s->link == LINK_SUBSCRIBING || s->link == LINK_STREAMING)) {
                                lost(s, "services went away");
                                return;
                        }
                } else
                        sd_bus_message_skip(m, "v");
                sd_bus_message_exit_container(m);
        }
}

static void on_added(BleWatch *w, const char *path, sd_bus_message *m)
{
        BleSource *s = w->userdata;
        const char *iface;

        /* Only a search waiting for the device cares. */
        if (s->link != LINK_WAITING || s->dev_path[0] || !s->scanning)
                return;
        if (sd_bus_message_enter_container(m, 'a', "{sa{sv}}") <= 0)
                return;
        while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                ObjProps o = { 0 };
                sd_bus_message_read_basic(m, 's', &iface);
                if (!strcmp(iface, BLUEZ_DEVICE_IFACE)) {
                        read_props(m, &o);
                        if (o.address && !strcasecmp(o.address, s->conf.address) && adapter_matches(s, path)) {
                                begin(s);
                                return;
                        }
                } else
                        sd_bus_message_skip(m, "a{sv}");
                sd_bus_message_exit_container(m);
        }
}

static void on_removed(BleWatch *w, const char *path)
{
        BleSource *s = w->userdata;

        if (!strcmp(path, s->dev_path)) {
                s->dev_path[0] = s->watch.path[0] = 0;
                if (s->link != LINK_WAITING && s->link != LINK_IDLE)
                        lost(s, "BlueZ removed the device");
        } else if (s->data_path[0] && !strcmp(path, s->data_path) &&
                   (s->link == LINK_STREAMING || s->link == LINK_SUBSCRIBING))
                lost(s, "the characteristic went away");
}

static void on_service(BleWatch *w, bool present)
{
        BleSource *s = w->userdata;

        s->dev_path[0] = s->watch.path[0] = 0;
        s->scanning = false;
        if (!present && s->link != LINK_IDLE && s->link != LINK_WAITING)
                lost(s, "BlueZ went away");
        else if (present && s->link == LINK_WAITING) {
                backoff_reset(&s->ls.backoff);
                begin(s);
        }
}

/* ---- lifecycle --------------------------------------------------------- */

static Source *ble_close(Source *base);

static int ble_open(const SourceParams *p, Source **ret, char *err, size_t errlen)
{
        const BleConf *c = p->conf;
        const gw_ble_profile *prof = c->profile;
        BleSource *s = calloc(1, sizeof *s);
        int r;

        if (!s)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        s->base.kind = &source_ble;
        s->conf = *c;
        if (recorder_conf_copy(&s->conf.rec, &c->rec) < 0)
                s->conf.rec.path = NULL;
        s->fd = -1;
        if (link_state_init(&s->ls, p, c->reconnect_min, c->reconnect_max) < 0) {
                ble_close(&s->base);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }
        snprintf(s->address, sizeof s->address, "ble:%s/%s", c->address, prof->name);

        s->desc.n = prof->n_values;
        memcpy(s->desc.ch, prof->channels, (size_t) prof->n_values * sizeof *prof->channels);
        s->desc.rate_hz = p->rate_hz > 0 ? p->rate_hz : prof->default_rate_hz;
        gw_ble_state_init(&s->dec, prof, s->desc.rate_hz);

        if (!s->ls.loop) {
                ble_close(&s->base);
                return gw_error(err, errlen, EINVAL, "a BLE source needs the daemon's event loop");
        }
        r = ble_bus_ref(s->ls.loop, &s->bus);
        if (r < 0) {
                ble_close(&s->base);
                return gw_error(err, errlen, -r, "cannot connect to the system bus for BlueZ: %s", strerror(-r));
        }
        s->watch.properties = on_properties;
        s->watch.added = on_added;
        s->watch.removed = on_removed;
        s->watch.service = on_service;
        s->watch.userdata = s;
        ble_bus_watch(s->bus, &s->watch);
        ev_init(&s->timer, timer_cb);
        s->timer.data = s;
        ev_init(&s->stall, stall_cb);
        s->stall.data = s;
        *ret = &s->base;
        return 0;
}

static int ble_start(Source *base)
{
        BleSource *s = (BleSource *) base;

        if (s->ls.running)
                return 0;
        link_state_start(&s->ls, &s->conf.rec, s->address, &s->desc);
        begin(s);
        return 0;
}

static void ble_stop(Source *base)
{
        BleSource *s = (BleSource *) base;
        sd_bus *bus;

        if (!s->ls.running)
                return;
        s->ls.running = false;
        cancel_call(s);
        ev_timer_stop(s->ls.loop, &s->timer);
        bus = ble_bus_get(s->bus);
        if (s->notifying && s->data_path[0])
                sd_bus_call_method_async(bus, NULL, BLUEZ_SERVICE, s->data_path, BLUEZ_CHRC_IFACE,
                                         "StopNotify", NULL, NULL, "");
        close_stream(s);
        s->notifying = false;
        /* Leave the wearable free (and its battery) when we stop. */
        if (s->dev_path[0] && s->link >= LINK_CONNECTING && s->link <= LINK_STREAMING)
                sd_bus_call_method_async(bus, NULL, BLUEZ_SERVICE, s->dev_path, BLUEZ_DEVICE_IFACE,
                                         "Disconnect", NULL, NULL, "");
        set_scanning(s, false);
        set_link(s, LINK_IDLE);
        link_state_stop(&s->ls);
}

static Source *ble_close(Source *base)
{
        BleSource *s = (BleSource *) base;

        if (!s)
                return NULL;
        if (s->bus) {
                ble_stop(base);
                ble_bus_unwatch(s->bus, &s->watch);
                /* Queued Disconnect/StopNotify calls go out before the bus may close. */
                sd_bus_flush(ble_bus_get(s->bus));
                ble_bus_unref(s->bus);
        }
        recorder_conf_done(&s->conf.rec);
        link_state_done(&s->ls);
        free(s);
        return NULL;
}

static const gw_source_desc *ble_describe(const Source *base)
{
        return &((const BleSource *) base)->desc;
}

static const char *ble_address(const Source *base)
{
        return ((const BleSource *) base)->address;
}

static void ble_stats(const Source *base, SourceStats *ret)
{
        const BleSource *s = (const BleSource *) base;

        ret->link = link_names[s->link];
        ret->rate_hz = s->dec.stats.packets ? s->dec.stats.rate_hz : 0;
        ret->packets = s->dec.stats.packets;
        ret->packets_lost = s->dec.stats.lost;
        ret->packets_malformed = s->dec.stats.malformed;
        ret->reconnects = s->reconnects;
}

const SourceKind source_ble = {
        .name = "ble",
        .conf_new = ble_conf_new,
        .conf_free = ble_conf_free,
        .conf_key = ble_conf_key,
        .conf_check = ble_conf_check,
        .open = ble_open,
        .start = ble_start,
        .stop = ble_stop,
        .close = ble_close,
        .describe = ble_describe,
        .address = ble_address,
        .stats = ble_stats,
};
