/* SPDX-License-Identifier: MIT */
#pragma once

/* Logging of the daemon and the tool: one line per message on stderr.  Under
 * systemd (stderr connected to the journal, $JOURNAL_STREAM set) every line
 * carries an sd-daemon "<N>" priority prefix so journald keeps the level. */

#include <stdbool.h>
#include <syslog.h>

void log_set_max_level(int level);
int log_get_max_level(void);
/* Forces the "<N>" prefixes on or off (default: on when $JOURNAL_STREAM is set
 * or stderr is not a terminal). */
void log_set_prefix(bool on);
void log_set_ident(const char *ident);

/* Logs and returns -abs(error) (0 stays 0), so callers can write
 * `return log_error_errno(r, "...")`.  The message gets ": <strerror>"
 * appended when error is non-zero. */
int log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...)         log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...)       log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...)        log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...)          log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...)         log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...)   log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
