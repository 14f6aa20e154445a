/* fastconv: direct convolution, implicit-im2col packing and the Winograd
 * transforms (see conv.h).
 *
 * The direct kernel and the Winograd transforms are instantiated once per ISA level (the same levels and
 * the same selection as the GEMM's, gemm.h) and dtype; the packing once per
 * dtype. */
#include "conv.h"
#include "gemm.h"
#include "isa.h"

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

/* Baseline: 16-byte vectors (SSE2 on x86-64). */
#define FC_VBYTES FC_GENERIC_VBYTES
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
FC_LEVEL_BEGIN_AVX2
#define FC_VBYTES FC_AVX2_VBYTES
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
FC_LEVEL_END

FC_LEVEL_BEGIN_AVX512
#define FC_VBYTES FC_AVX512_VBYTES
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
FC_LEVEL_END
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

/* G (4 x 3, Lavin & Gray) applied to s[0], s[ss], s[2 ss]: d[0], d[ds], ... d[3 ds]. */
static inline __attribute__((always_inline))
void fc_g3(const double *s, int64_t ss, double *d, int64_t ds)
{
    d[0] = s[0];
    d[ds] = 0.5 * (s[0] + s[ss] + s[2 * ss]);
    d[2 * ds] = 0.5 * (s[0] - s[ss] + s[2 * ss]);
    d[3 * ds] = s[2 * ss];
}

/* Winograd weight transform of one kernel: u = G g G^T along each axis of 3
 * taps (axes of 1 tap are kept), in float64; g is (KD, KH, KW), u is
 * (aD, aH, aW) with a = 4 for a 3-tap axis, else 1. Inlined with literal
 * sizes, so every loop unrolls. */
static inline __attribute__((always_inline))
void fc_wt_kernel(const double *g, double *u, int KD, int KH, int KW)
{
    const int aD = KD == 3 ? 4 : 1, aH = KH == 3 ? 4 : 1, aW = KW == 3 ? 4 : 1;
    const int hw = aH * aW;
    double t1[36], t2[48];
    for (int r = 0; r < KD * KH; ++r) {              /* along W */
        if (aW == 4) fc_g3(g + r * 3, 1, t1 + r * 4, 1);
        else t1[r] = g[r];
    }
    for (int a = 0; a < KD; ++a)                     /* along H */
        for (int c = 0; c < aW; ++c) {
            if (aH == 4) fc_g3(t1 + a * 3 * aW + c, aW, t2 + a * hw + c, aW);
            else t2[a * aW + c] = t1[a * aW + c];
        }
    for (int b = 0; b < hw; ++b) {                   /* along D */
        if (aD == 4) fc_g3(t2 + b, hw, u + b, hw);
        else u[b] = t2[b];
    }
}

/* Elements of a panel transformed before they are stored (see below). */
#define FC_WT_RUN 64

/* One row (a0, a1, a2) of a 3x3 kernel along W: t = G (a0, a1, a2). */
#define FC_WT_ROW(a0, a1, a2, t)                                                 \
    do {                                                                         \
        const double a0_ = (a0), a1_ = (a1), a2_ = (a2);                         \
        (t)[0] = a0_;                                                            \
        (t)[1] = 0.5 * (a0_ + a1_ + a2_);                                        \
        (t)[2] = 0.5 * (a0_ - a1_ + a2_);                                        \
        (t)[3] = a2_;                                                            \
    } while (0)

/* Row panel q (mr output channels of one group). The panel's elements
 * (channel ci, row r) lie at ci * mr + r in each of the P point matrices,
 * and those matrices are groups * asz elements apart: a multiple of 4 KiB
 * for usual sizes, so storing every kernel's P points one by one would write
 * P lines of the same cache set at once (more than the ways of L1 and L2),
 * and each store would miss. A run of FC_WT_RUN consecutive elements is
 * transformed into a small buffer first, then each point's run is stored
 * contiguously. Rows past the group's channels are stored as zeros. The
 * common 3x3 kernel is transformed by hand, the others by fc_wt_kernel. */
