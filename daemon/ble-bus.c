/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ble-bus.h"
#include "ev-sdbus.h"
#include "log.h"

struct BleBus {
        unsigned refs;
        struct ev_loop *loop;
        sd_bus *bus;
        EvSdbus *ev;
        sd_bus_slot *match_added, *match_removed, *match_props, *match_owner;
        BleWatch *watches;
        unsigned discovery;             /* callers that want scanning */
        bool scanning;
};

static BleBus *shared;

static bool under(const char *path, const char *dev)
{
        size_t n = strlen(dev);
        return n && !strncmp(path, dev, n) && (path[n] == 0 || path[n] == '/');
}

int ble_skip_variant(sd_bus_message *m)
{
        return sd_bus_message_skip(m, "v");
}

static int on_props(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleBus *b = userdata;
        const char *path = sd_bus_message_get_path(m), *iface;

        if (!path || sd_bus_message_read(m, "s", &iface) < 0)
                return 0;
        for (BleWatch *w = b->watches; w; w = w->next)
                if (w->properties && under(path, w->path)) {
                        sd_bus_message_rewind(m, true);
                        sd_bus_message_skip(m, "s");
                        w->properties(w, path, iface, m);
                        /* A watcher may have unwatched itself: stop here, one
                         * device path belongs to one watcher. */
                        break;
                }
        return 0;
}

static int on_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleBus *b = userdata;
        const char *path;

        if (sd_bus_message_read(m, "o", &path) < 0 || strncmp(path, "/org/bluez/", 11))
                return 0;
        for (BleWatch *w = b->watches, *next; w; w = next) {
                next = w->next;
                if (!w->added)
                        continue;
                sd_bus_message_rewind(m, true);
                sd_bus_message_skip(m, "o");
                w->added(w, path, m);
        }
        return 0;
}

static int on_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleBus *b = userdata;
        const char *path;

        if (sd_bus_message_read(m, "o", &path) < 0)
                return 0;
        for (BleWatch *w = b->watches, *next; w; w = next) {
                next = w->next;
                if (w->removed && under(path, w->path))
                        w->removed(w, path);
        }
        return 0;
}

static void tell_service(BleBus *b, bool present)
{
        for (BleWatch *w = b->watches, *next; w; w = next) {
                next = w->next;
                if (w->service)
                        w->service(w, present);
        }
}

static int on_owner(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleBus *b = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
            strcmp(name, BLUEZ_SERVICE))
                return 0;
        b->scanning = false;
        log_info("BlueZ %s the bus", new_owner[0] ? "joined" : "left");
        tell_service(b, new_owner[0] != 0);
        return 0;
}

static void on_bus_error(void *userdata, int error)
{
        BleBus *b = userdata;
        log_error_errno(error, "BLE: the system bus connection failed");
        tell_service(b, false);
}

int ble_bus_ref(struct ev_loop *loop, BleBus **ret)
{
        BleBus *b;
        int r;

        if (shared) {
                shared->refs++;
                *ret = shared;
                return 0;
        }
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->loop = loop;
        r = sd_bus_open_system(&b->bus);
        if (r < 0)
                goto fail;
        /* Sender "org.bluez" in the rules lets the bus deliver only BlueZ's
         * signals; sd-bus matches the well-known name against the owner. */
        r = sd_bus_match_signal(b->bus, &b->match_props, BLUEZ_SERVICE, NULL,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged", on_props, b);
        if (r >= 0)
                r = sd_bus_match_signal(b->bus, &b->match_added, BLUEZ_SERVICE, "/",
                                        "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", on_added, b);
        if (r >= 0)
                r = sd_bus_match_signal(b->bus, &b->match_removed, BLUEZ_SERVICE, "/",
                                        "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", on_removed, b);
        if (r >= 0)
                r = sd_bus_match_signal(b->bus, &b->match_owner, "org.freedesktop.DBus",
                                        "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged",
                                        on_owner, b);
        if (r < 0)
                goto fail;
        r = ev_sdbus_attach(b->bus, loop, on_bus_error, b, &b->ev);
        if (r < 0)
                goto fail;
        b->refs = 1;
        shared = b;
        *ret = b;
        return 0;
fail:
        sd_bus_slot_unref(b->match_props);
        sd_bus_slot_unref(b->match_added);
        sd_bus_slot_unref(b->match_removed);
        sd_bus_slot_unref(b->match_owner);
        sd_bus_flush_close_unref(b->bus);
        free(b);
        return r;
}

void ble_bus_unref(BleBus *b)
{
        if (!b || --b->refs > 0)
                return;
        sd_bus_slot_unref(b->match_props);
        sd_bus_slot_unref(b->match_added);
        sd_bus_slot_unref(b->match_removed);
        sd_bus_slot_unref(b->match_owner);
        ev_sdbus_detach(b->ev);
        sd_bus_flush_close_unref(b->bus);
        if (shared == b)
                shared = NULL;
        free(b);
}

sd_bus *ble_bus_get(BleBus *b)
{
        return b->bus;
}

void ble_bus_watch(BleBus *b, BleWatch *w)
{
        w->next = b->watches;
        b->watches = w;
}

void ble_bus_unwatch(BleBus *b, BleWatch *w)
{
        for (BleWatch **p = &b->watches; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        w->next = NULL;
                        return;
                }
}

/* Discovery on every powered adapter, from the object tree. */
static int discovery_objects(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BleBus *b = userdata;
        const char *method = b->discovery ? "StartDiscovery" : "StopDiscovery";
        const char *path;

        if (sd_bus_message_is_method_error(m, NULL))
                return 0;
        if (sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}") > 0) {
                bool adapter = false;
                const char *iface;
                sd_bus_message_read(m, "o", &path);
                sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
                while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                        sd_bus_message_read(m, "s", &iface);
                        if (!strcmp(iface, BLUEZ_ADAPTER_IFACE))
                                adapter = true;
                        sd_bus_message_skip(m, "a{sv}");
                        sd_bus_message_exit_container(m);
                }
                sd_bus_message_exit_container(m);
                sd_bus_message_exit_container(m);
                if (adapter)
                        sd_bus_call_method_async(b->bus, NULL, BLUEZ_SERVICE, path, BLUEZ_ADAPTER_IFACE,
                                                 method, NULL, NULL, "");
        }
        return 0;
}

void ble_bus_discovery(BleBus *b, bool on)
{
        bool want;

        if (on)
                b->discovery++;
        else if (b->discovery)
                b->discovery--;
        want = b->discovery > 0;
        if (want == b->scanning)
                return;
        b->scanning = want;
        sd_bus_call_method_async(b->bus, NULL, BLUEZ_SERVICE, "/", "org.freedesktop.DBus.ObjectManager",
                                 "GetManagedObjects", discovery_objects, b, "");
}
