/* SPDX-License-Identifier: MIT */
/* libFuzzer target: D-Bus method calls with arguments from the input, made
 * on the daemon's D-Bus objects (daemon/sink-dbus.c, included here so its
 * vtables, handlers and object bookkeeping are the ones under test).
 *
 * Each input is one connection: the sink's objects (the manager object, an
 * ObjectManager, one Device1 object per device, paths encoded from the
 * device ids as the sink does it) are registered on the server end of a
 * private peer-to-peer sd-bus connection driven by the daemon's libev
 * adapter (daemon/ev-sdbus.c), exactly as dbus_connect() registers them on
 * the system bus; the client end, played here, then calls methods:
 * GetDevice with any string, ListDevices, Reload, Properties.Get/GetAll/Set
 * with any interface and property name, Introspect, GetManagedObjects, and
 * calls with any interface, member, path and argument signature.  Every
 * call must get an answer (a return or an error), GetDevice must answer
 * with the right path, and freeing the sink must leave nothing behind.
 *
 * Input: a count of extra devices (0..3) and their ids (u8 length, bytes;
 * only ids the configuration accepts are added), then call records
 * { u8 kind, u8 path selector [, path], strings as u8 length + bytes }. */

#include "../../daemon/sink-dbus.c"

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf-value.h"
#include "fuzz-input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The manager proper is not linked (it would bring every sink and source
 * along); these are the parts of it the sink and the devices use. */
static bool reload_fails;

int manager_reload(Manager *m, char *err, size_t errlen)
{
        if (reload_fails)
                return gw_error(err, errlen, EINVAL, "fuzz.conf:3: [mqtt] port: expected an integer");
        return 0;
}

uint64_t manager_uptime_usec(const Manager *m)
{
        return 1000000;
}

void manager_sink_stopped(Manager *m, Sink *s)
{
}

void manager_emit(Manager *m, const Event *e)
{
}

bool manager_busy(Manager *m)
{
        return false;
}

void manager_device_waits(Manager *m, Device *d)
{
}

void manager_device_ended(Manager *m, Device *d, int error, const char *err)
{
}

void manager_samples_arrived(Manager *m)
{
}

#define MAX_EXTRA 3
#define MAX_CALLS 64

static Manager mgr;

static const char TRACE[] =
        "# gaitway-trace 1\n# rate_hz: 50\n"
        "time[s],acc_x[g],acc_y[g],acc_z[g],gyro_x[rad/s],gyro_y[rad/s],gyro_z[rad/s]\n"
        "0,0,0,1,0,0,0\n";

static void setup(void)
{
        char conf[2048], err[GW_ERR_MAX * 2];
        ConfigLoader *l;
        DeviceModels models = { 0 };

        log_set_max_level(LOG_CRIT);
        mgr.loop = ev_loop_new(EVFLAG_AUTO);
        int tfd = memfd_create("fuzz-trace", 0);
        if (!mgr.loop || tfd < 0 || write(tfd, TRACE, sizeof TRACE - 1) != (ssize_t) sizeof TRACE - 1)
                abort();
        snprintf(conf, sizeof conf,
                 "[gateway]\nid = fuzz\nactivity_model = %s/tests/data/daemon/activity.gwm\n"
                 "fog_model = %s/tests/data/daemon/fog.gwm\n"
                 "[device wrist]\nsource = replay\npath = /proc/self/fd/%d\n"
                 "[device ankle.left-2]\nsource = replay\npath = /proc/self/fd/%d\nmodels = fog\n",
                 GW_SOURCE_ROOT, GW_SOURCE_ROOT, tfd, tfd);
        if (!(l = config_loader_new()) ||
            config_loader_add_string(l, "fuzz.conf", conf, NULL, err, sizeof err) < 0 ||
            config_loader_finish(l, &mgr.config, err, sizeof err) < 0) {
                fprintf(stderr, "dbus-args: %s\n", err);
                abort();
        }
        config_loader_free(l);
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                gw_model *m;
                if (gw_model_load_file(mgr.config->gateway.model[t], &m, err, sizeof err) < 0 ||
                    gw_engine_new(m, &models.engine[t]) < 0)
                        abort();
                models.model[t] = m;
        }
        mgr.devices = calloc(mgr.config->n_devices + MAX_EXTRA, sizeof *mgr.devices);
        for (size_t i = 0; mgr.devices && i < mgr.config->n_devices; i++) {
                if (device_new(&mgr, &mgr.config->devices[i], &models, &mgr.devices[i], err, sizeof err) < 0) {
                        fprintf(stderr, "dbus-args: %s\n", err);
                        abort();
                }
                mgr.n_devices++;
        }
        if (mgr.n_devices != 2)
                abort();
}

