/* SPDX-License-Identifier: MIT */
/* gaitway replay TRACE: the daemon's pipeline offline.  The device settings
 * come from the same configuration keys (a gaitwayd config and its [device]
 * section, or -o KEY=VALUE), the samples from the same replay source, the
 * events from the same pipeline code, so a trace gives here exactly the
 * events gaitwayd publishes for it. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "gaitway/common.h"
#include "log.h"
#include "mqtt-schema.h"
#include "pipeline.h"
#include "source.h"
#include "stream-clock.h"

typedef struct {
        const char *trace;
        const char *config;
        const char *config_dir;
        const char *device;
        const char *model[_MODEL_TASK_MAX];
        char *sets;                     /* "key = value\n" lines for the device */
        size_t sets_len;
        bool json;
        bool windows;
        bool progress;
} ReplayOptions;

typedef struct {
        const ReplayOptions *opt;
        const Config *config;
        const DeviceConf *dc;
        Pipeline *pipeline[_MODEL_TASK_MAX];
        StreamClock clock;
        int64_t last_t;
        uint64_t samples, total_rows;
        int last_percent;

        /* summary */
        const gw_model_info *act_info;
        int cur;                        /* current activity class, -1 none */
        int64_t cur_since;
        int64_t *act_ns;                /* time per activity class */
        uint64_t changes;
        uint32_t episodes, short_episodes;
        int64_t freeze_ns;
} Replay;

static void help(void)
{
        printf("Usage: gaitway replay TRACE [OPTIONS]\n\n"
               "Runs a recorded trace through gaitwayd's pipeline (front end, models,\n"
               "smoothing, freeze-of-gait episodes) and prints the events.\n\n"
               "Options:\n"
               "  -c, --config FILE         use a gaitwayd configuration (models, device keys)\n"
               "  -d, --config-dir DIR      its drop-in directory (default FILE.d)\n"
               "  -D, --device ID           the [device ID] section to take settings from\n"
               "      --activity-model FILE activity model (default: the configuration's)\n"
               "      --fog-model FILE      freeze-of-gait model (default: the configuration's)\n"
               "  -o, --set KEY=VALUE       a [device] key, e.g. -o format=csv -o sample_rate=50\n"
               "      --json                JSON lines: every window and event, then a summary\n"
               "      --events              JSON lines of the events only, then a summary\n"
               "      --no-progress         no progress bar on a terminal\n"
               "  -h, --help                show this help\n\n"
               "Without --json the events are printed as text, followed by a summary of\n"
               "the time spent in each activity and the freeze episodes.\n");
}

static int add_set(ReplayOptions *o, const char *kv)
{
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv || strchr(kv, '\n'))
                return -EINVAL;
        size_t add = strlen(kv) + 4;
        char *n = realloc(o->sets, o->sets_len + add + 1);
        if (!n)
                return -ENOMEM;
        o->sets = n;
        o->sets_len += (size_t) sprintf(n + o->sets_len, "%.*s = %s\n", (int) (eq - kv), kv, eq + 1);
        return 0;
}

/* ---- output -------------------------------------------------------------- */

static void clear_progress(Replay *r)
{
        if (r->opt->progress && r->last_percent >= 0) {
                fprintf(stderr, "\r%60s\r", "");
                r->last_percent = -1;
        }
}

static void progress(Replay *r)
{
        if (!r->opt->progress || !r->total_rows)
                return;
        int p = (int) (r->samples * 100 / r->total_rows);
        if (p == r->last_percent || p > 100)
                return;
        r->last_percent = p;
        char bar[41];
        int fill = p * 40 / 100;
        memset(bar, '#', (size_t) fill);
        memset(bar + fill, '.', (size_t) (40 - fill));
        bar[40] = 0;
        fprintf(stderr, "\r[%s] %3d%% %" PRIu64 " samples", bar, p, r->samples);
        fflush(stderr);
}

static void common_of(Replay *r, const gw_model_info *mi, int64_t t_ns, PayloadCommon *c)
{
        *c = (PayloadCommon) {
                .gateway = r->config->gateway.id,
                .device = r->dc->id,
                .model_id = mi->model_id,
                .model_version = mi->model_version,
                .wall_ns = stream_clock_wall(&r->clock, t_ns),
                .stream_s = stream_clock_seconds(&r->clock, t_ns),
        };
}

/* JSON lines carry the MQTT payload itself with a "type" in front. */
static void print_json(const char *type, char *payload)
{
        if (!payload)
                return;
        printf("{\"type\":\"%s\",%s\n", type, payload + 1);
        free(payload);
}

