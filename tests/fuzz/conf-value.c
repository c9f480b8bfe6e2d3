/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the configuration value parsers (daemon/conf-value.c)
 * on one value as inih hands it over (one line, no NUL), with what each one
 * promises: a bool is yes or no, numbers are inside their range, an id
 * passes conf_id_valid, a path is absolute once a base directory is given
 * (credential paths only while $CREDENTIALS_DIRECTORY is set), and a split
 * list holds only non-empty words without separators.  Errors are one
 * line. */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf-value.h"
#include "gaitway/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused(int r, const char *err)
{
        if (r != -EINVAL || !err[0] || strchr(err, '\n'))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t n;
        char err[GW_ERR_MAX];
        char *v;

        /* One line without NUL, as the INI reader delivers it. */
        for (n = 0; n < size && data[n] != '\n' && data[n] != 0; n++)
                ;
        v = malloc(n + 1);
        if (!v)
                abort();
        memcpy(v, data, n);
        v[n] = 0;

        bool b;
        err[0] = 0;
        if (conf_parse_bool(v, &b, err, sizeof err) < 0)
                refused(-EINVAL, err);

        static const long ranges[][2] = { { 0, 2 }, { 1, 65535 }, { LONG_MIN, LONG_MAX }, { 5, 3600 } };
        for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
                long x = 0;
                err[0] = 0;
                int r = conf_parse_int(v, ranges[i][0], ranges[i][1], &x, err, sizeof err);
                if (r == 0 && (x < ranges[i][0] || x > ranges[i][1]))
                        abort();
                if (r < 0)
                        refused(r, err);
        }

        static const double dranges[][2] = { { 0.05, 3600 }, { 0, 1 }, { -1e300, 1e300 } };
        for (size_t i = 0; i < sizeof dranges / sizeof dranges[0]; i++) {
                double x = NAN;
                err[0] = 0;
                int r = conf_parse_double(v, dranges[i][0], dranges[i][1], &x, err, sizeof err);
                if (r == 0 && !(isfinite(x) && x >= dranges[i][0] && x <= dranges[i][1]))
                        abort();
                if (r < 0)
                        refused(r, err);
        }

        char s[GW_NAME_MAX], id[64];
        err[0] = 0;
        int r = conf_parse_string(v, s, sizeof s, err, sizeof err);
        if (r == 0 && (strlen(s) >= sizeof s || strcmp(s, v)))
                abort();
        if (r < 0)
                refused(r, err);

        err[0] = 0;
        r = conf_parse_id(v, id, sizeof id, err, sizeof err);
        if ((r == 0) != conf_id_valid(v) || (r == 0 && strcmp(id, v)))
                abort();
        if (r < 0)
                refused(r, err);

        /* Credential paths (%d/NAME, $CREDENTIALS_DIRECTORY/NAME) without
         * and with the variable systemd sets for LoadCredential=. */
        for (int cred = 0; cred < 2; cred++) {
                char *path = NULL;
                if (cred)
                        setenv("CREDENTIALS_DIRECTORY", "/run/credentials/gaitwayd.service", 1);
                else
                        unsetenv("CREDENTIALS_DIRECTORY");
                err[0] = 0;
                r = conf_parse_path(v, "/etc/gaitway", &path, err, sizeof err);
                if (r == 0 && (!path || path[0] != '/'))
                        abort();
                if (r == -ENOKEY && (cred || !err[0] || strchr(err, '\n')))
                        abort();
                if (r < 0 && r != -ENOMEM && r != -ENOKEY)
                        refused(r, err);
                free(path);
        }

        char words[GW_MAX_INPUTS][32];
        err[0] = 0;
        r = conf_split(v, words, GW_MAX_INPUTS, err, sizeof err);
        if (r > GW_MAX_INPUTS)
                abort();
        for (int i = 0; i < r; i++)
                if (!words[i][0] || strlen(words[i]) >= 32 || strpbrk(words[i], " \t,"))
                        abort();
        if (r < 0)
                refused(r, err);

        free(v);
        return 0;
}
