# SPDX-License-Identifier: MIT
'''gaitway wearables on a mock BlueZ: python-dbusmock's bluez5 template plus
GATT services, characteristics and a packet generator.

Run on a private bus (tests/integration/ble/run-bluez-mock):
    /usr/bin/python3 -m dbusmock --system --template tests/integration/ble/wearable.py

Everything the bluez5 template offers stays (org.bluez.Mock.AddAdapter, ...).
Added on org.bluez.Mock at /:

  AddWearable(s adapter, s address, s alias, s profile, a{sv} options) -> o
      A BLE device whose GATT database (profile "gaitway" or "thingy52")
      appears after Connect() and disappears on disconnect, as BlueZ does for
      an unbonded LE device.  Options: acquire (b, default true: offer
      AcquireNotify; false: StartNotify only), mtu (q, 247), resolve_ms (u,
      30: Connect to ServicesResolved).
  StartStream(s address, s trace, u per_packet, d rate_hz, b loop)
      Generates packets in real time while the wearable is subscribed:
      samples from a gaitway trace file (acc in g, gyro in deg/s or rad/s),
      or, with trace "", the synthetic ramp of ramp_sample() below.  Packets
      due while nobody listens are not sent, and their sequence numbers are
      skipped, as a real wearable would.
  StopStream(s address)
  DropPackets(s address, u n)        the next n packets are lost on the air
  SendRaw(s address, ay value)       one notification with these bytes
  DropLink(s address)                the link drops (not a Disconnect() call)
  FailConnect(s address, u n, s error, s message)
                                     the next n Connect() calls fail
  WearableStats(s address) -> a{sv}  sent, lost_on_air, unsubscribed, seq,
                                     samples, connects, mode
  LogSends(s address, s path)        appends "<first sample index> <n> <Unix ns>"
                                     for every notification sent (benchmarks)
'''

import math
import socket
import struct
import time

import dbus
from gi.repository import GLib

from dbusmock import OBJECT_MANAGER_IFACE, mockobject
from dbusmock.templates import bluez5
from dbusmock.templates.bluez5 import *  # noqa: F401,F403  (template methods are picked up by name)

BUS_NAME = bluez5.BUS_NAME
MAIN_OBJ = bluez5.MAIN_OBJ
SYSTEM_BUS = True
IS_OBJECT_MANAGER = True

MOCK_IFACE = bluez5.BLUEZ_MOCK_IFACE
DEVICE_IFACE = bluez5.DEVICE_IFACE
GATT_SERVICE_IFACE = 'org.bluez.GattService1'
GATT_CHRC_IFACE = 'org.bluez.GattCharacteristic1'

PROFILES = {
    'gaitway': {
        'service': '13fd0001-ab1c-45f7-89e9-ab589dd82332',
        'data': '13fd0002-ab1c-45f7-89e9-ab589dd82332',
        'config': None,
    },
    'thingy52': {
        'service': 'ef680400-9b35-4933-9b10-52ffa9740042',
        'data': 'ef680406-9b35-4933-9b10-52ffa9740042',
        'config': 'ef680401-9b35-4933-9b10-52ffa9740042',
    },
}

ACCEL_FS_G = 8
GYRO_FS_DPS = 2000

wearables = {}      # device path -> Wearable


def ramp_sample(k):
    '''Raw int16 sample k of the synthetic stream (acc x y z, gyro x y z,
    compass x y z); tests recompute it to check decoded values.'''
    return [(k % 2000) - 1000, 4096, -4096, ((k * 7) % 3000) - 1500, 100, -100,
            (k % 50) * 16, -160, 800]


def read_trace(path):
    '''Rows of [acc_x, acc_y, acc_z (g), gyro_x, gyro_y, gyro_z (deg/s)] from a
    gaitway trace file.'''
    cols = None
    rows = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            fields = line.split(',')
            if cols is None:
                names = {}
                for i, h in enumerate(fields):
                    name, _, unit = h.partition('[')
                    names[name.strip()] = (i, unit.rstrip(']').strip())
                cols = []
                for n in ('acc_x', 'acc_y', 'acc_z', 'gyro_x', 'gyro_y', 'gyro_z'):
                    i, unit = names[n]
                    scale = 1.0
                    if unit == 'm/s^2':
                        scale = 1 / 9.80665
                    elif unit == 'rad/s':
                        scale = 180 / math.pi
                    cols.append((i, scale))
                continue
            rows.append([float(fields[i]) * s for i, s in cols])
    return rows


def to_raw(value, full_scale):
    return max(-32768, min(32767, int(round(value / full_scale * 32768))))


