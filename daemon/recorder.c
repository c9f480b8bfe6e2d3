/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "conf-value.h"
#include "gaitway/trace.h"
#include "log.h"
#include "recorder.h"
#include "stream-clock.h"

#define FLUSH_INTERVAL 1.0

struct Recorder {
        RecorderConf conf;
        struct ev_loop *loop;
        char *device_id;
        char *address;
        gw_source_desc desc;
        bool dir;                       /* conf.path is a directory */

        gw_trace_writer *w;
        char *file;
        unsigned files;
        long long bytes;
        int64_t opened_wall_ns;
        uint64_t rows;
        bool stopped;
        ev_timer flush;
};

static int parse_size(const char *v, long long *ret, char *err, size_t errlen)
{
        char *end;
        double x = strtod(v, &end);
        double mult = 1;

        if (end == v || x < 0)
                goto bad;
        if (*end == 'k' || *end == 'K')
                mult = 1024, end++;
        else if (*end == 'M')
                mult = 1024.0 * 1024, end++;
        else if (*end == 'G')
                mult = 1024.0 * 1024 * 1024, end++;
        if (*end)
                goto bad;
        if (x * mult > 1e15)
                goto bad;
        *ret = (long long) (x * mult);
        if (*ret != 0 && *ret < 4096)
                return gw_error(err, errlen, EINVAL, "expected 0 or at least 4096 bytes, got '%s'", v);
        return 0;
bad:
        return gw_error(err, errlen, EINVAL, "expected a size like 64M, 500k or 0, got '%s'", v);
}

int recorder_conf_key(RecorderConf *c, const char *key, const char *value, const char *base_dir,
                      char *err, size_t errlen)
{
        int r;

        if (!strcmp(key, "record")) {
                if (!strcmp(value, "no")) {
                        free(c->path);
                        c->path = NULL;
                        return 1;
                }
                r = conf_parse_path(value, base_dir, &c->path, err, errlen);
        } else if (!strcmp(key, "record_max_size"))
                r = parse_size(value, &c->max_bytes, err, errlen);
        else if (!strcmp(key, "record_max_time"))
                r = conf_parse_double(value, 0, 31 * 86400, &c->max_seconds, err, errlen);
        else
                return 0;
        return r < 0 ? r : 1;
}

void recorder_conf_done(RecorderConf *c)
{
        free(c->path);
        c->path = NULL;
}

int recorder_conf_copy(RecorderConf *to, const RecorderConf *from)
{
        *to = *from;
        to->path = from->path ? strdup(from->path) : NULL;
        return from->path && !to->path ? -ENOMEM : 0;
}

/* The name of file number r->files (0 = the first). */
static char *next_name(Recorder *r)
{
        char *name = NULL;

        if (r->dir) {
                char stamp[32];
                time_t now = time(NULL);
                struct tm tm;
                gmtime_r(&now, &tm);
                strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
                for (unsigned k = 0; k < 1000; k++) {
                        struct stat st;
                        free(name);
                        if ((k ? asprintf(&name, "%s/%s-%s-%u.csv", r->conf.path, r->device_id, stamp, k)
                               : asprintf(&name, "%s/%s-%s.csv", r->conf.path, r->device_id, stamp)) < 0)
                                return NULL;
                        if (stat(name, &st) < 0)
                                break;
                }
                return name;
        }
        if (r->files == 0)
                return strdup(r->conf.path);
        const char *slash = strrchr(r->conf.path, '/');
        const char *dot = strrchr(r->conf.path, '.');
        if (!dot || (slash && dot < slash))
                dot = r->conf.path + strlen(r->conf.path);
        if (asprintf(&name, "%.*s-%u%s", (int) (dot - r->conf.path), r->conf.path, r->files, dot) < 0)
                return NULL;
        return name;
}

static int open_file(Recorder *r, char *err, size_t errlen)
{
        char started[40], rate[32];
        const char *meta[] = { "device", r->device_id, "source", r->address, "recorded", started,
                               "recorder", "gaitwayd", NULL };
        int k;

        r->opened_wall_ns = wall_clock_ns();
        format_iso8601(r->opened_wall_ns, started, sizeof started);
        snprintf(rate, sizeof rate, "%g", r->desc.rate_hz);
        free(r->file);
        r->file = next_name(r);
        if (!r->file)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        k = gw_trace_writer_open(r->file, r->desc.n, r->desc.ch, r->desc.rate_hz, meta, &r->w, err, errlen);
        if (k < 0)
                return k;
        r->files++;
        r->bytes = 0;
        log_info("device %s: recording to %s", r->device_id, r->file);
        return 0;
}

