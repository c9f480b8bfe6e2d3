/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "iio-run.h"

static void on_samples(void *userdata, size_t n, const int64_t *t, const float *v)
{
        IioRun *r = userdata;
        for (size_t i = 0; i < n && r->count < IIO_RUN_MAX; i++) {
                r->t[r->count] = t[i];
                memcpy(r->v + r->count * 6, v + i * r->n, (size_t) r->n * sizeof(float));
                r->count++;
        }
}

static void on_connected(void *userdata, bool connected, const char *reason)
{
        IioRun *r = userdata;
        r->connected = connected;
        if (connected)
                r->ups++;
        else
                r->downs++;
        snprintf(r->last_reason, sizeof r->last_reason, "%s", reason ? reason : "");
}

static const SourceCallbacks callbacks = {
        .samples = on_samples,
        .connected = on_connected,
};

int iio_run_open(IioRun *r, double sample_rate, const char *const *kv, char *err, size_t errlen)
{
        const SourceKind *k = source_kind_find("iio");
        DeviceConf dc = { .sample_rate = sample_rate };
        int ret;

        if (!k)
                return gw_error(err, errlen, ENOENT, "no iio source kind");
        if (!r->loop)
                r->loop = ev_loop_new(EVFLAG_AUTO);
        r->conf = k->conf_new();
        for (size_t i = 0; kv && kv[i]; i++) {
                char key[64];
                const char *eq = strchr(kv[i], '=');
                snprintf(key, sizeof key, "%.*s", (int) (eq - kv[i]), kv[i]);
                ret = k->conf_key(r->conf, key, eq + 1, NULL, err, errlen);
                if (ret <= 0)
                        return ret < 0 ? ret : gw_error(err, errlen, EINVAL, "unknown key %s", key);
        }
        ret = k->conf_check(r->conf, &dc, err, errlen);
        if (ret < 0)
                return ret;
        SourceParams p = { .loop = r->loop, .device_id = "imu", .conf = r->conf, .rate_hz = sample_rate,
                           .cb = &callbacks, .userdata = r };
        ret = k->open(&p, &r->src, err, errlen);
        if (ret < 0)
                return ret;
        r->desc = k->describe(r->src);
        r->n = r->desc->n;
        return k->start(r->src);
}

void iio_run_close(IioRun *r)
{
        const SourceKind *k = source_kind_find("iio");
        if (r->src)
                k->close(r->src);
        if (r->conf)
                k->conf_free(r->conf);
        r->src = NULL;
        r->conf = NULL;
        if (r->loop)
                ev_loop_destroy(r->loop);
        r->loop = NULL;
}

typedef struct {
        IioRun *r;
        bool (*done)(IioRun *r);
        bool finished;
} Wait;

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        Wait *wt = w->data;
        if (wt->r->tick)
                wt->r->tick(wt->r->userdata);
        if (wt->done && wt->done(wt->r)) {
                wt->finished = true;
                ev_break(loop, EVBREAK_ONE);
        }
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        ev_break(loop, EVBREAK_ONE);
}

bool iio_run_until(IioRun *r, double seconds, bool (*done)(IioRun *r))
{
        Wait wt = { .r = r, .done = done };
        ev_timer tick, deadline;

        ev_timer_init(&tick, tick_cb, 0.005, 0.005);
        tick.data = &wt;
        ev_timer_init(&deadline, deadline_cb, seconds, 0);
        ev_timer_start(r->loop, &tick);
        ev_timer_start(r->loop, &deadline);
        ev_run(r->loop, 0);
        ev_timer_stop(r->loop, &tick);
        ev_timer_stop(r->loop, &deadline);
        return wt.finished || (done && done(r));
}
