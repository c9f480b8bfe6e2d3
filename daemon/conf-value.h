/* SPDX-License-Identifier: MIT */
#pragma once

/* Parsers for configuration values, shared by conf.c and the source kinds.
 * Each returns 0 or -EINVAL with a short reason in err ("expected ...,
 * got '...'"); the caller prefixes the file, line, section and key. */

#include <stdbool.h>
#include <stddef.h>

int conf_parse_bool(const char *v, bool *ret, char *err, size_t errlen);
int conf_parse_int(const char *v, long min, long max, long *ret, char *err, size_t errlen);
int conf_parse_double(const char *v, double min, double max, double *ret, char *err, size_t errlen);
/* A non-empty string of at most max-1 bytes, copied into ret. */
int conf_parse_string(const char *v, char *ret, size_t max, char *err, size_t errlen);
/* An identifier: 1..63 of [A-Za-z0-9._-] (safe in MQTT topics, D-Bus paths
 * after escaping, Home Assistant ids). */
int conf_parse_id(const char *v, char *ret, size_t max, char *err, size_t errlen);
bool conf_id_valid(const char *v);
/* A path; relative paths are taken relative to base_dir (the directory of
 * the file the value came from) when base_dir is not NULL.  A path in
 * systemd's credential directory, `$CREDENTIALS_DIRECTORY/NAME` (also
 * `${CREDENTIALS_DIRECTORY}/NAME` or the unit-file specifier `%d/NAME`), is
 * expanded from the environment; -ENOKEY when the variable is unset (not
 * running as a service with LoadCredential=). */
int conf_parse_path(const char *v, const char *base_dir, char **ret, char *err, size_t errlen);
/* The length of the credential-directory prefix v starts with (up to and
 * without the '/'), or 0. */
size_t conf_credential_prefix(const char *v);

/* Splits a list on whitespace and commas into at most max words of at most
 * wordmax-1 bytes each.  Returns the number of words or -EINVAL. */
int conf_split(const char *v, char (*words)[32], int max, char *err, size_t errlen);
