/* SPDX-License-Identifier: MIT */
/* The Industrial I/O source (libiio 0.24): accelerometer and gyroscope
 * channels of one device, or of two (gyro_device), found by name, label or
 * id in the context of a URI (local:, ip:host[:port]).  Raw values become
 * m/s^2 and rad/s with each channel's offset and scale, the device's mount
 * matrix is applied, and timestamps come from the hardware timestamp channel
 * when there is one (mapped onto CLOCK_MONOTONIC) or from arrival times.
 *
 * Reading never blocks the loop.  The local backend offers a non-blocking
 * buffer and its poll fd: an ev_io on it drives the refills.  libiio 0.24's
 * network backend offers neither (both return -ENOSYS), so a reader thread
 * per device does the blocking refills and hands every buffer to the loop
 * over a SOCK_SEQPACKET pair, whose loop end is the ev_io.  Either way a
 * device that stalls, vanishes or fails is closed and reopened with backoff;
 * the link state goes to the device's connected() callback. */

#include <errno.h>
#include <ev.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "conf-value.h"
#include "conf.h"
#include "iio-loader.h"
#include "link-state.h"
#include "log.h"
#include "recorder.h"
#include "source.h"

#define MAX_CH          6               /* per device */
#define MAX_BUFFER      4096            /* samples per refill */
#define MERGE_FACTOR    8               /* pending primary samples, in refills */
#define RESYNC_NS       (2 * GW_NSEC_PER_SEC)

typedef enum { TS_AUTO, TS_HARDWARE, TS_ARRIVAL } TimestampMode;

typedef struct {
        char *uri;
        char device[64];
        char gyro_device[64];           /* "" = the gyroscope is on `device` */
        int n_acc, n_gyro;
        char acc[3][32], gyro[3][32];
        bool acc_set, gyro_set;
        long buffer;                    /* samples per refill, 0 = automatic */
        double timeout;                 /* seconds without samples that count as a stall */
        double reopen_min, reopen_max;
        TimestampMode timestamps;
        bool mount_matrix;
        RecorderConf rec;
} IioConf;

typedef struct IioSource IioSource;

/* What the reader thread sends before the bytes of one refill. */
typedef struct {
        int32_t status;                 /* 0 or a negative errno */
        int32_t pad;
        int64_t rx_ns;
} RefillHeader;

typedef struct {
        IioSource *src;
        const char *key;                /* "device" or "gyro_device", for messages */
        const char *want;
        struct iio_device *dev;
        struct iio_buffer *buf;
        int n;
        char id[MAX_CH][32];            /* channel ids, for checks on reopen */
        struct iio_channel *ch[MAX_CH];
        int out[MAX_CH];                /* index in the output sample */
        double scale[MAX_CH], offset[MAX_CH];
        size_t off[MAX_CH];             /* byte offset in a sample */
        bool want_ts;
        struct iio_channel *ts;
        size_t ts_off;
        size_t step;
        size_t cap;
        bool partial_logged;

        int64_t last_t;
        bool has_last;

        ev_io io;
        bool threaded;
        pthread_t thread;
        bool thread_running;
        int sock[2];
        uint8_t *msg;                   /* loop side: header + cap * step */

        int64_t *t;                     /* cap parsed samples */
        float *v;                       /* cap x n_out */
} IioDev;

struct IioSource {
        Source base;
        IioConf conf;
        LinkState ls;
        gw_source_desc desc;
        char *address;
        double rate;
        size_t cap;
        int n_out;
        int acc_first, acc_n, gyro_first, gyro_n;       /* output positions of the groups */
        bool mount[2];
        double m[2][3][3];

        struct iio_context *ctx;
        char *uri_copy;
        IioDev dev[2];
        int n_dev;

        ev_timer stall, retry;
        double stall_s;
        unsigned failures;              /* consecutive failed attempts, for log levels */

        int64_t *out_t;
        float *out_v;
        size_t out_cap;

        /* two devices: primary samples wait until the secondary's cover them */
        size_t pend_n, ring_n, ring_head, ring_cap;
        int64_t *pend_t, *ring_t;
        float *pend_v, *ring_v;         /* pend: n_out wide; ring: gyro_n wide */

        /* monotonic - hardware time, one offset for both devices (one
         * kernel clock), anchored at the first refill of each opening */
        int64_t ts_offset;
        bool ts_anchored;

        uint64_t refills, reopens, stalls, dropped;
};

static const char *const acc_default[3] = { "accel_x", "accel_y", "accel_z" };
static const char *const gyro_default[3] = { "anglvel_x", "anglvel_y", "anglvel_z" };

static int64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * GW_NSEC_PER_SEC + ts.tv_nsec;
}

/* ---- configuration ----------------------------------------------------- */

static void *iio_conf_new(void)
{
        IioConf *c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        c->uri = strdup("local:");
        if (!c->uri) {
                free(c);
                return NULL;
        }
        c->n_acc = c->n_gyro = 3;
        for (int i = 0; i < 3; i++) {
                strcpy(c->acc[i], acc_default[i]);
                strcpy(c->gyro[i], gyro_default[i]);
        }
        c->timeout = 2.0;
        c->reopen_min = 0.5;
        c->reopen_max = 30.0;
        c->mount_matrix = true;
        return c;
}

static void iio_conf_free(void *p)
{
        IioConf *c = p;
        if (!c)
                return;
        free(c->uri);
        recorder_conf_done(&c->rec);
        free(c);
}

static int parse_channels(const char *v, char (*ids)[32], int *n, char *err, size_t errlen)
{
        char w[4][32];
        int k;

        if (!strcmp(v, "none")) {
                *n = 0;
                return 0;
        }
        k = conf_split(v, w, 4, err, errlen);
        if (k < 0)
                return k;
        if (k < 1 || k > 3)
                return gw_error(err, errlen, EINVAL, "expected none or 1..3 channel ids, got '%s'", v);
        for (int i = 0; i < k; i++) {
                for (int j = 0; j < i; j++)
                        if (!strcmp(w[i], w[j]))
                                return gw_error(err, errlen, EINVAL, "channel '%s' listed twice", w[i]);
                strcpy(ids[i], w[i]);
        }
        *n = k;
        return 0;
}