/* Stops for good after an error: processing goes on without recording. */
static void stop_recording(Recorder *r, int error)
{
        if (r->w)
                gw_trace_writer_close(r->w);
        r->w = NULL;
        r->stopped = true;
        if (r->loop)
                ev_timer_stop(r->loop, &r->flush);
        log_error_errno(error, "device %s: recording to %s stopped after %llu rows", r->device_id,
                        r->file ? r->file : "(none)", (unsigned long long) r->rows);
}

static void close_file(Recorder *r)
{
        int k = gw_trace_writer_close(r->w);
        r->w = NULL;
        if (k < 0)
                stop_recording(r, k);
}

static void flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
        Recorder *r = t->data;
        int k;

        if (!r->w)
                return;
        k = gw_trace_writer_flush(r->w);
        if (k < 0)
                stop_recording(r, k);
}

int recorder_new(const RecorderConf *c, struct ev_loop *loop, const char *device_id,
                 const char *source_address, const gw_source_desc *desc, Recorder **ret,
                 char *err, size_t errlen)
{
        Recorder *r = calloc(1, sizeof *r);
        struct stat st;
        int k;

        *ret = NULL;
        if (!r)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        if (recorder_conf_copy(&r->conf, c) < 0 || !r->conf.path) {
                recorder_free(r);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }
        r->loop = loop;
        r->device_id = strdup(device_id);
        r->address = strdup(source_address ? source_address : "");
        r->desc = *desc;
        r->dir = stat(c->path, &st) == 0 && S_ISDIR(st.st_mode);
        if (!r->device_id || !r->address) {
                recorder_free(r);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }
        k = open_file(r, err, errlen);
        if (k < 0) {
                recorder_free(r);
                return k;
        }
        if (loop) {
                ev_timer_init(&r->flush, flush_cb, FLUSH_INTERVAL, FLUSH_INTERVAL);
                r->flush.data = r;
                ev_timer_start(loop, &r->flush);
        }
        *ret = r;
        return 0;
}

static bool rotation_due(Recorder *r)
{
        if (r->conf.max_bytes > 0 && r->bytes >= r->conf.max_bytes)
                return true;
        return r->conf.max_seconds > 0 &&
               (double) (wall_clock_ns() - r->opened_wall_ns) / 1e9 >= r->conf.max_seconds;
}

void recorder_samples(Recorder *r, size_t n, const int64_t *t_ns, const float *v)
{
        char err[GW_ERR_MAX];

        if (!r || r->stopped)
                return;
        for (size_t i = 0; i < n; i++) {
                int k;
                if (rotation_due(r)) {
                        close_file(r);
                        if (r->stopped)
                                return;
                        if (open_file(r, err, sizeof err) < 0) {
                                log_error("device %s: %s", r->device_id, err);
                                stop_recording(r, -EIO);
                                return;
                        }
                }
                k = gw_trace_write(r->w, t_ns[i], v + i * (size_t) r->desc.n);
                if (k == -EINVAL)
                        continue;       /* a non-finite value: the front end drops it too */
                if (k < 0) {
                        stop_recording(r, k);
                        return;
                }
                r->bytes += k;
                r->rows++;
        }
}

Recorder *recorder_free(Recorder *r)
{
        if (!r)
                return NULL;
        if (r->loop)
                ev_timer_stop(r->loop, &r->flush);
        if (r->w) {
                int k = gw_trace_writer_close(r->w);
                if (k < 0)
                        log_error_errno(k, "device %s: closing %s", r->device_id, r->file);
        }
        recorder_conf_done(&r->conf);
        free(r->device_id);
        free(r->address);
        free(r->file);
        free(r);
        return NULL;
}

bool recorder_active(const Recorder *r)
{
        return r && !r->stopped;
}

uint64_t recorder_rows(const Recorder *r)
{
        return r ? r->rows : 0;
}

unsigned recorder_files(const Recorder *r)
{
        return r ? r->files : 0;
}
