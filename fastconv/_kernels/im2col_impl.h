/* Implicit im2col packing, written once over the element type (no SIMD of its
 * own: its inner loops are copies and, for strides 2 and 4, 16-byte shuffles in the
 * compiler's generic vector types). conv.c includes this file once per dtype
 * with FC_T, FC_IDX (a signed integer type of FC_T's size), FC_IS_F64 and
 * FC_SFX (_f32, _f64) defined. No include guard on purpose.
 */
#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_FN(name) FC_CAT(name, FC_SFX)
#define FC_PVEC FC_CAT(fc_pvec, FC_SFX)

/* 16 bytes, aligned only as the elements: dereferencing copies unaligned. */
typedef FC_T FC_PVEC __attribute__((vector_size(16), aligned(sizeof(FC_T))));

/* Copy a short run (at most a panel's width): inline vector moves, no libc call. */
static inline void FC_FN(fc_copy_run)(FC_T *restrict d, const FC_T *restrict s, int64_t n)
{
    enum { V = 16 / sizeof(FC_T) };
    int64_t i = 0;
    for (; i + V <= n; i += V) *(FC_PVEC *)(d + i) = *(const FC_PVEC *)(s + i);
    for (; i < n; ++i) d[i] = s[i];
}

/* d[i] = s[2 * i] for i < n: pairs of vectors deinterleaved by a shuffle
 * (stride-2 convolutions' packing is otherwise a scalar gather). A vector
 * step reads one element past the last one it keeps, so it runs only while
 * that element is still one the run reads. */
#if defined(__clang__)
#if FC_IS_F64
#define FC_EVEN(lo, hi) __builtin_shufflevector((lo), (hi), 0, 2)
#else
#define FC_EVEN(lo, hi) __builtin_shufflevector((lo), (hi), 0, 2, 4, 6)
#endif
#elif defined(__GNUC__)
typedef FC_IDX FC_CAT(fc_pidx, FC_SFX) __attribute__((vector_size(16)));
#if FC_IS_F64
#define FC_EVEN(lo, hi) __builtin_shuffle((lo), (hi), (FC_CAT(fc_pidx, FC_SFX)){0, 2})
#else
#define FC_EVEN(lo, hi) __builtin_shuffle((lo), (hi), (FC_CAT(fc_pidx, FC_SFX)){0, 2, 4, 6})
#endif
#endif
static inline void FC_FN(fc_copy_run_s2)(FC_T *restrict d, const FC_T *restrict s, int64_t n)
{
    enum { V = 16 / sizeof(FC_T) };
    int64_t i = 0;
#ifdef FC_EVEN
    for (; i + V < n; i += V) {
        const FC_PVEC lo = *(const FC_PVEC *)(s + 2 * i), hi = *(const FC_PVEC *)(s + 2 * i + V);
        *(FC_PVEC *)(d + i) = FC_EVEN(lo, hi);
    }
#endif
    for (; i < n; ++i) d[i] = s[2 * i];
}

/* d[i] = s[4 * i] for i < n: the even elements of the even elements (the
 * same reading rule as fc_copy_run_s2: a step's last read, 4 V - 1 past its
 * first, stays within the run). */
static inline void FC_FN(fc_copy_run_s4)(FC_T *restrict d, const FC_T *restrict s, int64_t n)
{
    enum { V = 16 / sizeof(FC_T) };
    int64_t i = 0;
#ifdef FC_EVEN
    for (; i + V < n; i += V) {
        const FC_T *p = s + 4 * i;
        const FC_PVEC a = *(const FC_PVEC *)p, b = *(const FC_PVEC *)(p + V);
        const FC_PVEC c = *(const FC_PVEC *)(p + 2 * V), e = *(const FC_PVEC *)(p + 3 * V);
        *(FC_PVEC *)(d + i) = FC_EVEN(FC_EVEN(a, b), FC_EVEN(c, e));
    }
#endif
    for (; i < n; ++i) d[i] = s[4 * i];
}
#undef FC_EVEN

/* Output columns t with 0 <= t * sw + off < W are [*lo, *hi). */
static inline void FC_FN(fc_tap_columns)(int64_t off, int64_t sw, int64_t W,
                                         int64_t *lo, int64_t *hi)
{
    if (sw == 1) {
        *lo = off >= 0 ? 0 : -off;
        *hi = W - off < 0 ? 0 : W - off;
    } else {
        *lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
        *hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
    }
}

