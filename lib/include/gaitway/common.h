/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared limits and conventions of libgaitway.
 *
 * Conventions: functions return 0 (or a count) on success and a negative
 * errno on failure; functions that can fail on outside input take an error
 * buffer (char *err, size_t errlen) and write one line naming the file, line
 * or field at fault.  The library never logs and never aborts on bad input.
 * Nothing here allocates after the object that owns the memory is created. */

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GW_MAX_CHANNELS   128   /* model input channels (C) */
#define GW_MIN_CLASSES    2
#define GW_MAX_CLASSES    64    /* model classes (K) */
#define GW_MAX_WINDOW     4096  /* window length T in samples */
#define GW_MAX_INPUTS     32    /* raw input channels a front end consumes */
#define GW_NAME_MAX       32    /* channel, class and unit names incl. NUL */
#define GW_ID_MAX         64    /* model id, version, task incl. NUL */
#define GW_ERR_MAX        256   /* recommended size of error buffers */

#define GW_NSEC_PER_SEC   INT64_C(1000000000)

/* Formats an error message into err (if non-NULL) and returns -code (code is
 * a positive errno such as EINVAL).  Used by every parser in the library. */
int gw_error(char *err, size_t errlen, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

const char *gw_version(void);

#ifdef __cplusplus
}
#endif