class Wearable:
    def __init__(self, path, address, profile, acquire, mtu, resolve_ms):
        self.path = path
        self.address = address
        self.profile = profile
        self.acquire = acquire
        self.mtu = mtu
        self.resolve_ms = resolve_ms
        self.connected = False
        self.resolved = False
        self.gatt_paths = []
        self.data_path = path + '/service0010/char0011'
        self.config_path = path + '/service0010/char0014'
        self.config_value = [0xE8, 0x03, 0xE8, 0x03, 0xE8, 0x03, 0x0A, 0x00, 0x00]
        self.notifying = False
        self.sock = None
        self.sock_watch = 0
        self.fail = []
        self.timer = 0
        self.rows = None
        self.loop = True
        self.per_packet = 10
        self.rate = 100.0
        self.k = 0          # next sample index
        self.seq = 0
        self.t0 = 0.0
        self.due = 0        # packets generated so far
        self.drop = 0
        self.send_log = None
        self.stats = {'sent': 0, 'lost_on_air': 0, 'unsubscribed': 0, 'samples': 0,
                      'connects': 0, 'send_failed': 0}

    def subscribed(self):
        return self.connected and (self.sock is not None or self.notifying)


def emit_props(path, iface, changed, invalidated=None):
    mockobject.objects[path].EmitSignal(dbus.PROPERTIES_IFACE, 'PropertiesChanged', 'sa{sv}as', [
        iface, changed, dbus.Array(invalidated or [], signature='s')])


def set_props(path, iface, changed):
    obj = mockobject.objects[path]
    for k, v in changed.items():
        obj.props[iface][k] = v
    emit_props(path, iface, changed)


def manager():
    return mockobject.objects['/']


def wearable_of(path):
    for w in wearables.values():
        if path == w.path or path.startswith(w.path + '/'):
            return w
    raise dbus.exceptions.DBusException('no such wearable', name='org.bluez.Error.DoesNotExist')


def by_address(address):
    for w in wearables.values():
        if w.address.upper() == address.upper():
            return w
    raise dbus.exceptions.DBusException(f'no wearable {address}', name=MOCK_IFACE + '.NoSuchDevice')


# ---- the GATT database ------------------------------------------------------

def chrc_ReadValue(chrc, options):
    w = wearable_of(chrc.path)
    if not w.connected:
        raise dbus.exceptions.DBusException('Not connected', name='org.bluez.Error.NotConnected')
    return dbus.Array(chrc.props[GATT_CHRC_IFACE]['Value'], signature='y')


def chrc_WriteValue(chrc, value, options):
    w = wearable_of(chrc.path)
    if not w.connected:
        raise dbus.exceptions.DBusException('Not connected', name='org.bluez.Error.NotConnected')
    if chrc.path != w.config_path:
        raise dbus.exceptions.DBusException('Write not permitted', name='org.bluez.Error.NotPermitted')
    if len(value) != 9:
        raise dbus.exceptions.DBusException('Invalid value length',
                                            name='org.bluez.Error.InvalidValueLength')
    w.config_value = [int(b) for b in value]
    chrc.props[GATT_CHRC_IFACE]['Value'] = dbus.Array(w.config_value, signature='y')


def chrc_StartNotify(chrc):
    w = wearable_of(chrc.path)
    if not w.connected:
        raise dbus.exceptions.DBusException('Not connected', name='org.bluez.Error.NotConnected')
    if w.sock is not None:
        raise dbus.exceptions.DBusException('Notify acquired', name='org.bluez.Error.NotPermitted')
    if not w.notifying:
        w.notifying = True
        set_props(chrc.path, GATT_CHRC_IFACE, {'Notifying': dbus.Boolean(True, variant_level=1)})


def chrc_StopNotify(chrc):
    w = wearable_of(chrc.path)
    if w.notifying:
        w.notifying = False
        set_props(chrc.path, GATT_CHRC_IFACE, {'Notifying': dbus.Boolean(False, variant_level=1)})


def release_sock(w):
    if w.sock_watch:
        GLib.source_remove(w.sock_watch)
        w.sock_watch = 0
    if w.sock is not None:
        w.sock.close()
        w.sock = None
        if w.data_path in mockobject.objects:
            set_props(w.data_path, GATT_CHRC_IFACE,
                      {'NotifyAcquired': dbus.Boolean(False, variant_level=1)})


def sock_hup(fd, cond, w):
    w.sock_watch = 0
    release_sock(w)
    return False