static int iio_conf_key(void *p, const char *key, const char *v, const char *base_dir,
                        char *err, size_t errlen)
{
        IioConf *c = p;
        int r = recorder_conf_key(&c->rec, key, v, base_dir, err, errlen);

        if (r != 0)
                return r;
        if (!strcmp(key, "uri")) {
                if (strncmp(v, "local:", 6) && strncmp(v, "ip:", 3))
                        return gw_error(err, errlen, EINVAL,
                                        "expected local: or ip:host[:port], got '%s'", v);
                char *u = strdup(v);
                if (!u)
                        return gw_error(err, errlen, ENOMEM, "out of memory");
                free(c->uri);
                c->uri = u;
                r = 0;
        } else if (!strcmp(key, "device"))
                r = conf_parse_string(v, c->device, sizeof c->device, err, errlen);
        else if (!strcmp(key, "gyro_device"))
                r = conf_parse_string(v, c->gyro_device, sizeof c->gyro_device, err, errlen);
        else if (!strcmp(key, "accel_channels")) {
                r = parse_channels(v, c->acc, &c->n_acc, err, errlen);
                c->acc_set = true;
        } else if (!strcmp(key, "gyro_channels")) {
                r = parse_channels(v, c->gyro, &c->n_gyro, err, errlen);
                c->gyro_set = true;
        } else if (!strcmp(key, "buffer_samples")) {
                if (!strcmp(v, "auto")) {
                        c->buffer = 0;
                        r = 0;
                } else
                        r = conf_parse_int(v, 1, MAX_BUFFER, &c->buffer, err, errlen);
        } else if (!strcmp(key, "stall_timeout"))
                r = conf_parse_double(v, 0.05, 3600, &c->timeout, err, errlen);
        else if (!strcmp(key, "reopen_min"))
                r = conf_parse_double(v, 0.01, 3600, &c->reopen_min, err, errlen);
        else if (!strcmp(key, "reopen_max"))
                r = conf_parse_double(v, 0.01, 86400, &c->reopen_max, err, errlen);
        else if (!strcmp(key, "timestamps")) {
                if (!strcmp(v, "auto"))
                        c->timestamps = TS_AUTO;
                else if (!strcmp(v, "hardware"))
                        c->timestamps = TS_HARDWARE;
                else if (!strcmp(v, "arrival"))
                        c->timestamps = TS_ARRIVAL;
                else
                        return gw_error(err, errlen, EINVAL, "expected auto, hardware or arrival, got '%s'", v);
                r = 0;
        } else if (!strcmp(key, "mount_matrix")) {
                /* yes/no: the driver's matrix; nine numbers are the common
                 * device key (a rotation in the front end). */
                bool b;
                if (conf_parse_bool(v, &b, err, errlen) < 0)
                        return 0;
                c->mount_matrix = b;
                r = 0;
        } else
                return 0;
        return r < 0 ? r : 1;
}

static int iio_conf_check(void *p, const DeviceConf *dc, char *err, size_t errlen)
{
        IioConf *c = p;

        if (!c->device[0])
                return gw_error(err, errlen, EINVAL, "device: missing (an IIO device name, label or id)");
        if (c->n_acc + c->n_gyro == 0)
                return gw_error(err, errlen, EINVAL, "accel_channels, gyro_channels: no channel left");
        if (c->gyro_device[0] && c->n_gyro == 0)
                return gw_error(err, errlen, EINVAL, "gyro_device: set, but gyro_channels = none");
        if (c->reopen_min > c->reopen_max)
                return gw_error(err, errlen, EINVAL, "reopen_min: %g s is above reopen_max %g s",
                                c->reopen_min, c->reopen_max);
        return 0;
}

/* ---- device model ------------------------------------------------------ */

static const char *channel_name(const struct iio_channel *ch, char *buf, size_t len)
{
        const char *prefix;
        char axis;

        switch (iio_channel_get_type(ch)) {
        case IIO_ACCEL:
                prefix = "acc";
                break;
        case IIO_ANGL_VEL:
                prefix = "gyro";
                break;
        default:
                return iio_channel_get_id(ch);
        }
        switch (iio_channel_get_modifier(ch)) {
        case IIO_MOD_X: axis = 'x'; break;
        case IIO_MOD_Y: axis = 'y'; break;
        case IIO_MOD_Z: axis = 'z'; break;
        default:
                return iio_channel_get_id(ch);
        }
        snprintf(buf, len, "%s_%c", prefix, axis);
        return buf;
}

static const char *channel_unit(const struct iio_channel *ch)
{
        /* The units of the IIO ABI for processed values. */
        return iio_channel_get_type(ch) == IIO_ANGL_VEL ? "rad/s" : "m/s^2";
}

static int attr_read_double(struct iio_device *dev, struct iio_channel *ch, const char *attr, double *v)
{
        if (ch && iio_channel_find_attr(ch, attr))
                return iio_channel_attr_read_double(ch, attr, v);
        if (iio_device_find_attr(dev, attr))
                return iio_device_attr_read_double(dev, attr, v);
        return -ENOENT;
}

static int attr_read(struct iio_device *dev, struct iio_channel *ch, const char *attr, char *buf, size_t len)
{
        ssize_t r;
        if (ch && iio_channel_find_attr(ch, attr))
                r = iio_channel_attr_read(ch, attr, buf, len);
        else if (iio_device_find_attr(dev, attr))
                r = iio_device_attr_read(dev, attr, buf, len);
        else
                return -ENOENT;
        return r < 0 ? (int) r : 0;
}

static int attr_write_double(struct iio_device *dev, struct iio_channel *ch, const char *attr, double v)
{
        if (iio_device_find_attr(dev, attr))
                return iio_device_attr_write_double(dev, attr, v);
        if (ch && iio_channel_find_attr(ch, attr))
                return iio_channel_attr_write_double(ch, attr, v);
        return -ENOENT;
}

