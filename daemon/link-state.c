/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gaitway/common.h"
#include "link-state.h"
#include "log.h"

int link_state_init(LinkState *l, const SourceParams *p, double retry_min, double retry_max)
{
        *l = (LinkState) {
                .device_id = strdup(p->device_id),
                .loop = p->loop,
                .cb = *p->cb,
                .userdata = p->userdata,
        };
        if (!l->device_id)
                return -ENOMEM;
        /* Seeded per source: gateways and devices losing one link together
         * do not retry in lock-step. */
        backoff_init(&l->backoff, retry_min, retry_max, (uint32_t) (uintptr_t) l);
        return 0;
}

void link_state_done(LinkState *l)
{
        l->recorder = recorder_free(l->recorder);
        free(l->device_id);
        l->device_id = NULL;
}

void link_state_start(LinkState *l, const RecorderConf *rec, const char *address, const gw_source_desc *desc)
{
        char err[GW_ERR_MAX];

        if (rec->path && !l->recorder &&
            recorder_new(rec, l->loop, l->device_id, address, desc, &l->recorder, err, sizeof err) < 0)
                log_error("device %s: not recording: %s", l->device_id, err);
        l->running = true;
        backoff_reset(&l->backoff);
}

void link_state_stop(LinkState *l)
{
        l->running = false;
        l->recorder = recorder_free(l->recorder);
        link_state_down(l, "stopped");
}

bool link_state_up(LinkState *l)
{
        if (l->up)
                return false;
        l->up = true;
        if (l->cb.connected)
                l->cb.connected(l->userdata, true, NULL);
        return true;
}

bool link_state_down(LinkState *l, const char *why)
{
        if (!l->up)
                return false;
        l->up = false;
        if (l->cb.connected)
                l->cb.connected(l->userdata, false, why);
        return true;
}

double link_state_retry_delay(LinkState *l)
{
        return backoff_next(&l->backoff);
}
