/* The direct convolution kernel, written once over the element type and the
 * vector width.
 *
 * conv.c includes this file once per ISA level and dtype with
 *   FC_T       the element type (float or double)
 *   FC_SFX     the function-name suffix (e.g. _avx2_f32)
 *   FC_VBYTES  the vector width in bytes the level computes with
 * defined, inside a `#pragma GCC target` region for the levels above the
 * baseline. No include guard on purpose.
 *
 * One call computes nb (<= FC_DIRECT_OCB) output channels of one output row
 * in chunks of CH = 2 vectors of output columns. A chunk's accumulators
 * (nb x 2 vectors) stay in registers for the whole reduction over
 * (ic, kd, kh, kw). Its input comes
 *   - straight from the input row when the chunk is stride-1 and every tap of
 *     it lies inside the row (the interior: most chunks), or
 *   - from the chunk's input window copied once per (ic, kd, kh) into a stack
 *     buffer, zero-filled where it hangs over the padding and split by phase
 *     (window[i * stride + r] at buf[r * PL + i]), so every tap is again two
 *     contiguous vector loads: edges, the last partial chunk, strides > 1;
 *   - lane by lane only when the window is larger than the buffer (huge
 *     dilations), the rare case.
 * Every path sums the same products in the same order, so where a column is
 * computed never changes its bits.
 */
#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_FN(name) FC_CAT(name, FC_SFX)
#define FC_VEC FC_CAT(fc_vec, FC_SFX)

/* One SIMD register of the level: FC_VBYTES / sizeof(FC_T) lanes, aligned
 * only as its elements, so dereferencing it is an unaligned load or store. */
typedef FC_T FC_VEC __attribute__((vector_size(FC_VBYTES), aligned(sizeof(FC_T))));

/* Elements of the per-chunk window buffer (on the stack), and the largest
 * stride it serves. */
#define FC_DIRECT_MAXWIN 640
#define FC_DIRECT_MAXPHASE 8