/* The value of `available` ("12.5 25 50" or "[min step max]") nearest to want. */
static double nearest_rate(const char *available, double want)
{
        double best = want, dist = INFINITY;
        char *end;

        if (available[0] == '[') {
                double lo, step, hi;
                if (sscanf(available, "[%lf %lf %lf]", &lo, &step, &hi) == 3 && step > 0 && hi >= lo) {
                        double v = lo + round((want - lo) / step) * step;
                        return v < lo ? lo : v > hi ? hi : v;
                }
                return want;
        }
        for (const char *p = available; *p;) {
                double v = strtod(p, &end);
                if (end == p)
                        break;
                if (fabs(v - want) < dist) {
                        dist = fabs(v - want);
                        best = v;
                }
                p = end;
        }
        return best;
}

/* Sets the rate (nearest available, with a warning) and reads it back. */
static int set_rate(IioSource *s, IioDev *d, double want, double *got, char *err, size_t errlen)
{
        struct iio_channel *ch0 = d->n ? d->ch[0] : NULL;
        char avail[512];
        double v = want;
        int r;

        if (want > 0) {
                if (attr_read(d->dev, ch0, "sampling_frequency_available", avail, sizeof avail) == 0) {
                        v = nearest_rate(avail, want);
                        if (fabs(v - want) > 1e-6 * want)
                                log_warning("device %s: %s offers no %g Hz (available: %s); using %g Hz",
                                            s->ls.device_id, d->want, want, avail, v);
                }
                r = attr_write_double(d->dev, ch0, "sampling_frequency", v);
                if (r < 0 && r != -ENOENT)
                        return gw_error(err, errlen, -r, "%s: cannot set sampling_frequency to %g Hz: %s",
                                        d->want, v, strerror(-r));
        }
        r = attr_read_double(d->dev, ch0, "sampling_frequency", got);
        if (r < 0) {
                if (want > 0) {
                        *got = want;
                        return 0;
                }
                return gw_error(err, errlen, -r == ENOENT ? EINVAL : -r,
                                "%s reports no sampling_frequency: set sample_rate", d->want);
        }
        if (want > 0 && fabs(*got - v) > 0.01 * v)
                log_warning("device %s: %s was set to %g Hz but reports %g Hz", s->ls.device_id, d->want,
                            v, *got);
        return 0;
}

static int parse_matrix(const char *s, double m[3][3])
{
        double v[9];
        int n = sscanf(s, "%lf , %lf , %lf ; %lf , %lf , %lf ; %lf , %lf , %lf", &v[0], &v[1], &v[2],
                       &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]);
        if (n != 9)
                return -EINVAL;
        for (int i = 0; i < 9; i++) {
                if (!isfinite(v[i]))
                        return -EINVAL;
                m[i / 3][i % 3] = v[i];
        }
        return 0;
}

static bool is_identity(double m[3][3])
{
        for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                        if (m[i][j] != (i == j))
                                return false;
        return true;
}

/* Finds the device by id, name or label (libiio's iio_context_find_device
 * matches all three). */
static struct iio_device *find_device(struct iio_context *ctx, const char *want)
{
        return iio_context_find_device(ctx, want);
}

/* Adds the channels `ids` of group g (0 accel, 1 gyro) found on d.  Missing
 * channels are an error when the list was configured, a warning otherwise
 * (a partial channel set). */
static int add_group(IioSource *s, IioDev *d, int g, char (*ids)[32], int n_ids, bool explicit,
                     bool quiet, char *err, size_t errlen)
{
        char missing[128] = "";

        for (int i = 0; i < n_ids; i++) {
                struct iio_channel *ch = iio_device_find_channel(d->dev, ids[i], false);
                if (!ch || !iio_channel_is_scan_element(ch)) {
                        if (explicit)
                                return gw_error(err, errlen, ENOENT, "%s '%s' has no buffered input channel '%s'",
                                                d->key, d->want, ids[i]);
                        if (strlen(missing) + strlen(ids[i]) + 2 < sizeof missing) {
                                strcat(missing, " ");
                                strcat(missing, ids[i]);
                        }
                        continue;
                }
                if (d->n == MAX_CH)
                        return gw_error(err, errlen, E2BIG, "%s: too many channels", d->want);
                d->ch[d->n] = ch;
                snprintf(d->id[d->n], sizeof d->id[0], "%s", ids[i]);
                d->n++;
        }
        if (missing[0] && !quiet)
                log_warning("device %s: %s '%s' lacks%s: using the channels it has", s->ls.device_id, d->key,
                            d->want, missing);
        return 0;
}

/* Opens the context and resolves both devices and their channels.  With
 * check, the channels must be those of the description made at open(). */
