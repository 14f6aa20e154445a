/* fastconv: the single-channel filter kernel, instantiated once per ISA level
 * (the GEMM's numbering: 0 generic, 1 AVX2+FMA, 2 AVX-512) and dtype. */
#include "filter.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define FC_F_X86 1
#else
#define FC_F_X86 0
#endif

#define FC_VBYTES 16
#define FC_FU 2
#define FC_T float
#define FC_SFX _generic_f32
#include "filter_impl.h"
#undef FC_T
#undef FC_SFX
#define FC_T double
#define FC_SFX _generic_f64
#include "filter_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES
#undef FC_FU

#if FC_F_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define FC_VBYTES 32
#define FC_FU 4
#define FC_T float
#define FC_SFX _avx2_f32
#include "filter_impl.h"
#undef FC_T
#undef FC_SFX
#define FC_T double
#define FC_SFX _avx2_f64
#include "filter_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES
#undef FC_FU
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#define FC_VBYTES 64
#define FC_FU 4
#define FC_T float
#define FC_SFX _avx512_f32
#include "filter_impl.h"
#undef FC_T
#undef FC_SFX
#define FC_T double
#define FC_SFX _avx512_f64
#include "filter_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES
#undef FC_FU
#pragma GCC pop_options

/* The level the kernel runs at: the requested one when this CPU has it, else the
 * baseline (resolved once per call, before the items run at it). */
int fc_filter_level(int level)
{
    __builtin_cpu_init();
    if (level >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 2;
    if (level >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 1;
    return 0;
}
#define FC_F_CASES(SFX, ...)                                                                 \
    switch (level) {                                                        \
    case 2: fc_filter_item_avx512##SFX(__VA_ARGS__); return;                                 \
    case 1: fc_filter_item_avx2##SFX(__VA_ARGS__); return;                                   \
    default: fc_filter_item_generic##SFX(__VA_ARGS__); return;                               \
    }
#else
int fc_filter_level(int level) { (void)level; return 0; }
#define FC_F_CASES(SFX, ...) fc_filter_item_generic##SFX(__VA_ARGS__);
#endif

void fc_filter_item_f32(int level, const fc_fgeom *g, const float *x, const float *w,
                        float *out, const int64_t *rmap, const int64_t *cmap, float fill,
                        int64_t item, float *buf, const float **rowp)
{
    FC_F_CASES(_f32, g, x, w, out, rmap, cmap, fill, item, buf, rowp)
}

void fc_filter_item_f64(int level, const fc_fgeom *g, const double *x, const double *w,
                        double *out, const int64_t *rmap, const int64_t *cmap, double fill,
                        int64_t item, double *buf, const double **rowp)
{
    FC_F_CASES(_f64, g, x, w, out, rmap, cmap, fill, item, buf, rowp)
}
