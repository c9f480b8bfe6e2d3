/* SPDX-License-Identifier: MIT */
/* The D-Bus sink: org.gaitway.Gateway1 on the system bus (or the session
 * bus, or an address), the manager object, one org.gaitway.Device1 object
 * per device under an ObjectManager, PropertiesChanged on every state
 * change and signals for activity changes and freeze episodes
 * (docs/dbus.md).  If the bus goes away the sink reconnects with backoff and
 * registers everything again. */

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "device.h"
#include "ev-sdbus.h"
#include "gaitway/common.h"
#include "log.h"
#include "manager.h"
#include "sink.h"

#define BUS_NAME        "org.gaitway.Gateway1"
#define MANAGER_PATH    "/org/gaitway/Gateway1"
#define DEVICE_PREFIX   "/org/gaitway/Gateway1/device"
#define MANAGER_IFACE   "org.gaitway.Gateway1"
#define DEVICE_IFACE    "org.gaitway.Device1"

/* Signals waiting for the bus to read them.  sd-bus queues up to 196608
 * messages (some hundred MB) for a bus that does not read; past this many (about
 * 1.3 kB each)
 * the signals of a change are skipped (the properties stay right) and
 * counted, so a stalled dbus-daemon costs a bounded amount of memory. */
#define SIGNAL_QUEUE_MAX 1024

/* How long the last signals may take to leave at a stop (the loop waits). */
#define FLUSH_USEC 1000000

#define ERROR_INVALID_CONFIG "org.gaitway.Error.InvalidConfig"
#define ERROR_NO_SUCH_DEVICE "org.gaitway.Error.NoSuchDevice"

typedef struct {
        Device *device;
        char *path;
        sd_bus_slot *slot;
} DeviceObject;

typedef struct {
        Sink base;
        BusKind kind;
        char *address;
        sd_bus *bus;
        EvSdbus *ev;
        sd_bus_slot *manager_slot;
        sd_bus_slot *om_slot;
        sd_bus_slot *name_slot;
        DeviceObject *objects;
        size_t n_objects;
        Backoff backoff;
        ev_timer retry;
        bool warned;
        uint64_t skipped;               /* signals not sent: the queue was full */
} DbusSink;

static Manager *manager_of(void *userdata)
{
        return ((DbusSink *) userdata)->base.manager;
}

/* ---- manager object ------------------------------------------------------ */

static int prop_version(sd_bus *bus, const char *path, const char *iface, const char *prop,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", gw_version());
}

static int prop_gateway_id(sd_bus *bus, const char *path, const char *iface, const char *prop,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", manager_of(userdata)->config->gateway.id);
}

static int prop_devices(sd_bus *bus, const char *path, const char *iface, const char *prop,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        DbusSink *s = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < s->n_objects; i++)
                r = sd_bus_message_append(reply, "o", s->objects[i].path);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int prop_mqtt(sd_bus *bus, const char *path, const char *iface, const char *prop,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "b", (int) manager_of(userdata)->mqtt_connected);
}

static int prop_uptime(sd_bus *bus, const char *path, const char *iface, const char *prop,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "t", manager_uptime_usec(manager_of(userdata)));
}

static int method_list_devices(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        DbusSink *s = userdata;
        sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(so)");
        for (size_t i = 0; r >= 0 && i < s->n_objects; i++)
                r = sd_bus_message_append(reply, "(so)", s->objects[i].device->id, s->objects[i].path);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int method_get_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        DbusSink *s = userdata;
        const char *id;
        int r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_objects; i++)
                if (!strcmp(s->objects[i].device->id, id))
                        return sd_bus_reply_method_return(m, "o", s->objects[i].path);
        /* An id is at most 63 bytes: a longer argument is not echoed whole. */
        return sd_bus_error_setf(error, ERROR_NO_SUCH_DEVICE, "No device '%.64s'", id);
}

static bool in_group(gid_t want, sd_bus_creds *creds)
{
        const gid_t *gids = NULL;
        gid_t gid;
        if (sd_bus_creds_get_gid(creds, &gid) >= 0 && gid == want)
                return true;
        int n = sd_bus_creds_get_supplementary_gids(creds, &gids);
        for (int i = 0; i < n; i++)
                if (gids[i] == want)
                        return true;
        return false;
}