def chrc_AcquireNotify(chrc, options):
    w = wearable_of(chrc.path)
    if not w.acquire:
        raise dbus.exceptions.DBusException('Operation is not supported',
                                            name='org.bluez.Error.NotSupported')
    if not w.connected:
        raise dbus.exceptions.DBusException('Not connected', name='org.bluez.Error.NotConnected')
    if w.notifying or w.sock is not None:
        raise dbus.exceptions.DBusException('Notify already enabled',
                                            name='org.bluez.Error.NotPermitted')
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    w.sock = ours
    w.sock_watch = GLib.io_add_watch(ours.fileno(), GLib.IO_HUP | GLib.IO_ERR, sock_hup, w)
    fd = dbus.types.UnixFd(theirs)     # dups the descriptor
    theirs.close()
    set_props(chrc.path, GATT_CHRC_IFACE, {'NotifyAcquired': dbus.Boolean(True, variant_level=1)})
    return (fd, dbus.UInt16(w.mtu))


def add_gatt(w):
    uuids = PROFILES[w.profile]
    svc_path = w.path + '/service0010'
    svc_props = {
        'UUID': dbus.String(uuids['service'], variant_level=1),
        'Primary': dbus.Boolean(True, variant_level=1),
        'Device': dbus.ObjectPath(w.path, variant_level=1),
        'Includes': dbus.Array([], signature='o', variant_level=1),
        'Handle': dbus.UInt16(0x10, variant_level=1),
    }
    objs = [(svc_path, GATT_SERVICE_IFACE, svc_props, [])]

    chrc_methods = [
        ('ReadValue', 'a{sv}', 'ay', chrc_ReadValue),
        ('WriteValue', 'aya{sv}', '', chrc_WriteValue),
        ('StartNotify', '', '', chrc_StartNotify),
        ('StopNotify', '', '', chrc_StopNotify),
    ]
    data_props = {
        'UUID': dbus.String(uuids['data'], variant_level=1),
        'Service': dbus.ObjectPath(svc_path, variant_level=1),
        'Value': dbus.Array([], signature='y', variant_level=1),
        'Notifying': dbus.Boolean(False, variant_level=1),
        'Flags': dbus.Array(['read', 'notify'], signature='s', variant_level=1),
        'Handle': dbus.UInt16(0x11, variant_level=1),
        'MTU': dbus.UInt16(w.mtu, variant_level=1),
    }
    methods = list(chrc_methods)
    if w.acquire:
        data_props['NotifyAcquired'] = dbus.Boolean(False, variant_level=1)
        methods.append(('AcquireNotify', 'a{sv}', 'hq', chrc_AcquireNotify))
    objs.append((w.data_path, GATT_CHRC_IFACE, data_props, methods))

    if uuids['config']:
        cfg_props = {
            'UUID': dbus.String(uuids['config'], variant_level=1),
            'Service': dbus.ObjectPath(svc_path, variant_level=1),
            'Value': dbus.Array(w.config_value, signature='y', variant_level=1),
            'Notifying': dbus.Boolean(False, variant_level=1),
            'Flags': dbus.Array(['read', 'write'], signature='s', variant_level=1),
            'Handle': dbus.UInt16(0x14, variant_level=1),
            'MTU': dbus.UInt16(w.mtu, variant_level=1),
        }
        objs.append((w.config_path, GATT_CHRC_IFACE, cfg_props, chrc_methods))

    for path, iface, props, meths in objs:
        manager().AddObject(path, iface, props, meths)
        w.gatt_paths.append(path)
        manager().EmitSignal(OBJECT_MANAGER_IFACE, 'InterfacesAdded', 'oa{sa{sv}}', [
            dbus.ObjectPath(path), {iface: props}])


def remove_gatt(w):
    for path in reversed(w.gatt_paths):
        iface = GATT_SERVICE_IFACE if path.endswith('service0010') else GATT_CHRC_IFACE
        manager().RemoveObject(path)
        manager().EmitSignal(OBJECT_MANAGER_IFACE, 'InterfacesRemoved', 'oas', [
            dbus.ObjectPath(path), dbus.Array([iface], signature='s')])
    w.gatt_paths = []


# ---- the link ---------------------------------------------------------------

def resolve(w):
    if w.connected and not w.resolved:
        add_gatt(w)
        w.resolved = True
        set_props(w.path, DEVICE_IFACE, {'ServicesResolved': dbus.Boolean(True, variant_level=1)})
    return False


