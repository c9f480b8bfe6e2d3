/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD shim for test-alloc.py: counts every call into the allocator
 * (malloc, calloc, realloc, reallocarray, aligned_alloc, posix_memalign,
 * memalign, valloc, free of a non-NULL pointer) made by the process, from
 * any library, and writes the counts to $GW_ALLOC_COUNT_OUT at exit.
 * The real functions come from glibc's __libc_* entry points, so the shim
 * needs no dlsym (which itself allocates). */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t a, size_t n);
extern void __libc_free(void *p);

static unsigned long allocs, frees;

static void count(unsigned long *c)
{
        __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
        count(&allocs);
        return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
        count(&allocs);
        return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
        count(&allocs);
        return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t n, size_t m)
{
        if (m && n > (size_t) -1 / m) {
                errno = ENOMEM;
                return NULL;
        }
        count(&allocs);
        return __libc_realloc(p, n * m);
}

void *memalign(size_t a, size_t n)
{
        count(&allocs);
        return __libc_memalign(a, n);
}

void *aligned_alloc(size_t a, size_t n)
{
        count(&allocs);
        return __libc_memalign(a, n);
}

void *valloc(size_t n)
{
        count(&allocs);
        return __libc_memalign((size_t) sysconf(_SC_PAGESIZE), n);
}

int posix_memalign(void **ret, size_t a, size_t n)
{
        void *p;

        if (a < sizeof(void *) || (a & (a - 1)))
                return EINVAL;
        count(&allocs);
        p = __libc_memalign(a, n);
        if (!p)
                return ENOMEM;
        *ret = p;
        return 0;
}

void free(void *p)
{
        if (p)
                count(&frees);
        __libc_free(p);
}

__attribute__((destructor)) static void report(void)
{
        const char *path = getenv("GW_ALLOC_COUNT_OUT");
        char line[96];
        int fd, n;

        if (!path)
                return;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        n = snprintf(line, sizeof line, "allocs %lu\nfrees %lu\n", allocs, frees);
        if (n > 0 && write(fd, line, (size_t) n) != n)
                n = -1;
        close(fd);
}
