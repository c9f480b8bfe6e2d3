/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "ev-sdbus.h"

/* Messages handled per wake-up: a peer that sends faster than we handle
 * (a flood of signals or calls) must not keep the loop from its other
 * watchers.  What is left is handled on the next iteration: sd-bus then
 * asks for a zero timeout. */
#define PROCESS_MAX 64

static uint64_t mono_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

struct EvSdbus {
        sd_bus *bus;
        struct ev_loop *loop;
        ev_io io;
        ev_prepare prepare;
        ev_timer timer;
        ev_sdbus_error_cb on_error;
        void *userdata;
        int fd;
        int events;
        bool failed;
};

static void ev_sdbus_process(EvSdbus *e)
{
        int r;
        if (e->failed)
                return;
        /* sd_bus_process() handles one message per call. */
        int n = 0;
        do
                r = sd_bus_process(e->bus, NULL);
        while (r > 0 && ++n < PROCESS_MAX);
        if (r < 0) {
                e->failed = true;
                ev_io_stop(e->loop, &e->io);
                ev_timer_stop(e->loop, &e->timer);
                if (e->on_error)
                        e->on_error(e->userdata, r);
        }
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
        ev_sdbus_process(w->data);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
        ev_sdbus_process(w->data);
}

/* Before the loop sleeps: what sd-bus wants to wait for, and until when. */
static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
        EvSdbus *e = w->data;
        uint64_t usec;
        int events, fd;

        if (e->failed)
                return;
        fd = sd_bus_get_fd(e->bus);
        events = sd_bus_get_events(e->bus);
        if (fd < 0 || events < 0)
                return;
        int want = ((events & POLLIN) ? EV_READ : 0) | ((events & POLLOUT) ? EV_WRITE : 0);
        if (fd != e->fd || want != e->events) {
                ev_io_stop(loop, &e->io);
                ev_io_set(&e->io, fd, want);
                if (want)
                        ev_io_start(loop, &e->io);
                e->fd = fd;
                e->events = want;
        }

        ev_timer_stop(loop, &e->timer);
        if (sd_bus_get_timeout(e->bus, &usec) >= 0 && usec != UINT64_MAX) {
                uint64_t now = mono_usec();
                double after = usec > now ? (double) (usec - now) / 1e6 : 0;
                ev_timer_set(&e->timer, after, 0);
                ev_timer_start(loop, &e->timer);
        }
}

int ev_sdbus_attach(sd_bus *bus, struct ev_loop *loop, ev_sdbus_error_cb on_error, void *userdata,
                    EvSdbus **ret)
{
        EvSdbus *e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->bus = sd_bus_ref(bus);
        e->loop = loop;
        e->on_error = on_error;
        e->userdata = userdata;
        e->fd = -1;
        ev_init(&e->io, io_cb);
        e->io.data = e;
        ev_prepare_init(&e->prepare, prepare_cb);
        e->prepare.data = e;
        ev_prepare_start(loop, &e->prepare);
        ev_init(&e->timer, timer_cb);
        e->timer.data = e;
        /* Anything already queued is handled on the first iteration: the
         * prepare watcher sees a zero timeout. */
        *ret = e;
        return 0;
}

int ev_sdbus_flush(sd_bus *bus, uint64_t timeout_usec)
{
        uint64_t deadline = mono_usec() + timeout_usec;
        for (;;) {
                uint64_t queued = 0, now;
                int r = sd_bus_get_n_queued_write(bus, &queued);
                if (r < 0 || queued == 0)
                        return r < 0 ? r : 0;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                now = mono_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0)
                        return r;
        }
}

EvSdbus *ev_sdbus_detach(EvSdbus *e)
{
        if (!e)
                return NULL;
        ev_io_stop(e->loop, &e->io);
        ev_timer_stop(e->loop, &e->timer);
        ev_prepare_stop(e->loop, &e->prepare);
        sd_bus_unref(e->bus);
        free(e);
        return NULL;
}
