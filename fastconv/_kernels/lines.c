/* fastconv: the 1-D pass kernels of lines.h, instantiated per ISA level (the
 * GEMM's numbering: 0 generic, 1 AVX2 + FMA, 2 AVX-512) and flavour.
 *
 * The exact flavour (float64, SciPy's roundings) and the uniform pass are
 * compiled with the contraction of multiply-adds switched off (per function,
 * so that no compiler flag can fuse their products and sums). The levels'
 * targets come from isa.h. */
#include <string.h>
#include "lines.h"
#include "isa.h"

/* No contraction of multiply-adds in any pass: a compiler fuses them by its
 * own heuristics, differently in separately compiled copies of the same
 * sum (the 4-vector and the 1-vector blocks of a line differed by an ulp
 * for a float32 symmetric 3-tap kernel, so an element's bits depended on
 * where it fell in its line, and a crop of an array differed from the
 * whole). Every product and sum is rounded on its own, as in SciPy. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define FC_LALIGN(n) ((((int64_t)(n)) + 63) & ~(int64_t)63)
/* Bytes of a column block of the vertical passes: its row segments stay in L1. */
#define FC_LINES_VBYTES 512
/* The same without the copy (few taps): wider, fewer calls per row. */
#define FC_LINES_VBYTES_DIRECT 2048
/* From this many taps on, a vertical pass copies its input row segments
 * (fewer rows than the L1 cache's 8 ways cannot evict each other). */
#define FC_LINES_COPY_TAPS 6
/* The most taps of a pass of a row-by-row sum (both below FC_LINES_COPY_TAPS
 * vertically; the horizontal pass of a sum of few taps is as short). */
#define FC_LINES_MAX_FUSED_TAPS 64

/* A row stride of at least n elements of `size` bytes whose rows start in
 * different sets of the L1 cache (an odd number of 64-byte lines apart). */
static inline int64_t fc_lines_band_stride(int64_t n, int64_t size)
{
    const int64_t per_line = 64 / size;
    int64_t lines = (n + per_line - 1) / per_line;
    if (lines % 2 == 0)
        lines++;
    return lines * per_line;
}

/* The non-temporal store of a 64-byte vector: one AVX-512 instruction, or
 * (emulated AVX-512 build, no such instruction) an ordinary store. */
#if defined(__clang__)
#define FC_NTSTORE512_PS(p, v) __builtin_nontemporal_store((v), (__typeof__(v) *)(p))
#define FC_NTSTORE512_PD(p, v) __builtin_nontemporal_store((v), (__typeof__(v) *)(p))
#elif FC_EMULATE_AVX512
#define FC_NTSTORE512_PS(p, v) (*(__typeof__(v) *)(p) = (v))
#define FC_NTSTORE512_PD(p, v) (*(__typeof__(v) *)(p) = (v))
#else
#define FC_NTSTORE512_PS(p, v) __builtin_ia32_movntps512((p), (v))
#define FC_NTSTORE512_PD(p, v) __builtin_ia32_movntpd512((p), (v))
#endif

/* ---- fast flavours: float32 and float64 ---- */
#define FC_VBYTES FC_GENERIC_VBYTES
#define FC_T float
#if defined(__clang__)
#define FC_NTSTORE(p, v) __builtin_nontemporal_store((v), (__typeof__(v) *)(p))
#else
#define FC_NTSTORE(p, v) __builtin_ia32_movntps((p), (v))
#endif
#define FC_SFX _generic_f32
#include "lines_impl.h"
#undef FC_T
#undef FC_NTSTORE
#undef FC_SFX
#define FC_T double
#if defined(__clang__)
#define FC_NTSTORE(p, v) __builtin_nontemporal_store((v), (__typeof__(v) *)(p))
#else
#define FC_NTSTORE(p, v) __builtin_ia32_movntpd((p), (v))
#endif
#define FC_SFX _generic_f64
#include "lines_impl.h"
#undef FC_T
#undef FC_NTSTORE
#undef FC_SFX
#undef FC_VBYTES

#if FC_X86_LEVELS
FC_LEVEL_BEGIN_AVX2
#define FC_VBYTES FC_AVX2_VBYTES
#define FC_T float
#if defined(__clang__)
#define FC_NTSTORE(p, v) __builtin_nontemporal_store((v), (__typeof__(v) *)(p))
#else
#define FC_NTSTORE(p, v) __builtin_ia32_movntps256((p), (v))
#endif
#define FC_SFX _avx2_f32
#include "lines_impl.h"
#undef FC_T
#undef FC_NTSTORE
#undef FC_SFX
#define FC_T double
#if defined(__clang__)
#define FC_NTSTORE(p, v) __builtin_nontemporal_store((v), (__typeof__(v) *)(p))
#else
#define FC_NTSTORE(p, v) __builtin_ia32_movntpd256((p), (v))
#endif
#define FC_SFX _avx2_f64
#include "lines_impl.h"
#undef FC_T
#undef FC_NTSTORE
#undef FC_SFX
#undef FC_VBYTES
FC_LEVEL_END

