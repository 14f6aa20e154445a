/* fastconv: the single-channel filter kernel, instantiated once per ISA level
 * (the GEMM's numbering: 0 generic, 1 AVX2+FMA, 2 AVX-512) and dtype. */
#include "filter.h"
#include "isa.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#define FC_VBYTES FC_GENERIC_VBYTES
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

#if FC_X86_LEVELS
FC_LEVEL_BEGIN_AVX2
#define FC_VBYTES FC_AVX2_VBYTES
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
FC_LEVEL_END

FC_LEVEL_BEGIN_AVX512
#define FC_VBYTES FC_AVX512_VBYTES
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
FC_LEVEL_END

#define FC_F_CASES(SFX, ...)                                                                 \
    switch (level) {                                                        \
    case 2: fc_filter_item_avx512##SFX(__VA_ARGS__); return;                                 \
    case 1: fc_filter_item_avx2##SFX(__VA_ARGS__); return;                                   \
    default: fc_filter_item_generic##SFX(__VA_ARGS__); return;                               \
    }
#else
#define FC_F_CASES(SFX, ...) fc_filter_item_generic##SFX(__VA_ARGS__);
#endif

/* The level the kernel runs at: the requested one when this CPU has it, else
 * the baseline (resolved once per call, before the items run at it). */
int fc_filter_level(int level) { return fc_runnable_level(level); }

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