/* The caller's uid and whether it is in group `want`, as the bus daemon
 * knows them (GetConnectionCredentials: SO_PEERCRED and SO_PEERGROUPS at
 * connect), without reading /proc/PID, which ProtectProc=invisible hides
 * for other users' processes.  *member: 1, 0, or -1 when the bus does not
 * tell the groups (dbus-daemon before 1.11.8). */
static int bus_caller(sd_bus_message *m, bool check_group, gid_t want, uid_t *uid, int *member)
{
        sd_bus *bus = sd_bus_message_get_bus(m);
        const char *sender = sd_bus_message_get_sender(m);
        sd_bus_message *call = NULL, *reply = NULL;
        bool have_uid = false;
        int r;

        *member = -1;
        if (!sender)
                return -ENODATA;        /* a direct connection: no bus daemon */
        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "GetConnectionCredentials");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", sender);
        if (r >= 0)
                r = sd_bus_call(bus, call, 5 * 1000000, NULL, &reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;
                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0 && !strcmp(key, "UnixUserID")) {
                        uint32_t u;
                        r = sd_bus_message_read(reply, "v", "u", &u);
                        *uid = (uid_t) u;
                        have_uid = r >= 0;
                } else if (r >= 0 && !strcmp(key, "UnixGroupIDs")) {
                        const uint32_t *gids;
                        size_t size = 0;
                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r >= 0)
                                r = sd_bus_message_read_array(reply, 'u', (const void **) &gids, &size);
                        if (r >= 0) {
                                *member = 0;
                                for (size_t i = 0; check_group && i < size / sizeof *gids; i++)
                                        if (gids[i] == (uint32_t) want)
                                                *member = 1;
                                r = sd_bus_message_exit_container(reply);
                        }
                } else if (r >= 0)
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        sd_bus_message_unref(call);
        sd_bus_message_unref(reply);
        if (r < 0)
                return r;
        return have_uid ? 0 : -ENODATA;
}

/* Methods that change state admit root, the daemon's own account and the
 * members of [dbus] admin_group.  They are registered with
 * SD_BUS_VTABLE_UNPRIVILEGED because sd-bus's own check admits only
 * CAP_SYS_ADMIN or our uid; the bus policy may stop others earlier.  The
 * uid and groups are the bus daemon's; only where it does not tell the
 * groups (or on a direct connection) does sd-bus read them from the
 * caller's /proc/PID. */
static int check_admin(sd_bus_message *m, const char *group, sd_bus_error *error)
{
        static time_t last_log;
        struct group gr, *grp = NULL;
        char buf[4096];
        uid_t uid = (uid_t) -1;
        int member = -1;
        bool ok = false;

        if (group && (getgrnam_r(group, &gr, buf, sizeof buf, &grp) != 0 || !grp))
                grp = NULL;             /* no such group: root only */
        if (bus_caller(m, grp != NULL, grp ? grp->gr_gid : 0, &uid, &member) == 0) {
                ok = uid == 0 || uid == geteuid() || member == 1;
                if (!ok && member < 0 && grp) {
                        sd_bus_creds *creds = NULL;
                        if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_GID | SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
                                                      SD_BUS_CREDS_AUGMENT, &creds) >= 0)
                                ok = in_group(grp->gr_gid, creds);
                        sd_bus_creds_unref(creds);
                }
        } else {
                sd_bus_creds *creds = NULL;
                int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_GID |
                                                  SD_BUS_CREDS_SUPPLEMENTARY_GIDS | SD_BUS_CREDS_AUGMENT, &creds);
                if (r >= 0 && (sd_bus_creds_get_euid(creds, &uid) >= 0 || sd_bus_creds_get_uid(creds, &uid) >= 0))
                        ok = uid == 0 || uid == geteuid() || (grp && in_group(grp->gr_gid, creds));
                sd_bus_creds_unref(creds);
        }
        if (ok)
                return 0;
        /* Refusals are worth an audit line, but not a flood of them. */
        time_t now = time(NULL);
        if (now - last_log >= 10 || now < last_log) {
                last_log = now;
                log_notice("dbus: %s refused to %s (uid %ld): not root%s%s", sd_bus_message_get_member(m),
                           sd_bus_message_get_sender(m) ? sd_bus_message_get_sender(m) : "a peer",
                           uid == (uid_t) -1 ? -1L : (long) uid, group ? " nor in group " : "",
                           group ? group : "");
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "%s needs root%s%s%s",
                                 sd_bus_message_get_member(m), group ? " or membership of the group '" : "",
                                 group ? group : "", group ? "'" : "");
}