def link_down(w):
    release_sock(w)
    w.notifying = False
    if w.resolved:
        w.resolved = False
        set_props(w.path, DEVICE_IFACE, {'ServicesResolved': dbus.Boolean(False, variant_level=1)})
    remove_gatt(w)
    if w.connected:
        w.connected = False
        set_props(w.path, DEVICE_IFACE, {'Connected': dbus.Boolean(False, variant_level=1)})


def dev_Connect(device):
    w = wearable_of(device.path)
    if w.fail:
        name, message = w.fail.pop(0)
        raise dbus.exceptions.DBusException(message, name=name)
    if w.connected:
        raise dbus.exceptions.DBusException('Already Connected', name='org.bluez.Error.AlreadyConnected')
    w.connected = True
    w.stats['connects'] += 1
    set_props(w.path, DEVICE_IFACE, {'Connected': dbus.Boolean(True, variant_level=1)})
    GLib.timeout_add(w.resolve_ms, resolve, w)


def dev_Disconnect(device):
    w = wearable_of(device.path)
    if not w.connected:
        raise dbus.exceptions.DBusException('Not Connected', name='org.bluez.Error.NotConnected')
    link_down(w)


@dbus.service.method(MOCK_IFACE, in_signature='ssssa{sv}', out_signature='o')
def AddWearable(self, adapter, address, alias, profile, options):
    if profile not in PROFILES:
        raise dbus.exceptions.DBusException(f'unknown profile {profile}', name=MOCK_IFACE + '.BadProfile')
    adapter_path = '/org/bluez/' + adapter
    if adapter_path not in mockobject.objects:
        raise dbus.exceptions.DBusException(f'Adapter {adapter} does not exist.',
                                            name=MOCK_IFACE + '.NoSuchAdapter')
    path = adapter_path + '/dev_' + address.replace(':', '_').upper()
    uuids = PROFILES[profile]
    props = {
        'Address': dbus.String(address.upper(), variant_level=1),
        'AddressType': dbus.String('random', variant_level=1),
        'Name': dbus.String(alias, variant_level=1),
        'Alias': dbus.String(alias, variant_level=1),
        'Adapter': dbus.ObjectPath(adapter_path, variant_level=1),
        'UUIDs': dbus.Array([uuids['service']], signature='s', variant_level=1),
        'Paired': dbus.Boolean(False, variant_level=1),
        'Bonded': dbus.Boolean(False, variant_level=1),
        'Trusted': dbus.Boolean(False, variant_level=1),
        'Blocked': dbus.Boolean(False, variant_level=1),
        'Connected': dbus.Boolean(False, variant_level=1),
        'ServicesResolved': dbus.Boolean(False, variant_level=1),
        'LegacyPairing': dbus.Boolean(False, variant_level=1),
        'RSSI': dbus.Int16(-60, variant_level=1),
        'Appearance': dbus.UInt16(0x0C80, variant_level=1),
    }
    self.AddObject(path, DEVICE_IFACE, props, [
        ('Connect', '', '', dev_Connect),
        ('Disconnect', '', '', dev_Disconnect),
        ('ConnectProfile', 's', '', ''),
        ('DisconnectProfile', 's', '', ''),
        ('Pair', '', '', ''),
        ('CancelPairing', '', '', ''),
    ])
    wearables[path] = Wearable(path, address.upper(), profile,
                               bool(options.get('acquire', True)),
                               int(options.get('mtu', 247)),
                               int(options.get('resolve_ms', 30)))
    manager().EmitSignal(OBJECT_MANAGER_IFACE, 'InterfacesAdded', 'oa{sa{sv}}', [
        dbus.ObjectPath(path), {DEVICE_IFACE: props}])
    return dbus.ObjectPath(path)


# ---- the generator ----------------------------------------------------------

def next_sample(w):
    if w.rows is None:
        raw = ramp_sample(w.k)
    else:
        if w.k >= len(w.rows):
            if not w.loop:
                return None
        row = w.rows[w.k % len(w.rows)]
        raw = [to_raw(row[i], ACCEL_FS_G) for i in range(3)] + \
              [to_raw(row[i], GYRO_FS_DPS) for i in range(3, 6)] + [0, 0, 0]
    w.k += 1
    return raw


def gaitway_packet(w, samples, first_k):
    t_us = int(round(first_k * 1e6 / w.rate)) & 0xFFFFFFFF
    head = struct.pack('<BBHIHHBB', 1, len(samples), w.seq & 0xFFFF, t_us,
                       int(round(w.rate * 10)), GYRO_FS_DPS, ACCEL_FS_G, 0)
    body = b''.join(struct.pack('<6h', *s[:6]) for s in samples)
    return head + body