/* Kernel widths up to this get their column ranges tabulated once per call. */
#define FC_PACK_KW_TABLE 64
/* Columns of one row of the unfolded matrix staged at a time (a multiple of
 * every level's NR): the row is assembled run by run (one run per output
 * row, with its padding) in a small buffer that stays in L1, then dealt out
 * to the panels in whole NR-wide copies. Writing the runs straight into the
 * panels cut them at every panel boundary: short copies, each with its own
 * bounds logic, which dominated the packing of stride-2 layers. */
#define FC_PACK_CHUNK 512
typedef char FC_CAT(fc_check_chunk, FC_SFX)[FC_PACK_CHUNK >= FC_GEMM_MAX_NR ? 1 : -1];

/* Copy ncopies NR-wide pieces: piece q from s + q * nr to d + q * pstride.
 * The common widths (32, 64 and 128 bytes) are constant-size copies. */
static inline void FC_FN(fc_deal_panels)(FC_T *restrict d, int64_t pstride,
                                         const FC_T *restrict s, int64_t nr, int64_t ncopies)
{
    const int64_t bytes = nr * (int64_t)sizeof(FC_T);
    int64_t q = 0;
    if (bytes == 64) {
        for (; q < ncopies; ++q) memcpy(d + q * pstride, s + q * nr, 64);
    } else if (bytes == 32) {
        for (; q < ncopies; ++q) memcpy(d + q * pstride, s + q * nr, 32);
    } else if (bytes == 128) {
        for (; q < ncopies; ++q) memcpy(d + q * pstride, s + q * nr, 128);
    } else {
        for (; q < ncopies; ++q) memcpy(d + q * pstride, s + q * nr, (size_t)bytes);
    }
}

