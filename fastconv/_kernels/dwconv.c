/* fastconv: the depthwise kernels of dwconv.h, instantiated once per ISA
 * level (isa.h's levels and selection) and dtype. */
#include "dwconv.h"
#include "isa.h"

#include <stddef.h>
#include <string.h>

/* The staging loops are short: no libc memset/memmove calls for them. And
 * no predictive commoning: it would carry the input vectors that tile rows r
 * and r + 1 share at kh and kh + 1 from one kh to the next in registers,
 * which the tile's sums need, and spill them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns", "no-predictive-commoning")
#endif

#if defined(__GNUC__)
#define FC_DW_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define FC_DW_PREFETCH(p) ((void)(p))
#endif

/* Output rows per item, at most, and the staged-row pointers one item can use. */
#define FC_DW_MAX_RB 64
#define FC_DW_MAX_STAGED ((FC_DW_MAX_RB + 8 - 1) * 2 + 7)
/* Bytes of staged input rows one item keeps: most of a 32 KiB L1. */
#define FC_DW_STAGE_BYTES (24 * 1024)

/* Register tiles: R output rows by 2 vectors. With 16 vector registers
 * (SSE2, AVX2) the 3x3 kernel holds its 9 weights, 6 sums and the input
 * vector; with 32 (AVX-512) 8 sums; 5x5 and 7x7 read their weights from L1
 * and keep 8 sums. */
#define FC_DW_R3_16REG 3
#define FC_DW_R3_32REG 4
#define FC_DW_R5 4
#define FC_DW_R7 4

/* One instance per level and dtype (isa.h's levels). FC_VL is the lanes of
 * a vector, spelled out because dwconv_impl.h's shuffles need it in #if. */
#define FC_VBYTES FC_GENERIC_VBYTES
#define FC_DW_R3 FC_DW_R3_16REG
#define FC_T float
#define FC_IDX int32_t
#define FC_VL 4
#define FC_SFX _generic_f32
#include "dwconv_impl.h"
#undef FC_T
#undef FC_IDX
#undef FC_VL
#undef FC_SFX
#define FC_T double
#define FC_IDX int64_t
#define FC_VL 2
#define FC_SFX _generic_f64
#include "dwconv_impl.h"
#undef FC_T
#undef FC_IDX
#undef FC_VL
#undef FC_SFX
#undef FC_VBYTES
#undef FC_DW_R3

#if FC_X86_LEVELS
FC_LEVEL_BEGIN_AVX2
#define FC_VBYTES FC_AVX2_VBYTES
#define FC_DW_R3 FC_DW_R3_16REG
#define FC_T float
#define FC_IDX int32_t
#define FC_VL 8
#define FC_SFX _avx2_f32
#include "dwconv_impl.h"
#undef FC_T
#undef FC_IDX
#undef FC_VL
#undef FC_SFX
#define FC_T double
#define FC_IDX int64_t
#define FC_VL 4
#define FC_SFX _avx2_f64
#include "dwconv_impl.h"
#undef FC_T
#undef FC_IDX
#undef FC_VL
#undef FC_SFX
#undef FC_VBYTES
#undef FC_DW_R3
FC_LEVEL_END

FC_LEVEL_BEGIN_AVX512
#define FC_VBYTES FC_AVX512_VBYTES
#define FC_DW_R3 FC_DW_R3_32REG
#define FC_T float
#define FC_IDX int32_t
#define FC_VL 16
#define FC_SFX _avx512_f32
#include "dwconv_impl.h"
#undef FC_T
#undef FC_IDX
#undef FC_VL
#undef FC_SFX
#define FC_T double
#define FC_IDX int64_t
#define FC_VL 8
#define FC_SFX _avx512_f64
#include "dwconv_impl.h"
#undef FC_T
#undef FC_IDX
#undef FC_VL
#undef FC_SFX
#undef FC_VBYTES
#undef FC_DW_R3
FC_LEVEL_END
#endif

/* The level the kernels run at: the requested one if this CPU and build
 * have it, else the baseline (isa.h). */
static int fc_dw_level(int level) { return fc_runnable_level(level); }

/* The tile height for kernel size K at a level. */
static int64_t fc_dw_tile_rows(int level, int64_t K)
{
    if (K == 3) return level == 2 ? FC_DW_R3_32REG : FC_DW_R3_16REG;
    return K == 5 ? FC_DW_R5 : FC_DW_R7;
}

int fc_dw_supported(int64_t K, int64_t S)
{
    return (K == 3 || K == 5 || K == 7) && (S == 1 || S == 2);
}

