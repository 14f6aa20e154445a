/* The depthwise kernels of dwconv.h, written once over the element type and
 * the vector width. dwconv.c includes this file once per ISA level and dtype
 * with
 *   FC_T       the element type (float or double)
 *   FC_IDX     a signed integer type of FC_T's size (for shuffle masks)
 *   FC_SFX     the function-name suffix (e.g. _avx2_f32)
 *   FC_VBYTES  the vector width in bytes of the level
 *   FC_VL      FC_VBYTES / sizeof(FC_T), the lanes of a vector
 *   FC_DW_R3, FC_DW_R5, FC_DW_R7   output rows per register tile for K = 3, 5, 7
 * defined, inside an isa.h level region (FC_LEVEL_BEGIN_<LEVEL>) for the
 * levels above the baseline. No include guard on purpose.
 *
 * Staged rows. Stride 1: element j of a staged row is the padded input
 * column j (input column j - pl, zero outside the row). Stride 2: the row
 * holds the padded columns split by parity, the even ones (padded column 2j
 * at j) in its first PH elements, the odd ones (2j + 1 at PH + j) in the next
 * PH: an output vector then reads tap kw as one contiguous vector (phase
 * kw % 2, index c + kw / 2) whatever the stride.
 *
 * Register tile: R output rows by U vectors of output columns, from column
 * c on. 3x3: input rows t = 0 .. (R - 1) * S + 2 of the tile, taps kw in
 * order: each input vector is loaded once and added into the rows r with
 * kh = t - r * S in [0, 3), with weight (kh, kw), the 9 weights held in
 * registers. 5x5 and 7x7 (too many weights for the registers): taps (kh,
 * kw) in order, each weight loaded once and added with every input vector
 * it meets. Either way an output element sums bias, then (kh, kw) in order,
 * in one fused chain per level.
 */
#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_FN(name) FC_CAT(name, FC_SFX)
#include "stage_impl.h"

/* One register tile (see the top comment): rp[t] the tile's staged input
 * rows, ph the phase length (stride 2), wv the 3 x 3 broadcast weights (ws
 * the K * K weights themselves, read by the larger kernels), b
 * the bias; orow[r] the output rows (NULL: a row past the item, computed
 * from zeros and not stored); `cols` valid columns in the last vector when
 * `tail` (else all U vectors are stored). */