static void on_window(void *userdata, Pipeline *p, const gw_window_meta *meta, const float *prob, int top)
{
        Replay *r = userdata;
        if (!r->opt->windows)
                return;
        const gw_model_info *mi = pipeline_model_info(p);
        WindowPayload wp = {
                .index = meta->index,
                .classes = mi->classes,
                .class_name = mi->class_name,
                .prob = prob,
                .top = top,
        };
        common_of(r, mi, meta->t_last_ns, &wp.c);
        clear_progress(r);
        print_json("window", mqtt_payload_window(&wp));
}

static void on_activity(void *userdata, Pipeline *p, const gw_activity_event *ev)
{
        Replay *r = userdata;
        const gw_model_info *mi = pipeline_model_info(p);
        char iso[40];

        if (r->cur >= 0)
                r->act_ns[r->cur] += ev->t_ns - r->cur_since;
        r->cur = ev->to;
        r->cur_since = ev->t_ns;
        r->changes++;

        clear_progress(r);
        if (r->opt->json) {
                ActivityPayload ap = {
                        .activity = pipeline_class_name(p, ev->to),
                        .previous = ev->from >= 0 ? pipeline_class_name(p, ev->from) : NULL,
                        .confidence = ev->confidence,
                        .previous_duration_ns = ev->prev_duration_ns,
                };
                common_of(r, mi, ev->t_ns, &ap.c);
                print_json("activity", mqtt_payload_activity(&ap));
                return;
        }
        printf("%9.2f s  %s  activity %s (confidence %.2f", stream_clock_seconds(&r->clock, ev->t_ns),
               format_iso8601(stream_clock_wall(&r->clock, ev->t_ns), iso, sizeof iso),
               pipeline_class_name(p, ev->to), ev->confidence);
        if (ev->from >= 0)
                printf("; was %s for %.1f s", pipeline_class_name(p, ev->from), (double) ev->prev_duration_ns / 1e9);
        printf(")\n");
}

static void on_fog(void *userdata, Pipeline *p, const gw_fog_event *ev)
{
        Replay *r = userdata;
        const gw_model_info *mi = pipeline_model_info(p);
        char iso[40];

        if (ev->kind == GW_FOG_END) {
                r->episodes++;
                r->short_episodes += ev->is_short;
                r->freeze_ns += ev->duration_ns;
        }
        clear_progress(r);
        if (r->opt->json) {
                FogPayload fp = {
                        .start = ev->kind == GW_FOG_START,
                        .episode = ev->episode,
                        .confidence = ev->confidence,
                        .duration_ns = ev->duration_ns,
                        .is_short = ev->is_short,
                };
                common_of(r, mi, ev->t_ns, &fp.c);
                print_json("fog", mqtt_payload_fog(&fp));
                return;
        }
        if (ev->kind == GW_FOG_START)
                printf("%9.2f s  %s  freeze of gait: episode %u started (confidence %.2f)\n",
                       stream_clock_seconds(&r->clock, ev->t_ns),
                       format_iso8601(stream_clock_wall(&r->clock, ev->t_ns), iso, sizeof iso), ev->episode,
                       ev->confidence);
        else
                printf("%9.2f s  %s  freeze of gait: episode %u ended after %.1f s%s (confidence %.2f)\n",
                       stream_clock_seconds(&r->clock, ev->t_ns),
                       format_iso8601(stream_clock_wall(&r->clock, ev->t_ns), iso, sizeof iso), ev->episode,
                       (double) ev->duration_ns / 1e9, ev->is_short ? ", short" : "", ev->confidence);
}

static const PipelineCallbacks pipeline_callbacks = {
        .window = on_window,
        .activity = on_activity,
        .fog = on_fog,
};

static void on_samples(void *userdata, size_t n, const int64_t *t_ns, const float *values)
{
        Replay *r = userdata;
        if (!n)
                return;
        if (!r->clock.anchored)
                stream_clock_see(&r->clock, t_ns[0], wall_clock_ns());
        pipeline_push_all(r->pipeline, _MODEL_TASK_MAX, n, t_ns, values);
        r->samples += n;
        r->last_t = t_ns[n - 1];
        progress(r);
}

static const SourceCallbacks source_callbacks = {
        .samples = on_samples,
};

