/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "gaitway/common.h"
#include "gw-config.h"

int gw_error(char *err, size_t errlen, int code, const char *fmt, ...)
{
        if (err && errlen > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return code > 0 ? -code : code;
}

const char *gw_version(void)
{
        return GW_VERSION;
}