static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        char err[GW_ERR_MAX * 2];
        Manager *mgr = manager_of(userdata);
        int r = check_admin(m, mgr->config ? mgr->config->dbus.admin_group : NULL, error);
        if (r < 0)
                return r;
        if (manager_reload(mgr, err, sizeof err) < 0)
                return sd_bus_error_setf(error, ERROR_INVALID_CONFIG, "%s", err);
        return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("GatewayId", "s", prop_gateway_id, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Devices", "ao", prop_devices, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MqttConnected", "b", prop_mqtt, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Changes continuously: read it, no signal. */
        SD_BUS_PROPERTY("Uptime", "t", prop_uptime, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", devices),
                                method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetDevice", SD_BUS_ARGS("s", id), SD_BUS_RESULT("o", device),
                                method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Changes state: check_admin() decides, not sd-bus. */
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

/* ---- device objects ------------------------------------------------------ */

static int dprop_id(sd_bus *bus, const char *path, const char *iface, const char *prop,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", ((Device *) userdata)->id);
}

static int dprop_source(sd_bus *bus, const char *path, const char *iface, const char *prop,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", device_source_address(userdata));
}

static int dprop_sample_rate(sd_bus *bus, const char *path, const char *iface, const char *prop,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "d", ((Device *) userdata)->desc.rate_hz);
}

static int dprop_models(sd_bus *bus, const char *path, const char *iface, const char *prop,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Device *d = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "s");
        for (int t = 0; r >= 0 && t < _MODEL_TASK_MAX; t++) {
                const gw_model_info *mi = device_model_info(d, (ModelTask) t);
                if (mi)
                        r = sd_bus_message_append(reply, "s", mi->model_id);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int dprop_activity(sd_bus *bus, const char *path, const char *iface, const char *prop,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Device *d = userdata;
        return sd_bus_message_append(reply, "s", d->activity >= 0 ? d->activity_name : "");
}

static int dprop_confidence(sd_bus *bus, const char *path, const char *iface, const char *prop,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Device *d = userdata;
        return sd_bus_message_append(reply, "d", d->activity >= 0 ? (double) d->activity_confidence : 0.0);
}

static int dprop_since(sd_bus *bus, const char *path, const char *iface, const char *prop,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Device *d = userdata;
        uint64_t usec = d->activity >= 0 && d->activity_since_wall_ns > 0 ?
                        (uint64_t) (d->activity_since_wall_ns / 1000) : 0;
        return sd_bus_message_append(reply, "t", usec);
}

static int dprop_freeze_active(sd_bus *bus, const char *path, const char *iface, const char *prop,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "b", (int) ((Device *) userdata)->freeze_active);
}

static int dprop_freeze_episodes(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "u", ((Device *) userdata)->freeze_episodes);
}

static int dprop_connected(sd_bus *bus, const char *path, const char *iface, const char *prop,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "b", (int) ((Device *) userdata)->connected);
}

static int dprop_windows(sd_bus *bus, const char *path, const char *iface, const char *prop,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "t", ((Device *) userdata)->windows);
}

static int dprop_samples(sd_bus *bus, const char *path, const char *iface, const char *prop,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "t", ((Device *) userdata)->samples);
}