static int resolve(IioSource *s, bool check, char *err, size_t errlen)
{
        IioConf *c = &s->conf;
        int r;

        /* libiio 0.24 cuts "ip:host:port" in place at the port's colon:
         * give it a copy, kept as long as the context. */
        free(s->uri_copy);
        s->uri_copy = strdup(c->uri);
        if (!s->uri_copy)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        s->ctx = iio_create_context_from_uri(s->uri_copy);
        if (!s->ctx) {
                int e = errno ? errno : EIO;
                return gw_error(err, errlen, e, "%s: cannot open the IIO context: %s", c->uri, strerror(e));
        }
        s->n_dev = c->gyro_device[0] ? 2 : 1;
        for (int k = 0; k < s->n_dev; k++) {
                IioDev *d = &s->dev[k];
                d->src = s;
                d->key = k ? "gyro_device" : "device";
                d->want = k ? c->gyro_device : c->device;
                d->dev = find_device(s->ctx, d->want);
                d->n = 0;
                d->ts = NULL;
                if (!d->dev)
                        return gw_error(err, errlen, ENODEV, "%s: no IIO device with id, name or label '%s'",
                                        c->uri, d->want);
        }
        r = add_group(s, &s->dev[0], 0, c->acc, c->n_acc, c->acc_set, check, err, errlen);
        if (r < 0)
                return r;
        r = add_group(s, &s->dev[s->n_dev - 1], 1, c->gyro, c->n_gyro, c->gyro_set, check, err, errlen);
        if (r < 0)
                return r;

        /* Output positions: accelerometer channels first, then gyroscope. */
        int pos = 0;
        s->acc_first = 0;
        s->acc_n = 0;
        s->gyro_n = 0;
        for (int k = 0; k < s->n_dev; k++)
                for (int i = 0; i < s->dev[k].n; i++)
                        if (iio_channel_get_type(s->dev[k].ch[i]) != IIO_ANGL_VEL) {
                                s->dev[k].out[i] = pos++;
                                s->acc_n++;
                        }
        s->gyro_first = pos;
        for (int k = 0; k < s->n_dev; k++)
                for (int i = 0; i < s->dev[k].n; i++)
                        if (iio_channel_get_type(s->dev[k].ch[i]) == IIO_ANGL_VEL) {
                                s->dev[k].out[i] = pos++;
                                s->gyro_n++;
                        }
        if (pos == 0)
                return gw_error(err, errlen, ENOENT, "%s '%s': none of the configured channels exist",
                                "device", c->device);
        if (s->n_dev == 2 && (s->dev[0].n == 0 || s->dev[1].n == 0))
                return gw_error(err, errlen, ENOENT, "%s: no channel left on one of the two devices",
                                c->gyro_device);

        if (check) {
                if (pos != s->n_out)
                        return gw_error(err, errlen, ENOENT, "the channels changed: %d now, %d at start",
                                        pos, s->n_out);
                for (int k = 0; k < s->n_dev; k++)
                        for (int i = 0; i < s->dev[k].n; i++) {
                                char nb[32];
                                if (strcmp(channel_name(s->dev[k].ch[i], nb, sizeof nb),
                                           s->desc.ch[s->dev[k].out[i]].name))
                                        return gw_error(err, errlen, ENOENT, "the channels changed since start");
                        }
        }
        s->n_out = pos;

        /* Hardware timestamps, unless turned off. */
        for (int k = 0; k < s->n_dev; k++) {
                IioDev *d = &s->dev[k];
                struct iio_channel *ts = iio_device_find_channel(d->dev, "timestamp", false);
                d->want_ts = ts && iio_channel_is_scan_element(ts) && c->timestamps != TS_ARRIVAL;
                if (!d->want_ts && c->timestamps == TS_HARDWARE)
                        return gw_error(err, errlen, ENOENT, "%s '%s' has no timestamp channel (timestamps = hardware)",
                                        d->key, d->want);
                d->ts = d->want_ts ? ts : NULL;
        }
        /* Two devices share one clock only if both have hardware time. */
        if (s->n_dev == 2 && (!s->dev[0].ts) != (!s->dev[1].ts)) {
                if (c->timestamps == TS_HARDWARE)
                        return gw_error(err, errlen, ENOENT, "%s and %s: only one has a timestamp channel",
                                        c->device, c->gyro_device);
                s->dev[0].ts = s->dev[1].ts = NULL;
        }
        return 0;
}

static void read_calibration(IioSource *s, IioDev *d)
{
        for (int i = 0; i < d->n; i++) {
                const struct iio_data_format *f = iio_channel_get_data_format(d->ch[i]);
                double v;
                d->scale[i] = f && f->with_scale ? f->scale : 1.0;
                d->offset[i] = 0;
                if (iio_channel_attr_read_double(d->ch[i], "scale", &v) == 0 && isfinite(v))
                        d->scale[i] = v;
                if (iio_channel_attr_read_double(d->ch[i], "offset", &v) == 0 && isfinite(v))
                        d->offset[i] = v;
        }
}

/* The mount matrix of a group applies when the group has all three axes. */
static void read_mount(IioSource *s)
{
        for (int g = 0; g < 2; g++) {
                int first = g ? s->gyro_first : s->acc_first, n = g ? s->gyro_n : s->acc_n;
                struct iio_channel *ch = NULL;
                IioDev *d = NULL;
                char buf[256];

                s->mount[g] = false;
                if (!s->conf.mount_matrix || n != 3)
                        continue;
                for (int k = 0; k < s->n_dev && !ch; k++)
                        for (int i = 0; i < s->dev[k].n; i++)
                                if (s->dev[k].out[i] == first) {
                                        ch = s->dev[k].ch[i];
                                        d = &s->dev[k];
                                }
                if (!ch || attr_read(d->dev, ch, "mount_matrix", buf, sizeof buf) < 0)
                        continue;
                if (parse_matrix(buf, s->m[g]) < 0) {
                        log_warning("device %s: ignoring an unreadable mount matrix '%s'", s->ls.device_id,
                                    buf);
                        continue;
                }
                s->mount[g] = !is_identity(s->m[g]);
        }
}

static void close_context(IioSource *s)
{
        if (s->ctx)
                iio_context_destroy(s->ctx);
        s->ctx = NULL;
        free(s->uri_copy);
        s->uri_copy = NULL;
        for (int k = 0; k < 2; k++) {
                s->dev[k].dev = NULL;
                s->dev[k].buf = NULL;
                s->dev[k].ts = NULL;
                for (int i = 0; i < MAX_CH; i++)
                        s->dev[k].ch[i] = NULL;
        }
}

/* ---- timestamps -------------------------------------------------------- */

static int64_t convert_ts(IioDev *d, const uint8_t *p)
{
        int64_t v = 0;
        iio_channel_convert(d->ts, &v, p + d->ts_off);
        return v;
}