FC_LEVEL_BEGIN_AVX512
#define FC_VBYTES FC_AVX512_VBYTES
#define FC_T float
#define FC_NTSTORE(p, v) FC_NTSTORE512_PS(p, v)
#define FC_SFX _avx512_f32
#include "lines_impl.h"
#undef FC_T
#undef FC_NTSTORE
#undef FC_SFX
#define FC_T double
#define FC_NTSTORE(p, v) FC_NTSTORE512_PD(p, v)
#define FC_SFX _avx512_f64
#include "lines_impl.h"
#undef FC_T
#undef FC_NTSTORE
#undef FC_SFX
#undef FC_VBYTES
FC_LEVEL_END
#endif

/* ---- exact flavour: float64, no fused multiply-add ---- */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
#define FC_VBYTES FC_GENERIC_VBYTES
#define FC_T double
#if defined(__clang__)
#define FC_NTSTORE(p, v) __builtin_nontemporal_store((v), (__typeof__(v) *)(p))
#else
#define FC_NTSTORE(p, v) __builtin_ia32_movntpd((p), (v))
#endif
#define FC_SFX _generic_x64
#include "lines_impl.h"
#undef FC_T
#undef FC_NTSTORE
#undef FC_SFX
#undef FC_VBYTES
#if FC_X86_LEVELS
FC_LEVEL_BEGIN_AVX2
#define FC_VBYTES FC_AVX2_VBYTES
#define FC_T double
#if defined(__clang__)
#define FC_NTSTORE(p, v) __builtin_nontemporal_store((v), (__typeof__(v) *)(p))
#else
#define FC_NTSTORE(p, v) __builtin_ia32_movntpd256((p), (v))
#endif
#define FC_SFX _avx2_x64
#include "lines_impl.h"
#undef FC_T
#undef FC_NTSTORE
#undef FC_SFX
#undef FC_VBYTES
FC_LEVEL_END
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

/* ---- the uniform (box) pass: SciPy's running sum in float64 ----
 * Only sums, differences and one division per output: nothing to fuse, and
 * every lane of a vector is an independent IEEE operation, so it is bitwise
 * SciPy's at every level (contraction stays off, as for the exact flavour). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
typedef double fc_u4 __attribute__((vector_size(32), aligned(8)));
typedef float fc_uf4 __attribute__((vector_size(16), aligned(4)));
typedef int64_t fc_ui4 __attribute__((vector_size(32)));
#if defined(__clang__)
#define FC_USHUF(a, b, i, j, k, l) __builtin_shufflevector((a), (b), i, j, k, l)
#else
#define FC_USHUF(a, b, i, j, k, l) __builtin_shuffle((a), (b), (fc_ui4){i, j, k, l})
#endif

/* The 4 x 4 transpose of r[0..3] (r[i][j] -> r[j][i]). */
static inline __attribute__((always_inline)) void fc_u4_transpose(fc_u4 r[4])
{
    const fc_u4 t0 = FC_USHUF(r[0], r[1], 0, 4, 2, 6), t1 = FC_USHUF(r[0], r[1], 1, 5, 3, 7);
    const fc_u4 t2 = FC_USHUF(r[2], r[3], 0, 4, 2, 6), t3 = FC_USHUF(r[2], r[3], 1, 5, 3, 7);
    r[0] = FC_USHUF(t0, t2, 0, 1, 4, 5);
    r[1] = FC_USHUF(t1, t3, 0, 1, 4, 5);
    r[2] = FC_USHUF(t0, t2, 2, 3, 6, 7);
    r[3] = FC_USHUF(t1, t3, 2, 3, 6, 7);
}

/* Four elements as a vector of doubles, and back. */
#define fc_u4_load_f32(p) __builtin_convertvector(*(const fc_uf4 *)(p), fc_u4)
#define fc_u4_load_f64(p) (*(const fc_u4 *)(p))
#define fc_u4_store_f32(p, v) (*(fc_uf4 *)(p) = __builtin_convertvector((v), fc_uf4))
#define fc_u4_store_f64(p, v) (*(fc_u4 *)(p) = (v))