static sd_bus *open_end(int fd, bool server)
{
        sd_bus *b = NULL;
        sd_id128_t id;
        if (sd_bus_new(&b) < 0 || sd_bus_set_fd(b, fd, fd) < 0 || sd_bus_set_anonymous(b, true) < 0)
                abort();
        if (server && (sd_id128_randomize(&id) < 0 || sd_bus_set_server(b, true, id) < 0))
                abort();
        if (sd_bus_start(b) < 0)
                abort();
        return b;
}

typedef struct {
        bool done;
        bool error;
        char path[512];
} Reply;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Reply *r = userdata;
        const char *p;
        r->done = true;
        r->error = sd_bus_message_is_method_error(m, NULL);
        if (!r->error && sd_bus_message_has_signature(m, "o") && sd_bus_message_read(m, "o", &p) >= 0)
                snprintf(r->path, sizeof r->path, "%s", p);
        return 0;
}

/* Runs the daemon's loop (the server end) and the client until neither
 * has anything left to do. */
static void pump(sd_bus *client, int rounds)
{
        for (int i = 0; i < rounds; i++) {
                ev_run(mgr.loop, EVRUN_NOWAIT);
                int r;
                while ((r = sd_bus_process(client, NULL)) > 0)
                        ;
                if (r < 0)
                        abort();
        }
}

static char *take_string(FuzzInput *in, char *buf, size_t n)
{
        size_t got, len = fuzz_u8(in);
        const uint8_t *p = fuzz_bytes(in, len < n ? len : n - 1, &got);
        memcpy(buf, p, got);
        buf[got] = 0;
        return buf;
}

static const char *pick_path(FuzzInput *in, DbusSink *s, char *buf, size_t n)
{
        uint8_t sel = fuzz_u8(in);
        if (sel == 0)
                return MANAGER_PATH;
        if (sel <= s->n_objects)
                return s->objects[sel - 1].path;
        if (sel == 0xff)
                return take_string(in, buf, n);
        return sel & 1 ? DEVICE_PREFIX : "/";
}

static bool known_id(const DbusSink *s, const char *id)
{
        for (size_t i = 0; i < s->n_objects; i++)
                if (!strcmp(s->objects[i].device->id, id))
                        return true;
        return false;
}

static const char *const ifaces[] = {
        MANAGER_IFACE, DEVICE_IFACE, "org.freedesktop.DBus.Properties",
        "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.ObjectManager",
        "org.freedesktop.DBus.Peer",
};