static void summary(Replay *r)
{
        double total = r->clock.anchored ? stream_clock_seconds(&r->clock, r->last_t) : 0;
        const gw_model_info *ai = r->act_info;

        if (r->cur >= 0)
                r->act_ns[r->cur] += r->last_t - r->cur_since;
        if (r->opt->json) {
                printf("{\"type\":\"summary\",\"samples\":%" PRIu64 ",\"duration_s\":%.3f", r->samples, total);
                if (ai) {
                        printf(",\"changes\":%" PRIu64 ",\"activity_s\":{", r->changes);
                        for (int k = 0; k < ai->classes; k++)
                                printf("%s\"%s\":%.3f", k ? "," : "", ai->class_name[k], (double) r->act_ns[k] / 1e9);
                        printf("}");
                }
                if (r->pipeline[MODEL_FOG])
                        printf(",\"episodes\":%u,\"short_episodes\":%u,\"freeze_s\":%.3f", r->episodes,
                               r->short_episodes, (double) r->freeze_ns / 1e9);
                printf("}\n");
                return;
        }
        printf("\n%" PRIu64 " samples, %.1f s of data\n", r->samples, total);
        if (ai) {
                printf("activity (%s), %" PRIu64 " change(s):\n", ai->model_id, r->changes);
                for (int k = 0; k < ai->classes; k++)
                        if (r->act_ns[k] > 0)
                                printf("  %-24s %9.1f s  %5.1f%%\n", ai->class_name[k], (double) r->act_ns[k] / 1e9,
                                       total > 0 ? 100.0 * (double) r->act_ns[k] / 1e9 / total : 0.0);
        }
        if (r->pipeline[MODEL_FOG])
                printf("freeze of gait: %u episode(s) (%u short), %.1f s in total\n", r->episodes,
                       r->short_episodes, (double) r->freeze_ns / 1e9);
}

/* ---- setup --------------------------------------------------------------- */

static uint64_t count_lines(const char *path)
{
        FILE *f = fopen(path, "re");
        char buf[65536];
        uint64_t n = 0;
        size_t got;
        if (!f)
                return 0;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0)
                for (size_t i = 0; i < got; i++)
                        n += buf[i] == '\n';
        fclose(f);
        return n;
}

static int load_config(const ReplayOptions *o, Config **ret, char *device_id, char *err, size_t errlen)
{
        char cwd[PATH_MAX], *text = NULL, *dropins = NULL;
        ConfigLoader *l = config_loader_new();
        int r = 0;

        if (!l)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        if (!getcwd(cwd, sizeof cwd))
                strcpy(cwd, ".");
        snprintf(device_id, CONF_ID_MAX, "%s", o->device ? o->device : "replay");
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
        if (r == 0) {
                FILE *f = open_memstream(&text, &(size_t) { 0 });
                if (!f)
                        r = gw_error(err, errlen, ENOMEM, "out of memory");
                else {
                        if (o->model[MODEL_ACTIVITY] || o->model[MODEL_FOG]) {
                                fprintf(f, "[gateway]\n");
                                if (o->model[MODEL_ACTIVITY])
                                        fprintf(f, "activity_model = %s\n", o->model[MODEL_ACTIVITY]);
                                if (o->model[MODEL_FOG])
                                        fprintf(f, "fog_model = %s\n", o->model[MODEL_FOG]);
                        }
                        fprintf(f, "[device %s]\nsource = replay\npath = %s\n%s", device_id, o->trace,
                                o->sets ? o->sets : "");
                        fclose(f);
                        r = config_loader_add_string(l, "command line", text, cwd, err, errlen);
                }
        }
        if (r == 0)
                r = config_loader_finish(l, ret, err, errlen);
        /* --device on a live device replaces its source: its kind's keys
         * stay behind, and the user may want to know they were not used. */
        for (size_t i = 0; r == 0 && i < (*ret)->n_ignored; i++)
                log_info("%s", (*ret)->ignored[i]);
        config_loader_free(l);
        free(text);
        free(dropins);
        return r;
}

