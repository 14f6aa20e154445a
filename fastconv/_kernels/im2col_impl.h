/* Implicit im2col packing, written once over the element type (no SIMD of its
 * own: its inner loops are copies). conv.c includes this file once per dtype
 * with FC_T and FC_SFX (_f32, _f64) defined. No include guard on purpose.
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

void FC_FN(fc_im2col_pack)(const fc_geom *g, const FC_T *x, int64_t n, int64_t grp,
                           int64_t p0, int64_t ncols, int64_t nr, FC_T *Bp)
{
    const int64_t HW = g->H * g->W, DHW = g->D * HW;
    const int64_t OHW = g->OH * g->OW, OW = g->OW;
    const int64_t K = g->Cg * g->KD * g->KH * g->KW;
    const int64_t W = g->W, sw = g->sw;
    const int64_t panel = K * nr;                  /* elements of one packed panel */
    const FC_T *xn = x + (n * g->C + grp * g->Cg) * DHW;
    const int64_t npanels = (ncols + nr - 1) / nr;
    const int64_t tail = npanels * nr - ncols;     /* zero columns of the last panel */
    const int64_t od0 = p0 / OHW, oh0 = (p0 % OHW) / OW, ow0 = p0 % OW;
    int64_t tlo[FC_PACK_KW_TABLE], thi[FC_PACK_KW_TABLE];
    const int tabulated = g->KW <= FC_PACK_KW_TABLE;
    for (int64_t kw = 0; tabulated && kw < g->KW; ++kw)
        FC_FN(fc_tap_columns)(kw * g->dw - g->pw, sw, W, &tlo[kw], &thi[kw]);

    /* Tap-major: for each row k of the unfolded matrix (ic, kd, kh, kw), walk
     * the block's output rows once and scatter each row's run of columns
     * over consecutive panels; (q, r) is the panel and the column in it. */
    int64_t k = 0;
    for (int64_t ic = 0; ic < g->Cg; ++ic)
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
        FC_T *dk = Bp + k * nr;
        int64_t q = 0, r = 0, j = 0, od = od0, oh = oh0, ow = ow0;
        while (j < ncols) {
            const int64_t seg = ncols - j < OW - ow ? ncols - j : OW - ow;
            const int64_t id = od * g->sd - g->pd + kd * g->dd;
            const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
            const FC_T *row = NULL;
            int64_t lo = ow + seg, hi = ow + seg;    /* valid columns of this run */
            if (id >= 0 && id < g->D && ih >= 0 && ih < g->H) {
                row = xn + ic * DHW + id * HW + ih * W;
                lo = t_lo > ow ? t_lo : ow;
                hi = t_hi < ow + seg ? t_hi : ow + seg;
                if (hi < lo) hi = lo;
            }
            for (int64_t t = ow; t < ow + seg;) {
                const int64_t piece = nr - r < ow + seg - t ? nr - r : ow + seg - t;
                FC_T *d = dk + q * panel + r - t;        /* d[t'] for t' in [t, t + piece) */
                const int64_t a = lo > t ? (lo < t + piece ? lo : t + piece) : t;
                const int64_t b = hi < t + piece ? (hi > a ? hi : a) : t + piece;
                for (int64_t u = t; u < a; ++u) d[u] = 0;
                if (b == a) {
                    /* nothing inside the input (or a row in the padding) */
                } else if (sw == 1) {
                    FC_FN(fc_copy_run)(d + a, row + a + off, b - a);
                } else {
                    for (int64_t u = a; u < b; ++u) d[u] = row[u * sw + off];
                }
                for (int64_t u = b; u < t + piece; ++u) d[u] = 0;
                t += piece;
                r += piece;
                if (r == nr) { r = 0; ++q; }
            }
            j += seg;
            ow = 0;
            if (++oh == g->OH) { oh = 0; ++od; }
        }
        for (int64_t u = 0; u < tail; ++u) dk[(npanels - 1) * panel + nr - tail + u] = 0;
    }
}

#undef FC_PACK_KW_TABLE
#undef FC_PVEC
#undef FC_FN
#undef FC_CAT
#undef FC_CAT_
