/* SPDX-License-Identifier: MIT */
/* Which instruction set the INT8 engine runs on.  Every path computes the
 * same integers (docs/int8.md); the choice is the fastest the CPU has, or
 * the one GW_ENGINE_ISA names (c, sse41, avx2, neon) so that tests and
 * benchmarks can run each path. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine-private.h"

static const char *const isa_names[GW_ISA_COUNT] = {
        [GW_ISA_C] = "c",
        [GW_ISA_SSE41] = "sse41",
        [GW_ISA_AVX2] = "avx2",
        [GW_ISA_NEON] = "neon",
};

const char *gw_isa_name(gw_isa isa)
{
        return isa >= 0 && isa < GW_ISA_COUNT ? isa_names[isa] : NULL;
}

bool gw_isa_supported(gw_isa isa)
{
        switch (isa) {
        case GW_ISA_C:
                return true;
#if defined(__x86_64__) || defined(__i386__)
        case GW_ISA_SSE41:
                return __builtin_cpu_supports("sse4.1");
        case GW_ISA_AVX2:
                /* libgcc and compiler-rt also check that the OS saves the
                 * YMM state (XGETBV) before reporting AVX2. */
                return __builtin_cpu_supports("avx2");
#endif
#if defined(__aarch64__)
        case GW_ISA_NEON:
                return true;   /* Advanced SIMD is part of ARMv8-A */
#endif
        default:
                return false;
        }
}

static int isa_from_name(const char *name)
{
        for (int i = 0; i < GW_ISA_COUNT; i++)
                if (!strcmp(name, isa_names[i]))
                        return i;
        return -EINVAL;
}

gw_isa gw_isa_default(void)
{
        static const gw_isa best_first[] = { GW_ISA_AVX2, GW_ISA_NEON, GW_ISA_SSE41 };
        const char *env = getenv("GW_ENGINE_ISA");

        if (env) {
                int i = isa_from_name(env);

                if (i >= 0 && gw_isa_supported((gw_isa) i))
                        return (gw_isa) i;
        }
        for (size_t i = 0; i < sizeof best_first / sizeof *best_first; i++)
                if (gw_isa_supported(best_first[i]))
                        return best_first[i];
        return GW_ISA_C;
}

const char *gw_engine_isa(const gw_engine *e)
{
        return e ? gw_isa_name(e->isa) : NULL;
}

int gw_engine_set_isa(gw_engine *e, const char *name)
{
        int i;

        if (!e || !name)
                return -EINVAL;
        i = isa_from_name(name);
        if (i < 0)
                return i;
        if (!gw_isa_supported((gw_isa) i))
                return -EOPNOTSUPP;
        e->isa = (gw_isa) i;
        return 0;
}
