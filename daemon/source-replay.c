/* SPDX-License-Identifier: MIT */
/* The replay source: a CSV trace (the gaitway trace format or a foreign CSV
 * described by keys) played in real time, at a speed factor, or as fast as
 * possible, optionally looped.  Reading happens in the loop in small batches
 * so the sinks' I/O keeps its turn; nothing blocks but the file reads
 * themselves (local files). */

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf-value.h"
#include "conf.h"
#include "gaitway/trace.h"
#include "log.h"
#include "source.h"

#define BATCH 64   /* samples per read from the trace: per-device memory, not speed, at this size */
/* A paced replay delivers the samples due, one or two per wake-up when it
 * keeps pace: a smaller batch buffer (per device), and as many samples per
 * catch-up wake-up as with full batches. */
#define PACED_BATCH 8
/* A paced replay up to this speed reads a few rows per wake-up: 1 KiB of
 * read buffer (16 rows of a 6-channel trace) instead of the reader's 8 KiB,
 * per device. */
#define PACED_SMALL_BUFFER_SPEED 16
#define PACED_BUFFER 1024
#define CATCH_UP_SAMPLES 256    /* samples a paced replay delivers per wake-up at most */
/* The paced replays of a loop share one timer (see "pacing" below), which
 * wakes at most this often: replays due within this much of each other are
 * served by one wake-up, each sample at most this late. */
#define PACE_MIN_INTERVAL 0.001
#define BAD_ROWS_LOGGED 10

typedef struct {
        char *path;
        bool csv;
        bool loop;
        double speed;                   /* 0 = as fast as possible */
        gw_bad_row_policy bad_rows;
        /* Both allocated at the first CSV layout key: a layout is some 2.5
         * KB, and a gateway replaying thousands of gaitway traces keeps a
         * configuration per device. */
        gw_csv_layout *layout;
        char *gyro_path;
        gw_csv_layout *gyro;
        /* which gyro keys were set, the others follow the first file */
        bool gyro_time_set, gyro_unit_set, gyro_skip_set, gyro_delim_set;
        bool csv_key_seen;
} ReplayConf;

typedef struct {
        Source base;
        /* What playing needs of the configuration, copied: it outlives
         * config reloads. */
        bool conf_loop;
        double speed;
        char *device_id;
        struct ev_loop *loop;
        SourceCallbacks cb;
        void *userdata;

        gw_trace_reader *reader;
        double rate_hz;
        char *address;
        int n;

        ev_idle idle;
        struct Pacer *pacer;            /* paced replays: the loop's shared timer */
        bool scheduled;                 /* in pacer->heap */
        bool running, paused, ended;

        int batch;                      /* capacity of t and v, in samples */
        int64_t *t;
        float *v;
        bool have_next;                 /* t[0], v[0..n) hold a read-ahead sample */
        int64_t next_t;
        float *next_v;

        int64_t first_t, last_t, loop_offset;
        bool seen_first;
        double start_mono;              /* pacing: CLOCK_MONOTONIC s of the first sample */
        int64_t start_t;
        uint64_t bad_rows_logged;
} ReplaySource;

/* ---- configuration ----------------------------------------------------- */

static void *replay_conf_new(void)
{
        ReplayConf *c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        c->speed = 1.0;
        return c;
}

static int conf_layouts(ReplayConf *c)
{
        if (c->layout)
                return 0;
        c->layout = calloc(1, sizeof *c->layout);
        c->gyro = calloc(1, sizeof *c->gyro);
        if (!c->layout || !c->gyro) {
                free(c->layout);
                free(c->gyro);
                c->layout = c->gyro = NULL;
                return -ENOMEM;
        }
        c->layout->time_unit_s = 1.0;
        c->gyro->time_unit_s = 1.0;
        return 0;
}

static bool is_layout_key(const char *key)
{
        static const char *const keys[] = {
                "delimiter", "skip_rows", "time_column", "time_unit", "columns", "gyro_path",
                "gyro_columns", "gyro_time_column", "gyro_time_unit", "gyro_skip_rows", "gyro_delimiter",
        };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                if (!strcmp(key, keys[i]))
                        return true;
        return false;
}

static void replay_conf_free(void *p)
{
        ReplayConf *c = p;
        if (!c)
                return;
        free(c->path);
        free(c->gyro_path);
        free(c->layout);
        free(c->gyro);
        free(c);
}