/* Stamps the n samples of one refill that arrived at rx. */
static void stamp(IioSource *s, IioDev *d, const uint8_t *data, size_t n, int64_t rx)
{
        double period = 1e9 / s->rate;

        if (d->ts) {
                int64_t last_hw = convert_ts(d, data + (n - 1) * d->step);
                int64_t mapped = last_hw + s->ts_offset;
                /* Hardware time keeps the spacing; one offset per opening puts
                 * it on the monotonic clock, re-anchored if it disagrees with
                 * arrival by more than latency can explain. */
                if (!s->ts_anchored || mapped > rx + GW_NSEC_PER_SEC || mapped < rx - RESYNC_NS) {
                        s->ts_offset = rx - last_hw;
                        s->ts_anchored = true;
                }
                for (size_t i = 0; i < n; i++) {
                        int64_t t = convert_ts(d, data + i * d->step) + s->ts_offset;
                        if (d->has_last && t <= d->last_t)
                                t = d->last_t + 1;
                        d->t[i] = d->last_t = t;
                        d->has_last = true;
                }
                return;
        }

        /* Arrival times: the refill's last sample arrived at rx.  Smooth the
         * arrivals around the nominal rate so scheduling jitter stays out. */
        int64_t end, start;
        if (!d->has_last) {
                end = rx;
                start = rx - (int64_t) llround(period * (double) n);
        } else {
                int64_t expect = d->last_t + (int64_t) llround(period * (double) n);
                int64_t e = rx - expect;
                end = e > RESYNC_NS / 4 || e < -RESYNC_NS / 4 ? rx : expect + e / 16;
                start = d->last_t;
                if (end <= start)
                        end = start + (int64_t) n;
                if (e > RESYNC_NS / 4)
                        start = rx - (int64_t) llround(period * (double) n);
                if (start < d->last_t)
                        start = d->last_t;
        }
        for (size_t i = 0; i < n; i++) {
                int64_t t = start + (int64_t) llround((double) (end - start) * (double) (i + 1) / (double) n);
                if (d->has_last && t <= d->last_t)
                        t = d->last_t + 1;
                d->t[i] = d->last_t = t;
                d->has_last = true;
        }
}

/* ---- samples ----------------------------------------------------------- */

static void rotate(IioSource *s, float *v)
{
        for (int g = 0; g < 2; g++) {
                float *x = v + (g ? s->gyro_first : s->acc_first), y[3];
                if (!s->mount[g])
                        continue;
                for (int i = 0; i < 3; i++)
                        y[i] = (float) (s->m[g][i][0] * x[0] + s->m[g][i][1] * x[1] + s->m[g][i][2] * x[2]);
                memcpy(x, y, sizeof y);
        }
}

static float convert_value(IioDev *d, int i, const uint8_t *p)
{
        const struct iio_data_format *f = iio_channel_get_data_format(d->ch[i]);
        union { int8_t s8; uint8_t u8; int16_t s16; uint16_t u16; int32_t s32; uint32_t u32;
                int64_t s64; uint64_t u64; } u = { .u64 = 0 };
        double raw;

        iio_channel_convert(d->ch[i], &u, p + d->off[i]);
        switch (f->length) {
        case 8: raw = f->is_signed ? (double) u.s8 : (double) u.u8; break;
        case 16: raw = f->is_signed ? (double) u.s16 : (double) u.u16; break;
        case 32: raw = f->is_signed ? (double) u.s32 : (double) u.u32; break;
        default: raw = f->is_signed ? (double) u.s64 : (double) u.u64; break;
        }
        return (float) ((raw + d->offset[i]) * d->scale[i]);
}

static void emit(IioSource *s, size_t n, const int64_t *t, float *v)
{
        for (size_t i = 0; i < n; i++)
                rotate(s, v + i * s->n_out);
        recorder_samples(s->ls.recorder, n, t, v);
        if (n && s->ls.cb.samples)
                s->ls.cb.samples(s->ls.userdata, n, t, v);
}

/* Two devices: delivers the primary's samples once the secondary has
 * samples at or after them, with the gyroscope linearly interpolated. */
static void merge_flush(IioSource *s)
{
        size_t done = 0;

        while (done < s->pend_n && s->ring_n > 0) {
                int64_t t = s->pend_t[done];
                size_t newest = (s->ring_head + s->ring_n - 1) % s->ring_cap;
                if (s->ring_t[newest] < t)
                        break;
                /* the last ring sample at or before t, and the one after it */
                size_t a = s->ring_head, b = a;
                for (size_t k = 0; k < s->ring_n; k++) {
                        size_t idx = (s->ring_head + k) % s->ring_cap;
                        if (s->ring_t[idx] <= t)
                                a = idx;
                        else {
                                b = idx;
                                break;
                        }
                        b = idx;
                }
                float *out = s->pend_v + done * s->n_out + s->gyro_first;
                const float *va = s->ring_v + a * s->gyro_n, *vb = s->ring_v + b * s->gyro_n;
                double w = 0;
                if (s->ring_t[b] > s->ring_t[a] && t > s->ring_t[a])
                        w = (double) (t - s->ring_t[a]) / (double) (s->ring_t[b] - s->ring_t[a]);
                for (int c = 0; c < s->gyro_n; c++)
                        out[c] = (float) (va[c] + w * (vb[c] - va[c]));
                done++;
                /* forget ring samples no later sample will need */
                while (s->ring_n > 2 && s->ring_head != a) {
                        s->ring_head = (s->ring_head + 1) % s->ring_cap;
                        s->ring_n--;
                }
        }
        if (done) {
                emit(s, done, s->pend_t, s->pend_v);
                memmove(s->pend_t, s->pend_t + done, (s->pend_n - done) * sizeof *s->pend_t);
                memmove(s->pend_v, s->pend_v + done * s->n_out,
                        (s->pend_n - done) * s->n_out * sizeof *s->pend_v);
                s->pend_n -= done;
        }
}

static void source_fail(IioSource *s, const char *why);

