/* fastconv: the 1-D pass kernels of lines.h, instantiated per ISA level (the
 * GEMM's numbering: 0 generic, 1 AVX2 + FMA, 2 AVX-512) and flavour.
 *
 * The exact flavour (float64, SciPy's roundings) is compiled with the
 * contraction of multiply-adds switched off, and at the AVX2 level without
 * FMA in its target, so that no compiler flag (e.g. -march=native) can fuse
 * its products and sums. */
#include <string.h>
#include "lines.h"

#define FC_LALIGN(n) ((((int64_t)(n)) + 63) & ~(int64_t)63)

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define FC_L_X86 1
#else
#define FC_L_X86 0
#endif

/* ---- fast flavours: float32 and float64 ---- */
#define FC_VBYTES 16
#define FC_T float
#define FC_SFX _generic_f32
#include "lines_impl.h"
#undef FC_T
#undef FC_SFX
#define FC_T double
#define FC_SFX _generic_f64
#include "lines_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES

#if FC_L_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define FC_VBYTES 32
#define FC_T float
#define FC_SFX _avx2_f32
#include "lines_impl.h"
#undef FC_T
#undef FC_SFX
#define FC_T double
#define FC_SFX _avx2_f64
#include "lines_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#define FC_VBYTES 64
#define FC_T float
#define FC_SFX _avx512_f32
#include "lines_impl.h"
#undef FC_T
#undef FC_SFX
#define FC_T double
#define FC_SFX _avx512_f64
#include "lines_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES
#pragma GCC pop_options
#endif

/* ---- exact flavour: float64, no fused multiply-add ---- */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
#define FC_VBYTES 16
#define FC_T double
#define FC_SFX _generic_x64
#include "lines_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES
#if FC_L_X86
#pragma GCC push_options
#pragma GCC target("avx2")
#define FC_VBYTES 32
#define FC_T double
#define FC_SFX _avx2_x64
#include "lines_impl.h"
#undef FC_T
#undef FC_SFX
#undef FC_VBYTES
#pragma GCC pop_options
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT ON
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

/* ---- the uniform (box) pass: SciPy's running sum in float64 ----
 * Only sums, differences and one division per output: nothing to fuse, and
 * every lane of a vector is an independent IEEE operation, so it is bitwise
 * SciPy's at every level. */
typedef double fc_u4 __attribute__((vector_size(32), aligned(8)));

