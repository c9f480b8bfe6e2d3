/* SPDX-License-Identifier: MIT */
/* gaitwayd: options, signals, the event loop. */

#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "device.h"
#include "gaitway/common.h"
#include "log.h"
#include "manager.h"
#include "notify.h"

typedef struct {
        const char *config_file;
        bool config_given;
        const char *config_dir;
        bool dir_given;
        bool check;
        bool exit_when_done;
} Options;

static void help(void)
{
        printf("Usage: gaitwayd [OPTIONS]\n\n"
               "Reads IMU streams, classifies activity and freeze of gait, and publishes\n"
               "the events over MQTT and D-Bus.\n\n"
               "Options:\n"
               "  -c, --config FILE       main configuration file (default " CONF_FILE_DEFAULT ")\n"
               "  -d, --config-dir DIR    drop-in directory (default " CONF_DIR_DEFAULT ",\n"
               "                          or FILE.d next to --config)\n"
               "      --check-config      validate the configuration and models, then exit\n"
               "      --exit-when-done    exit once every source has ended (replays)\n"
               "  -v, --verbose           log debug messages\n"
               "  -h, --help              show this help\n"
               "  -V, --version           show the version\n");
}

static int parse_options(int argc, char **argv, Options *o)
{
        enum { OPT_CHECK = 256, OPT_EXIT };
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "config-dir", required_argument, NULL, 'd' },
                { "check-config", no_argument, NULL, OPT_CHECK },
                { "exit-when-done", no_argument, NULL, OPT_EXIT },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        int c;

        *o = (Options) { .config_file = CONF_FILE_DEFAULT, .config_dir = CONF_DIR_DEFAULT };
        while ((c = getopt_long(argc, argv, "c:d:vhV", longopts, NULL)) >= 0)
                switch (c) {
                case 'c':
                        o->config_file = optarg;
                        o->config_given = true;
                        break;
                case 'd':
                        o->config_dir = optarg;
                        o->dir_given = true;
                        break;
                case OPT_CHECK:
                        o->check = true;
                        break;
                case OPT_EXIT:
                        o->exit_when_done = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("gaitwayd %s\n", gw_version());
                        return 0;
                default:
                        fprintf(stderr, "Try 'gaitwayd --help'.\n");
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "gaitwayd: unexpected argument '%s'\nTry 'gaitwayd --help'.\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* Loads the configuration and the models and opens the replayed devices,
 * starting nothing; says what it could not check without the service's
 * environment (credentials, live devices). */
static int check_config(const Options *o)
{
        ManagerOptions mo = {
                .config_file = o->config_file,
                .config_required = o->config_given,
                .config_dir = o->config_dir,
        };
        char err[GW_ERR_MAX * 2];
        Manager *m = NULL;
        int r = manager_new(NULL, &mo, &m);
        if (r < 0)
                return 1;
        r = manager_check(m, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "%s\n", err);
                manager_free(m);
                return 1;
        }
        const Config *c = m->config;
        size_t live = 0;
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if (c->gateway.model_not_installed[t])
                        printf("gaitwayd: %s model %s is not installed: %s detection is off\n",
                               model_task_name((ModelTask) t), c->gateway.model_not_installed[t],
                               t == MODEL_FOG ? "freeze-of-gait" : "activity");
        for (size_t i = 0; i < c->n_unchecked; i++)
                printf("gaitwayd: not checked: %s\n", c->unchecked[i]);
        for (size_t i = 0; i < c->n_ignored; i++)
                printf("gaitwayd: %s\n", c->ignored[i]);
        for (size_t i = 0; i < m->n_devices; i++)
                if (!m->devices[i]) {
                        printf("gaitwayd: device %s: keys checked; the %s source is not opened "
                               "(live devices are opened when gaitwayd runs)\n", c->devices[i].id,
                               c->devices[i].source->name);
                        live++;
                }
        printf("gaitwayd: configuration OK: gateway %s, %zu device(s)", c->gateway.id, c->n_devices);
        if (live)
                printf(" (%zu live, not opened)", live);
        printf("\n");
        manager_free(m);
        return 0;
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
        Manager *m = w->data;
        char err[GW_ERR_MAX * 2];

        if (w->signum == SIGHUP) {
                log_info("SIGHUP: reloading the configuration");
                if (manager_reload(m, err, sizeof err) < 0)
                        log_error("reload failed, keeping the running configuration: %s", err);
                return;
        }
        manager_shutdown(m, 0);
}

int main(int argc, char **argv)
{
        Options o;
        char *dropins = NULL;
        int r;

        log_set_ident(NULL);
        r = parse_options(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        /* Tests and packaging point --config at a file; its drop-ins live
         * beside it unless told otherwise. */
        if (o.config_given && !o.dir_given) {
                if (asprintf(&dropins, "%s.d", o.config_file) < 0)
                        return 1;
                o.config_dir = dropins;
        }
        if (o.check) {
                r = check_config(&o);
                free(dropins);
                return r;
        }

        signal(SIGPIPE, SIG_IGN);
        struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
        if (!loop) {
                log_error("cannot create the event loop");
                return 1;
        }
        ManagerOptions mo = {
                .config_file = o.config_file,
                .config_required = o.config_given,
                .config_dir = o.config_dir,
                .exit_when_done = o.exit_when_done,
        };
        Manager *m = NULL;
        r = manager_new(loop, &mo, &m);
        if (r < 0) {
                log_error_errno(r, "cannot start");
                return 1;
        }

        ev_signal sigterm, sigint, sighup;
        ev_signal_init(&sigterm, on_signal, SIGTERM);
        ev_signal_init(&sigint, on_signal, SIGINT);
        ev_signal_init(&sighup, on_signal, SIGHUP);
        sigterm.data = sigint.data = sighup.data = m;
        ev_signal_start(loop, &sigterm);
        ev_signal_start(loop, &sigint);
        ev_signal_start(loop, &sighup);

        Watchdog wd;
        r = manager_start(m);
        if (r < 0) {
                notify_status("Failed to start: see the log");
                manager_free(m);
                free(dropins);
                return 1;
        }
        watchdog_start(&wd, loop);
        ev_run(loop, 0);
        watchdog_stop(&wd);
        int code = m->exit_code;
        manager_free(m);
        ev_signal_stop(loop, &sigterm);
        ev_signal_stop(loop, &sigint);
        ev_signal_stop(loop, &sighup);
        free(dropins);
        log_info("stopped");
        return code;
}