def send(w, payload):
    if w.sock is not None:
        try:
            w.sock.send(payload)
        except OSError:
            w.stats['send_failed'] += 1
            return
    else:
        value = dbus.Array(payload, signature='y', variant_level=1)
        mockobject.objects[w.data_path].props[GATT_CHRC_IFACE]['Value'] = value
        emit_props(w.data_path, GATT_CHRC_IFACE, {'Value': value})
    w.stats['sent'] += 1


def emit_packet(w):
    '''Generates the next packet; returns False at the end of a trace.'''
    first_k = w.k
    if w.profile == 'gaitway':
        samples = []
        for _ in range(w.per_packet):
            s = next_sample(w)
            if s is None:
                break
            samples.append(s)
        if not samples:
            return False
        payloads = [gaitway_packet(w, samples, first_k)]
    else:
        s = next_sample(w)
        if s is None:
            return False
        samples = [s]
        payloads = [struct.pack('<9h', *s)]
    w.seq = (w.seq + 1) & 0xFFFF
    if not w.subscribed():
        w.stats['unsubscribed'] += 1
        return True
    if w.drop > 0:
        w.drop -= 1
        w.stats['lost_on_air'] += 1
        return True
    if w.send_log:
        w.send_log.write('%d %d %d\n' % (first_k, len(samples), time.time_ns()))
    for p in payloads:
        send(w, p)
    w.stats['samples'] += len(samples)
    return True


def tick(w):
    '''Emits every packet due by now: pacing follows the wall clock, not the
    timer's own drift.'''
    per = w.per_packet if w.profile == 'gaitway' else 1
    due = int((time.monotonic() - w.t0) * w.rate / per)
    while w.due < due:
        w.due += 1
        if not emit_packet(w):
            w.timer = 0
            return False
    return True


@dbus.service.method(MOCK_IFACE, in_signature='ssudb', out_signature='')
def StartStream(self, address, trace, per_packet, rate_hz, loop):
    w = by_address(address)
    if w.timer:
        GLib.source_remove(w.timer)
    w.rows = read_trace(trace) if trace else None
    w.per_packet = max(1, min(41, int(per_packet)))
    w.rate = float(rate_hz)
    w.loop = bool(loop)
    w.k = 0
    w.due = 0
    w.t0 = time.monotonic()
    per = w.per_packet if w.profile == 'gaitway' else 1
    interval = max(1, int(1000 * per / w.rate / 2))
    w.timer = GLib.timeout_add(interval, tick, w)


@dbus.service.method(MOCK_IFACE, in_signature='s', out_signature='')
def StopStream(self, address):
    w = by_address(address)
    if w.timer:
        GLib.source_remove(w.timer)
        w.timer = 0


@dbus.service.method(MOCK_IFACE, in_signature='su', out_signature='')
def DropPackets(self, address, n):
    by_address(address).drop += int(n)


@dbus.service.method(MOCK_IFACE, in_signature='say', out_signature='')
def SendRaw(self, address, value):
    w = by_address(address)
    if not w.subscribed():
        raise dbus.exceptions.DBusException('nobody is subscribed', name=MOCK_IFACE + '.NotSubscribed')
    send(w, bytes(value))


@dbus.service.method(MOCK_IFACE, in_signature='s', out_signature='')
def DropLink(self, address):
    link_down(by_address(address))


@dbus.service.method(MOCK_IFACE, in_signature='suss', out_signature='')
def FailConnect(self, address, n, error, message):
    w = by_address(address)
    w.fail.extend([(str(error), str(message))] * int(n))


@dbus.service.method(MOCK_IFACE, in_signature='ss', out_signature='')
def LogSends(self, address, path):
    w = by_address(address)
    if w.send_log:
        w.send_log.close()
    w.send_log = open(path, 'a', buffering=1) if path else None


@dbus.service.method(MOCK_IFACE, in_signature='s', out_signature='a{sv}')
def WearableStats(self, address):
    w = by_address(address)
    out = {k: dbus.UInt64(v, variant_level=1) for k, v in w.stats.items()}
    out['seq'] = dbus.UInt16(w.seq, variant_level=1)
    out['mode'] = dbus.String('acquired' if w.sock is not None else
                              'notify' if w.notifying else 'idle', variant_level=1)
    out['connected'] = dbus.Boolean(w.connected, variant_level=1)
    out['config_rate'] = dbus.UInt16(w.config_value[6] | w.config_value[7] << 8, variant_level=1)
    return out


def load(mock, parameters):
    bluez5.load(mock, parameters)