static inline __attribute__((always_inline))
void FC_FN(fc_direct_rows)(const fc_geom *g, const FC_T *xn, const FC_T *const *wb,
                           const FC_T *bv, FC_T *const *orow, const FC_T *zrow,
                           int64_t od, int64_t oh, const int NB)
{
    enum { VL = FC_VBYTES / sizeof(FC_T), CH = 2 * VL };
    const int64_t KK = g->KD * g->KH * g->KW;
    const int64_t HW = g->H * g->W, DHW = g->D * HW;
    const int64_t W = g->W, OW = g->OW, sw = g->sw, pw = g->pw, dw = g->dw, KW = g->KW;
    /* Output columns whose every tap lies inside the input row: [ow_a, ow_b). */
    const int64_t ow_a = (pw + sw - 1) / sw;
    const int64_t last = W - 1 + pw - (KW - 1) * dw;
    const int64_t ow_b = last < 0 ? 0 : (last / sw + 1 < OW ? last / sw + 1 : OW);
    /* A chunk's input window: L elements from column o * sw - pw on. */
    const int64_t L = (CH - 1) * sw + (KW - 1) * dw + 1;
    const int64_t PL = (L + sw - 1) / sw;
    const int64_t dq = dw / sw, dr = dw % sw;
    FC_T buf[FC_DIRECT_MAXWIN];

    for (int64_t o = 0; o < OW; o += CH) {
        const int64_t cols = OW - o < CH ? OW - o : CH;
        const int64_t base0 = o * sw - pw;
        const int inrow = sw == 1 && cols == CH && o >= ow_a && o + CH <= ow_b;
        const int buffered = !inrow && L <= FC_DIRECT_MAXWIN && sw <= FC_DIRECT_MAXPHASE;
        /* Phase r of the window holds columns base0 + r + i * sw, i < pcnt[r];
         * those inside the row are i in [plo[r], phi[r]). */
        int64_t plo[FC_DIRECT_MAXPHASE], phi[FC_DIRECT_MAXPHASE], pcnt[FC_DIRECT_MAXPHASE];
        const int64_t nph = buffered ? (sw < L ? sw : L) : 0;
        for (int64_t r = 0; r < nph; ++r) {
            const int64_t first = base0 + r;
            const int64_t cnt = (L - r + sw - 1) / sw;
            int64_t lo = first >= 0 ? 0 : (-first + sw - 1) / sw;
            int64_t hi = W - 1 - first < 0 ? 0 : (W - 1 - first) / sw + 1;
            if (lo > cnt) lo = cnt;
            if (hi > cnt) hi = cnt;
            if (hi < lo) hi = lo;
            plo[r] = lo; phi[r] = hi; pcnt[r] = cnt;
        }
        FC_VEC acc[FC_DIRECT_OCB][2];
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j) {
            acc[j][0] = (FC_VEC){0} + bv[j];
            acc[j][1] = acc[j][0];
        }
        for (int64_t ic = 0; ic < g->Cg; ++ic)
        for (int64_t kd = 0; kd < g->KD; ++kd) {
            const int64_t id = od * g->sd - g->pd + kd * g->dd;
            const int vd = id >= 0 && id < g->D;
            for (int64_t kh = 0; kh < g->KH; ++kh) {
                const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
                /* A row in the padding reads zeros: every tap multiplies. */
                const FC_T *row = (vd && ih >= 0 && ih < g->H)
                                  ? xn + ic * DHW + id * HW + ih * W : zrow;
                const int64_t wt = ic * KK + (kd * g->KH + kh) * KW;
                if (buffered) {
                    for (int64_t r = 0; r < nph; ++r) {
                        FC_T *b = buf + r * PL;
                        const int64_t first = base0 + r;            /* input column of b[0] */
                        const int64_t lo = plo[r], hi = phi[r], cnt = pcnt[r];
                        for (int64_t i = 0; i < lo; ++i) b[i] = 0;
                        if (sw == 1) {
                            __builtin_memcpy(b + lo, row + first + lo, (size_t)(hi - lo) * sizeof(FC_T));
                        } else {
                            for (int64_t i = lo; i < hi; ++i) b[i] = row[first + i * sw];
                        }
                        for (int64_t i = hi; i < cnt; ++i) b[i] = 0;
                    }
                }
                /* acc[j] += w[j, tap] * (x0, x1) for the block's channels. */
#define FC_DIRECT_FMA(kw)                                              \
                do {                                                   \
                    _Pragma("GCC unroll 8")                            \
                    for (int j = 0; j < NB; ++j) {                     \
                        const FC_T wv = wb[j][wt + (kw)];              \
                        acc[j][0] += wv * x0;                          \
                        acc[j][1] += wv * x1;                          \
                    }                                                  \
                } while (0)
                if (inrow) {
                    const FC_T *src = row + base0;
                    for (int64_t kw = 0; kw < KW; ++kw, src += dw) {
                        const FC_VEC x0 = *(const FC_VEC *)src;        /* unaligned loads */
                        const FC_VEC x1 = *(const FC_VEC *)(src + VL);
                        FC_DIRECT_FMA(kw);
                    }
                } else if (buffered) {
                    /* Tap kw starts at window[kw * dw]: phase r, index q. */
                    int64_t q = 0, r = 0;
                    for (int64_t kw = 0; kw < KW; ++kw) {
                        const FC_T *src = buf + r * PL + q;
                        const FC_VEC x0 = *(const FC_VEC *)src;
                        const FC_VEC x1 = *(const FC_VEC *)(src + VL);
                        FC_DIRECT_FMA(kw);
                        q += dq;
                        r += dr;
                        if (r >= sw) { r -= sw; ++q; }
                    }
                } else {
                    for (int64_t kw = 0; kw < KW; ++kw) {
                        FC_T t[CH];
                        for (int64_t l = 0; l < CH; ++l) {
                            const int64_t iw = base0 + kw * dw + l * sw;
                            t[l] = (l < cols && iw >= 0 && iw < W) ? row[iw] : (FC_T)0;
                        }
                        const FC_VEC x0 = *(const FC_VEC *)t;
                        const FC_VEC x1 = *(const FC_VEC *)(t + VL);
                        FC_DIRECT_FMA(kw);
                    }
                }
#undef FC_DIRECT_FMA
            }
        }
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j) {
            if (cols == CH) {
                *(FC_VEC *)(orow[j] + o) = acc[j][0];
                *(FC_VEC *)(orow[j] + o + VL) = acc[j][1];
            } else {
                for (int64_t l = 0; l < cols; ++l)
                    orow[j][o + l] = l < VL ? acc[j][0][l] : acc[j][1][l - VL];
            }
        }
    }
}

void FC_FN(fc_direct_item)(const fc_geom *g, const FC_T *x, const FC_T *w, const FC_T *bias,
                           FC_T *out, const FC_T *zrow,
                           int64_t n, int64_t grp, int64_t oc0, int64_t nb,
                           int64_t od, int64_t oh)
{
    const int64_t KK = g->KD * g->KH * g->KW;
    const FC_T *xn = x + (n * g->C + grp * g->Cg) * g->D * g->H * g->W;
    const FC_T *wb[FC_DIRECT_OCB];
    FC_T *orow[FC_DIRECT_OCB];
    FC_T bv[FC_DIRECT_OCB];
    for (int64_t j = 0; j < nb; ++j) {
        const int64_t oc = oc0 + j;
        wb[j] = w + oc * g->Cg * KK;
        orow[j] = out + (((n * g->Co + oc) * g->OD + od) * g->OH + oh) * g->OW;
        bv[j] = bias ? bias[oc] : (FC_T)0;
    }
    /* A compile-time block size for each nb: no work on missing channels. */
    switch (nb) {
    case 1: FC_FN(fc_direct_rows)(g, xn, wb, bv, orow, zrow, od, oh, 1); break;
    case 2: FC_FN(fc_direct_rows)(g, xn, wb, bv, orow, zrow, od, oh, 2); break;
    case 3: FC_FN(fc_direct_rows)(g, xn, wb, bv, orow, zrow, od, oh, 3); break;
    default: FC_FN(fc_direct_rows)(g, xn, wb, bv, orow, zrow, od, oh, FC_DIRECT_OCB); break;
    }
}

#undef FC_DIRECT_MAXWIN
#undef FC_DIRECT_MAXPHASE
#undef FC_VEC
#undef FC_FN
#undef FC_CAT
#undef FC_CAT_
