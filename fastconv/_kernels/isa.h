/* fastconv: the SIMD levels, defined once for every kernel source.
 *
 * Levels (numbered as gemm.h's FC_ISA_*): 0 generic (the target's baseline:
 * SSE2 on x86-64), 1 AVX2 + FMA, 2 AVX-512 (F + DQ). A kernel family is
 * written once over its element type and vector width (an *_impl.h using
 * FC_T, FC_SFX and FC_VBYTES with GCC vector extensions) and instantiated
 * once per level between that level's BEGIN macro and FC_LEVEL_END:
 *
 *     FC_LEVEL_BEGIN_AVX512
 *     #define FC_VBYTES FC_AVX512_VBYTES
 *     #define FC_T float
 *     #define FC_SFX _avx512_f32
 *     #include "family_impl.h"
 *     ...
 *     FC_LEVEL_END
 *
 * (a function-at-a-time source uses FC_AVX2_ATTR / FC_AVX512_ATTR instead),
 * and its entry point picks the instance with fc_cpu_level(). A kernel
 * source never names a target itself (`#pragma GCC target`,
 * `__attribute__((target(...)))`): tests/test_simd_levels.py checks the
 * sources for that, and checks with objdump that AVX-512 registers appear
 * only in functions whose names carry `avx512`.
 *
 * Emulated AVX-512 (FC_EMULATE_AVX512 = 1: the test build made with
 * FASTCONV_EMULATE_AVX512=1, see setup.py). The AVX-512 level is compiled for
 * AVX2 + FMA instead: its 64-byte vectors stay 64-byte GCC vectors, each
 * operation done as two 32-byte ones, and the level is selected on any CPU
 * with AVX2 + FMA. Its register blocking (MR, NR), packing, lane and tail
 * logic then run, and are checked by the test suite, on machines without
 * AVX-512, while the code path is the real level's. Such a build has no
 * AVX-512 instruction at all; it is for testing, never for distribution.
 *
 * Clang does not implement `#pragma GCC target`: there the regions are
 * `#pragma clang attribute` pushes of the same target attribute.
 */
#ifndef FASTCONV_ISA_H
#define FASTCONV_ISA_H

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define FC_X86_LEVELS 1
#else
#define FC_X86_LEVELS 0
#endif

#ifndef FC_EMULATE_AVX512
#define FC_EMULATE_AVX512 0
#endif

/* Vector width of each level, in bytes. */
#define FC_GENERIC_VBYTES 16
#define FC_AVX2_VBYTES 32
#define FC_AVX512_VBYTES 64

#if FC_X86_LEVELS

#define FC_AVX2_TARGET "avx2,fma"
#if FC_EMULATE_AVX512
#define FC_AVX512_TARGET "avx2,fma"
#else
#define FC_AVX512_TARGET "avx512f,avx512dq,avx2,fma"
#endif

#define FC_AVX2_ATTR __attribute__((target(FC_AVX2_TARGET)))
#define FC_AVX512_ATTR __attribute__((target(FC_AVX512_TARGET)))

#define FC_PRAGMA_(x) _Pragma(#x)
#if defined(__clang__)
#define FC_LEVEL_BEGIN_(t) \
    FC_PRAGMA_(clang attribute push(__attribute__((target(t))), apply_to = function))
#define FC_LEVEL_END FC_PRAGMA_(clang attribute pop)
#else
#define FC_LEVEL_BEGIN_(t) FC_PRAGMA_(GCC push_options) FC_PRAGMA_(GCC target(t))
#define FC_LEVEL_END FC_PRAGMA_(GCC pop_options)
#endif
#define FC_LEVEL_BEGIN_AVX2 FC_LEVEL_BEGIN_(FC_AVX2_TARGET)
#define FC_LEVEL_BEGIN_AVX512 FC_LEVEL_BEGIN_(FC_AVX512_TARGET)

/* Best level this CPU runs (in an emulating build, AVX2 + FMA run level 2). */
static inline int fc_cpu_level(void)
{
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
    if (FC_EMULATE_AVX512) return 2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) return 2;
    return 1;
}

/* Highest level compiled into this build. */
#define FC_ISA_COMPILED_MAX 2

#else /* not x86 with GCC or Clang: the generic level only */

static inline int fc_cpu_level(void) { return 0; }
#define FC_ISA_COMPILED_MAX 0

#endif /* FC_X86_LEVELS */

/* The level a kernel runs at: `level` when this CPU and build have it, else
 * the baseline. */
static inline int fc_runnable_level(int level)
{
    return (level < 0 || level > fc_cpu_level()) ? 0 : level;
}

#endif /* FASTCONV_ISA_H */