static int parse_delimiter(const char *v, char *ret, char *err, size_t errlen)
{
        static const struct { const char *name; char c; } names[] = {
                { "auto", 0 }, { "comma", ',' }, { "semicolon", ';' }, { "tab", '\t' }, { "space", ' ' },
                { ",", ',' }, { ";", ';' },
        };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (!strcmp(v, names[i].name)) {
                        *ret = names[i].c;
                        return 0;
                }
        return gw_error(err, errlen, EINVAL, "expected auto, comma, semicolon, tab or space, got '%s'", v);
}

static int parse_time_column(const char *v, int *ret, char *err, size_t errlen)
{
        long x;
        if (!strcmp(v, "none")) {
                *ret = -1;
                return 0;
        }
        if (conf_parse_int(v, 1, 1000, &x, err, errlen) < 0)
                return gw_error(err, errlen, EINVAL, "expected none or a column number 1..1000, got '%s'", v);
        *ret = (int) x - 1;
        return 0;
}

static int parse_time_unit(const char *v, double *ret, char *err, size_t errlen)
{
        static const struct { const char *name; double s; } units[] = {
                { "s", 1 }, { "ms", 1e-3 }, { "us", 1e-6 }, { "ns", 1e-9 },
        };
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
                if (!strcmp(v, units[i].name)) {
                        *ret = units[i].s;
                        return 0;
                }
        return gw_error(err, errlen, EINVAL, "expected s, ms, us or ns, got '%s'", v);
}

