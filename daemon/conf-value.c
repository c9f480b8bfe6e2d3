/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf-value.h"
#include "gaitway/common.h"

int conf_parse_bool(const char *v, bool *ret, char *err, size_t errlen)
{
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };
        for (size_t i = 0; i < 4; i++) {
                if (!strcasecmp(v, yes[i])) {
                        *ret = true;
                        return 0;
                }
                if (!strcasecmp(v, no[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return gw_error(err, errlen, EINVAL, "expected yes or no, got '%s'", v);
}

int conf_parse_int(const char *v, long min, long max, long *ret, char *err, size_t errlen)
{
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (!*v || *end || errno || x < min || x > max)
                return gw_error(err, errlen, EINVAL, "expected an integer in %ld..%ld, got '%s'",
                                min, max, v);
        *ret = x;
        return 0;
}

int conf_parse_double(const char *v, double min, double max, double *ret, char *err, size_t errlen)
{
        char *end;
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x) || x < min || x > max)
                return gw_error(err, errlen, EINVAL, "expected a number in %g..%g, got '%s'",
                                min, max, v);
        *ret = x;
        return 0;
}

int conf_parse_string(const char *v, char *ret, size_t max, char *err, size_t errlen)
{
        size_t n = strlen(v);
        if (n == 0)
                return gw_error(err, errlen, EINVAL, "expected a value, got an empty string");
        if (n >= max)
                return gw_error(err, errlen, EINVAL, "value longer than %zu bytes", max - 1);
        memcpy(ret, v, n + 1);
        return 0;
}

bool conf_id_valid(const char *v)
{
        size_t n = strlen(v);
        if (n == 0 || n > 63)
                return false;
        for (const char *p = v; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
                        return false;
        return true;
}

int conf_parse_id(const char *v, char *ret, size_t max, char *err, size_t errlen)
{
        if (!conf_id_valid(v) || strlen(v) >= max)
                return gw_error(err, errlen, EINVAL,
                                "expected 1 to 63 of the characters A-Z a-z 0-9 . _ -, got '%s'", v);
        memcpy(ret, v, strlen(v) + 1);
        return 0;
}

size_t conf_credential_prefix(const char *v)
{
        static const char *const prefixes[] = { "$CREDENTIALS_DIRECTORY", "${CREDENTIALS_DIRECTORY}", "%d" };
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
                size_t n = strlen(prefixes[i]);
                if (!strncmp(v, prefixes[i], n) && v[n] == '/')
                        return n;
        }
        return 0;
}

int conf_parse_path(const char *v, const char *base_dir, char **ret, char *err, size_t errlen)
{
        char *p;
        if (!*v)
                return gw_error(err, errlen, EINVAL, "expected a path, got an empty string");
        if (strlen(v) >= PATH_MAX)
                return gw_error(err, errlen, EINVAL, "path longer than %d bytes", PATH_MAX - 1);
        size_t cred = conf_credential_prefix(v);
        if (cred) {
                /* systemd sets it for a unit with LoadCredential=; the
                 * directory is private to the service. */
                const char *dir = getenv("CREDENTIALS_DIRECTORY");
                if (!dir || dir[0] != '/')
                        return gw_error(err, errlen, ENOKEY, "%s: $CREDENTIALS_DIRECTORY is not set "
                                        "(set by systemd for a service with LoadCredential=)", v);
                if (strlen(dir) + strlen(v + cred) >= PATH_MAX)
                        return gw_error(err, errlen, EINVAL, "path longer than %d bytes", PATH_MAX - 1);
                if (asprintf(&p, "%s%s", dir, v + cred) < 0)
                        return gw_error(err, errlen, ENOMEM, "out of memory");
                free(*ret);
                *ret = p;
                return 0;
        }
        if (v[0] == '/' || !base_dir || !*base_dir) {
                p = strdup(v);
        } else if (asprintf(&p, "%s/%s", base_dir, v) < 0) {
                p = NULL;
        }
        if (!p)
                return gw_error(err, errlen, ENOMEM, "out of memory");
        free(*ret);
        *ret = p;
        return 0;
}

int conf_split(const char *v, char (*words)[32], int max, char *err, size_t errlen)
{
        int n = 0;
        const char *p = v;
        for (;;) {
                p += strspn(p, " \t,");
                if (!*p)
                        break;
                size_t len = strcspn(p, " \t,");
                if (n >= max)
                        return gw_error(err, errlen, EINVAL, "more than %d items", max);
                if (len >= 32)
                        return gw_error(err, errlen, EINVAL, "item '%.*s' longer than 31 bytes",
                                        (int) len, p);
                memcpy(words[n], p, len);
                words[n][len] = 0;
                n++;
                p += len;
        }
        return n;
}
