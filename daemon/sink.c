/* SPDX-License-Identifier: MIT */
#include "sink.h"

/* One entry per sink kind (one file each); events reach them in this order. */
const SinkKind *const sink_kinds[SINK_KINDS] = {
        &sink_log,
        &sink_mqtt,
        &sink_dbus,
};