void FC_FN(fc_im2col_pack)(const fc_geom *g, const FC_T *x, int64_t n, int64_t grp,
                           int64_t p0, int64_t ncols, int64_t ic0, int64_t ic1, int64_t nr,
                           FC_T *Bp)
{
    const int64_t HW = g->H * g->W, DHW = g->D * HW;
    const int64_t OHW = g->OH * g->OW, OW = g->OW;
    const int64_t K = (ic1 - ic0) * g->KD * g->KH * g->KW;
    const int64_t W = g->W, sw = g->sw;
    const int64_t panel = K * nr;                  /* elements of one packed panel */
    const FC_T *xn = x + (n * g->C + grp * g->Cg) * DHW;
    /* Chunks hold whole panels: FC_PACK_CHUNK rounded down to a multiple of nr. */
    const int64_t chunk = FC_PACK_CHUNK / nr * nr;
    const int64_t line = 64 / (int64_t)sizeof(FC_T);
    FC_T buf[FC_PACK_CHUNK];
    int64_t tlo[FC_PACK_KW_TABLE], thi[FC_PACK_KW_TABLE];
    const int tabulated = g->KW <= FC_PACK_KW_TABLE;
    if (ncols <= 0 || K <= 0 || chunk <= 0) return;
    for (int64_t kw = 0; tabulated && kw < g->KW; ++kw)
        FC_FN(fc_tap_columns)(kw * g->dw - g->pw, sw, W, &tlo[kw], &thi[kw]);

    for (int64_t c0 = 0; c0 < ncols; c0 += chunk) {
        const int64_t cn = ncols - c0 < chunk ? ncols - c0 : chunk;
        const int64_t pa = p0 + c0, pb = p0 + c0 + cn - 1;
        const int64_t od_a = pa / OHW, oh_a = (pa % OHW) / OW, ow_a = pa % OW;
        const int64_t npan = (cn + nr - 1) / nr;
        /* The input rows the chunk reads in each channel: depths [id0, id1]
         * and, in each, the contiguous rows [ih0, ih1] (every row if the chunk
         * spans depths). A channel's rows are prefetched while the previous
         * channel is packed: consecutive channels lie a plane apart, a stride
         * the hardware prefetchers do not follow, and a chunk reads only a few
         * rows of each. */
        const int64_t od_b = pb / OHW;
        const int64_t oh0 = od_a == od_b ? oh_a : 0;
        const int64_t oh1 = od_a == od_b ? (pb % OHW) / OW : g->OH - 1;
        int64_t id0 = od_a * g->sd - g->pd, id1 = od_b * g->sd - g->pd + (g->KD - 1) * g->dd;
        int64_t ih0 = oh0 * g->sh - g->ph, ih1 = oh1 * g->sh - g->ph + (g->KH - 1) * g->dh;
        id0 = id0 < 0 ? 0 : id0;
        id1 = id1 >= g->D ? g->D - 1 : id1;
        ih0 = ih0 < 0 ? 0 : ih0;
        ih1 = ih1 >= g->H ? g->H - 1 : ih1;
        /* A chunk within one output row (1-D signals, wide images) reads only
         * the columns [iw0, iw1] of its input rows: fetching whole rows there
         * fetched a 1-D signal's every channel once per chunk. */
        int64_t iw0 = 0, iw1 = W - 1;
        if (od_a == od_b && oh0 == oh1) {
            iw0 = ow_a * sw - g->pw;
            iw1 = (pb % OW) * sw - g->pw + (g->KW - 1) * g->dw;
            iw0 = iw0 < 0 ? 0 : iw0;
            iw1 = iw1 >= W ? W - 1 : iw1;
        }
        /* The last panel's columns past the block are zero. */
        for (int64_t u = cn; u < npan * nr; ++u) buf[u] = 0;

        /* Tap-major: for each row k of the unfolded matrix (ic, kd, kh, kw),
         * stage columns [c0, c0 + cn) in buf, one output row's run at a time,
         * zeros where the tap falls in the padding; then deal buf out. */
        int64_t k = 0;
        for (int64_t ic = ic0; ic < ic1; ++ic) {
            if (ic + 1 < ic1 && ih0 <= ih1 && iw0 <= iw1) {
                const int64_t whole = iw0 == 0 && iw1 == W - 1;  /* rows contiguous */
                const int64_t nrows = whole ? 1 : ih1 - ih0 + 1;
                const int64_t len = whole ? (ih1 - ih0 + 1) * W : iw1 - iw0 + 1;
                for (int64_t id = id0; id <= id1; ++id)
                for (int64_t h = 0; h < nrows; ++h) {
                    const FC_T *r0 = xn + (ic + 1) * DHW + id * HW + (ih0 + h) * W + iw0;
                    for (int64_t e = 0; e < len; e += line) FC_PREFETCH_R(r0 + e);
                    FC_PREFETCH_R(r0 + len - 1);
                }
            }
            for (int64_t kd = 0; kd < g->KD; ++kd)
            for (int64_t kh = 0; kh < g->KH; ++kh)
            for (int64_t kw = 0; kw < g->KW; ++kw, ++k) {
                const int64_t off = kw * g->dw - g->pw;
                /* Output columns t with 0 <= t * sw + off < W: [t_lo, t_hi). */
                int64_t t_lo, t_hi;
                if (tabulated) {
                    t_lo = tlo[kw];
                    t_hi = thi[kw];
                } else {
                    FC_FN(fc_tap_columns)(off, sw, W, &t_lo, &t_hi);
                }
                int64_t od = od_a, oh = oh_a, ow = ow_a;
                for (int64_t j = 0; j < cn;) {
                    const int64_t seg = cn - j < OW - ow ? cn - j : OW - ow;
                    const int64_t id = od * g->sd - g->pd + kd * g->dd;
                    const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
                    FC_T *d = buf + j - ow;                  /* d[t] for t in [ow, ow + seg) */
                    int64_t lo = ow + seg, hi = ow + seg;    /* valid columns of this run */
                    const FC_T *row = NULL;
                    if (id >= 0 && id < g->D && ih >= 0 && ih < g->H) {
                        row = xn + ic * DHW + id * HW + ih * W;
                        /* [lo, hi) within the run: a tap whose columns all
                         * fall in the left padding (t_lo past the run, when
                         * the padding and dilation exceed the output width)
                         * zeroes the run and no more. */
                        lo = t_lo > ow ? t_lo : ow;
                        if (lo > ow + seg) lo = ow + seg;
                        hi = t_hi < ow + seg ? t_hi : ow + seg;
                        if (hi < lo) hi = lo;
                    }
                    for (int64_t u = ow; u < lo; ++u) d[u] = 0;
                    if (hi > lo) {
                        if (sw == 1)
                            FC_FN(fc_copy_run)(d + lo, row + lo + off, hi - lo);
                        else if (sw == 2)
                            FC_FN(fc_copy_run_s2)(d + lo, row + 2 * lo + off, hi - lo);
                        else if (sw == 4)
                            FC_FN(fc_copy_run_s4)(d + lo, row + 4 * lo + off, hi - lo);
                        else
                            for (int64_t u = lo; u < hi; ++u) d[u] = row[u * sw + off];
                    }
                    for (int64_t u = hi; u < ow + seg; ++u) d[u] = 0;
                    j += seg;
                    ow = 0;
                    if (++oh == g->OH) { oh = 0; ++od; }
                }
                FC_FN(fc_deal_panels)(Bp + (c0 / nr) * panel + k * nr, panel, buf, nr, npan);
            }
        }
    }
}

#undef FC_PACK_KW_TABLE
#undef FC_PACK_CHUNK
#undef FC_PVEC
#undef FC_FN
#undef FC_CAT
#undef FC_CAT_
