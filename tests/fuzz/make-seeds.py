#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer targets (tests/fuzz/corpus/)
from the test data of the repository and a few hand-made cases.

    /usr/bin/python3 tests/fuzz/make-seeds.py      (from the source root)

Seeds are small and meaningful: valid files of each format and one of each
kind of damage the parsers name, so the fuzzer starts next to every branch.
Rerunning rewrites the same files."""

import json
import os
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
DATA = os.path.join(ROOT, "tests", "data")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def container(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return b, json.loads(b[8:8 + n]), n


# ---- model containers and descriptions -----------------------------------

MODELS = [("model", "tiny-1x2x4.gwm"), ("model", "fp32-9x2x64.gwm"),
          ("golden", "odd.gwm"), ("golden", "odd-fp32.gwm"), ("golden", "odd-int8.gwm")]
os.makedirs(os.path.join(OUT, "model"), exist_ok=True)
for sub, name in MODELS:
    shutil.copyfile(os.path.join(DATA, sub, name), os.path.join(OUT, "model", name))

descs = {}
for sub, name in MODELS + [("model", "uci-9x6x128.gwm"), ("golden", "daphnet.gwm"),
                           ("model", "wide-128x64x8-int8.gwm")]:
    b, h, n = container(os.path.join(DATA, sub, name))
    descs[name] = h["__metadata__"]["gaitway"]
for name, d in descs.items():
    base = name.replace(".gwm", "")
    put("model-desc", base + ".json", d)
    fe = json.loads(d)["frontend"]
    put("frontend-spec", base + ".json", json.dumps(fe))

# A truncated container and one whose header length overruns the file.
b, h, n = container(os.path.join(DATA, "model", "tiny-1x2x4.gwm"))
put("model", "truncated.gwm", b[:len(b) // 2])
put("model", "header-too-long.gwm", struct.pack("<Q", len(b)) + b[8:64])
put("model", "empty-header.gwm", struct.pack("<Q", 8) + b"{}      ")

# Description damage the parser names.
tiny = json.loads(descs["tiny-1x2x4.gwm"])
bad = dict(tiny, arch=dict(tiny["arch"], kernel=4))
put("model-desc", "even-kernel.json", json.dumps(bad))
bad = dict(tiny, classes=["a", "a"])
put("model-desc", "duplicate-class.json", json.dumps(bad))

# Front ends: UCI's documented chain and Daphnet's, plus refusals.
# UCI-HAR's gyroscope inputs with a gravity stage of their own (bias and
# drift removed, docs/frontend.md).
uci_fe = json.loads(descs["uci-9x6x128.gwm"])["frontend"]
for i in uci_fe["inputs"]:
    if i["name"].startswith("gyro"):
        i["gravity"] = {"order": 2, "cutoff_hz": 0.1}
put("frontend-spec", "input-gravity.json", json.dumps(uci_fe))
put("frontend-spec", "lookahead.json", json.dumps(dict(tiny["frontend"], lookahead=2)))
put("frontend-spec", "unknown-stage.json", json.dumps(dict(tiny["frontend"], lowpas={"order": 2})))
put("frontend-spec", "with-source.bin",
    json.dumps(json.loads(descs["uci-9x6x128.gwm"])["frontend"]).encode() + b"\n--\n" +
    bytes([0, 1, 1, 2, 2, 1, 1, 4, 4, 4, 3, 0x40, 0, 0, 0, 0x40, 0, 0, 0, 0x40]) +
    bytes(range(0, 250, 3)) * 8)

# ---- CSV lines ------------------------------------------------------------

for i, line in enumerate([
        "1764388800.02,0.0123,-0.98,0.151,0.00213,-0.0107,0.000412",
        "1764388800123456789", "0.0000000005", "-1.5e-3", ".5", "1.", "+0", "-0",
        "1e39", "2.2250738585072011e-308", "9007199254740993", "123456789012345678901234567890",
        "0.1;0,5;\t3", "  15 70\t39 -970  ", "nan", "-Infinity", "0x1p3", "1,5", "\"1\"",
        "1.2.3", "", "\xef\xbb\xbf1,2\r"]):
    put("csv", "line%02d.txt" % i, line)

# ---- traces ---------------------------------------------------------------

GAITWAY = """# gaitway-trace 1
# rate_hz: 50
# device: thingy52-c4:10:8b:2e:91:07
# source: ble
time[s],acc_x[g],acc_y[g],acc_z[g],gyro_x[rad/s],gyro_y[rad/s],gyro_z[rad/s]
1764388800.02,0.0123,-0.98,0.151,0.00213,-0.0107,0.000412
1764388800.04,0.0131,-0.979,0.149,0.00198,-0.0104,0.000377
1764388800.06,0.0131,-0.979,0.149,0.00198,-0.0104,0.000377
"""
put("trace", "gaitway.csv", GAITWAY)
put("trace", "gaitway-bad-rows.csv", """# gaitway-trace 1
# rate_hz: 64
time[ms],a[g],b[deg/s]
0,1,2
15.625,1e39,nan