/* The source's link and transport counters (BLE, IIO); no signal. */
static int dprop_link(sd_bus *bus, const char *path, const char *iface, const char *prop,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        SourceStats st;
        device_source_stats(userdata, &st);
        if (!strcmp(prop, "Link"))
                return sd_bus_message_append(reply, "s", st.link);
        if (!strcmp(prop, "SourceRate"))
                return sd_bus_message_append(reply, "d", st.rate_hz);
        return sd_bus_message_append(reply, "t", !strcmp(prop, "Packets") ? st.packets :
                                     !strcmp(prop, "PacketsLost") ? st.packets_lost :
                                     !strcmp(prop, "PacketsMalformed") ? st.packets_malformed :
                                     st.reconnects);
}

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", dprop_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Source", "s", dprop_source, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SampleRate", "d", dprop_sample_rate, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Models", "as", dprop_models, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Activity", "s", dprop_activity, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ActivityConfidence", "d", dprop_confidence, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ActivitySince", "t", dprop_since, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FreezeActive", "b", dprop_freeze_active, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FreezeEpisodes", "u", dprop_freeze_episodes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Connected", "b", dprop_connected, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Counters: read them, no signal (they change on every window). */
        SD_BUS_PROPERTY("WindowsProcessed", "t", dprop_windows, 0, 0),
        SD_BUS_PROPERTY("Samples", "t", dprop_samples, 0, 0),
        SD_BUS_PROPERTY("Link", "s", dprop_link, 0, 0),
        SD_BUS_PROPERTY("SourceRate", "d", dprop_link, 0, 0),
        SD_BUS_PROPERTY("Packets", "t", dprop_link, 0, 0),
        SD_BUS_PROPERTY("PacketsLost", "t", dprop_link, 0, 0),
        SD_BUS_PROPERTY("PacketsMalformed", "t", dprop_link, 0, 0),
        SD_BUS_PROPERTY("Reconnects", "t", dprop_link, 0, 0),
        SD_BUS_SIGNAL_WITH_ARGS("ActivityChanged",
                                SD_BUS_ARGS("s", previous, "s", activity, "d", confidence, "t", timestamp), 0),
        SD_BUS_SIGNAL_WITH_ARGS("FreezeOfGait",
                                SD_BUS_ARGS("s", event, "u", episode, "d", confidence, "t", timestamp,
                                            "t", duration), 0),
        SD_BUS_VTABLE_END
};

static DeviceObject *find_object(DbusSink *s, const Device *d)
{
        for (size_t i = 0; i < s->n_objects; i++)
                if (s->objects[i].device == d)
                        return &s->objects[i];
        return NULL;
}

static int register_object(DbusSink *s, DeviceObject *o)
{
        if (!s->bus)
                return 0;
        int r = sd_bus_add_object_vtable(s->bus, &o->slot, o->path, DEVICE_IFACE, device_vtable, o->device);
        if (r < 0)
                return log_error_errno(r, "dbus: cannot register %s", o->path);
        return 0;
}

static void add_device(DbusSink *s, Device *d)
{
        if (find_object(s, d))
                return;
        DeviceObject *n = realloc(s->objects, (s->n_objects + 1) * sizeof *n);
        if (!n)
                return;
        s->objects = n;
        DeviceObject *o = &n[s->n_objects];
        *o = (DeviceObject) { .device = d };
        if (sd_bus_path_encode(DEVICE_PREFIX, d->id, &o->path) < 0)
                return;
        s->n_objects++;
        if (register_object(s, o) == 0 && s->bus) {
                sd_bus_emit_object_added(s->bus, o->path);
                sd_bus_emit_properties_changed(s->bus, MANAGER_PATH, MANAGER_IFACE, "Devices", NULL);
        }
}

static void remove_device(DbusSink *s, Device *d)
{
        DeviceObject *o = find_object(s, d);
        if (!o)
                return;
        if (s->bus && o->slot)
                sd_bus_emit_object_removed(s->bus, o->path);
        sd_bus_slot_unref(o->slot);
        free(o->path);
        *o = s->objects[--s->n_objects];
        if (s->bus)
                sd_bus_emit_properties_changed(s->bus, MANAGER_PATH, MANAGER_IFACE, "Devices", NULL);
}

/* ---- connection ---------------------------------------------------------- */