static void process(IioSource *s, IioDev *d, const uint8_t *data, size_t bytes, int64_t rx)
{
        size_t n = bytes / d->step;

        if (bytes % d->step && !d->partial_logged) {
                log_warning("device %s: %s delivered %zu bytes, not a whole number of %zu-byte samples",
                            s->ls.device_id, d->want, bytes, d->step);
                d->partial_logged = true;
        }
        if (n == 0)
                return;
        if (n > d->cap)
                n = d->cap;
        s->refills++;
        stamp(s, d, data, n, rx);
        for (size_t i = 0; i < n; i++) {
                float *v = d->v + i * s->n_out;
                for (int c = 0; c < d->n; c++)
                        v[d->out[c]] = convert_value(d, c, data + i * d->step);
        }

        ev_timer_again(s->ls.loop, &s->stall);
        if (!s->ls.up) {
                s->failures = 0;
                backoff_reset(&s->ls.backoff);
                log_info("device %s: streaming from %s", s->ls.device_id, s->address);
                link_state_up(&s->ls);
        }

        if (s->n_dev == 1) {
                emit(s, n, d->t, d->v);
                return;
        }
        if (d == &s->dev[0]) {
                size_t room = s->ring_cap - s->pend_n;  /* pend has the same capacity */
                if (n > room) {
                        /* The secondary is late: the oldest primary samples go. */
                        size_t drop = n - room;
                        if (drop > s->pend_n)
                                drop = s->pend_n;
                        memmove(s->pend_t, s->pend_t + drop, (s->pend_n - drop) * sizeof *s->pend_t);
                        memmove(s->pend_v, s->pend_v + drop * s->n_out,
                                (s->pend_n - drop) * s->n_out * sizeof *s->pend_v);
                        s->pend_n -= drop;
                        s->dropped += drop;
                }
                for (size_t i = 0; i < n && s->pend_n < s->ring_cap; i++) {
                        s->pend_t[s->pend_n] = d->t[i];
                        memcpy(s->pend_v + s->pend_n * s->n_out, d->v + i * s->n_out,
                               s->n_out * sizeof(float));
                        s->pend_n++;
                }
        } else {
                for (size_t i = 0; i < n; i++) {
                        size_t idx;
                        if (s->ring_n == s->ring_cap) {
                                s->ring_head = (s->ring_head + 1) % s->ring_cap;
                                s->ring_n--;
                        }
                        idx = (s->ring_head + s->ring_n) % s->ring_cap;
                        s->ring_t[idx] = d->t[i];
                        memcpy(s->ring_v + idx * s->gyro_n, d->v + i * s->n_out + s->gyro_first,
                               s->gyro_n * sizeof(float));
                        s->ring_n++;
                }
        }
        merge_flush(s);
}

/* ---- reading ----------------------------------------------------------- */

static void local_cb(struct ev_loop *loop, ev_io *w, int revents)
{
        IioDev *d = w->data;
        IioSource *s = d->src;
        ssize_t r = iio_buffer_refill(d->buf);
        char why[128];

        if (r == -EAGAIN)
                return;
        if (r < 0) {
                snprintf(why, sizeof why, "%s: read error: %s", d->want, strerror((int) -r));
                source_fail(s, why);
                return;
        }
        process(s, d, iio_buffer_start(d->buf), (size_t) r, mono_ns());
}

static void *reader_thread(void *p)
{
        IioDev *d = p;

        for (;;) {
                ssize_t r = iio_buffer_refill(d->buf);
                RefillHeader h = { .status = r < 0 ? (int32_t) r : (int32_t) 0, .rx_ns = mono_ns() };
                struct iovec iov[2] = {
                        { .iov_base = &h, .iov_len = sizeof h },
                        { .iov_base = r > 0 ? iio_buffer_start(d->buf) : NULL,
                          .iov_len = r > 0 ? (size_t) r : 0 },
                };
                struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
                if (sendmsg(d->sock[1], &m, MSG_NOSIGNAL) < 0 || r < 0)
                        break;
        }
        return NULL;
}

static void thread_cb(struct ev_loop *loop, ev_io *w, int revents)
{
        IioDev *d = w->data;
        IioSource *s = d->src;
        size_t max = sizeof(RefillHeader) + d->cap * d->step;
        ssize_t k = recv(d->sock[0], d->msg, max, MSG_DONTWAIT);
        RefillHeader h;
        char why[128];

        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k < (ssize_t) sizeof h) {
                snprintf(why, sizeof why, "%s: reader ended", d->want);
                source_fail(s, why);
                return;
        }
        memcpy(&h, d->msg, sizeof h);
        if (h.status < 0) {
                if (h.status == -ETIMEDOUT)
                        snprintf(why, sizeof why, "%s: stalled (no samples within the timeout)", d->want);
                else
                        snprintf(why, sizeof why, "%s: read error: %s", d->want, strerror(-h.status));
                if (h.status == -ETIMEDOUT)
                        s->stalls++;
                source_fail(s, why);
                return;
        }
        process(s, d, d->msg + sizeof h, (size_t) k - sizeof h, h.rx_ns);
}

static void stop_reader(IioSource *s, IioDev *d)
{
        ev_io_stop(s->ls.loop, &d->io);
        if (d->thread_running) {
                iio_buffer_cancel(d->buf);
                shutdown(d->sock[0], SHUT_RDWR);
                pthread_join(d->thread, NULL);
                d->thread_running = false;
        }
        for (int i = 0; i < 2; i++)
                if (d->sock[i] >= 0) {
                        close(d->sock[i]);
                        d->sock[i] = -1;
                }
        if (d->buf)
                iio_buffer_destroy(d->buf);
        d->buf = NULL;
        d->threaded = false;
}

static void teardown(IioSource *s)
{
        for (int k = 0; k < s->n_dev; k++)
                stop_reader(s, &s->dev[k]);
        close_context(s);
        ev_timer_stop(s->ls.loop, &s->stall);
        s->pend_n = s->ring_n = s->ring_head = 0;
        s->ts_anchored = false;
}

