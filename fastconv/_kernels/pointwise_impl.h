/* The pw1x1gemv kernel of pointwise.h, written once over the element type
 * and the vector width. pointwise.c includes this file once per ISA level
 * and dtype with
 *   FC_T       the element type (float or double)
 *   FC_SFX     the function-name suffix (e.g. _avx2_f32)
 *   FC_VBYTES  the vector width in bytes of the level
 *   FC_VL      FC_VBYTES / sizeof(FC_T), the lanes of a vector
 * defined, inside an isa.h level region (FC_LEVEL_BEGIN_<LEVEL>) for the
 * levels above the baseline. No include guard on purpose.
 */
#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_FN(name) FC_CAT(name, FC_SFX)
#define FC_PWVEC FC_CAT(fc_pwvec, FC_SFX)

/* A vector of the level, aligned only as its elements (unaligned access). */
typedef FC_T FC_PWVEC __attribute__((vector_size(FC_VBYTES), aligned(sizeof(FC_T))));

/* The lanes of v added pairwise: lane i + h into lane i for h = VL/2, ..., 1. */
static inline __attribute__((always_inline)) FC_T FC_FN(fc_pw_hsum)(FC_PWVEC v)
{
    FC_T s[FC_VL];
    __builtin_memcpy(s, &v, sizeof(s));
#pragma GCC unroll 8
    for (int h = FC_VL / 2; h >= 1; h /= 2) {
#pragma GCC unroll 16
        for (int i = 0; i < h; ++i) s[i] += s[i + h];
    }
    return s[0];
}

/* A register tile: weight rows w + r * ldw (r < R) by pixels x + q * ldx
 * (q < Q), K channels; out[r * ldo + q] gets bias[r] (0 without bias) plus
 * the dot product, summed as pointwise.h says. */
static inline __attribute__((always_inline)) void
FC_FN(fc_pw_tile)(const FC_T *w, int64_t ldw, const FC_T *x, int64_t ldx, int64_t K,
                  const FC_T *bias, FC_T *out, int64_t ldo, const int R, const int Q)
{
    enum { VL = FC_VL };
    FC_PWVEC acc[8][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
        for (int q = 0; q < Q; ++q) acc[r][q] = (FC_PWVEC){0};
    }
    int64_t k = 0;
    for (; k + VL <= K; k += VL) {
        FC_PWVEC xv[2];
#pragma GCC unroll 2
        for (int q = 0; q < Q; ++q) xv[q] = *(const FC_PWVEC *)(x + q * ldx + k);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const FC_PWVEC wv = *(const FC_PWVEC *)(w + r * ldw + k);
#pragma GCC unroll 2
            for (int q = 0; q < Q; ++q) acc[r][q] += wv * xv[q];
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
        for (int q = 0; q < Q; ++q) {
            FC_T s = FC_FN(fc_pw_hsum)(acc[r][q]);
            for (int64_t j = k; j < K; ++j) s += w[r * ldw + j] * x[q * ldx + j];
            out[r * ldo + q] = (bias ? bias[r] : (FC_T)0) + s;
        }
    }
}

/* Rows [0, nb) of a block against Q pixels: tiles of 8 rows for one pixel
 * (8 independent sums), 4 for two, then halving tails. */
static inline __attribute__((always_inline)) void
FC_FN(fc_pw_rows)(const FC_T *w, int64_t ldw, const FC_T *x, int64_t ldx, int64_t K,
                  const FC_T *bias, FC_T *out, int64_t ldo, int64_t nb, const int Q)
{
    int64_t r = 0;
    if (Q == 1) {
        for (; r + 8 <= nb; r += 8)
            FC_FN(fc_pw_tile)(w + r * ldw, ldw, x, ldx, K, bias ? bias + r : NULL,
                              out + r * ldo, ldo, 8, 1);
    }
    for (; r + 4 <= nb; r += 4)
        FC_FN(fc_pw_tile)(w + r * ldw, ldw, x, ldx, K, bias ? bias + r : NULL,
                          out + r * ldo, ldo, 4, Q);
    for (; r + 2 <= nb; r += 2)
        FC_FN(fc_pw_tile)(w + r * ldw, ldw, x, ldx, K, bias ? bias + r : NULL,
                          out + r * ldo, ldo, 2, Q);
    for (; r < nb; ++r)
        FC_FN(fc_pw_tile)(w + r * ldw, ldw, x, ldx, K, bias ? bias + r : NULL,
                          out + r * ldo, ldo, 1, Q);
}

static void FC_FN(fc_pw_item)(const fc_pwgeom *g, const FC_T *xt, const FC_T *w,
                              const FC_T *bias, FC_T *out, int64_t n, int64_t grp,
                              int64_t oc0, int64_t nb)
{
    const int64_t K = g->C / g->groups, Cog = g->Co / g->groups, P = g->P;
    const int64_t oc = grp * Cog + oc0;
    const FC_T *xg = xt + n * P * g->C + grp * K;
    const FC_T *wg = w + oc * K;
    const FC_T *bg = bias ? bias + oc : NULL;
    FC_T *og = out + (n * g->Co + oc) * P;
    int64_t p = 0;
    for (; p + 2 <= P; p += 2)
        FC_FN(fc_pw_rows)(wg, K, xg + p * g->C, g->C, K, bg, og + p, P, nb, 2);
    for (; p < P; ++p)
        FC_FN(fc_pw_rows)(wg, K, xg + p * g->C, g->C, K, bg, og + p, P, nb, 1);
}

#undef FC_PWVEC
#undef FC_FN
#undef FC_CAT
#undef FC_CAT_