#define FC_UNIFORM(TIO, SFX)                                                                  \
/* Across rows (inner > 1): columns [j0, j0 + nj) of plane o, every row in order. */         \
static void fc_uniform_rows##SFX(const fc_lshape *s, int64_t K, const int64_t *map,          \
                                 double cval, const TIO *x, TIO *out, int64_t item,           \
                                 char *ws)                                                    \
{                                                                                             \
    const int64_t L = s->L, N = s->inner;                                                     \
    const int64_t ncb = (N + s->CB - 1) / s->CB, cb = item % ncb, o = item / ncb;             \
    const int64_t j0 = cb * s->CB, nj = (N - j0 < s->CB) ? N - j0 : s->CB;                    \
    const TIO *plane = x + o * L * N + j0;                                                    \
    TIO *oplane = out + o * L * N + j0;                                                       \
    double *acc = (double *)ws;                                                               \
    const double k = (double)K;                                                               \
    for (int64_t j = 0; j < nj; j++)                                                          \
        acc[j] = 0.0;                                                                         \
    for (int64_t q = 0; q < K; q++) {                                                         \
        const int64_t m = map[q];                                                             \
        if (m < 0) {                                                                          \
            for (int64_t j = 0; j < nj; j++)                                                  \
                acc[j] += cval;                                                               \
        } else {                                                                              \
            const TIO *r = plane + m * N;                                                     \
            for (int64_t j = 0; j < nj; j++)                                                  \
                acc[j] += (double)r[j];                                                       \
        }                                                                                     \
    }                                                                                         \
    for (int64_t j = 0; j < nj; j++)                                                          \
        oplane[j] = (TIO)(acc[j] / k);                                                        \
    for (int64_t i = 1; i < L; i++) {                                                         \
        const int64_t ma = map[i + K - 1], mb = map[i - 1];                                   \
        const TIO *ra = plane + (ma < 0 ? 0 : ma) * N, *rb = plane + (mb < 0 ? 0 : mb) * N;   \
        TIO *d = oplane + i * N;                                                              \
        if (ma >= 0 && mb >= 0) {                                                             \
            for (int64_t j = 0; j < nj; j++) {                                                \
                acc[j] += (double)ra[j] - (double)rb[j];                                      \
                d[j] = (TIO)(acc[j] / k);                                                     \
            }                                                                                 \
        } else if (ma >= 0) {                                                                 \
            for (int64_t j = 0; j < nj; j++) {                                                \
                acc[j] += (double)ra[j] - cval;                                               \
                d[j] = (TIO)(acc[j] / k);                                                     \
            }                                                                                 \
        } else if (mb >= 0) {                                                                 \
            for (int64_t j = 0; j < nj; j++) {                                                \
                acc[j] += cval - (double)rb[j];                                               \
                d[j] = (TIO)(acc[j] / k);                                                     \
            }                                                                                 \
        } else {                                                                              \
            for (int64_t j = 0; j < nj; j++) {                                                \
                acc[j] += cval - cval;                                                        \
                d[j] = (TIO)(acc[j] / k);                                                     \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
}                                                                                             \
                                                                                              \
/* Along lines (inner == 1): four lines at once, one per lane of a vector of    \
 * doubles, their extended values interleaved in ws. */                                       \
static void fc_uniform_lines##SFX(const fc_lshape *s, int64_t K, const int64_t *map,         \
                                  double cval, const TIO *x, TIO *out, int64_t item,          \
                                  char *ws)                                                   \
{                                                                                             \
    const int64_t L = s->L, l0 = item * 4;                                                    \
    const int64_t nl = (s->outer - l0 < 4) ? s->outer - l0 : 4;                               \
    double *ib = (double *)ws, *ob = ib + 4 * (L + K - 1);                                    \
    const double k = (double)K;                                                               \
    for (int l = 0; l < 4; l++) {                                                             \
        const TIO *line = x + (l0 + (l < nl ? l : nl - 1)) * L;                               \
        for (int64_t q = 0; q < L + K - 1; q++) {                                             \
            const int64_t m = map[q];                                                         \
            ib[q * 4 + l] = m < 0 ? cval : (double)line[m];                                   \
        }                                                                                     \
    }                                                                                         \
    fc_u4 acc = {0.0, 0.0, 0.0, 0.0};                                                         \
    for (int64_t q = 0; q < K; q++)                                                           \
        acc += *(const fc_u4 *)(ib + 4 * q);                                                  \
    *(fc_u4 *)ob = acc / k;                                                                   \
    for (int64_t i = 1; i < L; i++) {                                                         \
        acc += *(const fc_u4 *)(ib + 4 * (i + K - 1)) - *(const fc_u4 *)(ib + 4 * (i - 1));   \
        *(fc_u4 *)(ob + 4 * i) = acc / k;                                                     \
    }                                                                                         \
    for (int64_t l = 0; l < nl; l++) {                                                        \
        TIO *d = out + (l0 + l) * L;                                                          \
        for (int64_t i = 0; i < L; i++)                                                       \
            d[i] = (TIO)ob[4 * i + l];                                                        \
    }                                                                                         \
}

FC_UNIFORM(float, _generic_f32)
FC_UNIFORM(double, _generic_f64)
#if FC_L_X86
#pragma GCC push_options
#pragma GCC target("avx2")
FC_UNIFORM(float, _avx2_f32)
FC_UNIFORM(double, _avx2_f64)
#pragma GCC pop_options
#endif

/* ---- dispatch ---- */
int fc_lines_level(int level)
{
#if FC_L_X86
    __builtin_cpu_init();
    if (level >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 2;
    if (level >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 1;
#endif
    (void)level;
    return 0;
}

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
    const int64_t data = s->inner == 1 ? (s->RB + K - 1) : s->CB;
    return FC_LALIGN(K * (int64_t)sizeof(void *)) + FC_LALIGN(data * sz) + 64;
}

/* Call NAME##<level>_<flavour>(...) for the level and flavour of the call. */
#if FC_L_X86
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

void fc_lines_corr(int level, int flavour, const fc_lshape *s, const fc_lpass *p,
                   const void *x, void *out, int64_t item, void *ws)
{
    char *w = (char *)FC_LALIGN((intptr_t)ws);
    if (s->inner == 1) {
        FC_L_DISPATCH(fc_corr_lines, s, p, x, out, item, w)
    } else {
        FC_L_DISPATCH(fc_corr_rows, s, p, x, out, item, w)
    }
}

int64_t fc_lines_fused_items(const fc_lshape *s)
{
    return s->outer * fc_cdiv(s->L, s->RB);
}

int64_t fc_lines_fused_ws(const fc_lshape *s, int64_t Kv, int64_t Kh, int flavour)
{
    const int64_t sz = fc_lines_itemsize(flavour), W = s->inner;
    const int64_t Kmax = Kv > Kh ? Kv : Kh;
    int64_t tmp = FC_LALIGN(W * sz);
    const int64_t ring = FC_LALIGN(Kv * W * sz) + FC_LALIGN(Kv * (int64_t)sizeof(void *));
    if (ring > tmp)
        tmp = ring;
    return FC_LALIGN(Kmax * (int64_t)sizeof(void *)) + FC_LALIGN((W + Kh - 1) * sz)
           + FC_LALIGN(W * sz) + tmp + 64;
}

void fc_lines_fused(int level, int flavour, const fc_lshape *s, const fc_lpass *first,
                    const fc_lpass *second, int vfirst, int combine, const void *x, void *out,
                    int64_t item, void *ws)
{
    char *w = (char *)FC_LALIGN((intptr_t)ws);
    FC_L_DISPATCH(fc_fused, s, first, second, vfirst, combine, x, out, item, w)
}

int64_t fc_lines_uniform_items(const fc_lshape *s)
{
    if (s->inner == 1)
        return fc_cdiv(s->outer, 4);
    return s->outer * fc_cdiv(s->inner, s->CB);
}

int64_t fc_lines_uniform_ws(const fc_lshape *s, int64_t K)
{
    if (s->inner == 1)
        return FC_LALIGN(4 * (s->L + K - 1) * 8) + FC_LALIGN(4 * s->L * 8) + 64;
    return FC_LALIGN(s->CB * 8) + 64;
}

void fc_lines_uniform(int level, int f32, const fc_lshape *s, int64_t K, const int64_t *map,
                      double cval, const void *x, void *out, int64_t item, void *ws)
{
    char *w = (char *)FC_LALIGN((intptr_t)ws);
#if FC_L_X86
    if (level >= 1) {
        if (s->inner == 1) {
            if (f32) fc_uniform_lines_avx2_f32(s, K, map, cval, x, out, item, w);
            else fc_uniform_lines_avx2_f64(s, K, map, cval, x, out, item, w);
        } else {
            if (f32) fc_uniform_rows_avx2_f32(s, K, map, cval, x, out, item, w);
            else fc_uniform_rows_avx2_f64(s, K, map, cval, x, out, item, w);
        }
        return;
    }
#endif
    (void)level;
    if (s->inner == 1) {
        if (f32) fc_uniform_lines_generic_f32(s, K, map, cval, x, out, item, w);
        else fc_uniform_lines_generic_f64(s, K, map, cval, x, out, item, w);
    } else {
        if (f32) fc_uniform_rows_generic_f32(s, K, map, cval, x, out, item, w);
        else fc_uniform_rows_generic_f64(s, K, map, cval, x, out, item, w);
    }
}