#define FC_UT float
#define FC_UTS _f32
#define FC_USFX _generic_f32
#include "lines_uniform_impl.h"
#undef FC_UT
#undef FC_UTS
#undef FC_USFX
#define FC_UT double
#define FC_UTS _f64
#define FC_USFX _generic_f64
#include "lines_uniform_impl.h"
#undef FC_UT
#undef FC_UTS
#undef FC_USFX
#if FC_X86_LEVELS
FC_LEVEL_BEGIN_AVX2
#define FC_UT float
#define FC_UTS _f32
#define FC_USFX _avx2_f32
#include "lines_uniform_impl.h"
#undef FC_UT
#undef FC_UTS
#undef FC_USFX
#define FC_UT double
#define FC_UTS _f64
#define FC_USFX _avx2_f64
#include "lines_uniform_impl.h"
#undef FC_UT
#undef FC_UTS
#undef FC_USFX
FC_LEVEL_END
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

/* ---- dispatch ---- */
int fc_lines_level(int level) { return fc_runnable_level(level); }

static int64_t fc_cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int64_t fc_lines_itemsize(int flavour) { return flavour == FC_LINES_F32 ? 4 : 8; }

int64_t fc_lines_corr_items(const fc_lshape *s)
{
    if (s->inner == 1)
        return s->outer * fc_cdiv(s->L, s->RB);
    return s->outer * fc_cdiv(s->L, s->RB) * fc_cdiv(s->inner, s->CB);
}

int64_t fc_lines_corr_ws(const fc_lshape *s, int64_t K, int flavour)
{
    const int64_t sz = fc_lines_itemsize(flavour);
    if (s->inner == 1)
        return FC_LALIGN(K * (int64_t)sizeof(void *)) + FC_LALIGN((s->RB + K - 1) * sz) + 64;
    return FC_LALIGN(K * (int64_t)sizeof(void *))
           + FC_LALIGN((s->RB + K - 1) * (int64_t)sizeof(void *))
           + FC_LALIGN(FC_LINES_VBYTES_DIRECT)
           + FC_LALIGN((s->RB + K - 1) * (int64_t)FC_LINES_VBYTES) + 64;
}

/* Call NAME##<level>_<flavour>(...) for the level and flavour of the call. */
#if FC_X86_LEVELS
#define FC_L_DISPATCH(NAME, ...)                                                              \
    switch (flavour) {                                                                        \
    case FC_LINES_F32:                                                                        \
        if (level == 2) NAME##_avx512_f32(__VA_ARGS__);                                       \
        else if (level == 1) NAME##_avx2_f32(__VA_ARGS__);                                    \
        else NAME##_generic_f32(__VA_ARGS__);                                                 \
        break;                                                                                \
    case FC_LINES_F64:                                                                        \
        if (level == 2) NAME##_avx512_f64(__VA_ARGS__);                                       \
        else if (level == 1) NAME##_avx2_f64(__VA_ARGS__);                                    \
        else NAME##_generic_f64(__VA_ARGS__);                                                 \
        break;                                                                                \
    default:                                                                                  \
        if (level >= 1) NAME##_avx2_x64(__VA_ARGS__);                                         \
        else NAME##_generic_x64(__VA_ARGS__);                                                 \
        break;                                                                                \
    }
#else
#define FC_L_DISPATCH(NAME, ...)                                                              \
    switch (flavour) {                                                                        \
    case FC_LINES_F32: NAME##_generic_f32(__VA_ARGS__); break;                                \
    case FC_LINES_F64: NAME##_generic_f64(__VA_ARGS__); break;                                \
    default: NAME##_generic_x64(__VA_ARGS__); break;                                          \
    }
#endif

/* Non-temporal stores are weakly ordered: fence them before the item ends. */
static inline void fc_lines_fence(const fc_lshape *s)
{
#if FC_X86_LEVELS
    if (s->nt)
        __builtin_ia32_sfence();
#else
    (void)s;
#endif
}

void fc_lines_corr(int level, int flavour, const fc_lshape *s, const fc_lpass *p,
                   const void *x, void *out, int64_t item, void *ws)
{
    char *w = (char *)FC_LALIGN((intptr_t)ws);
    if (s->inner == 1) {
        FC_L_DISPATCH(fc_corr_lines, s, p, x, out, item, w)
    } else {
        FC_L_DISPATCH(fc_corr_rows, s, p, x, out, item, w)
    }
    fc_lines_fence(s);
}

int64_t fc_lines_fused_items(const fc_lshape *s)
{
    return s->outer * fc_cdiv(s->L, s->RB);
}