static void dbus_disconnect(DbusSink *s)
{
        for (size_t i = 0; i < s->n_objects; i++)
                s->objects[i].slot = sd_bus_slot_unref(s->objects[i].slot);
        s->manager_slot = sd_bus_slot_unref(s->manager_slot);
        s->om_slot = sd_bus_slot_unref(s->om_slot);
        s->name_slot = sd_bus_slot_unref(s->name_slot);
        s->ev = ev_sdbus_detach(s->ev);
        if (s->bus) {
                ev_sdbus_flush(s->bus, FLUSH_USEC);
                s->bus = sd_bus_close_unref(s->bus);
        }
}

static void dbus_schedule_retry(DbusSink *s)
{
        double delay = backoff_next(&s->backoff);
        ev_timer_stop(s->base.manager->loop, &s->retry);
        ev_timer_set(&s->retry, delay, 0);
        ev_timer_start(s->base.manager->loop, &s->retry);
}

static void on_bus_error(void *userdata, int error)
{
        DbusSink *s = userdata;
        log_warning_errno(error, "dbus: connection lost; reconnecting");
        s->warned = true;
        dbus_disconnect(s);
        dbus_schedule_retry(s);
}

static int on_name(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        const sd_bus_error *e = sd_bus_message_get_error(m);
        if (e)
                log_error("dbus: cannot own %s: %s", BUS_NAME, e->message ? e->message : e->name);
        else
                log_debug("dbus: acquired %s", BUS_NAME);
        return 0;
}

static int dbus_connect(DbusSink *s)
{
        int r;

        switch (s->kind) {
        case BUS_SYSTEM:
                r = sd_bus_open_system(&s->bus);
                break;
        case BUS_SESSION:
                r = sd_bus_open_user(&s->bus);
                break;
        default:
                r = sd_bus_new(&s->bus);
                if (r >= 0)
                        r = sd_bus_set_address(s->bus, s->address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(s->bus, 1);
                if (r >= 0)
                        r = sd_bus_start(s->bus);
                break;
        }
        if (r < 0)
                goto fail;
        r = sd_bus_add_object_vtable(s->bus, &s->manager_slot, MANAGER_PATH, MANAGER_IFACE, manager_vtable, s);
        if (r < 0)
                goto fail;
        r = sd_bus_add_object_manager(s->bus, &s->om_slot, MANAGER_PATH);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < s->n_objects; i++)
                if (register_object(s, &s->objects[i]) < 0)
                        goto fail;
        r = sd_bus_request_name_async(s->bus, &s->name_slot, BUS_NAME, 0, on_name, s);
        if (r < 0)
                goto fail;
        r = ev_sdbus_attach(s->bus, s->base.manager->loop, on_bus_error, s, &s->ev);
        if (r < 0)
                goto fail;
        backoff_reset(&s->backoff);
        if (s->warned)
                log_info("dbus: connected again");
        s->warned = false;
        return 0;
fail:
        if (!s->warned)
                log_warning_errno(r, "dbus: cannot connect to the %s bus; retrying in the background",
                                  s->kind == BUS_SYSTEM ? "system" : s->kind == BUS_SESSION ? "session" :
                                  "configured");
        s->warned = true;
        dbus_disconnect(s);
        return r;
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        DbusSink *s = w->data;
        if (dbus_connect(s) < 0)
                dbus_schedule_retry(s);
}

/* ---- sink ---------------------------------------------------------------- */

static Sink *dbus_sink_free(Sink *base);

static int dbus_sink_new(Manager *m, const Config *c, Sink **ret)
{
        *ret = NULL;
        if (c->dbus.bus == BUS_NONE)
                return 0;
        DbusSink *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->base.kind = &sink_dbus;
        s->base.manager = m;
        s->kind = c->dbus.bus;
        if (c->dbus.address && !(s->address = strdup(c->dbus.address))) {
                free(s);
                return -ENOMEM;
        }
        backoff_init(&s->backoff, 1, 60, (uint32_t) (uintptr_t) s);
        ev_init(&s->retry, retry_cb);
        s->retry.data = s;
        for (size_t i = 0; i < m->n_devices; i++)
                add_device(s, m->devices[i]);
        if (dbus_connect(s) < 0)
                dbus_schedule_retry(s);
        *ret = &s->base;
        return 0;
}

