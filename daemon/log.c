/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;
static int prefix = -1;         /* -1: decide on first use */
static const char *ident;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_set_prefix(bool on)
{
        prefix = on;
}

void log_set_ident(const char *i)
{
        ident = i;
}

int log_internal(int level, int error, const char *fmt, ...)
{
        int saved = errno;
        int ret = error > 0 ? -error : error;

        if (level > max_level)
                return ret;
        if (prefix < 0)
                prefix = getenv("JOURNAL_STREAM") || !isatty(STDERR_FILENO);

        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        /* One fprintf per line keeps concurrent writers (tests capturing
         * stderr) from interleaving inside a line. */
        char pfx[8] = "";
        if (prefix)
                snprintf(pfx, sizeof pfx, "<%d>", level & 7);
        char line[2304];
        snprintf(line, sizeof line, "%s%s%s%s%s%s\n", pfx,
                 ident ? ident : "", ident ? ": " : "", msg,
                 error ? ": " : "", error ? strerror(-ret) : "");
        fputs(line, stderr);
        errno = saved;
        return ret;
}
