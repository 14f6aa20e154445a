/* fastconv: the depthwise kernels of dwconv.h, instantiated once per ISA
 * level (gemm.h's levels and selection) and dtype. */
#include "dwconv.h"
#include "gemm.h"

#include <stddef.h>
#include <string.h>

/* The staging loops are short: no libc memset/memmove calls for them. And
 * no predictive commoning: it would carry the input vectors that tile rows r
 * and r + 1 share at kh and kh + 1 from one kh to the next in registers,
 * which the tile's sums need, and spill them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns", "no-predictive-commoning")
#endif

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define FC_DW_X86 1
#else
#define FC_DW_X86 0
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
 * vector; 5x5 and 7x7 read their weights from L1 and keep 8 sums. */
#define FC_DW_R3 3
#define FC_DW_R5 4
#define FC_DW_R7 4

/* Baseline: 16-byte vectors. */
#define FC_VBYTES 16
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

#if FC_DW_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define FC_VBYTES 32
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
#pragma GCC pop_options

/* AVX-512: 32 registers, taller 3x3 tiles. */
#undef FC_DW_R3
#define FC_DW_R3 4
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#define FC_VBYTES 64
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
#pragma GCC pop_options
#endif

/* The level the kernels run at: the requested one if this CPU and build
 * support it, else the baseline (the GEMM's rule, gemm.h). */
static int fc_dw_level(int level)
{
    if (!FC_DW_X86 || level < FC_ISA_GENERIC || level > fc_isa_supported()) return FC_ISA_GENERIC;
    return level;
}

int fc_dw_supported(int64_t K, int64_t S)
{
    return (K == 3 || K == 5 || K == 7) && (S == 1 || S == 2);
}

void fc_dw_plan(int level, int dtype, fc_dwgeom *g)
{
    level = fc_dw_level(level);
    const int64_t size = dtype == FC_DTYPE_F64 ? 8 : 4;
    const int64_t vbytes = level == FC_ISA_AVX512 ? 64 : (level == FC_ISA_AVX2 ? 32 : 16);
    const int64_t vl = vbytes / size;
    int64_t R = fc_dw_tile_rows_generic_f32(g->K);
#if FC_DW_X86
    if (level == FC_ISA_AVX512) R = fc_dw_tile_rows_avx512_f32(g->K);
    if (level == FC_ISA_AVX2) R = fc_dw_tile_rows_avx2_f32(g->K);
#endif
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

#if FC_DW_X86
#define FC_DW_CASES(SFX, ...)                                                                \
    switch (fc_dw_level(level)) {                                                            \
    case FC_ISA_AVX512: fc_dw_item_avx512##SFX(__VA_ARGS__); return;                         \
    case FC_ISA_AVX2: fc_dw_item_avx2##SFX(__VA_ARGS__); return;                             \
    default: fc_dw_item_generic##SFX(__VA_ARGS__); return;                                   \
    }
#else
#define FC_DW_CASES(SFX, ...) fc_dw_item_generic##SFX(__VA_ARGS__);
#endif

void fc_dw_item_f32(int level, const fc_dwgeom *g, const float *x, const float *w,
                    const float *bias, float *out, float *buf, const float *zrow,
                    int64_t n, int64_t oc, int64_t oh0, int64_t nrows)
{
    FC_DW_CASES(_f32, g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows)
}

void fc_dw_item_f64(int level, const fc_dwgeom *g, const double *x, const double *w,
                    const double *bias, double *out, double *buf, const double *zrow,
                    int64_t n, int64_t oc, int64_t oh0, int64_t nrows)
{
    FC_DW_CASES(_f64, g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows)
}
