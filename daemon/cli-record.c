/* SPDX-License-Identifier: MIT */
/* gaitway record OUTPUT: a live device's stream to the gaitway trace format.
 * The device is a gaitwayd [device] section (from a configuration and/or
 * -o KEY=VALUE); its source runs as in gaitwayd, with the section's record
 * keys set to OUTPUT, so the file holds exactly what the daemon's pipeline
 * would have received and `gaitway replay` of it gives the same events. */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "cli.h"
#include "conf.h"
#include "gaitway/common.h"
#include "log.h"
#include "source.h"

typedef struct {
        const char *output;
        const char *config;
        const char *config_dir;
        const char *device;
        char *sets;
        size_t sets_len;
        double duration;
        unsigned long long samples;
        const char *max_size, *max_time;
        bool quiet;
} RecordOptions;

typedef struct {
        const RecordOptions *opt;
        struct ev_loop *loop;
        unsigned long long samples;
        bool connected, ever_connected;
} Recording;

static void help(void)
{
        printf("Usage: gaitway record OUTPUT [OPTIONS]\n\n"
               "Records a live device (an IIO sensor, a BLE wearable) in the gaitway trace\n"
               "format: the samples its source delivers, in physical units, before any\n"
               "filtering.  `gaitway replay` of the recording gives gaitwayd's events.\n"
               "OUTPUT is a file, or a directory for files named DEVICE-TIME.csv.\n\n"
               "Options:\n"
               "  -c, --config FILE       a gaitwayd configuration holding the device\n"
               "  -d, --config-dir DIR    its drop-in directory (default FILE.d)\n"
               "  -D, --device ID         the [device ID] section (default: the only one)\n"
               "  -o, --set KEY=VALUE     a device key, e.g. -o source=ble -o address=C0:FF:EE:00:00:01\n"
               "  -t, --duration SECONDS  stop after this long (default: at SIGINT or SIGTERM)\n"
               "  -n, --samples N         stop after N samples\n"
               "      --max-size SIZE     start a new file at this size (64M, 500k)\n"
               "      --max-time SECONDS  start a new file at this age\n"
               "  -q, --quiet             no progress messages\n"
               "  -h, --help              show this help\n");
}

static int add_set(RecordOptions *o, const char *key, const char *value)
{
        size_t add = strlen(key) + strlen(value) + 5;
        char *n;

        if (strchr(key, '\n') || strchr(value, '\n'))
                return -EINVAL;
        n = realloc(o->sets, o->sets_len + add + 1);
        if (!n)
                return -ENOMEM;
        o->sets = n;
        o->sets_len += (size_t) sprintf(n + o->sets_len, "%s = %s\n", key, value);
        return 0;
}

static int add_set_kv(RecordOptions *o, const char *kv)
{
        char key[128];
        const char *eq = strchr(kv, '=');

        if (!eq || eq == kv || (size_t) (eq - kv) >= sizeof key)
                return -EINVAL;
        snprintf(key, sizeof key, "%.*s", (int) (eq - kv), kv);
        return add_set(o, key, eq + 1);
}

static int load_config(const RecordOptions *o, Config **ret, char *err, size_t errlen)
{
        char cwd[PATH_MAX], *text = NULL, *dropins = NULL;
        ConfigLoader *l = config_loader_new();
        int r = 0;

        if (!l)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        if (!getcwd(cwd, sizeof cwd))
                strcpy(cwd, ".");
        if (o->config) {
                r = config_loader_add_file(l, o->config, true, err, errlen);
                if (r == 0) {
                        const char *dir = o->config_dir;
                        if (!dir && asprintf(&dropins, "%s.d", o->config) >= 0)
                                dir = dropins;
                        if (dir)
                                r = config_loader_add_dir(l, dir, err, errlen);
                }
        }
        if (r == 0 && (o->sets || o->device)) {
                if (asprintf(&text, "[device %s]\n%s", o->device ? o->device : "record",
                             o->sets ? o->sets : "") < 0)
                        r = gw_error(err, errlen, ENOMEM, "out of memory");
                else
                        r = config_loader_add_string(l, "command line", text, cwd, err, errlen);
        }
        if (r == 0)
                r = config_loader_finish(l, ret, err, errlen);
        config_loader_free(l);
        free(text);
        free(dropins);
        return r;
}

static void on_samples(void *userdata, size_t n, const int64_t *t_ns, const float *values)
{
        Recording *rec = userdata;

        rec->samples += n;
        if (rec->opt->samples && rec->samples >= rec->opt->samples)
                ev_break(rec->loop, EVBREAK_ALL);
}

static void on_connected(void *userdata, bool connected, const char *reason)
{
        Recording *rec = userdata;

        rec->connected = connected;
        if (connected)
                rec->ever_connected = true;
        if (!rec->opt->quiet)
                fprintf(stderr, "gaitway record: %s%s%s\n", connected ? "streaming" : "link lost",
                        reason ? ": " : "", reason ? reason : "");
}

static void on_ended(void *userdata, int error, const char *err)
{
        Recording *rec = userdata;

        if (error)
                fprintf(stderr, "gaitway record: the source ended: %s\n", err ? err : strerror(-error));
        ev_break(rec->loop, EVBREAK_ALL);
}

