/* SPDX-License-Identifier: MIT */
/* libFuzzer target: what the broker sends the daemon.  The daemon's MQTT
 * sink (daemon/sink-mqtt.c, included here so its static handlers are the
 * ones under test) runs on its real client (daemon/ev-mosquitto.c, on
 * libmosquitto and a libev loop) against a broker played by this target on
 * a loopback socket.  Each input is one connection: the client connects,
 * gets a CONNACK, publishes its birth message, subscribes to Home
 * Assistant's status topic and sends discovery; then the input's bytes
 * arrive as if from the broker (PUBLISH to homeassistant/status with
 * "online", other topics, SUBACKs, PUBACKs, garbage, a cut-off packet) and
 * the loop runs until the client has read them all or dropped the link.
 * Then the sink is freed, and nothing may be left behind: no watcher in the
 * loop, no leak, no sanitizer report.
 *
 * Two real devices (tests/data/daemon models, a replay source that is
 * opened but never started) give discovery something to publish.
 *
 * Input: one mode byte (bit 0: no CONNACK first, so the input is the
 * broker's answer to CONNECT), then the broker's bytes. */

#include "../../daemon/sink-mqtt.c"

#include <ev.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The manager proper is not linked (it would bring every sink and source
 * along); these are the parts of it the sink and the devices use. */
void manager_set_mqtt_connected(Manager *m, bool connected)
{
        m->mqtt_connected = connected;
}

void manager_sink_drained(Manager *m)
{
}

void manager_sink_stopped(Manager *m, Sink *s)
{
}

uint64_t manager_uptime_usec(const Manager *m)
{
        return 1000000;
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

static Manager mgr;
static int listen_fd = -1;

static const char TRACE[] =
        "# gaitway-trace 1\n# rate_hz: 50\n"
        "time[s],acc_x[g],acc_y[g],acc_z[g],gyro_x[rad/s],gyro_y[rad/s],gyro_z[rad/s]\n"
        "0,0,0,1,0,0,0\n0.02,0,0,1,0,0,0\n";

static void setup(void)
{
        char conf[2048], err[GW_ERR_MAX * 2];
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t alen = sizeof a;
        ConfigLoader *l;
        DeviceModels models = { 0 };

        log_set_max_level(LOG_CRIT);
        mgr.loop = ev_loop_new(EVFLAG_AUTO);
        listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (!mgr.loop || listen_fd < 0 || bind(listen_fd, (struct sockaddr *) &a, sizeof a) < 0 ||
            listen(listen_fd, 8) < 0 || getsockname(listen_fd, (struct sockaddr *) &a, &alen) < 0)
                abort();

        int tfd = memfd_create("fuzz-trace", 0);
        if (tfd < 0 || write(tfd, TRACE, sizeof TRACE - 1) != (ssize_t) sizeof TRACE - 1)
                abort();
        snprintf(conf, sizeof conf,
                 "[gateway]\nid = fuzz\nactivity_model = %s/tests/data/daemon/activity.gwm\n"
                 "fog_model = %s/tests/data/daemon/fog.gwm\n"
                 "[mqtt]\nenabled = yes\nhost = 127.0.0.1\nport = %d\nqos = 1\nhomeassistant = yes\n"
                 "queue_limit = 64\nkeepalive = 3600\nreconnect_min = 3600\nreconnect_max = 3600\n"
                 "probabilities = yes\n"
                 "[device wrist]\nsource = replay\npath = /proc/self/fd/%d\n"
                 "[device ankle.left]\nsource = replay\npath = /proc/self/fd/%d\nmodels = fog\n",
                 GW_SOURCE_ROOT, GW_SOURCE_ROOT, ntohs(a.sin_port), tfd, tfd);
        if (!(l = config_loader_new()) ||
            config_loader_add_string(l, "fuzz.conf", conf, NULL, err, sizeof err) < 0 ||
            config_loader_finish(l, &mgr.config, err, sizeof err) < 0) {
                fprintf(stderr, "mqtt-inbound: %s\n", err);
                abort();
        }
        config_loader_free(l);

        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                const char *path = mgr.config->gateway.model[t];
                gw_model *m;
                gw_engine *e;
                if (gw_model_load_file(path, &m, err, sizeof err) < 0 || gw_engine_new(m, &e) < 0) {
                        fprintf(stderr, "mqtt-inbound: %s\n", err);
                        abort();
                }
                models.model[t] = m;
                models.engine[t] = e;
        }
        mgr.devices = calloc(mgr.config->n_devices, sizeof *mgr.devices);
        for (size_t i = 0; mgr.devices && i < mgr.config->n_devices; i++) {
                if (device_new(&mgr, &mgr.config->devices[i], &models, &mgr.devices[i], err, sizeof err) < 0) {
                        fprintf(stderr, "mqtt-inbound: %s\n", err);
                        abort();
                }
                mgr.n_devices++;
        }
        if (mgr.n_devices != 2)
                abort();
        /* The models, engines and devices live as long as the process. */
}