31.25,,1
46.875,1,2,3
62.5,"1",2\r
""")
put("trace", "gaitway-no-rate.csv", "# gaitway-trace 1\ntime[ns],a[g]\n1,2\n")
put("trace", "gaitway-v2.csv", "# gaitway-trace 2\n# rate_hz: 1\ntime[s],a[g]\n")

acc = open(os.path.join(DATA, "trace", "hapt_acc_exp03_user02.txt")).read().splitlines()[:40]
gyro = open(os.path.join(DATA, "trace", "hapt_gyro_exp03_user02.txt")).read().splitlines()[:40]
put("trace", "hapt-acc.txt", "\n".join(acc) + "\n")
# Two files and a layout: HAPT acc + gyro, blank-separated, 50 Hz, no time
# column (layout bytes: delimiter, skip, time column + 1, unit, rate,
# channels - 1, then column and scale per channel; file A then file B).
lay_a = bytes([4, 0, 0, 0, 1, 2, 0, 0, 1, 0, 2, 0])
lay_b = bytes([4, 0, 0, 0, 1, 2, 0, 0, 1, 0, 2, 0])
put("trace", "hapt-merge.bin", ("\n".join(acc[:20]) + "\n#--\n" + "\n".join(gyro[:20]) +
                                "\n#--\n").encode() + lay_a + lay_b)
# Daphnet: time in ms in column 0, mg in columns 1-9, label in column 10.
daph = "".join("%d %d %d %d %d %d %d %d %d %d %d\n" % (15 + 16 * i, 70, 39, -970, 0, 1, 2, 3, 4, 5, 1)
               for i in range(30))
put("trace", "daphnet.bin", (daph + "#--\n" + daph + "\n#--\n").encode() +
    bytes([4, 0, 1, 1, 0, 2, 1, 1, 2, 1, 3, 1]) + bytes([4, 0, 1, 1, 0, 0, 4, 0]))
# A line over the reader's 4096 bytes between good rows.
put("trace", "long-line.csv", GAITWAY + "1764388800.08," + "1" * 5000 + ",0,0,0,0,0\n" +
    GAITWAY.splitlines()[-1] + "\n")
put("trace", "semicolon.csv", "\xef\xbb\xbf10;1,5;2\n20;3;4\n")

# ---- BLE notifications ----------------------------------------------------


def gw_packet(seq, t_us, n, rate_dhz=1000, gfs=2000, afs=8, ver=1, fill=0):
    p = struct.pack("<BBHIHHBB", ver, n, seq & 0xffff, t_us & 0xffffffff, rate_dhz, gfs, afs, 0)
    for i in range(n):
        p += struct.pack("<6h", *[((fill + i * 977 + k * 4111) % 65536) - 32768 for k in range(6)])
    return p


def gw_record(pkt, step=100):
    return struct.pack("<HH", len(pkt), step) + pkt


stream = b"".join(gw_record(gw_packet(s, 10000 * s * 4, 4), 400) for s in range(8))
put("ble-gaitway", "steady.bin", stream)
put("ble-gaitway", "one-full.bin", gw_record(gw_packet(7, 123, 41, fill=5)))
lossy = [gw_packet(s, 40000 * s, 4) for s in (0, 1, 3, 3, 2, 7, 65535, 0, 1)]
put("ble-gaitway", "loss-dup-wrap.bin", b"".join(gw_record(p) for p in lossy))
put("ble-gaitway", "restart.bin", gw_record(gw_packet(100, 5000000, 2)) + b"\xff\xff\x00\x00" +
    gw_record(gw_packet(0, 0, 2), 0xffff) + gw_record(gw_packet(1, 20000, 2)))
bad = [gw_packet(0, 0, 2, ver=2), gw_packet(0, 0, 2, rate_dhz=9), gw_packet(0, 0, 2, gfs=0),
       gw_packet(0, 0, 2, afs=65), gw_packet(0, 0, 2)[:-1], gw_packet(0, 0, 42)[:14], b""]
put("ble-gaitway", "malformed.bin", b"".join(gw_record(p) for p in bad))


def th_record(pkt, step=100):
    return struct.pack("<BH", len(pkt), step) + pkt


raw = struct.pack("<9h", 1024, -1024, 512, 32, -32, 0, 160, -160, 16)
cfg = struct.pack("<HHHHB", 1000, 1000, 100, 100, 1)
put("ble-thingy52", "steady.bin", bytes([3]) + cfg + struct.pack("<d", 50.0) +
    b"".join(th_record(raw, 200) for _ in range(10)))
put("ble-thingy52", "stall-reconnect.bin", bytes([2]) + cfg + struct.pack("<d", 200.4) +
    th_record(raw) + th_record(raw, 0xffff) + b"\xff\x00\x00" + th_record(raw, 1) +
    th_record(raw, 0))
put("ble-thingy52", "malformed.bin", bytes([0]) + cfg + struct.pack("<d", 4.4) +
    th_record(raw[:17]) + th_record(raw + b"\0") + th_record(b"") +
    th_record(struct.pack("<9h", *([-32768] * 9))))
put("ble-thingy52", "config-nan.bin", bytes([7]) + cfg + struct.pack("<d", float("nan")))

# ---- daemon configuration -------------------------------------------------

EX = os.path.join(ROOT, "conf", "examples")
GATEWAY = """[gateway]
id = fuzz
activity_model = /usr/share/gaitway/models/activity.gwm
fog_model = fog.gwm
stats_interval = 60
"""
for name in sorted(os.listdir(EX)) if os.path.isdir(EX) else []:
    if name.endswith(".conf"):
        put("conf", name, GATEWAY + "#--\n" + open(os.path.join(EX, name)).read())
put("conf", "replay.conf", GATEWAY + """
[mqtt]
enabled = no
base_topic = gaitway
qos = 1
queue_limit = 1000
reconnect_min = 0.5
reconnect_max = 30
homeassistant = yes
homeassistant_prefix = homeassistant