void fc_dw_plan(int level, int dtype, fc_dwgeom *g)
{
    level = fc_dw_level(level);
    const int64_t size = dtype == 1 ? 8 : 4;
    const int64_t vl = fc_dwcv_lanes(level, dtype);
    const int64_t R = fc_dw_tile_rows(level, g->K);
    const int64_t owv = (g->OW + vl - 1) / vl * vl;
    int64_t sw;
    if (g->S == 1) {          /* the taps' reach, and a vector of slack for the staging */
        sw = (owv + g->K - 1 + vl + 15) / 16 * 16;
        if (sw * size % 4096 == 0) sw += 16;
    } else {                  /* two phases, each a multiple of every level's vector */
        /* the taps' reach; the row's halves stored whole at their offset */
        int64_t ph = owv + (g->K - 1) / 2;
        const int64_t need = (g->pl + 1) / 2 + (g->W + 1) / 2 + vl;
        ph = ((ph > need ? ph : need) + 15) / 16 * 16;
        if (2 * ph * size % 4096 == 0) ph += 16;
        sw = 2 * ph;
    }
    g->SW = sw;
    int64_t fit = FC_DW_STAGE_BYTES / (sw * size);
    int64_t rb = fit > g->K ? (fit - g->K) / g->S + 1 : 1;
    if (rb > FC_DW_MAX_RB) rb = FC_DW_MAX_RB;
    rb = rb / R * R;
    if (rb < R) rb = R;
    if (rb > g->OH) rb = g->OH;
    g->RB = rb < 1 ? 1 : rb;
}

int64_t fc_dw_buffer_size(const fc_dwgeom *g)
{
    return ((g->RB - 1) * g->S + g->K) * g->SW;
}

/* The call of function NAME at the level the kernels run at. */
#if FC_X86_LEVELS
#define FC_DW_CASES(NAME, SFX, ...)                                                          \
    switch (fc_dw_level(level)) {                                                            \
    case 2: NAME##_avx512##SFX(__VA_ARGS__); return;                                         \
    case 1: NAME##_avx2##SFX(__VA_ARGS__); return;                                           \
    default: NAME##_generic##SFX(__VA_ARGS__); return;                                       \
    }
#else
#define FC_DW_CASES(NAME, SFX, ...) NAME##_generic##SFX(__VA_ARGS__);
#endif

void fc_dw_item_f32(int level, const fc_dwgeom *g, const float *x, const float *w,
                    const float *bias, float *out, float *buf, const float *zrow,
                    int64_t n, int64_t oc, int64_t oh0, int64_t nrows)
{
    FC_DW_CASES(fc_dw_item, _f32, g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows)
}

void fc_dw_item_f64(int level, const fc_dwgeom *g, const double *x, const double *w,
                    const double *bias, double *out, double *buf, const double *zrow,
                    int64_t n, int64_t oc, int64_t oh0, int64_t nrows)
{
    FC_DW_CASES(fc_dw_item, _f64, g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows)
}

/* Channel-vectorised small maps (dwconv.h). */
int64_t fc_dwcv_lanes(int level, int dtype)
{
    level = fc_dw_level(level);
    const int64_t vbytes = level == 2 ? FC_AVX512_VBYTES
                           : (level == 1 ? FC_AVX2_VBYTES : FC_GENERIC_VBYTES);
    return vbytes / (dtype == 1 ? 8 : 4);
}

int64_t fc_dwcv_buffer_size(int level, int dtype, const fc_dwgeom *g)
{
    const int64_t vl = fc_dwcv_lanes(level, dtype);
    const int64_t pos = vl == 8 ? 8 : 4;                  /* dwconv_impl.h's FC_DWCV_POS */
    const int64_t owp = (g->OW + pos - 1) / pos * pos;
    const int64_t ph = (g->OH - 1) * g->S + g->K, pw = (owp - 1) * g->S + g->K;
    return (ph * pw + g->K * g->K) * vl;
}

void fc_dwcv_item_f32(int level, const fc_dwgeom *g, const float *x, const float *w,
                      const float *bias, float *out, float *buf, int64_t n, int64_t c0,
                      int64_t nc)
{
    FC_DW_CASES(fc_dwcv_item, _f32, g, x, w, bias, out, buf, n, c0, nc)
}

void fc_dwcv_item_f64(int level, const fc_dwgeom *g, const double *x, const double *w,
                      const double *bias, double *out, double *buf, int64_t n, int64_t c0,
                      int64_t nc)
{
    FC_DW_CASES(fc_dwcv_item, _f64, g, x, w, bias, out, buf, n, c0, nc)
}