static bool readable(int fd, int ms)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        return poll(&p, 1, ms) == 1;
}

/* Runs the loop without blocking for as long as something happens. */
static void pump(int broker, int rounds)
{
        char buf[65536];
        for (int i = 0; i < rounds; i++) {
                ev_run(mgr.loop, EVRUN_NOWAIT);
                /* Reads what the client sent, so it never blocks on a full
                 * socket; its content is not the subject here. */
                while (broker >= 0 && readable(broker, 0) && read(broker, buf, sizeof buf) > 0)
                        ;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const uint8_t connack[] = { 0x20, 0x02, 0x00, 0x00 };
        Sink *sink = NULL;
        int broker;

        if (listen_fd < 0)
                setup();
        uint8_t mode = size ? data[0] : 0;
        if (size) {
                data++;
                size--;
        }

        if (mqtt_sink_new(&mgr, mgr.config, &sink) < 0 || !sink)
                abort();
        /* connect_async has sent the SYN; the CONNECT follows once the
         * client's loop sees the socket writable. */
        if (!readable(listen_fd, 2000) || (broker = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
                abort();
        /* EVRUN_ONCE waits for the client's next event; its connect
         * timeout bounds the wait. */
        for (int i = 0; i < 100 && !readable(broker, 0); i++)
                ev_run(mgr.loop, EVRUN_ONCE);
        pump(broker, 2);

        if (!(mode & 1)) {
                if (write(broker, connack, sizeof connack) != sizeof connack)
                        abort();
                for (int i = 0; i < 100 && !mgr.mqtt_connected; i++) {
                        ev_run(mgr.loop, EVRUN_ONCE);
                        pump(broker, 1);
                }
                if (!mgr.mqtt_connected)
                        abort();
        }

        /* The broker's bytes, then the end of its side of the stream only
         * when the mode says so: a broker that stops mid-packet and one
         * that keeps the link open are both ordinary. */
        bool was_connected = mgr.mqtt_connected;
        size_t off = 0;
        while (off < size) {
                ssize_t n = write(broker, data + off, size - off);
                if (n <= 0)
                        break;
                off += (size_t) n;
                pump(broker, 2);
        }
        if (mode & 2)
                shutdown(broker, SHUT_WR);
        /* The client reads at least a packet per round; once it has dropped
         * the link nothing more is read. */
        int rounds = 8 + (int) (size / 4 < 256 ? size / 4 : 256);
        for (int i = 0; i < rounds && (mgr.mqtt_connected || !was_connected); i++)
                pump(broker, 1);

        /* A reset, not a close: no TIME_WAIT left per input. */
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(broker, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(broker);
        pump(-1, 2);
        sink->kind->free(sink);
        mgr.mqtt_connected = false;
        /* A freed client must leave no watcher behind in the loop
         * (ev_run says whether any is still active). */
        if (ev_run(mgr.loop, EVRUN_NOWAIT))
                abort();
        return 0;
}