int cli_replay(int argc, char **argv)
{
        enum { OPT_ACT = 256, OPT_FOG, OPT_JSON, OPT_EVENTS, OPT_NOPROG };
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "config-dir", required_argument, NULL, 'd' },
                { "device", required_argument, NULL, 'D' },
                { "activity-model", required_argument, NULL, OPT_ACT },
                { "fog-model", required_argument, NULL, OPT_FOG },
                { "set", required_argument, NULL, 'o' },
                { "json", no_argument, NULL, OPT_JSON },
                { "events", no_argument, NULL, OPT_EVENTS },
                { "no-progress", no_argument, NULL, OPT_NOPROG },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        ReplayOptions o = { .progress = true };
        char err[GW_ERR_MAX * 2], device_id[CONF_ID_MAX];
        gw_model *models[_MODEL_TASK_MAX] = { NULL };
        gw_engine *engines[_MODEL_TASK_MAX] = { NULL };
        Replay r = { .opt = &o, .cur = -1, .last_percent = -1 };
        Config *config = NULL;
        Source *src = NULL;
        int c, ret = 1;

        log_set_ident("gaitway replay");
        optind = 1;
        while ((c = getopt_long(argc, argv, "c:d:D:o:h", longopts, NULL)) >= 0)
                switch (c) {
                case 'c':
                        o.config = optarg;
                        break;
                case 'd':
                        o.config_dir = optarg;
                        break;
                case 'D':
                        o.device = optarg;
                        break;
                case OPT_ACT:
                        o.model[MODEL_ACTIVITY] = optarg;
                        break;
                case OPT_FOG:
                        o.model[MODEL_FOG] = optarg;
                        break;
                case 'o':
                        if (add_set(&o, optarg) < 0) {
                                cli_usage_error("replay", "-o expects KEY=VALUE, got '%s'", optarg);
                                free(o.sets);
                                return 2;
                        }
                        break;
                case OPT_JSON:
                        o.json = o.windows = true;
                        break;
                case OPT_EVENTS:
                        o.json = true;
                        o.windows = false;
                        break;
                case OPT_NOPROG:
                        o.progress = false;
                        break;
                case 'h':
                        help();
                        free(o.sets);
                        return 0;
                default:
                        cli_usage_error("replay", "unknown option");
                        free(o.sets);
                        return 2;
                }
        if (optind != argc - 1) {
                cli_usage_error("replay", "expected one TRACE");
                free(o.sets);
                return 2;
        }
        o.trace = argv[optind];
        if (!isatty(STDERR_FILENO))
                o.progress = false;

        if (load_config(&o, &config, device_id, err, sizeof err) < 0) {
                fprintf(stderr, "gaitway replay: %s\n", err);
                goto out;
        }
        r.config = config;
        r.dc = config_device(config, device_id);
        unsigned want = device_conf_models(r.dc, config);

        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                if (!(want & (1u << t)))
                        continue;
                if (gw_model_load_file(config->gateway.model[t], &models[t], err, sizeof err) < 0) {
                        fprintf(stderr, "gaitway replay: %s model: %s\n", model_task_name((ModelTask) t), err);
                        goto out;
                }
                const gw_model_info *mi = gw_model_info_get(models[t]);
                if (strcmp(mi->task, model_task_name((ModelTask) t))) {
                        fprintf(stderr, "gaitway replay: %s is a model for task '%s', not '%s'\n",
                                config->gateway.model[t], mi->task, model_task_name((ModelTask) t));
                        goto out;
                }
                if (gw_engine_new(models[t], &engines[t]) < 0) {
                        fprintf(stderr, "gaitway replay: %s: cannot create an engine\n", config->gateway.model[t]);
                        goto out;
                }
        }

        SourceParams sp = {
                .device_id = r.dc->id,
                .conf = r.dc->source_conf,
                .rate_hz = r.dc->sample_rate,
                .cb = &source_callbacks,
                .userdata = &r,
        };
        if (r.dc->source->open(&sp, &src, err, sizeof err) < 0) {
                fprintf(stderr, "gaitway replay: %s\n", err);
                goto out;
        }
        gw_source_desc desc;
        if (source_desc_apply(r.dc, r.dc->source->describe(src), &desc, err, sizeof err) < 0) {
                fprintf(stderr, "gaitway replay: [device %s] %s\n", r.dc->id, err);
                goto out;
        }
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                if (!models[t])
                        continue;
                PipelineParams pp = {
                        .model = models[t],
                        .engine = engines[t],
                        .task = (ModelTask) t,
                        .source = &desc,
                        .activity = &r.dc->activity,
                        .fog = &r.dc->fog,
                        .fog_class = r.dc->fog_class,
                        .cb = &pipeline_callbacks,
                        .userdata = &r,
                };
                if (pipeline_new(&pp, &r.pipeline[t], err, sizeof err) < 0) {
                        fprintf(stderr, "gaitway replay: %s model: %s\n", model_task_name((ModelTask) t), err);
                        goto out;
                }
        }
        if (models[MODEL_ACTIVITY]) {
                r.act_info = gw_model_info_get(models[MODEL_ACTIVITY]);
                r.act_ns = calloc((size_t) r.act_info->classes, sizeof *r.act_ns);
                if (!r.act_ns)
                        goto out;
        }
        if (o.progress)
                r.total_rows = count_lines(o.trace);
        stream_clock_init(&r.clock);

        int e = r.dc->source->run_to_end(src, err, sizeof err);
        for (int t = 0; t < _MODEL_TASK_MAX; t++)
                if (r.pipeline[t] && r.clock.anchored)
                        pipeline_finish(r.pipeline[t], r.last_t);
        clear_progress(&r);
        if (e < 0) {
                fprintf(stderr, "gaitway replay: %s\n", err);
                goto out;
        }
        summary(&r);
        ret = 0;
out:
        fflush(stdout);
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                pipeline_free(r.pipeline[t]);
                gw_engine_free(engines[t]);
                gw_model_free(models[t]);
        }
        if (src)
                src->kind->close(src);
        free(r.act_ns);
        config_free(config);
        free(o.sets);
        return ret;
}