/* "name:column:unit[:scale]" items, columns counted from 1. */
static int parse_columns(const char *v, gw_csv_layout *l, char *err, size_t errlen)
{
        char items[GW_TRACE_MAX_CHANNELS + 1][32];
        int n = conf_split(v, items, GW_TRACE_MAX_CHANNELS, err, errlen);
        if (n < 0)
                return n;
        if (n == 0)
                return gw_error(err, errlen, EINVAL, "expected name:column:unit items");
        for (int i = 0; i < n; i++) {
                char *f[4] = { NULL };
                int nf = 0;
                char *save = NULL;
                for (char *tok = strtok_r(items[i], ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
                        if (nf == 4)
                                return gw_error(err, errlen, EINVAL,
                                                "item %d: expected name:column:unit[:scale]", i + 1);
                        f[nf++] = tok;
                }
                if (nf < 3)
                        return gw_error(err, errlen, EINVAL, "item %d: expected name:column:unit[:scale]",
                                        i + 1);
                long col;
                double scale = 1.0, factor;
                if (strlen(f[0]) >= GW_NAME_MAX || strlen(f[2]) >= GW_NAME_MAX)
                        return gw_error(err, errlen, EINVAL, "item %d: name or unit too long", i + 1);
                if (conf_parse_int(f[1], 1, 1000, &col, err, errlen) < 0)
                        return gw_error(err, errlen, EINVAL, "item %d (%s): column must be 1..1000, got '%s'",
                                        i + 1, f[0], f[1]);
                if (f[3] && conf_parse_double(f[3], -1e9, 1e9, &scale, err, errlen) < 0)
                        return gw_error(err, errlen, EINVAL, "item %d (%s): bad scale '%s'", i + 1, f[0], f[3]);
                if (gw_unit_factor(f[2], "m/s^2", &factor) < 0 && gw_unit_factor(f[2], "rad/s", &factor) < 0)
                        return gw_error(err, errlen, EINVAL, "item %d (%s): unknown unit '%s' "
                                        "(m/s^2, g, mg, rad/s, deg/s, mrad/s)", i + 1, f[0], f[2]);
                for (int j = 0; j < i; j++)
                        if (!strcmp(l->channel[j].name, f[0]))
                                return gw_error(err, errlen, EINVAL, "channel '%s' listed twice", f[0]);
                strcpy(l->channel[i].name, f[0]);
                strcpy(l->channel[i].unit, f[2]);
                l->column[i] = (int) col - 1;
                l->scale[i] = scale;
        }
        l->n_channels = n;
        return 0;
}

static int replay_conf_key(void *p, const char *key, const char *v, const char *base_dir,
                           char *err, size_t errlen)
{
        ReplayConf *c = p;
        long x;
        int r;

        if (!strcmp(key, "path"))
                r = conf_parse_path(v, base_dir, &c->path, err, errlen);
        else if (!strcmp(key, "format")) {
                if (!strcmp(v, "gaitway"))
                        c->csv = false;
                else if (!strcmp(v, "csv"))
                        c->csv = true;
                else
                        return gw_error(err, errlen, EINVAL, "expected gaitway or csv, got '%s'", v);
                r = 0;
        } else if (!strcmp(key, "loop"))
                r = conf_parse_bool(v, &c->loop, err, errlen);
        else if (!strcmp(key, "speed")) {
                if (!strcmp(v, "max")) {
                        c->speed = 0;
                        r = 0;
                } else if (!strcmp(v, "realtime")) {
                        c->speed = 1;
                        r = 0;
                } else if (conf_parse_double(v, 0.001, 1e6, &c->speed, err, errlen) < 0)
                        return gw_error(err, errlen, EINVAL,
                                        "expected realtime, max or a factor 0.001..1e6, got '%s'", v);
                else
                        r = 0;
        } else if (!strcmp(key, "bad_rows")) {
                if (!strcmp(v, "fatal"))
                        c->bad_rows = GW_BAD_ROW_FATAL;
                else if (!strcmp(v, "skip"))
                        c->bad_rows = GW_BAD_ROW_SKIP;
                else
                        return gw_error(err, errlen, EINVAL, "expected fatal or skip, got '%s'", v);
                r = 0;
        } else {
                /* The rest describe a foreign CSV layout. */
                if (!is_layout_key(key))
                        return 0;
                if (conf_layouts(c) < 0)
                        return gw_error(err, errlen, ENOMEM, "out of memory");
                if (!strcmp(key, "delimiter"))
                        r = parse_delimiter(v, &c->layout->delimiter, err, errlen);
                else if (!strcmp(key, "skip_rows")) {
                        r = conf_parse_int(v, 0, 1000000, &x, err, errlen);
                        c->layout->skip_rows = (int) x;
                } else if (!strcmp(key, "time_column"))
                        r = parse_time_column(v, &c->layout->time_column, err, errlen);
                else if (!strcmp(key, "time_unit"))
                        r = parse_time_unit(v, &c->layout->time_unit_s, err, errlen);
                else if (!strcmp(key, "columns"))
                        r = parse_columns(v, c->layout, err, errlen);
                else if (!strcmp(key, "gyro_path"))
                        r = conf_parse_path(v, base_dir, &c->gyro_path, err, errlen);
                else if (!strcmp(key, "gyro_columns"))
                        r = parse_columns(v, c->gyro, err, errlen);
                else if (!strcmp(key, "gyro_time_column")) {
                        r = parse_time_column(v, &c->gyro->time_column, err, errlen);
                        c->gyro_time_set = true;
                } else if (!strcmp(key, "gyro_time_unit")) {
                        r = parse_time_unit(v, &c->gyro->time_unit_s, err, errlen);
                        c->gyro_unit_set = true;
                } else if (!strcmp(key, "gyro_skip_rows")) {
                        r = conf_parse_int(v, 0, 1000000, &x, err, errlen);
                        c->gyro->skip_rows = (int) x;
                        c->gyro_skip_set = true;
                } else if (!strcmp(key, "gyro_delimiter")) {
                        r = parse_delimiter(v, &c->gyro->delimiter, err, errlen);
                        c->gyro_delim_set = true;
                } else
                        return 0;
                c->csv_key_seen = true;
        }
        return r < 0 ? r : 1;
}

static int replay_conf_check(void *p, const DeviceConf *dc, char *err, size_t errlen)
{
        ReplayConf *c = p;
        if (!c->path)
                return gw_error(err, errlen, EINVAL, "path: missing (the trace to replay)");
        if (!c->csv) {
                if (c->csv_key_seen)
                        return gw_error(err, errlen, EINVAL,
                                        "CSV layout keys (columns, time_column, ...) need format = csv");
                return 0;
        }
        if (!c->layout || !c->layout->n_channels)
                return gw_error(err, errlen, EINVAL, "columns: missing (needed with format = csv)");
        if (!!c->gyro_path != !!c->gyro->n_channels)
                return gw_error(err, errlen, EINVAL, "gyro_path and gyro_columns: set both or neither");
        if (c->layout->time_column < 0 && dc->sample_rate <= 0)
                return gw_error(err, errlen, EINVAL, "sample_rate: needed with time_column = none");
        if (c->layout->n_channels + c->gyro->n_channels > GW_TRACE_MAX_CHANNELS)
                return gw_error(err, errlen, EINVAL, "columns: more than %d channels in total",
                                GW_TRACE_MAX_CHANNELS);
        for (int i = 0; i < c->layout->n_channels; i++)
                if (c->layout->column[i] == c->layout->time_column)
                        return gw_error(err, errlen, EINVAL, "columns: channel '%s' uses the time column",
                                        c->layout->channel[i].name);
        if (!c->gyro_time_set)
                c->gyro->time_column = c->layout->time_column;
        if (!c->gyro_unit_set)
                c->gyro->time_unit_s = c->layout->time_unit_s;
        if (!c->gyro_skip_set)
                c->gyro->skip_rows = c->layout->skip_rows;
        if (!c->gyro_delim_set)
                c->gyro->delimiter = c->layout->delimiter;
        for (int i = 0; i < c->gyro->n_channels; i++)
                for (int j = 0; j < c->layout->n_channels; j++)
                        if (!strcmp(c->gyro->channel[i].name, c->layout->channel[j].name))
                                return gw_error(err, errlen, EINVAL,
                                                "gyro_columns: channel '%s' also in columns",
                                                c->gyro->channel[i].name);
        if ((c->layout->time_column < 0) != (c->gyro->time_column < 0) && c->gyro_path)
                return gw_error(err, errlen, EINVAL,
                                "gyro_time_column: both files need a time column, or neither");
        return 0;
}

/* ---- pacing ------------------------------------------------------------ */

/* Every paced replay of a loop waits in one heap ordered by the time its
 * next sample is due, under one ev_timer set to the earliest.  With one
 * timer per replay, thousands of replays at 50 Hz cost a libev wake-up, a
 * timer re-arm and clock reads per sample and device; one wake-up now
 * serves every replay due by then, with one clock read, and the timer is
 * re-armed once per wake-up.
 *
 * A wake-up first takes every replay due from the heap, then serves them in
 * that order: knowing which replays come next, it asks for their memory a
 * few replays ahead (the source, its reader and device, then the device's
 * pipelines through SourceCallbacks.prefetch).  A gateway's thousands of
 * devices do not fit in the caches, and one sample of one device touches
 * some fifty cache lines of its own state, most of the time otherwise spent
 * waiting for them one by one. */
typedef struct {
        double due;                     /* CLOCK_MONOTONIC s */
        ReplaySource *s;
} PaceEntry;

typedef struct Pacer {
        struct Pacer *next;
        struct ev_loop *loop;
        ev_timer timer;
        size_t users;                   /* paced replays opened on this loop */
        size_t cap;                     /* room in heap and ready, >= users */
        size_t n;                       /* scheduled replays: heap[0..n) */
        PaceEntry *heap;                /* room for every user: scheduling never allocates */
        PaceEntry *ready;               /* [users]: taken from the heap, being served */
        size_t n_ready;
        /* The replay told to wait (busy) in a wake-up: the others stay in
         * the heap, and the timer with them, until it is resumed (or
         * stopped): one device waits for the sinks to drain, not all. */
        ReplaySource *blocker;
        double armed_at;                /* when the timer fires, 0 when stopped */
        double last_fire;
        bool firing;
} Pacer;

static Pacer *pacers;

static void pacer_free(Pacer *p)
{
        free(p->heap);
        free(p->ready);
        free(p);
}

/* The heap moves only its own entries: a replay does not know its place,
 * so sifting touches no replay's memory (with thousands of them, each
 * would be a cache miss).  Finding a replay to remove it is a scan, and
 * only stop, pause and close do that. */
static void pace_up(Pacer *p, size_t i)
{
        PaceEntry e = p->heap[i];
        while (i > 0) {
                size_t parent = (i - 1) / 2;
                if (p->heap[parent].due <= e.due)
                        break;
                p->heap[i] = p->heap[parent];
                i = parent;
        }
        p->heap[i] = e;
}

static void pace_down(Pacer *p, size_t i)
{
        PaceEntry e = p->heap[i];
        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= p->n)
                        break;
                if (c + 1 < p->n && p->heap[c + 1].due < p->heap[c].due)
                        c++;
                if (e.due <= p->heap[c].due)
                        break;
                p->heap[i] = p->heap[c];
                i = c;
        }
        p->heap[i] = e;
}