int64_t fc_lines_fused_ws(const fc_lshape *s, int64_t Kv, int64_t Kh, int flavour)
{
    const int64_t sz = fc_lines_itemsize(flavour), W = s->inner, RB = s->RB;
    const int64_t Kmax = Kv > Kh ? Kv : Kh;
    const int64_t bs = fc_lines_band_stride(W + Kh - 1, sz);
    if (Kv < FC_LINES_COPY_TAPS)        /* row by row (fc_fused_rows) */
        return FC_LALIGN(Kmax * (int64_t)sizeof(void *)) + FC_LALIGN(W * sz)
               + FC_LALIGN((W + Kh - 1) * sz) + FC_LALIGN(Kv * bs * sz)
               + FC_LALIGN(Kv * (int64_t)sizeof(void *)) + 64;
    return FC_LALIGN(Kmax * (int64_t)sizeof(void *))
           + FC_LALIGN((RB + Kv - 1) * (int64_t)sizeof(void *))
           + FC_LALIGN((RB + Kv - 1) * (int64_t)FC_LINES_VBYTES)
           + FC_LALIGN(FC_LINES_VBYTES_DIRECT)
           + FC_LALIGN((W + Kh - 1) * sz) + FC_LALIGN((RB + Kv - 1) * 8)
           + FC_LALIGN((RB + Kv - 1) * bs * sz) + 64;
}

void fc_lines_fused(int level, int flavour, const fc_lshape *s, const fc_lpass *first,
                    const fc_lpass *second, int vfirst, int combine, const void *x, void *out,
                    int64_t item, void *ws)
{
    char *w = (char *)FC_LALIGN((intptr_t)ws);
    FC_L_DISPATCH(fc_fused, s, first, second, vfirst, combine, x, out, item, w)
    fc_lines_fence(s);
}

int64_t fc_lines_uniform_items(const fc_lshape *s)
{
    if (s->inner == 1)
        return fc_cdiv(s->outer, 8);
    return s->outer * fc_cdiv(s->inner, s->CB);
}

int64_t fc_lines_uniform_ws(const fc_lshape *s, int64_t K)
{
    if (s->inner == 1)
        return FC_LALIGN(8 * (s->L + K - 1) * 8) + 64;
    return FC_LALIGN(s->CB * 8) + 64;
}

void fc_lines_uniform(int level, int f32, const fc_lshape *s, int64_t K, int64_t off,
                      const int64_t *map, double cval, const void *x, void *out, int64_t item,
                      void *ws)
{
    char *w = (char *)FC_LALIGN((intptr_t)ws);
#if FC_X86_LEVELS
    if (level >= 1) {
        if (s->inner == 1) {
            if (f32) fc_uniform_lines_avx2_f32(s, K, off, map, cval, x, out, item, w);
            else fc_uniform_lines_avx2_f64(s, K, off, map, cval, x, out, item, w);
        } else {
            if (f32) fc_uniform_rows_avx2_f32(s, K, off, map, cval, x, out, item, w);
            else fc_uniform_rows_avx2_f64(s, K, off, map, cval, x, out, item, w);
        }
        return;
    }
#endif
    (void)level;
    if (s->inner == 1) {
        if (f32) fc_uniform_lines_generic_f32(s, K, off, map, cval, x, out, item, w);
        else fc_uniform_lines_generic_f64(s, K, off, map, cval, x, out, item, w);
    } else {
        if (f32) fc_uniform_rows_generic_f32(s, K, off, map, cval, x, out, item, w);
        else fc_uniform_rows_generic_f64(s, K, off, map, cval, x, out, item, w);
    }
}

int64_t fc_lines_uniform2d_ws(const fc_lshape *s, int64_t Kh)
{
    const int64_t W = s->inner;
    return FC_LALIGN(W * 8) + FC_LALIGN(8 * W * 8) + FC_LALIGN(8 * (W + Kh - 1) * 8) + 64;
}

void fc_lines_uniform2d(int level, int f32, const fc_lshape *s, int64_t Kv, int64_t offv,
                        const int64_t *mapv, int64_t Kh, int64_t offh, const int64_t *maph,
                        double cval, const void *x, void *out, int64_t splits, int64_t item,
                        void *ws)
{
    char *w = (char *)FC_LALIGN((intptr_t)ws);
#if FC_X86_LEVELS
    if (level >= 1) {
        if (f32) fc_uniform_2d_avx2_f32(s, Kv, offv, mapv, Kh, offh, maph, cval, x, out,
                                        splits, item, w);
        else fc_uniform_2d_avx2_f64(s, Kv, offv, mapv, Kh, offh, maph, cval, x, out, splits,
                                    item, w);
        return;
    }
#endif
    (void)level;
    if (f32) fc_uniform_2d_generic_f32(s, Kv, offv, mapv, Kh, offh, maph, cval, x, out, splits,
                                       item, w);
    else fc_uniform_2d_generic_f64(s, Kv, offv, mapv, Kh, offh, maph, cval, x, out, splits,
                                   item, w);
}
