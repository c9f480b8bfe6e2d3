/* SPDX-License-Identifier: MIT */
#pragma once

/* The connection to BlueZ shared by every BLE source: one sd-bus connection
 * to the system bus in the libev loop, one set of signal matches (BlueZ's
 * ObjectManager, PropertiesChanged under /org/bluez, org.bluez's owner)
 * dispatched to the watcher whose device path the signal concerns. */

#include <ev.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

#define BLUEZ_SERVICE        "org.bluez"
#define BLUEZ_DEVICE_IFACE   "org.bluez.Device1"
#define BLUEZ_ADAPTER_IFACE  "org.bluez.Adapter1"
#define BLUEZ_SERVICE_IFACE  "org.bluez.GattService1"
#define BLUEZ_CHRC_IFACE     "org.bluez.GattCharacteristic1"

typedef struct BleBus BleBus;

typedef struct BleWatch BleWatch;
struct BleWatch {
        /* The device object this watcher cares about ("" while unknown:
         * then it sees only object additions and BlueZ coming and going). */
        char path[128];
        /* PropertiesChanged of path or an object below it; m is positioned
         * after the interface name (at the a{sv} of changed properties). */
        void (*properties)(BleWatch *w, const char *path, const char *iface, sd_bus_message *m);
        /* InterfacesAdded anywhere under /org/bluez; m is at the a{sa{sv}}. */
        void (*added)(BleWatch *w, const char *path, sd_bus_message *m);
        /* InterfacesRemoved of path or below it. */
        void (*removed)(BleWatch *w, const char *path);
        /* org.bluez left or (re)appeared on the bus, or the bus failed. */
        void (*service)(BleWatch *w, bool present);
        void *userdata;
        BleWatch *next;
};

/* The first reference opens the system bus ($DBUS_SYSTEM_BUS_ADDRESS is
 * honoured) and attaches it to loop. */
int ble_bus_ref(struct ev_loop *loop, BleBus **ret);
void ble_bus_unref(BleBus *b);
sd_bus *ble_bus_get(BleBus *b);

void ble_bus_watch(BleBus *b, BleWatch *w);
void ble_bus_unwatch(BleBus *b, BleWatch *w);

/* Asks the adapters to scan for LE devices while at least one caller wants
 * it (reference counted). */
void ble_bus_discovery(BleBus *b, bool on);

/* Helpers for the a{sv} of properties: skips the value of the current
 * dictionary entry (after its key has been read). */
int ble_skip_variant(sd_bus_message *m);