/* Does not touch the replay (its flag is the caller's). */
static void pace_remove_at(Pacer *p, size_t i)
{
        if (i == --p->n)
                return;
        p->heap[i] = p->heap[p->n];
        pace_up(p, i);
        pace_down(p, i);
}

static void pace_remove(ReplaySource *s)
{
        Pacer *p = s->pacer;

        if (!p || !s->scheduled)
                return;
        s->scheduled = false;
        for (size_t i = 0; i < p->n; i++)
                if (p->heap[i].s == s) {
                        pace_remove_at(p, i);
                        return;
                }
        /* taken by the wake-up under way, and stopped before its turn */
        for (size_t i = 0; i < p->n_ready; i++)
                if (p->ready[i].s == s)
                        p->ready[i].s = NULL;
}

static void pace_insert(ReplaySource *s, double due)
{
        Pacer *p = s->pacer;

        pace_remove(s);
        p->heap[p->n++] = (PaceEntry) { .due = due, .s = s };
        pace_up(p, p->n - 1);
        s->scheduled = true;
}

/* Sets the timer to the earliest due replay, no sooner than
 * PACE_MIN_INTERVAL after the last wake-up. */
static void pace_arm(Pacer *p, double now)
{
        double at;

        if (p->firing)
                return;         /* the wake-up re-arms when it is done */
        if (p->n == 0 || p->blocker) {
                ev_timer_stop(p->loop, &p->timer);
                p->armed_at = 0;
                return;
        }
        at = p->heap[0].due;
        if (at < p->last_fire + PACE_MIN_INTERVAL)
                at = p->last_fire + PACE_MIN_INTERVAL;
        if (ev_is_active(&p->timer) && p->armed_at <= at)
                return;
        ev_timer_stop(p->loop, &p->timer);
        ev_timer_set(&p->timer, at > now ? at - now : 0, 0);
        ev_timer_start(p->loop, &p->timer);
        p->armed_at = at;
}