static inline __attribute__((always_inline)) void
FC_FN(fc_dw_tile)(const FC_T *const *rp, int64_t ph, const FC_DVEC *wv, const FC_T *ws,
                  FC_T b, int64_t c,
                  FC_T *const *orow, int64_t cols, const int K, const int S, const int R,
                  const int U, const int tail)
{
    enum { VL = FC_VL };
    FC_DVEC acc[8][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
        for (int u = 0; u < U; ++u) acc[r][u] = (FC_DVEC){0} + b;
    }
    if (K == 3) {
        /* Input-major: the 9 weights stay in registers. */
#pragma GCC unroll 32
        for (int t = 0; t < (R - 1) * S + K; ++t) {
            const FC_T *src = rp[t] + c;
#pragma GCC unroll 8
            for (int kw = 0; kw < K; ++kw) {
                const int64_t off = S == 1 ? kw : (kw & 1) * ph + kw / 2;
#pragma GCC unroll 2
                for (int u = 0; u < U; ++u) {
                    const FC_DVEC xv = *(const FC_DVEC *)(src + off + u * VL);
#pragma GCC unroll 8
                    for (int r = 0; r < R; ++r) {
                        const int kh = t - r * S;
                        if (kh >= 0 && kh < K) acc[r][u] += wv[kh * K + kw] * xv;
                    }
                }
            }
        }
    } else {
        /* Weight-major: each weight is loaded once per tile and meets the
         * R * U input vectors it multiplies, straight from L1. The loop
         * over kh stays a loop: unrolled, the compiler would keep the loads
         * that rows r and r + 1 share (at kh and kh + S) for later, in too
         * few registers, and spill the sums. */
#pragma GCC unroll 1
        for (int kh = 0; kh < K; ++kh) {
            const FC_T *src[8];
            const FC_T *wrow = ws + kh * K;
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) src[r] = rp[r * S + kh] + c;
#pragma GCC unroll 8
            for (int kw = 0; kw < K; ++kw) {
                const int64_t off = S == 1 ? kw : (kw & 1) * ph + kw / 2;
                const FC_T wk = wrow[kw];
#pragma GCC unroll 8
                for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
                    for (int u = 0; u < U; ++u)
                        acc[r][u] += wk * *(const FC_DVEC *)(src[r] + off + u * VL);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        if (!orow[r]) continue;
        if (!tail) {
#pragma GCC unroll 2
            for (int u = 0; u < U; ++u) *(FC_DVEC *)(orow[r] + c + u * VL) = acc[r][u];
        } else {
            FC_FN(fc_st_store_part)(orow[r] + c, acc[r][0], cols);
        }
    }
}

/* Output rows [oh0, oh0 + nrows) of output channel oc, image n, for a
 * compile-time K, S and tile height R. */
static inline __attribute__((always_inline)) void
FC_FN(fc_dw_item_k)(const fc_dwgeom *g, const FC_T *x, const FC_T *w, const FC_T *bias,
                    FC_T *out, FC_T *buf, const FC_T *zrow, int64_t n, int64_t oc, int64_t oh0,
                    int64_t nrows, const int K, const int S, const int R)
{
    enum { VL = FC_VL };
    const int64_t H = g->H, W = g->W, OW = g->OW, SW = g->SW;
    const int64_t ph = S == 1 ? SW : SW / 2;                  /* one phase's length */
    const int64_t m = g->Co / g->C, ic = oc / m;
    const FC_T *xc = x + (n * g->C + ic) * H * W;
    const FC_T b = bias ? bias[oc] : (FC_T)0;
    const FC_T *end = x + g->N * g->C * H * W;
    const int64_t pl = g->pl, pt = g->pt;
    FC_CAT(fc_ststage, FC_SFX) sp;
    /* the staged elements the taps read: one phase's */
    const int64_t reach = (OW + VL - 1) / VL * VL + (S == 1 ? K - 1 : (K - 1) / 2);
    if (S == 2) FC_FN(fc_st_stage_plan)(&sp, W, pl, ph, reach);
    const FC_T *ws = w + oc * K * K;
    FC_DVEC wv[9];
    for (int i = 0; i < 9 && K == 3; ++i) wv[i] = FC_FN(fc_st_splat)(ws[i]);
    /* The item's input rows: t = 0 .. nin - 1, padded row oh0 * S + t. Rows
     * of the last tile past the item read the zero row. */
    const int64_t nin = (nrows - 1) * S + K;
    const int64_t ntile = ((nrows + R - 1) / R - 1) * S * R + (R - 1) * S + K;
    const FC_T *rp[FC_DW_MAX_STAGED];
    for (int64_t t = 0; t < ntile; ++t) {
        const int64_t ih = oh0 * S - pt + t;
        if (t < nin && ih >= 0 && ih < H) {
            FC_T *dst = buf + t * SW;
            FC_FN(fc_st_stage)(dst, xc + ih * W, W, pl, ph, reach, end, &sp, S);
            rp[t] = dst;
        } else {
            rp[t] = zrow;
        }
    }
    {
        /* An item of a whole (small) plane: the next output channel's input
         * rows, the next item's, fetched while this item computes. Planes
         * lie far apart, a jump the hardware prefetchers do not make. */
        const int64_t ic1 = (oc + 1) / m;
        int64_t ih0 = oh0 * S - pt, ih1 = ih0 + nin;
        ih0 = ih0 < 0 ? 0 : ih0;
        ih1 = ih1 > H ? H : ih1;
        if (nrows == g->OH && ic1 != ic && ic1 < g->C && ih1 > ih0) {
            const FC_T *p = x + (n * g->C + ic1) * H * W + ih0 * W;
            const int64_t cnt = (ih1 - ih0) * W, line = 64 / (int64_t)sizeof(FC_T);
            for (int64_t e = 0; e < cnt; e += line) FC_DW_PREFETCH(p + e);
        }
    }
    FC_T *obase = out + ((n * g->Co + oc) * g->OH + oh0) * OW;
    for (int64_t r0 = 0; r0 < nrows; r0 += R) {
        FC_T *orow[8];
        for (int r = 0; r < R; ++r) orow[r] = r0 + r < nrows ? obase + (r0 + r) * OW : 0;
        const FC_T *const *tp = rp + r0 * S;
        int64_t c = 0;
        for (; c + 2 * VL <= OW; c += 2 * VL)
            FC_FN(fc_dw_tile)(tp, ph, wv, ws, b, c, orow, 0, K, S, R, 2, 0);
        for (; c + VL <= OW; c += VL)
            FC_FN(fc_dw_tile)(tp, ph, wv, ws, b, c, orow, 0, K, S, R, 1, 0);
        if (c < OW)
            FC_FN(fc_dw_tile)(tp, ph, wv, ws, b, c, orow, OW - c, K, S, R, 1, 1);
    }
}

#define FC_DW_KERNEL(K, S, R)                                                                \
static void FC_FN(fc_dw##K##x##K##s##S)(const fc_dwgeom *g, const FC_T *x, const FC_T *w,    \
                                        const FC_T *bias, FC_T *out, FC_T *buf,              \
                                        const FC_T *zrow, int64_t n, int64_t oc,             \
                                        int64_t oh0, int64_t nrows)                          \
{                                                                                            \
    FC_FN(fc_dw_item_k)(g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows, K, S, R);          \
}
FC_DW_KERNEL(3, 1, FC_DW_R3)
FC_DW_KERNEL(3, 2, FC_DW_R3)
FC_DW_KERNEL(5, 1, FC_DW_R5)
FC_DW_KERNEL(5, 2, FC_DW_R5)
FC_DW_KERNEL(7, 1, FC_DW_R7)
FC_DW_KERNEL(7, 2, FC_DW_R7)
#undef FC_DW_KERNEL

static void FC_FN(fc_dw_item)(const fc_dwgeom *g, const FC_T *x, const FC_T *w,
                              const FC_T *bias, FC_T *out, FC_T *buf, const FC_T *zrow,
                              int64_t n, int64_t oc, int64_t oh0, int64_t nrows)
{
    switch (g->K * 10 + g->S) {
    case 31: FC_FN(fc_dw3x3s1)(g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows); break;
    case 32: FC_FN(fc_dw3x3s2)(g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows); break;
    case 51: FC_FN(fc_dw5x5s1)(g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows); break;
    case 52: FC_FN(fc_dw5x5s2)(g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows); break;
    case 71: FC_FN(fc_dw7x7s1)(g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows); break;
    case 72: FC_FN(fc_dw7x7s2)(g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows); break;
    default: break;
    }
}

/* ------------------------------------------------------------------------
 * Small maps, channel-vectorised (dwconv.h's fc_dwcv_item): the lanes of a
 * vector are FC_VL consecutive channels (multiplier 1), so a 7 x 7 map costs
 * no row tails and no per-row staging. The item's planes are staged
 * transposed and zero-padded, buf[(ih * PW + iw) * VL + l] = padded input
 * (ih, iw) of channel c0 + l (zero for lanes past nc), its weights
 * likewise, wbuf[t * VL + l]; each output position sums bias, then (kh, kw)
 * in order, the row kernels' order (the same bits). Positions are computed
 * FC_DWCV_POS at a time along the row, independent chains in flight. With 8
 * lanes and a whole vector of channels, the planes go in and the results
 * out through 8 x 8 transposes (8 positions of 8 channels at a time). */
#if FC_VL == 8
#define FC_DWCV_POS 8
#define FC_DWCV_T8 1
#else
#define FC_DWCV_POS 4
#define FC_DWCV_T8 0
#endif

#if FC_DWCV_T8
/* r[j][l] = v[l][j]: the 8 x 8 transpose of v[0..7] in three rounds of
 * two-vector shuffles. */
#if defined(__clang__)
#define FC_DWCV_SHUF(a, b, ...) __builtin_shufflevector((a), (b), __VA_ARGS__)
#else
#define FC_DWCV_SHUF(a, b, ...) __builtin_shuffle((a), (b), (FC_DMASK){__VA_ARGS__})
#endif
static inline __attribute__((always_inline)) void FC_FN(fc_dwcv_t8)(FC_DVEC v[8])
{
    FC_DVEC t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = FC_DWCV_SHUF(v[i], v[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = FC_DWCV_SHUF(v[i], v[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = FC_DWCV_SHUF(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 1] = FC_DWCV_SHUF(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[i + 2] = FC_DWCV_SHUF(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 3] = FC_DWCV_SHUF(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int i = 0; i < 4; ++i) {
        v[i] = FC_DWCV_SHUF(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        v[i + 4] = FC_DWCV_SHUF(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}
#undef FC_DWCV_SHUF
#endif

static inline __attribute__((always_inline)) void
FC_FN(fc_dwcv_item_k)(const fc_dwgeom *g, const FC_T *x, const FC_T *w, const FC_T *bias,
                      FC_T *out, FC_T *buf, int64_t n, int64_t c0, int64_t nc, const int K,
                      const int S)
{
    enum { VL = FC_VL, P = FC_DWCV_POS };
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, HW = H * W;
    const int64_t PH = (OH - 1) * S + K;
    const int64_t OWP = (OW + P - 1) / P * P;            /* positions computed per row */
    const int64_t PW = (OWP - 1) * S + K;
    FC_T *wbuf = buf + PH * PW * VL;
    const FC_T *xc = x + (n * g->C + c0) * HW;           /* the item's planes, contiguous */
    {
        /* The next item's planes (the next channels, contiguous), fetched
         * while this item computes: a stream the prefetchers would start
         * late, since an item reads only a few lines of each plane. */
        const int64_t first = n * g->C + c0 + nc, last = g->N * g->C;
        const int64_t cnt = (first + VL < last ? VL : last - first) * HW;
        const FC_T *p = x + first * HW;
        const int64_t line = 64 / (int64_t)sizeof(FC_T);
        for (int64_t e = 0; e < cnt; e += line) FC_DW_PREFETCH(p + e);
    }
    memset(buf, 0, (size_t)(PH * PW * VL) * sizeof(FC_T));
    /* staged position of input element p of a plane */
#define FC_DWCV_AT(p) (buf + (((p) / W + g->pt) * PW + (p) % W + g->pl) * VL)
    int64_t p0 = 0;
#if FC_DWCV_T8
    if (nc == VL && PW >= W + g->pl && PH >= H + g->pt) {
        for (; p0 + 8 <= HW; p0 += 8) {
            FC_DVEC v[8];
            for (int l = 0; l < 8; ++l) v[l] = *(const FC_DVEC *)(xc + l * HW + p0);
            FC_FN(fc_dwcv_t8)(v);
            for (int j = 0; j < 8; ++j) *(FC_DVEC *)FC_DWCV_AT(p0 + j) = v[j];
        }
    }
#endif
    for (int64_t l = 0; l < nc; ++l) {
        for (int64_t p = p0; p < HW; ++p) {
            const int64_t ih = p / W + g->pt, iw = p % W + g->pl;
            if (ih < PH && iw < PW) buf[(ih * PW + iw) * VL + l] = xc[l * HW + p];
        }
    }
#undef FC_DWCV_AT
    for (int64_t l = 0; l < nc; ++l) {
        const FC_T *wl = w + (c0 + l) * K * K;
        for (int t = 0; t < K * K; ++t) wbuf[t * VL + l] = wl[t];
    }
    for (int64_t l = nc; l < VL; ++l)
        for (int t = 0; t < K * K; ++t) wbuf[t * VL + l] = 0;
    FC_DVEC bv;
    for (int l = 0; l < VL; ++l) bv[l] = bias && l < nc ? bias[c0 + l] : (FC_T)0;
    const FC_DVEC b0 = (FC_DVEC){0} + bv;
    FC_T *ob = out + (n * g->Co + c0) * OH * OW;
    for (int64_t oh = 0; oh < OH; ++oh) {
        for (int64_t ow0 = 0; ow0 < OWP; ow0 += P) {
            FC_DVEC acc[P];
#pragma GCC unroll 8
            for (int j = 0; j < P; ++j) acc[j] = b0;
            const FC_T *src = buf + ((oh * S) * PW + ow0 * S) * VL;
#pragma GCC unroll 7
            for (int kh = 0; kh < K; ++kh) {
#pragma GCC unroll 7
                for (int kw = 0; kw < K; ++kw) {
                    const FC_DVEC wv = *(const FC_DVEC *)(wbuf + (kh * K + kw) * VL);
                    const FC_T *sp = src + (kh * PW + kw) * VL;
#pragma GCC unroll 8
                    for (int j = 0; j < P; ++j)
                        acc[j] += wv * *(const FC_DVEC *)(sp + j * S * VL);
                }
            }
            const int64_t npos = OW - ow0 < P ? OW - ow0 : P;
            FC_T *o = ob + oh * OW + ow0;
#if FC_DWCV_T8
            if (nc == VL) {
                FC_FN(fc_dwcv_t8)(acc);        /* acc[l]: channel l's 8 positions */
                for (int l = 0; l < 8; ++l) {
                    if (npos == 8) *(FC_DVEC *)(o + l * OH * OW) = acc[l];
                    else FC_FN(fc_st_store_part)(o + l * OH * OW, acc[l], npos);
                }
                continue;
            }
#endif
            for (int j = 0; j < npos; ++j) {
                for (int64_t l = 0; l < nc; ++l) o[l * OH * OW + j] = acc[j][l];
            }
        }
    }
}

static void FC_FN(fc_dwcv_item)(const fc_dwgeom *g, const FC_T *x, const FC_T *w,
                                const FC_T *bias, FC_T *out, FC_T *buf, int64_t n,
                                int64_t c0, int64_t nc)
{
    switch (g->K * 10 + g->S) {
    case 31: FC_FN(fc_dwcv_item_k)(g, x, w, bias, out, buf, n, c0, nc, 3, 1); break;
    case 32: FC_FN(fc_dwcv_item_k)(g, x, w, bias, out, buf, n, c0, nc, 3, 2); break;
    case 51: FC_FN(fc_dwcv_item_k)(g, x, w, bias, out, buf, n, c0, nc, 5, 1); break;
    case 52: FC_FN(fc_dwcv_item_k)(g, x, w, bias, out, buf, n, c0, nc, 5, 2); break;
    case 71: FC_FN(fc_dwcv_item_k)(g, x, w, bias, out, buf, n, c0, nc, 7, 1); break;
    case 72: FC_FN(fc_dwcv_item_k)(g, x, w, bias, out, buf, n, c0, nc, 7, 2); break;
    default: break;
    }
}
#undef FC_DWCV_POS
#undef FC_DWCV_T8

#undef FC_ST_EVEN_IDX
#undef FC_ST_ODD_IDX
#undef FC_ST_EVEN
#undef FC_ST_ODD
#undef FC_DMASK
#undef FC_DVEC
#undef FC_FN
#undef FC_CAT
#undef FC_CAT_