static int start_reader(IioSource *s, IioDev *d, char *err, size_t errlen)
{
        unsigned nch = iio_device_get_channels_count(d->dev);
        int r, fd;

        /* Exactly our channels make up the scan. */
        for (unsigned i = 0; i < nch; i++) {
                struct iio_channel *ch = iio_device_get_channel(d->dev, i);
                if (iio_channel_is_scan_element(ch))
                        iio_channel_disable(ch);
        }
        for (int i = 0; i < d->n; i++)
                iio_channel_enable(d->ch[i]);
        if (d->ts)
                iio_channel_enable(d->ts);

        d->cap = s->cap;
        d->buf = iio_device_create_buffer(d->dev, d->cap, false);
        if (!d->buf) {
                int e = errno ? errno : EIO;
                return gw_error(err, errlen, e, "%s: cannot create a %zu-sample buffer: %s", d->want,
                                d->cap, strerror(e));
        }
        d->step = (size_t) iio_buffer_step(d->buf);
        for (int i = 0; i < d->n; i++)
                d->off[i] = (size_t) ((uint8_t *) iio_buffer_first(d->buf, d->ch[i]) -
                                      (uint8_t *) iio_buffer_start(d->buf));
        if (d->ts)
                d->ts_off = (size_t) ((uint8_t *) iio_buffer_first(d->buf, d->ts) -
                                      (uint8_t *) iio_buffer_start(d->buf));
        if (!d->step)
                return gw_error(err, errlen, EINVAL, "%s: empty scan", d->want);

        r = iio_buffer_set_blocking_mode(d->buf, false);
        fd = r == 0 ? iio_buffer_get_poll_fd(d->buf) : r;
        if (fd >= 0) {
                ev_io_init(&d->io, local_cb, fd, EV_READ);
                d->io.data = d;
                ev_io_start(s->ls.loop, &d->io);
                return 0;
        }

        /* No poll fd (the network backend): a reader thread. */
        free(d->msg);
        d->msg = malloc(sizeof(RefillHeader) + d->cap * d->step);
        if (!d->msg)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, d->sock) < 0)
                return gw_error(err, errlen, errno, "socketpair: %s", strerror(errno));
        int sz = (int) (4 * (sizeof(RefillHeader) + d->cap * d->step));
        setsockopt(d->sock[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        r = pthread_create(&d->thread, NULL, reader_thread, d);
        if (r != 0)
                return gw_error(err, errlen, r, "cannot start a reader thread: %s", strerror(r));
        d->thread_running = true;
        d->threaded = true;
        ev_io_init(&d->io, thread_cb, d->sock[0], EV_READ);
        d->io.data = d;
        ev_io_start(s->ls.loop, &d->io);
        return 0;
}

static int source_connect(IioSource *s, char *err, size_t errlen)
{
        int r = resolve(s, true, err, errlen);
        double got;

        if (r < 0)
                return r;
        /* A network refill must not time out before a buffer can fill; the
         * server gets half of the client's timeout. */
        unsigned timeout_ms = (unsigned) (2000 * s->stall_s);
        r = iio_context_set_timeout(s->ctx, timeout_ms);
        if (r < 0)
                log_debug("device %s: cannot set the context timeout: %s", s->ls.device_id, strerror(-r));
        for (int k = 0; k < s->n_dev; k++) {
                r = set_rate(s, &s->dev[k], s->rate, &got, err, errlen);
                if (r < 0)
                        return r;
                read_calibration(s, &s->dev[k]);
        }
        read_mount(s);
        for (int k = 0; k < s->n_dev; k++) {
                r = start_reader(s, &s->dev[k], err, errlen);
                if (r < 0)
                        return r;
        }
        /* Opening may have taken a while (a network round trip per
         * attribute): the stall clock starts now, not at the loop's last wake. */
        ev_now_update(s->ls.loop);
        ev_timer_set(&s->stall, 0, s->stall_s);
        ev_timer_again(s->ls.loop, &s->stall);
        return 0;
}

static void schedule_retry(IioSource *s)
{
        double delay = link_state_retry_delay(&s->ls);
        ev_now_update(s->ls.loop);
        ev_timer_stop(s->ls.loop, &s->retry);
        ev_timer_set(&s->retry, delay, 0);
        ev_timer_start(s->ls.loop, &s->retry);
}

static void source_fail(IioSource *s, const char *why)
{
        teardown(s);
        s->reopens++;
        if (s->ls.up)
                log_warning("device %s: %s; reopening", s->ls.device_id, why);
        else
                log_debug("device %s: %s", s->ls.device_id, why);
        link_state_down(&s->ls, why);
        if (s->ls.running)
                schedule_retry(s);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        IioSource *s = w->data;
        char err[GW_ERR_MAX];
        int r;

        if (!s->ls.running)
                return;
        r = source_connect(s, err, sizeof err);
        if (r == 0)
                return;
        teardown(s);
        s->failures++;
        /* Say it once loudly, then quietly while it keeps failing. */
        if (s->failures == 1)
                log_warning("device %s: %s; retrying", s->ls.device_id, err);
        else
                log_debug("device %s: attempt %u: %s", s->ls.device_id, s->failures, err);
        schedule_retry(s);
}

static void stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        IioSource *s = w->data;
        char why[96];

        s->stalls++;
        snprintf(why, sizeof why, "stalled: no samples for %.1f s", s->stall_s);
        source_fail(s, why);
}

/* ---- lifecycle --------------------------------------------------------- */

static Source *iio_close(Source *base);

static int alloc_buffers(IioSource *s)
{
        s->ring_cap = s->cap * MERGE_FACTOR;
        for (int k = 0; k < 2; k++) {
                s->dev[k].t = calloc(s->cap, sizeof(int64_t));
                s->dev[k].v = calloc(s->cap * (size_t) s->n_out, sizeof(float));
                if (!s->dev[k].t || !s->dev[k].v)
                        return -ENOMEM;
        }
        if (s->n_dev == 2) {
                s->pend_t = calloc(s->ring_cap, sizeof(int64_t));
                s->pend_v = calloc(s->ring_cap * (size_t) s->n_out, sizeof(float));
                s->ring_t = calloc(s->ring_cap, sizeof(int64_t));
                s->ring_v = calloc(s->ring_cap * (size_t) (s->gyro_n ? s->gyro_n : 1), sizeof(float));
                if (!s->pend_t || !s->pend_v || !s->ring_t || !s->ring_v)
                        return -ENOMEM;
        }
        return 0;
}

