/* fastconv: direct convolution, implicit-im2col packing and the Winograd
 * transforms (see conv.h).
 *
 * The direct kernel and the Winograd transforms are instantiated once per ISA level (the same levels and
 * the same selection as the GEMM's, gemm.h) and dtype; the packing once per
 * dtype. */
#include "conv.h"
#include "gemm.h"

#include <string.h>

#if defined(__GNUC__)
#define FC_PREFETCH_R(p) __builtin_prefetch((p), 0, 3)
#else
#define FC_PREFETCH_R(p) ((void)(p))
#endif

/* The copy and fill loops here are short (a panel, a chunk's window): GCC
 * must not turn them into libc memmove/memset calls, which cost more than the
 * copies themselves. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define FC_X86_LEVELS 1
#else
#define FC_X86_LEVELS 0
#endif


/* Baseline: 16-byte vectors (SSE2 on x86-64). */
#define FC_VBYTES 16
#define FC_T float
#define FC_SFX _generic_f32
#include "direct_impl.h"
#include "winograd_impl.h"
#undef FC_T
#undef FC_SFX
#define FC_T double
#define FC_SFX _generic_f64
#include "direct_impl.h"
#include "winograd_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES

#if FC_X86_LEVELS
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define FC_VBYTES 32
#define FC_T float
#define FC_SFX _avx2_f32
#include "direct_impl.h"
#include "winograd_impl.h"
#undef FC_T
#undef FC_SFX
#define FC_T double
#define FC_SFX _avx2_f64
#include "direct_impl.h"
#include "winograd_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#define FC_VBYTES 64
#define FC_T float
#define FC_SFX _avx512_f32
#include "direct_impl.h"
#include "winograd_impl.h"
#undef FC_T
#undef FC_SFX
#define FC_T double
#define FC_SFX _avx512_f64
#include "direct_impl.h"
#include "winograd_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES
#pragma GCC pop_options
#endif

#define FC_T float
#define FC_IDX int32_t
#define FC_IS_F64 0
#define FC_SFX _f32
#include "im2col_impl.h"
#undef FC_T
#undef FC_IDX
#undef FC_IS_F64
#undef FC_SFX
#define FC_T double
#define FC_IDX int64_t
#define FC_IS_F64 1
#define FC_SFX _f64
#include "im2col_impl.h"
#undef FC_T
#undef FC_IDX
#undef FC_IS_F64
#undef FC_SFX

/* The level the direct kernel runs at: the requested one if this CPU and
 * build support it, else the baseline (the GEMM's rule, gemm.h). */
static int fc_direct_level(int level)
{
    return (level < FC_ISA_GENERIC || level > fc_isa_supported()) ? FC_ISA_GENERIC : level;
}

/* An entry point that runs NAME's instance for the requested level. */
#define FC_DISPATCH(NAME, SFX, PARAMS, ...)                                                 \
void NAME##SFX PARAMS                                                                        \
{                                                                                            \
    switch (FC_X86_LEVELS ? fc_direct_level(level) : FC_ISA_GENERIC) {                       \
    FC_X86_CASES(NAME, SFX, __VA_ARGS__)                                                     \
    default: NAME##_generic##SFX(__VA_ARGS__);                                               \
    }                                                                                        \
}

#if FC_X86_LEVELS
#define FC_X86_CASES(NAME, SFX, ...)                                                         \
    case FC_ISA_AVX512: NAME##_avx512##SFX(__VA_ARGS__); return;                             \
    case FC_ISA_AVX2: NAME##_avx2##SFX(__VA_ARGS__); return;
#else
#define FC_X86_CASES(NAME, SFX, ...)
#endif

#define FC_ENTRY_POINTS(T, SFX)                                                              \
FC_DISPATCH(fc_direct_item, SFX,                                                             \
            (int level, const fc_geom *g, const T *x, const T *w, const T *bias, T *out,     \
             const T *zrow, int64_t n, int64_t grp, int64_t oc0, int64_t nb, int64_t od,     \
             int64_t oh),                                                                    \
            g, x, w, bias, out, zrow, n, grp, oc0, nb, od, oh)                               \
FC_DISPATCH(fc_depthwise_item, SFX,                                                          \
            (int level, const fc_geom *g, const T *x, const T *w, const T *bias, T *out,     \
             const T *zrow, int64_t n, int64_t oc, int64_t od, int64_t oh, int64_t nrows),   \
            g, x, w, bias, out, zrow, n, oc, od, oh, nrows)                                \
FC_DISPATCH(fc_wino_input, SFX,                                                              \
            (int level, const fc_wgeom *g, const T *x, int64_t grp, int64_t t0, int64_t nt,  \
             int64_t nr, int64_t vstride, T *V),                                             \
            g, x, grp, t0, nt, nr, vstride, V)                                                        \
FC_DISPATCH(fc_wino_output, SFX,                                                             \
            (int level, const fc_wgeom *g, const T *Mb, int64_t ldm, int64_t pstride,        \
             int64_t co0, int64_t mblk, int64_t t0, int64_t nt, const T *bias, T *out),      \
            g, Mb, ldm, pstride, co0, mblk, t0, nt, bias, out)

FC_ENTRY_POINTS(float, _f32)
FC_ENTRY_POINTS(double, _f64)