static void replay_serve(ReplaySource *s, double now);
static double mono_now(void);

#define PREFETCH_AHEAD 3        /* replays: the source, then reader and device, then pipelines */

static void prefetch_block(const void *p, size_t bytes)
{
        for (size_t off = 0; off < bytes; off += 64)
                __builtin_prefetch((const char *) p + off);
}

/* Asks for what serving ready[i] will touch, in stages: the source
 * PREFETCH_AHEAD replays ahead, what it points to one replay later, the
 * device's own one replay before its turn. */
static void pace_prefetch(Pacer *p, size_t i)
{
        ReplaySource *s;

        if (i + PREFETCH_AHEAD < p->n_ready && (s = p->ready[i + PREFETCH_AHEAD].s))
                prefetch_block(s, sizeof *s);
        if (i + 2 < p->n_ready && (s = p->ready[i + 2].s)) {
                /* the reader's state (what a row touches is in its first
                 * 384 bytes), the sample buffers and the device */
                prefetch_block(s->reader, 384);
                prefetch_block(s->t, 128);
                prefetch_block(s->userdata, 512);
        }
        if (i + 1 < p->n_ready && (s = p->ready[i + 1].s)) {
                gw_trace_prefetch(s->reader);
                if (s->cb.prefetch)
                        s->cb.prefetch(s->userdata);
        }
}

static void pacer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        Pacer *p = w->data;
        double now = mono_now();

        p->armed_at = 0;
        p->last_fire = now;
        p->firing = true;
        /* The replays due, in due order.  One served in this wake-up and
         * still behind (it delivered its CATCH_UP_SAMPLES) waits for the
         * next one, after the loop has polled: replays the CPU cannot keep
         * pace with lag behind instead of starving the MQTT, D-Bus, signal
         * and watchdog watchers. */
        p->n_ready = 0;
        while (p->n > 0 && p->heap[0].due <= now) {
                p->ready[p->n_ready++] = p->heap[0];
                pace_remove_at(p, 0);
        }
        for (size_t i = 0; i < p->n_ready; i++) {
                ReplaySource *s = p->ready[i].s;

                pace_prefetch(p, i);
                if (!s)
                        continue;       /* stopped by a callback of this wake-up */
                p->ready[i].s = NULL;
                s->scheduled = false;
                replay_serve(s, now);
                if (s->paused && s->running) {
                        /* The sinks are busy: the rest wait in the heap,
                         * untouched, for this replay's resume. */
                        p->blocker = s;
                        for (size_t j = i + 1; j < p->n_ready; j++)
                                if (p->ready[j].s) {
                                        p->heap[p->n++] = p->ready[j];
                                        pace_up(p, p->n - 1);
                                }
                        break;
                }
        }
        p->n_ready = 0;
        p->firing = false;
        if (p->users == 0) {
                /* The last replay closed in a callback of this wake-up
                 * (pacer_put left the pacer to this function). */
                ev_timer_stop(loop, &p->timer);
                pacer_free(p);
                return;
        }
        pace_arm(p, mono_now());
}