static int iio_open(const SourceParams *p, Source **ret, char *err, size_t errlen)
{
        const IioConf *c = p->conf;
        IioSource *s = calloc(1, sizeof *s);
        double got = 0;
        int r;

        if (!s)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        r = iio_functions_load(err, errlen);
        if (r < 0) {
                free(s);
                return r;
        }
        s->base.kind = &source_iio;
        s->conf = *c;
        s->conf.uri = strdup(c->uri);
        if (recorder_conf_copy(&s->conf.rec, &c->rec) < 0)
                s->conf.rec.path = NULL;
        for (int k = 0; k < 2; k++)
                s->dev[k].sock[0] = s->dev[k].sock[1] = -1;
        if (!s->conf.uri || link_state_init(&s->ls, p, c->reopen_min, c->reopen_max) < 0 ||
            asprintf(&s->address, "iio:%s/%s%s%s", c->uri, c->device, c->gyro_device[0] ? "+" : "",
                     c->gyro_device) < 0) {
                s->address = NULL;
                iio_close(&s->base);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }

        /* Describe the stream from the device itself; it is closed again
         * until start(). */
        r = resolve(s, false, err, errlen);
        if (r == 0)
                r = set_rate(s, &s->dev[0], p->rate_hz, &got, err, errlen);
        if (r < 0) {
                iio_close(&s->base);
                return r;
        }
        s->rate = got;
        s->desc.n = s->n_out;
        s->desc.rate_hz = got;
        for (int k = 0; k < s->n_dev; k++)
                for (int i = 0; i < s->dev[k].n; i++) {
                        gw_channel_desc *cd = &s->desc.ch[s->dev[k].out[i]];
                        char nb[32];
                        snprintf(cd->name, sizeof cd->name, "%s", channel_name(s->dev[k].ch[i], nb, sizeof nb));
                        snprintf(cd->unit, sizeof cd->unit, "%s", channel_unit(s->dev[k].ch[i]));
                }
        close_context(s);

        /* One refill per window hop: libiio sets the kernel's watermark to
         * the refill size, so a window completes as its last refill arrives. */
        s->cap = c->buffer > 0 ? (size_t) c->buffer :
                 p->hop_s > 0 ? (size_t) llround(p->hop_s * got) : (size_t) llround(got / 10);
        if (s->cap < 1)
                s->cap = 1;
        if (s->cap > MAX_BUFFER)
                s->cap = MAX_BUFFER;
        /* A stall is a silence longer than the timeout and than three refills. */
        s->stall_s = c->timeout;
        if (s->stall_s < 3.0 * (double) s->cap / got)
                s->stall_s = 3.0 * (double) s->cap / got;
        if (alloc_buffers(s) < 0) {
                iio_close(&s->base);
                return gw_error(err, errlen, ENOMEM, "out of memory");
        }
        ev_init(&s->stall, stall_cb);
        s->stall.data = s;
        ev_init(&s->retry, retry_cb);
        s->retry.data = s;
        *ret = &s->base;
        return 0;
}

static int iio_start(Source *base)
{
        IioSource *s = (IioSource *) base;
        char err[GW_ERR_MAX];
        int r;

        if (s->ls.running)
                return 0;
        link_state_start(&s->ls, &s->conf.rec, s->address, &s->desc);
        r = source_connect(s, err, sizeof err);
        if (r < 0) {
                teardown(s);
                s->failures = 1;
                log_warning("device %s: %s; retrying", s->ls.device_id, err);
                schedule_retry(s);
        }
        return 0;
}

static void iio_stop(Source *base)
{
        IioSource *s = (IioSource *) base;

        if (!s->ls.running)
                return;
        s->ls.running = false;
        ev_timer_stop(s->ls.loop, &s->retry);
        teardown(s);
        link_state_stop(&s->ls);
}

static Source *iio_close(Source *base)
{
        IioSource *s = (IioSource *) base;

        if (!s)
                return NULL;
        if (s->ls.loop) {
                iio_stop(base);
                ev_timer_stop(s->ls.loop, &s->retry);
                ev_timer_stop(s->ls.loop, &s->stall);
        }
        close_context(s);
        for (int k = 0; k < 2; k++) {
                free(s->dev[k].t);
                free(s->dev[k].v);
                free(s->dev[k].msg);
        }
        free(s->pend_t);
        free(s->pend_v);
        free(s->ring_t);
        free(s->ring_v);
        free(s->conf.uri);
        recorder_conf_done(&s->conf.rec);
        link_state_done(&s->ls);
        free(s->address);
        free(s);
        return NULL;
}

static const gw_source_desc *iio_describe(const Source *base)
{
        return &((const IioSource *) base)->desc;
}

static const char *iio_address(const Source *base)
{
        return ((const IioSource *) base)->address;
}

static void iio_stats(const Source *base, SourceStats *ret)
{
        const IioSource *s = (const IioSource *) base;

        ret->link = s->ls.up ? "streaming" : s->ls.running ? "waiting" : "idle";
        ret->rate_hz = s->rate;
        ret->packets = s->refills;
        ret->packets_lost = s->dropped;
        ret->packets_malformed = 0;
        ret->reconnects = s->reopens;
}

const SourceKind source_iio = {
        .name = "iio",
        .conf_new = iio_conf_new,
        .conf_free = iio_conf_free,
        .conf_key = iio_conf_key,
        .conf_check = iio_conf_check,
        .open = iio_open,
        .start = iio_start,
        .stop = iio_stop,
        .close = iio_close,
        .describe = iio_describe,
        .address = iio_address,
        .stats = iio_stats,
};