static char *dbus_sink_fingerprint(const Config *c)
{
        return strdup(c->dbus_fingerprint);
}

static void dbus_sink_event(Sink *base, const Event *e)
{
        DbusSink *s = (DbusSink *) base;
        DeviceObject *o;

        if (e->type == EVENT_DEVICE_ADDED) {
                add_device(s, e->device);
                return;
        }
        if (e->type == EVENT_DEVICE_REMOVED) {
                remove_device(s, e->device);
                return;
        }
        if (!s->bus)
                return;
        if (e->type == EVENT_ACTIVITY || e->type == EVENT_FOG || e->type == EVENT_DEVICE_CONNECTED) {
                uint64_t queued = 0;
                if (sd_bus_get_n_queued_write(s->bus, &queued) >= 0 && queued >= SIGNAL_QUEUE_MAX) {
                        if (s->skipped++ % 10000 == 0)
                                log_warning("dbus: the bus is not reading (%" PRIu64 " messages queued): "
                                            "signals skipped (%" PRIu64 " so far)", queued, s->skipped);
                        return;
                }
        }

        switch (e->type) {
        case EVENT_ACTIVITY:
                if (!(o = find_object(s, e->device)))
                        return;
                sd_bus_emit_properties_changed(s->bus, o->path, DEVICE_IFACE, "Activity", "ActivityConfidence",
                                               "ActivitySince", NULL);
                sd_bus_emit_signal(s->bus, o->path, DEVICE_IFACE, "ActivityChanged", "ssdt",
                                   e->activity.previous ? e->activity.previous : "", e->activity.activity,
                                   (double) e->activity.confidence, (uint64_t) (e->wall_ns / 1000));
                break;
        case EVENT_FOG:
                if (!(o = find_object(s, e->device)))
                        return;
                sd_bus_emit_properties_changed(s->bus, o->path, DEVICE_IFACE, "FreezeActive", "FreezeEpisodes",
                                               NULL);
                sd_bus_emit_signal(s->bus, o->path, DEVICE_IFACE, "FreezeOfGait", "sudtt",
                                   e->fog.start ? "start" : "end", e->fog.episode, (double) e->fog.confidence,
                                   (uint64_t) (e->wall_ns / 1000),
                                   (uint64_t) (e->fog.start ? 0 : e->fog.duration_ns / 1000));
                break;
        case EVENT_DEVICE_CONNECTED:
                if ((o = find_object(s, e->device)))
                        sd_bus_emit_properties_changed(s->bus, o->path, DEVICE_IFACE, "Connected", NULL);
                break;
        case EVENT_MQTT_CONNECTED:
                sd_bus_emit_properties_changed(s->bus, MANAGER_PATH, MANAGER_IFACE, "MqttConnected", NULL);
                break;
        case EVENT_RELOADED:
                sd_bus_emit_properties_changed(s->bus, MANAGER_PATH, MANAGER_IFACE, "GatewayId", NULL);
                break;
        default:
                break;
        }
}

static void dbus_sink_stop(Sink *base)
{
        DbusSink *s = (DbusSink *) base;
        ev_timer_stop(s->base.manager->loop, &s->retry);
        if (s->bus && ev_sdbus_flush(s->bus, FLUSH_USEC) == -ETIMEDOUT)
                log_warning("dbus: the bus did not read the last signals within 1 s");
        manager_sink_stopped(s->base.manager, base);
}

static Sink *dbus_sink_free(Sink *base)
{
        DbusSink *s = (DbusSink *) base;
        if (!s)
                return NULL;
        ev_timer_stop(s->base.manager->loop, &s->retry);
        dbus_disconnect(s);
        for (size_t i = 0; i < s->n_objects; i++)
                free(s->objects[i].path);
        free(s->objects);
        free(s->address);
        free(s);
        return NULL;
}

const SinkKind sink_dbus = {
        .name = "dbus",
        .new = dbus_sink_new,
        .fingerprint = dbus_sink_fingerprint,
        .event = dbus_sink_event,
        .stop = dbus_sink_stop,
        .free = dbus_sink_free,
};