static void call(FuzzInput *in, sd_bus *client, DbusSink *s)
{
        char a[256], b[256], c[256], pathbuf[256];
        sd_bus_message *m = NULL;
        Reply reply = { 0 };
        uint8_t kind = fuzz_u8(in);
        const char *path = pick_path(in, s, pathbuf, sizeof pathbuf);
        const char *want = NULL;
        int r;

        switch (kind % 9) {
        case 0: {
                /* GetDevice: an id, or the id of a device that exists. */
                uint8_t k = fuzz_u8(in);
                const char *id = k < s->n_objects ? s->objects[k].device->id : take_string(in, a, sizeof a);
                r = sd_bus_message_new_method_call(client, &m, NULL, MANAGER_PATH, MANAGER_IFACE, "GetDevice");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", id);
                for (size_t i = 0; r >= 0 && i < s->n_objects; i++)
                        if (!strcmp(s->objects[i].device->id, id))
                                want = s->objects[i].path;
                break;
        }
        case 1:
                r = sd_bus_message_new_method_call(client, &m, NULL, path, MANAGER_IFACE, "ListDevices");
                break;
        case 2:
                reload_fails = fuzz_u8(in) & 1;
                r = sd_bus_message_new_method_call(client, &m, NULL, path, MANAGER_IFACE, "Reload");
                break;
        case 3:
                r = sd_bus_message_new_method_call(client, &m, NULL, path, "org.freedesktop.DBus.Properties", "Get");
                if (r >= 0) {
                        uint8_t i = fuzz_u8(in);
                        const char *iface = i < 6 ? ifaces[i] : take_string(in, a, sizeof a);
                        r = sd_bus_message_append(m, "ss", iface, take_string(in, b, sizeof b));
                }
                break;
        case 4:
                r = sd_bus_message_new_method_call(client, &m, NULL, path, "org.freedesktop.DBus.Properties",
                                                   "GetAll");
                if (r >= 0) {
                        uint8_t i = fuzz_u8(in);
                        r = sd_bus_message_append(m, "s", i < 6 ? ifaces[i] : take_string(in, a, sizeof a));
                }
                break;
        case 5:
                r = sd_bus_message_new_method_call(client, &m, NULL, path, "org.freedesktop.DBus.Properties", "Set");
                if (r >= 0)
                        r = sd_bus_message_append(m, "ssv", ifaces[fuzz_u8(in) % 2], take_string(in, a, sizeof a),
                                                  "s", take_string(in, b, sizeof b));
                break;
        case 6:
                r = sd_bus_message_new_method_call(client, &m, NULL, path, "org.freedesktop.DBus.Introspectable",
                                                   "Introspect");
                break;
        case 7:
                r = sd_bus_message_new_method_call(client, &m, NULL, path, "org.freedesktop.DBus.ObjectManager",
                                                   "GetManagedObjects");
                break;
        default: {
                /* Anything: interface, member and arguments of any shape. */
                uint8_t i = fuzz_u8(in), sig = fuzz_u8(in);
                const char *iface = i < 6 ? ifaces[i] : take_string(in, a, sizeof a);
                r = sd_bus_message_new_method_call(client, &m, NULL, path, iface, take_string(in, b, sizeof b));
                if (r < 0)
                        break;
                switch (sig % 6) {
                case 0:
                        break;
                case 1:
                        r = sd_bus_message_append(m, "s", take_string(in, c, sizeof c));
                        break;
                case 2:
                        r = sd_bus_message_append(m, "ss", take_string(in, c, sizeof c), "x");
                        break;
                case 3:
                        r = sd_bus_message_append(m, "u", fuzz_u32(in));
                        break;
                case 4:
                        r = sd_bus_message_append(m, "as", 2, take_string(in, c, sizeof c), "");
                        break;
                default:
                        r = sd_bus_message_append(m, "o", path);
                        break;
                }
        }
        }
        /* What sd-bus will not even build (a bad path, member or string)
         * no bus would deliver either. */
        if (r >= 0)
                r = sd_bus_call_async(client, NULL, m, on_reply, &reply, 0);
        sd_bus_message_unref(m);
        if (r < 0)
                return;
        for (int i = 0; i < 100 && !reply.done; i++)
                pump(client, 1);
        if (!reply.done)
                abort();
        if (want && (reply.error || strcmp(reply.path, want)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        FuzzInput in = { data, size };
        Device extra[MAX_EXTRA];
        int sv[2];

        if (!mgr.loop)
                setup();

        /* The sink as dbus_sink_new() makes it, with its devices. */
        DbusSink *s = calloc(1, sizeof *s);
        if (!s)
                abort();
        s->base.kind = &sink_dbus;
        s->base.manager = &mgr;
        s->kind = BUS_ADDRESS;
        backoff_init(&s->backoff, 1, 60, 1);
        ev_init(&s->retry, retry_cb);
        s->retry.data = s;
        for (size_t i = 0; i < mgr.n_devices; i++)
                add_device(s, mgr.devices[i]);
        size_t n_extra = fuzz_u8(&in) % (MAX_EXTRA + 1);
        for (size_t i = 0; i < n_extra; i++) {
                char id[256];
                extra[i] = *mgr.devices[i % mgr.n_devices];
                take_string(&in, id, sizeof id);
                if (!conf_id_valid(id) || known_id(s, id))
                        continue;
                snprintf(extra[i].id, sizeof extra[i].id, "%s", id);
                add_device(s, &extra[i]);
        }
        for (size_t i = 0; i < s->n_objects; i++) {
                char *id = NULL;
                if (sd_bus_path_decode(s->objects[i].path, DEVICE_PREFIX, &id) <= 0 ||
                    strcmp(id, s->objects[i].device->id))
                        abort();
                free(id);
        }

        /* What dbus_connect() registers, on a private connection. */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                abort();
        s->bus = open_end(sv[0], true);
        sd_bus *client = open_end(sv[1], false);
        if (sd_bus_add_object_vtable(s->bus, &s->manager_slot, MANAGER_PATH, MANAGER_IFACE, manager_vtable, s) < 0 ||
            sd_bus_add_object_manager(s->bus, &s->om_slot, MANAGER_PATH) < 0)
                abort();
        for (size_t i = 0; i < s->n_objects; i++)
                if (register_object(s, &s->objects[i]) < 0)
                        abort();
        if (ev_sdbus_attach(s->bus, mgr.loop, on_bus_error, s, &s->ev) < 0)
                abort();
        for (int i = 0; i < 50 && sd_bus_is_ready(client) <= 0; i++)
                pump(client, 1);
        if (sd_bus_is_ready(client) <= 0)
                abort();

        for (int k = 0; k < MAX_CALLS && in.n; k++)
                call(&in, client, s);

        sd_bus_flush_close_unref(client);
        dbus_sink_free(&s->base);
        /* A freed sink must leave no watcher behind in the loop (ev_run
         * says whether any is still active). */
        if (ev_run(mgr.loop, EVRUN_NOWAIT))
                abort();
        return 0;
}