#define FC_DEFINE_WINO_WEIGHTS(T, SFX)                                                       \
void fc_wino_weights##SFX(const T *w, int64_t Co, int64_t K, int KD, int KH, int KW,         \
                          int64_t groups, int64_t mr, int64_t asz, int64_t q, T *ap)         \
{                                                                                            \
    const int64_t M = Co / groups, taps = (int64_t)KD * KH * KW;                             \
    const int64_t P = (KD == 3 ? 4 : 1) * (KH == 3 ? 4 : 1) * (KW == 3 ? 4 : 1);             \
    const int64_t ps = groups * asz, npan = (M + mr - 1) / mr;                               \
    const int is3x3 = KD == 1 && KH == 3 && KW == 3;                                         \
    double g[27], u[64], gt[9][FC_WT_RUN];                                                   \
    T run[64 * FC_WT_RUN];                                                                   \
    const int64_t grp = q / npan, i0 = (q % npan) * mr;                                      \
    const int64_t rows = M - i0 < mr ? M - i0 : mr;                                          \
    T *panel = ap + grp * asz + (i0 / mr) * K * mr;                                          \
    const int64_t nel = K * mr;                                                              \
    int64_t ci = 0, r = -1;                     /* element e0 + e is (ci, r): e = ci * mr + r */ \
    for (int64_t e0 = 0; e0 < nel; e0 += FC_WT_RUN) {                                        \
        const int64_t ne = nel - e0 < FC_WT_RUN ? nel - e0 : FC_WT_RUN;                      \
        if (is3x3) {                                                                         \
            /* Gathered tap by tap (rows past the group's channels as zeros, whose  \
             * transform is zero), then transformed element-wise: loops over e     \
             * that vectorise, the same operations in the same order as the scalar \
             * form in fc_wt_kernel, so the values are the same. */                \
            for (int64_t e = 0; e < ne; ++e) {                                               \
                if (++r == mr) { r = 0; ++ci; }                                              \
                if (r >= rows) {                                                             \
                    for (int a = 0; a < 9; ++a) gt[a][e] = 0;                                \
                    continue;                                                                \
                }                                                                            \
                const T *src = w + ((grp * M + i0 + r) * K + ci) * 9;                        \
                for (int a = 0; a < 9; ++a) gt[a][e] = src[a];                               \
            }                                                                                \
            for (int64_t e = 0; e < ne; ++e) {                                               \
                double t0[4], t1[4], t2[4];                                                  \
                FC_WT_ROW(gt[0][e], gt[1][e], gt[2][e], t0);                                 \
                FC_WT_ROW(gt[3][e], gt[4][e], gt[5][e], t1);                                 \
                FC_WT_ROW(gt[6][e], gt[7][e], gt[8][e], t2);                                 \
                for (int c = 0; c < 4; ++c) {                                                \
                    run[c * FC_WT_RUN + e] = (T)t0[c];                                       \
                    run[(4 + c) * FC_WT_RUN + e] = (T)(0.5 * (t0[c] + t1[c] + t2[c]));       \
                    run[(8 + c) * FC_WT_RUN + e] = (T)(0.5 * (t0[c] - t1[c] + t2[c]));       \
                    run[(12 + c) * FC_WT_RUN + e] = (T)t2[c];                                \
                }                                                                            \
            }                                                                                \
        } else {                                                                             \
            for (int64_t e = 0; e < ne; ++e) {                                               \
                if (++r == mr) { r = 0; ++ci; }                                              \
                T *d = run + e;                                                              \
                if (r >= rows) {                                                             \
                    for (int64_t p = 0; p < P; ++p) d[p * FC_WT_RUN] = 0;                    \
                    continue;                                                                \
                }                                                                            \
                const T *src = w + ((grp * M + i0 + r) * K + ci) * taps;                     \
                for (int64_t a = 0; a < taps; ++a) g[a] = src[a];                            \
                if (KD == 1 && KH == 1 && KW == 3) fc_wt_kernel(g, u, 1, 1, 3);              \
                else if (KD == 3 && KH == 3 && KW == 3) fc_wt_kernel(g, u, 3, 3, 3);         \
                else fc_wt_kernel(g, u, KD, KH, KW);                                         \
                for (int64_t p = 0; p < P; ++p) d[p * FC_WT_RUN] = (T)u[p];                  \
            }                                                                                \
        }                                                                                    \
        for (int64_t p = 0; p < P; ++p) {                                                    \
            T *dst = panel + p * ps + e0;                                                    \
            const T *s = run + p * FC_WT_RUN;                                                \
            for (int64_t e = 0; e < ne; ++e) dst[e] = s[e];                                  \
        }                                                                                    \
    }                                                                                        \
}
FC_DEFINE_WINO_WEIGHTS(float, _f32)
FC_DEFINE_WINO_WEIGHTS(double, _f64)
#undef FC_DEFINE_WINO_WEIGHTS

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
FC_DISPATCH(fc_grid_item, SFX,                                                               \
            (int level, const fc_geom *g, const T *x, const T *w, const T *bias, T *out,     \
             void *ws, int64_t n, int64_t grp, int64_t ob0, int64_t ob1, int64_t oh0,        \
             int64_t rows),                                                                  \
            g, x, w, bias, out, ws, n, grp, ob0, ob1, oh0, rows)                             \
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
