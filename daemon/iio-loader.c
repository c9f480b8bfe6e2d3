/* SPDX-License-Identifier: MIT */
#define IIO_LOADER_IMPLEMENTATION
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>

#include "gaitway/common.h"
#include "iio-loader.h"

#define LIBIIO "libiio.so.0"

IioFunctions iio_functions;

int iio_functions_load(char *err, size_t errlen)
{
        static bool loaded;
        void *h;

        if (loaded)
                return 0;
        /* Kept for the life of the process: sources come and go on reloads. */
        h = dlopen(LIBIIO, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return gw_error(err, errlen, ENOENT, "the IIO source needs %s (package libiio0): %s", LIBIIO,
                                dlerror());
#define GW_IIO_LOAD(f)                                                                          \
        *(void **) (&iio_functions.f) = dlsym(h, #f);                                           \
        if (!iio_functions.f)                                                                   \
                return gw_error(err, errlen, ENOSYS, "%s lacks %s", LIBIIO, #f);
        GW_IIO_FUNCTIONS(GW_IIO_LOAD)
#undef GW_IIO_LOAD
        loaded = true;
        return 0;
}