[dbus]
bus = system

[device lab]
source = replay
path = trace.csv
channels = acc_x, acc_y, acc_z
units = g g g
mount_matrix = 0 1 0 -1 0 0 0 0 1
max_gap = 0.5
models = activity fog
smoothing = majority
smoothing_length = 5
fog_on_threshold = 0.6
fog_off_threshold = 0.4
fog_class = freeze
#--
[device lab]
sample_rate = 64
#--
[mqtt]
qos = 2
""")
put("conf", "mqtt-credentials.conf", GATEWAY + """[mqtt]
enabled = yes
host = 127.0.0.1
username = gaitway
password_file = %d/mqtt-password
tls_ca = $CREDENTIALS_DIRECTORY/ca.pem
tls_cert = ${CREDENTIALS_DIRECTORY}/cert.pem
tls_key = %d/key.pem
""")
put("conf", "errors.conf", "key outside = 1\n[gateway\n[device bad/id]\nsource = nowhere\n[mqtt]\nport = 0\n")
put("conf", "long-line.conf", "[gateway]\nid = " + "x" * 5000 + "\n")

for i, v in enumerate(["yes", "Off", "1", "-0", "65535", "0x10", " 5", "3600.0", "0.05", "1e-400",
                       "nan", "inf", "living-room", "a.b_c-D", "bad/id", "x" * 70, "trace.csv",
                       "/abs/path", "acc_x, acc_y,acc_z", "a,,b\tc", ",".join(["ch%d" % k for k in range(40)]),
                       "y" * 40 + " z", "", "%d/mqtt-password", "$CREDENTIALS_DIRECTORY/tls.key",
                       "${CREDENTIALS_DIRECTORY}/ca.pem", "%d/", "$CREDENTIALS_DIRECTORY"]):
    put("conf-value", "value%02d.txt" % i, v)

# ---- MQTT from the broker -------------------------------------------------


def varint(n):
    out = b""
    while True:
        b, n = n % 128, n // 128
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def publish(topic, payload, qos=0, retain=False, mid=1, dup=False):
    body = struct.pack(">H", len(topic)) + topic + (struct.pack(">H", mid) if qos else b"") + payload
    return bytes([0x30 | (qos << 1) | (1 if retain else 0) | (8 if dup else 0)]) + varint(len(body)) + body


HA = b"homeassistant/status"
put("mqtt-inbound", "ha-online.bin", b"\0" + publish(HA, b"online"))
put("mqtt-inbound", "ha-online-qos1-retained.bin", b"\2" + publish(HA, b"online", qos=1, retain=True, mid=7))
put("mqtt-inbound", "ha-online-qos2.bin", b"\0" + publish(HA, b"online", qos=2, mid=9) + b"\x62\x02\x00\x09")
put("mqtt-inbound", "ha-offline-then-online.bin", b"\0" + publish(HA, b"offline") + publish(HA, b"online") +
    publish(b"gaitway/fuzz/wrist/activity", b"{}"))
put("mqtt-inbound", "acks.bin", b"\0" + b"\x90\x03\x00\x01\x01" + b"\x40\x02\x00\x02" + b"\x40\x02\x00\x03" +
    b"\xd0\x00" + b"\x50\x02\x00\x04")
put("mqtt-inbound", "server-disconnect.bin", b"\0" + b"\xe0\x00")
put("mqtt-inbound", "cut-mid-packet.bin", b"\2" + publish(HA, b"online")[:9])
put("mqtt-inbound", "bad-remaining-length.bin", b"\0" + b"\x30\xff\xff\xff\xff\x7f")
# The largest remaining length MQTT 3.1.1 allows: libmosquitto allocates it
# (256 MiB) before a byte of the payload arrives (docs/fuzzing.md).
put("mqtt-inbound", "max-remaining-length.bin", b"\0" + b"\x30\xff\xff\xff\x7f")
put("mqtt-inbound", "topic-not-utf8.bin", b"\0" + publish(b"home\xffassistant/status\x00", b"online"))
put("mqtt-inbound", "refused-connack.bin", b"\1" + b"\x20\x02\x00\x05")
put("mqtt-inbound", "second-connack.bin", b"\0" + b"\x20\x02\x00\x00" + publish(HA, b"online"))

# ---- D-Bus method calls ---------------------------------------------------


def st(x):
    x = x.encode() if isinstance(x, str) else x
    return bytes([len(x)]) + x


def ids(*names):
    return bytes([len(names)]) + b"".join(st(n) for n in names)


GET_DEVICE, LIST, RELOAD, GET, GET_ALL, SET, INTROSPECT, MANAGED, ANY = range(9)
put("dbus-args", "every-method.bin", ids("kitchen.1") + b"".join([
    bytes([GET_DEVICE, 0, 0]), bytes([GET_DEVICE, 0, 2]), bytes([GET_DEVICE, 0, 9]) + st("nope"),
    bytes([LIST, 0]), bytes([RELOAD, 0, 1]), bytes([RELOAD, 0, 0]),
    bytes([GET, 0, 0]) + st("Version"), bytes([GET, 1, 1]) + st("Activity"),
    bytes([GET, 2, 1]) + st("Source"), bytes([GET_ALL, 1, 1]), bytes([GET_ALL, 0, 0]),
    bytes([SET, 0, 0]) + st("GatewayId") + st("x"), bytes([INTROSPECT, 0]), bytes([INTROSPECT, 1]),
    bytes([INTROSPECT, 2]), bytes([MANAGED, 0])]))
put("dbus-args", "wrong-signatures.bin", ids() + b"".join([
    bytes([ANY, 0, 0, 3]) + st("GetDevice") + b"\x01\0\0\0", bytes([ANY, 0, 0, 0]) + st("GetDevice"),
    bytes([ANY, 0, 0, 1]) + st("Reload") + st("now"), bytes([ANY, 0, 0, 2]) + st("ListDevices") + st("a"),
    bytes([ANY, 1, 1, 4]) + st("Frobnicate") + st("b"), bytes([ANY, 0, 2, 1]) + st("Get") + st("x"),
    bytes([ANY, 0, 9, 5]) + st("org.example.Nope") + st("Hello")]))
put("dbus-args", "odd-paths-and-ids.bin", ids("a", "b-c_d.e", "x" * 63) + b"".join([
    bytes([GET_DEVICE, 0, 9]) + st(""), bytes([GET_DEVICE, 0, 9]) + st("x" * 200),
    bytes([GET_DEVICE, 0, 9]) + st("../../x"), bytes([GET_DEVICE, 0, 9]) + st("b-c_d.e"),
    bytes([INTROSPECT, 0xff]) + st("/org/gaitway/Gateway1/device/_2d"),
    bytes([GET_ALL, 0xff, 1]) + st("/org/gaitway/Gateway1/device/b_2dc_5fd_2ee"),
    bytes([GET, 3, 0]) + st("Devices"), bytes([INTROSPECT, 4]), bytes([MANAGED, 0xff]) + st("/")]))

print("seeds written under", OUT, file=sys.stderr)
