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
                /* Messages quote outside input (a JSON key, a config value):
                 * a newline or terminal escape in it must not break the one
                 * line a log gets, nor forge another. */
                for (char *p = err; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                *p = '?';
        }
        return code > 0 ? -code : code;
}

const char *gw_version(void)
{
        return GW_VERSION;
}