static const SourceCallbacks callbacks = {
        .samples = on_samples,
        .connected = on_connected,
        .ended = on_ended,
};

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
        ev_break(loop, EVBREAK_ALL);
}

static void duration_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        ev_break(loop, EVBREAK_ALL);
}

int cli_record(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "config-dir", required_argument, NULL, 'd' },
                { "device", required_argument, NULL, 'D' },
                { "set", required_argument, NULL, 'o' },
                { "duration", required_argument, NULL, 't' },
                { "samples", required_argument, NULL, 'n' },
                { "max-size", required_argument, NULL, 'S' },
                { "max-time", required_argument, NULL, 'T' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        RecordOptions o = { 0 };
        Recording rec = { .opt = &o };
        Config *config = NULL;
        const DeviceConf *dc = NULL;
        Source *src = NULL;
        char err[GW_ERR_MAX];
        ev_signal sigint, sigterm;
        ev_timer timer;
        char *end;
        int c, status = 1;

        while ((c = getopt_long(argc, argv, "c:d:D:o:t:n:qh", longopts, NULL)) >= 0) {
                switch (c) {
                case 'c': o.config = optarg; break;
                case 'd': o.config_dir = optarg; break;
                case 'D': o.device = optarg; break;
                case 'o':
                        if (add_set_kv(&o, optarg) < 0) {
                                cli_usage_error("record", "expected KEY=VALUE, got '%s'", optarg);
                                goto out;
                        }
                        break;
                case 't':
                        o.duration = strtod(optarg, &end);
                        if (*end || !(o.duration > 0)) {
                                cli_usage_error("record", "--duration: expected seconds > 0, got '%s'", optarg);
                                goto out;
                        }
                        break;
                case 'n':
                        o.samples = strtoull(optarg, &end, 10);
                        if (*end || o.samples == 0) {
                                cli_usage_error("record", "--samples: expected a count > 0, got '%s'", optarg);
                                goto out;
                        }
                        break;
                case 'S': o.max_size = optarg; break;
                case 'T': o.max_time = optarg; break;
                case 'q': o.quiet = true; break;
                case 'h':
                        help();
                        status = 0;
                        goto out;
                default:
                        cli_usage_error("record", "unknown option");
                        status = 2;
                        goto out;
                }
        }
        if (optind + 1 != argc) {
                cli_usage_error("record", "expected one OUTPUT (a file or a directory)");
                status = 2;
                goto out;
        }
        o.output = argv[optind];
        if (!o.config && !o.sets) {
                cli_usage_error("record", "give a configuration (-c) or the device's keys (-o)");
                status = 2;
                goto out;
        }
        /* The recording keys go last: they override the configuration's. */
        if (add_set(&o, "record", o.output) < 0 ||
            (o.max_size && add_set(&o, "record_max_size", o.max_size) < 0) ||
            (o.max_time && add_set(&o, "record_max_time", o.max_time) < 0)) {
                fprintf(stderr, "gaitway record: out of memory\n");
                goto out;
        }
        if (!o.device && !o.config)
                o.device = "record";

        if (load_config(&o, &config, err, sizeof err) < 0) {
                fprintf(stderr, "gaitway record: %s\n", err);
                goto out;
        }
        if (o.device)
                dc = config_device(config, o.device);
        else if (config->n_devices == 1)
                dc = &config->devices[0];
        if (!dc) {
                fprintf(stderr, "gaitway record: %s\n",
                        o.device ? "no such device in the configuration" :
                                   "the configuration has several devices: choose one with --device");
                goto out;
        }

        rec.loop = ev_default_loop(EVFLAG_AUTO);
        SourceParams p = { .loop = rec.loop, .device_id = dc->id, .conf = dc->source_conf,
                           .rate_hz = dc->sample_rate, .cb = &callbacks, .userdata = &rec };
        if (dc->source->open(&p, &src, err, sizeof err) < 0) {
                fprintf(stderr, "gaitway record: device %s: %s\n", dc->id, err);
                goto out;
        }
        if (!o.quiet)
                fprintf(stderr, "gaitway record: %s (%s) to %s\n", dc->id, dc->source->address(src), o.output);
        ev_signal_init(&sigint, stop_cb, SIGINT);
        ev_signal_init(&sigterm, stop_cb, SIGTERM);
        ev_signal_start(rec.loop, &sigint);
        ev_signal_start(rec.loop, &sigterm);
        if (o.duration > 0) {
                ev_timer_init(&timer, duration_cb, o.duration, 0);
                ev_timer_start(rec.loop, &timer);
        }
        if (dc->source->start(src) < 0) {
                fprintf(stderr, "gaitway record: device %s: cannot start\n", dc->id);
                goto out;
        }
        ev_run(rec.loop, 0);
        dc->source->stop(src);
        if (!o.quiet)
                fprintf(stderr, "gaitway record: %llu samples\n", rec.samples);
        status = rec.samples > 0 ? 0 : 1;
        if (!rec.samples)
                fprintf(stderr, "gaitway record: nothing recorded%s\n",
                        rec.ever_connected ? "" : ": the device never streamed");
out:
        if (src)
                dc->source->close(src);
        config_free(config);
        free(o.sets);
        return status;
}