static Pacer *pacer_get(struct ev_loop *loop)
{
        Pacer *p;
        PaceEntry *heap;
        PaceEntry *ready;

        for (p = pacers; p; p = p->next)
                if (p->loop == loop)
                        break;
        if (!p) {
                p = calloc(1, sizeof *p);
                if (!p)
                        return NULL;
                p->loop = loop;
                ev_init(&p->timer, pacer_cb);
                p->timer.data = p;
                p->next = pacers;
                pacers = p;
        }
        if (p->users == p->cap) {
                /* Doubling: thousands of replays open without thousands of
                 * copies of the arrays. */
                size_t cap = p->cap ? 2 * p->cap : 16;

                heap = realloc(p->heap, cap * sizeof *heap);
                if (heap)
                        p->heap = heap;
                ready = heap ? realloc(p->ready, cap * sizeof *ready) : NULL;
                if (ready)
                        p->ready = ready;
                if (!heap || !ready) {
                        if (p->users == 0) {
                                pacers = p->next;
                                pacer_free(p);
                        }
                        return NULL;
                }
                p->cap = cap;
        }
        p->users++;
        return p;
}

static void pacer_put(Pacer *p)
{
        if (!p || --p->users > 0)
                return;
        ev_timer_stop(p->loop, &p->timer);
        for (Pacer **q = &pacers; *q; q = &(*q)->next)
                if (*q == p) {
                        *q = p->next;
                        break;
                }
        if (p->firing)
                return;         /* pacer_cb frees it when done */
        pacer_free(p);
}

/* ---- playing ----------------------------------------------------------- */

static void replay_unschedule(ReplaySource *s)
{
        if (!s->loop)
                return;
        ev_idle_stop(s->loop, &s->idle);
        pace_remove(s);
}

/* A replay that held the pacer (busy) goes on or away: the others go on. */
static void replay_unblock(ReplaySource *s)
{
        if (!s->pacer || s->pacer->blocker != s)
                return;
        s->pacer->blocker = NULL;
        pace_arm(s->pacer, mono_now());
}

static void replay_finish(ReplaySource *s, int error, const char *err)
{
        s->running = false;
        s->ended = true;
        replay_unschedule(s);
        replay_unblock(s);
        if (s->cb.connected)
                s->cb.connected(s->userdata, false, error ? "trace error" : "end of trace");
        if (s->cb.ended)
                s->cb.ended(s->userdata, error, err);
}

/* Reads one sample into (*t, v).  Returns 1, 0 at the (final) end, or a
 * negative errno with err filled. */
static int replay_read(ReplaySource *s, int64_t *t, float *v, bool allow_loop, char *err, size_t errlen)
{
        for (int attempt = 0; attempt < 2; attempt++) {
                int r = gw_trace_read(s->reader, t, v, err, errlen);
                if (r < 0)
                        return r;
                const gw_trace_stats *st = gw_trace_stats_get(s->reader);
                if (st->bad_rows > s->bad_rows_logged) {
                        if (s->bad_rows_logged < BAD_ROWS_LOGGED)
                                log_warning("device %s: skipped a bad row: %s%s", s->device_id,
                                            gw_trace_last_error(s->reader),
                                            s->bad_rows_logged + 1 == BAD_ROWS_LOGGED ?
                                            " (further bad rows are only counted)" : "");
                        s->bad_rows_logged = st->bad_rows;
                }
                if (r == 1) {
                        if (!s->seen_first) {
                                s->first_t = *t;
                                s->seen_first = true;
                        }
                        s->last_t = *t;
                        *t += s->loop_offset;
                        return 1;
                }
                if (!allow_loop || !s->conf_loop || !s->seen_first)
                        return 0;
                /* Looped: time continues one period after the last sample so
                 * the pipeline sees one continuous stream. */
                int64_t period = (int64_t) (1e9 / s->rate_hz);
                s->loop_offset += s->last_t - s->first_t + period;
                s->seen_first = false;
                r = gw_trace_rewind(s->reader, err, errlen);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Pacing follows CLOCK_MONOTONIC: ev_now() is derived from the wall clock,
 * and a clock stepped backwards would stall the replay (forwards: a burst). */
static double mono_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double replay_due(ReplaySource *s, int64_t t)
{
        return s->start_mono + (double) (t - s->start_t) / 1e9 / s->speed;
}

static void replay_schedule(ReplaySource *s);

/* Delivers up to a batch of samples; in paced mode only those already due.
 * Returns false when the source stopped (end, error, pause). */
static bool replay_batch(ReplaySource *s, bool paced, double now)
{
        char err[GW_ERR_MAX];
        size_t n = 0;

        if (s->cb.busy && s->cb.busy(s->userdata)) {
                s->paused = true;
                replay_unschedule(s);
                return false;
        }

        while (n < (size_t) s->batch) {
                if (!s->have_next) {
                        int r = replay_read(s, &s->next_t, s->next_v, s->loop != NULL, err, sizeof err);
                        if (r <= 0) {
                                if (n)
                                        s->cb.samples(s->userdata, n, s->t, s->v);
                                replay_finish(s, r, r < 0 ? err : NULL);
                                return false;
                        }
                        s->have_next = true;
                }
                if (paced) {
                        if (s->start_mono == 0) {
                                s->start_mono = now;
                                s->start_t = s->next_t;
                        }
                        if (replay_due(s, s->next_t) > now)
                                break;
                }
                s->t[n] = s->next_t;
                memcpy(s->v + n * s->n, s->next_v, s->n * sizeof(float));
                s->have_next = false;
                n++;
        }
        if (n)
                s->cb.samples(s->userdata, n, s->t, s->v);
        return s->running;
}

static void replay_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
        ReplaySource *s = w->data;
        replay_batch(s, false, 0);
}

/* From the pacer: the samples due by now, a few batches at most, then back
 * into the heap at the next sample's time. */
static void replay_serve(ReplaySource *s, double now)
{
        for (int i = 0; i < CATCH_UP_SAMPLES / s->batch; i++) {
                if (!replay_batch(s, true, now))
                        return;
                if (s->have_next && replay_due(s, s->next_t) > now)
                        break;
        }
        if (s->running && !s->paused)
                pace_insert(s, s->have_next ? replay_due(s, s->next_t) : now);
}

static void replay_schedule(ReplaySource *s)
{
        if (!s->running || s->paused)
                return;
        if (s->speed == 0) {
                ev_idle_start(s->loop, &s->idle);
                return;
        }
        double now = mono_now();
        pace_insert(s, s->have_next ? replay_due(s, s->next_t) : now);
        if (s->pacer->blocker == s)
                s->pacer->blocker = NULL;
        pace_arm(s->pacer, now);
}

/* ---- lifecycle --------------------------------------------------------- */

static Source *replay_close(Source *base);

static int replay_open(const SourceParams *p, Source **ret, char *err, size_t errlen)
{
        const ReplayConf *c = p->conf;
        ReplaySource *s = calloc(1, sizeof *s);
        gw_trace_options opt = {
                .bad_rows = c->bad_rows,
                .buffer_size = c->speed > 0 && c->speed <= PACED_SMALL_BUFFER_SPEED ? PACED_BUFFER : 0,
        };
        gw_csv_layout layout, gyro;
        const gw_channel_desc *ch;
        int r;

        if (!s)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        s->base.kind = &source_replay;
        s->conf_loop = c->loop;
        s->speed = c->speed;
        s->device_id = strdup(p->device_id);
        s->loop = p->loop;
        s->cb = *p->cb;
        s->userdata = p->userdata;
        if (!s->device_id || asprintf(&s->address, "replay:%s", c->path) < 0) {
                s->address = NULL;
                replay_close(&s->base);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }
        if (c->csv) {
                /* The reader copies what it needs of the layouts. */
                layout = *c->layout;
                layout.rate_hz = p->rate_hz;
                opt.layout = &layout;
                if (c->gyro_path) {
                        gyro = *c->gyro;
                        gyro.rate_hz = p->rate_hz;
                        opt.second_path = c->gyro_path;
                        opt.second_layout = &gyro;
                }
        }
        r = gw_trace_open(c->path, &opt, &s->reader, err, errlen);
        if (r < 0) {
                replay_close(&s->base);
                return r;
        }
        s->n = gw_trace_channels(s->reader, &ch);
        if (s->n <= 0 || s->n > GW_MAX_INPUTS) {
                replay_close(&s->base);
                return gw_error(err, errlen, EINVAL, "%s: no usable channels", c->path);
        }
        s->rate_hz = p->rate_hz > 0 ? p->rate_hz : gw_trace_rate(s->reader);
        if (!(s->rate_hz > 0)) {
                replay_close(&s->base);
                return gw_error(err, errlen, EINVAL, "%s: the trace states no sample rate: set sample_rate",
                                c->path);
        }
        /* What it needs of the header is read: the metadata lines would
         * stay with every device. */
        gw_trace_drop_meta(s->reader);
        s->batch = opt.buffer_size ? PACED_BATCH : BATCH;
        /* t, v and next_v in one block */
        s->t = calloc(1, (size_t) s->batch * sizeof *s->t + ((size_t) s->batch + 1) * s->n * sizeof *s->v);
        if (!s->t) {
                replay_close(&s->base);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }
        s->v = (float *) (s->t + s->batch);
        s->next_v = s->v + (size_t) s->batch * s->n;
        ev_idle_init(&s->idle, replay_idle_cb);
        s->idle.data = s;
        if (s->loop && s->speed > 0) {
                s->pacer = pacer_get(s->loop);
                if (!s->pacer) {
                        replay_close(&s->base);
                        return gw_error(err, errlen, ENOMEM, "out of memory");
                }
        }
        *ret = &s->base;
        return 0;
}

static int replay_start(Source *base)
{
        ReplaySource *s = (ReplaySource *) base;
        if (s->running || s->ended)
                return 0;
        s->running = true;
        s->paused = false;
        if (s->cb.connected)
                s->cb.connected(s->userdata, true, NULL);
        replay_schedule(s);
        return 0;
}

static void replay_stop(Source *base)
{
        ReplaySource *s = (ReplaySource *) base;
        if (!s->running)
                return;
        s->running = false;
        replay_unschedule(s);
        replay_unblock(s);
        if (s->cb.connected)
                s->cb.connected(s->userdata, false, "stopped");
}

static void replay_resume(Source *base)
{
        ReplaySource *s = (ReplaySource *) base;
        if (!s->running || !s->paused)
                return;
        s->paused = false;
        if (s->speed > 0)
                /* Paced replays keep their schedule: a pause shifts time. */
                s->start_mono = 0;
        replay_schedule(s);
}

static int replay_run_to_end(Source *base, char *err, size_t errlen)
{
        ReplaySource *s = (ReplaySource *) base;
        int r;
        s->running = true;
        for (;;) {
                size_t n = 0;
                while (n < (size_t) s->batch) {
                        r = replay_read(s, &s->t[n], s->v + n * s->n, false, err, errlen);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break;
                        n++;
                }
                if (n)
                        s->cb.samples(s->userdata, n, s->t, s->v);
                if (n < (size_t) s->batch)
                        break;
        }
        s->running = false;
        s->ended = true;
        return 0;
}

static Source *replay_close(Source *base)
{
        ReplaySource *s = (ReplaySource *) base;
        if (!s)
                return NULL;
        replay_unschedule(s);
        replay_unblock(s);
        pacer_put(s->pacer);
        gw_trace_close(s->reader);
        free(s->device_id);
        free(s->address);
        free(s->t);
        free(s);
        return NULL;
}

static const gw_source_desc *replay_describe(const Source *base)
{
        /* Built on demand from the reader (source.h): the channels are the
         * reader's, and a gateway opens its sources one after the other on
         * the loop's thread. */
        static gw_source_desc desc;
        const ReplaySource *s = (const ReplaySource *) base;
        const gw_channel_desc *ch;

        memset(&desc, 0, sizeof desc);
        desc.n = gw_trace_channels(s->reader, &ch);
        memcpy(desc.ch, ch, (size_t) desc.n * sizeof *ch);
        desc.rate_hz = s->rate_hz;
        return &desc;
}

static const char *replay_address(const Source *base)
{
        return ((const ReplaySource *) base)->address;
}

const SourceKind source_replay = {
        .name = "replay",
        .opens_offline = true,
        .conf_new = replay_conf_new,
        .conf_free = replay_conf_free,
        .conf_key = replay_conf_key,
        .conf_check = replay_conf_check,
        .open = replay_open,
        .start = replay_start,
        .stop = replay_stop,
        .close = replay_close,
        .describe = replay_describe,
        .address = replay_address,
        .resume = replay_resume,
        .run_to_end = replay_run_to_end,
};
