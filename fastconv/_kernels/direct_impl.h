/* The direct convolution kernels (general and depthwise), written once over
 * the element type and the vector width.
 *
 * conv.c includes this file once per ISA level and dtype with
 *   FC_T       the element type (float or double)
 *   FC_SFX     the function-name suffix (e.g. _avx2_f32)
 *   FC_VBYTES  the vector width in bytes the level computes with
 * defined, inside an isa.h level region (FC_LEVEL_BEGIN_<LEVEL>) for the levels above the
 * baseline. No include guard on purpose.
 *
 * General kernel: one call computes nb (<= FC_DIRECT_OCB) output channels of one output row
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
 *
 * Depthwise kernel (one input channel per group): see fc_depthwise_item.
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

/* An input window: L consecutive columns (stride sw apart in the input row)
 * from column base0 on, copied phase by phase into a buffer: phase r holds
 * input columns base0 + r + i * sw, i < pcnt[r], at buf[r * PL + i]; those
 * inside the row (of W columns) are i in [plo[r], phi[r]). */
typedef struct {
    int64_t base0, L, PL, sw, W;
    int64_t nph;               /* phases that exist: min(sw, L) */
    int64_t plo[FC_DIRECT_MAXPHASE], phi[FC_DIRECT_MAXPHASE], pcnt[FC_DIRECT_MAXPHASE];
} FC_CAT(fc_window, FC_SFX);

/* How one chunk of CH output columns reads its input (see the top comment). */
typedef struct {
    int64_t cols, base0;       /* valid columns; input column of the window's start */
    int inrow, buffered;       /* the path */
    FC_CAT(fc_window, FC_SFX) win;   /* planned only when buffered */
} FC_CAT(fc_chunk, FC_SFX);

/* Geometry of the rows that every chunk shares. */
typedef struct {
    int64_t W, OW, sw, pw, dw, KW;
    int64_t ow_a, ow_b;        /* columns whose every tap is inside the row */
    int64_t L, dq, dr;         /* a chunk's window length, tap step in (q, r) */
} FC_CAT(fc_rowgeom, FC_SFX);

static inline __attribute__((always_inline))
void FC_FN(fc_rowgeom_init)(FC_CAT(fc_rowgeom, FC_SFX) *rg, const fc_geom *g, int64_t CH)
{
    rg->W = g->W; rg->OW = g->OW; rg->sw = g->sw; rg->pw = g->pw; rg->dw = g->dw;
    rg->KW = g->KW;
    rg->ow_a = (rg->pw + rg->sw - 1) / rg->sw;
    const int64_t last = rg->W - 1 + rg->pw - (rg->KW - 1) * rg->dw;
    rg->ow_b = last < 0 ? 0 : (last / rg->sw + 1 < rg->OW ? last / rg->sw + 1 : rg->OW);
    rg->L = (CH - 1) * rg->sw + (rg->KW - 1) * rg->dw + 1;
    rg->dq = rg->dw / rg->sw;
    rg->dr = rg->dw % rg->sw;
}

/* Plan a window (sw <= FC_DIRECT_MAXPHASE). */
static inline __attribute__((always_inline))
void FC_FN(fc_window_plan)(FC_CAT(fc_window, FC_SFX) *win, int64_t base0, int64_t L,
                           int64_t sw, int64_t W)
{
    win->base0 = base0; win->L = L; win->sw = sw; win->W = W;
    win->PL = (L + sw - 1) / sw;
    win->nph = sw < L ? sw : L;
    for (int64_t r = 0; r < win->nph; ++r) {
        const int64_t first = base0 + r;
        const int64_t cnt = (L - r + sw - 1) / sw;
        int64_t lo = first >= 0 ? 0 : (-first + sw - 1) / sw;
        int64_t hi = W - 1 - first < 0 ? 0 : (W - 1 - first) / sw + 1;
        if (lo > cnt) lo = cnt;
        if (hi > cnt) hi = cnt;
        if (hi < lo) hi = lo;
        win->plo[r] = lo; win->phi[r] = hi; win->pcnt[r] = cnt;
    }
}

static inline __attribute__((always_inline))
void FC_FN(fc_chunk_plan)(FC_CAT(fc_chunk, FC_SFX) *c, const FC_CAT(fc_rowgeom, FC_SFX) *rg,
                          int64_t o, int64_t CH)
{
    const int64_t sw = rg->sw, L = rg->L;
    c->cols = rg->OW - o < CH ? rg->OW - o : CH;
    c->base0 = o * sw - rg->pw;
    c->inrow = sw == 1 && c->cols == CH && o >= rg->ow_a && o + CH <= rg->ow_b;
    c->buffered = !c->inrow && L <= FC_DIRECT_MAXWIN && sw <= FC_DIRECT_MAXPHASE;
    if (c->buffered) {
        FC_FN(fc_window_plan)(&c->win, c->base0, L, sw, rg->W);
    } else {   /* an empty window: never filled nor read */
        c->win.base0 = c->base0; c->win.L = 0; c->win.PL = 0; c->win.sw = sw;
        c->win.W = rg->W; c->win.nph = 0;
    }
}

/* Copy a window of `row` into buf, phase by phase, zeros where it hangs over
 * the row's ends. */
static inline __attribute__((always_inline))
void FC_FN(fc_fill_window)(FC_T *buf, const FC_CAT(fc_window, FC_SFX) *win, const FC_T *row)
{
    const int64_t sw = win->sw;
    for (int64_t r = 0; r < win->nph; ++r) {
        FC_T *b = buf + r * win->PL;
        const int64_t first = win->base0 + r;          /* input column of b[0] */
        const int64_t lo = win->plo[r], hi = win->phi[r], cnt = win->pcnt[r];
        for (int64_t i = 0; i < lo; ++i) b[i] = 0;
        if (sw == 1) {
            enum { VL = FC_VBYTES / sizeof(FC_T) };
            int64_t i = lo;
            for (; i + VL <= hi; i += VL) *(FC_VEC *)(b + i) = *(const FC_VEC *)(row + first + i);
            for (; i < hi; ++i) b[i] = row[first + i];
        } else {
            for (int64_t i = lo; i < hi; ++i) b[i] = row[first + i * sw];
        }
        for (int64_t i = hi; i < cnt; ++i) b[i] = 0;
    }
}

/* The two vectors of tap kw for a chunk that is neither in-row nor buffered. */
static inline __attribute__((always_inline))
void FC_FN(fc_gather_tap)(FC_VEC *x0, FC_VEC *x1, const FC_CAT(fc_chunk, FC_SFX) *c,
                          const FC_CAT(fc_rowgeom, FC_SFX) *rg, const FC_T *row, int64_t kw)
{
    enum { VL = FC_VBYTES / sizeof(FC_T), CH = 2 * VL };
    FC_T t[CH];
    for (int64_t l = 0; l < CH; ++l) {
        const int64_t iw = c->base0 + kw * rg->dw + l * rg->sw;
        t[l] = (l < c->cols && iw >= 0 && iw < rg->W) ? row[iw] : (FC_T)0;
    }
    *x0 = *(const FC_VEC *)t;
    *x1 = *(const FC_VEC *)(t + VL);
}

/* Store a chunk's two accumulator vectors into its valid columns. */
static inline __attribute__((always_inline))
void FC_FN(fc_store_chunk)(FC_T *dst, FC_VEC a0, FC_VEC a1, int64_t cols)
{
    enum { VL = FC_VBYTES / sizeof(FC_T), CH = 2 * VL };
    if (cols == CH) {
        *(FC_VEC *)dst = a0;
        *(FC_VEC *)(dst + VL) = a1;
    } else {
        for (int64_t l = 0; l < cols; ++l) dst[l] = l < VL ? a0[l] : a1[l - VL];
    }
}

/* The two vectors of tap kw of `row` (or of its window in buf). (q, r) is tap
 * kw's place in the phase-split window, advanced by the caller. */
#define FC_LOAD_TAP(x0, x1, c, rg, row, buf, kw, q, r)                          \
    do {                                                                         \
        if ((c).inrow) {                                                         \
            const FC_T *src_ = (row) + (c).base0 + (kw) * (rg).dw;               \
            x0 = *(const FC_VEC *)src_;              /* unaligned loads */       \
            x1 = *(const FC_VEC *)(src_ + VL);                                   \
        } else if ((c).buffered) {                                               \
            const FC_T *src_ = (buf) + (r) * (c).win.PL + (q);                      \
            x0 = *(const FC_VEC *)src_;                                          \
            x1 = *(const FC_VEC *)(src_ + VL);                                   \
        } else {                                                                 \
            FC_FN(fc_gather_tap)(&x0, &x1, &(c), &(rg), (row), (kw));            \
        }                                                                        \
    } while (0)

#define FC_NEXT_TAP(rg, q, r)                                                    \
    do {                                                                         \
        q += (rg).dq;                                                            \
        r += (rg).dr;                                                            \
        if (r >= (rg).sw) { r -= (rg).sw; ++q; }                                 \
    } while (0)

/* NB output channels of one output row: the block shares every input vector. */
static inline __attribute__((always_inline))
void FC_FN(fc_direct_rows)(const fc_geom *g, const FC_T *xn, const FC_T *const *wb,
                           const FC_T *bv, FC_T *const *orow, const FC_T *zrow,
                           int64_t od, int64_t oh, const int NB)
{
    enum { VL = FC_VBYTES / sizeof(FC_T), CH = 2 * VL };
    const int64_t KK = g->KD * g->KH * g->KW;
    const int64_t HW = g->H * g->W, DHW = g->D * HW;
    FC_CAT(fc_rowgeom, FC_SFX) rg;
    FC_FN(fc_rowgeom_init)(&rg, g, CH);
    FC_T buf[FC_DIRECT_MAXWIN];

    for (int64_t o = 0; o < rg.OW; o += CH) {
        FC_CAT(fc_chunk, FC_SFX) c;
        FC_FN(fc_chunk_plan)(&c, &rg, o, CH);
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
                                  ? xn + ic * DHW + id * HW + ih * rg.W : zrow;
                const int64_t wt = ic * KK + (kd * g->KH + kh) * rg.KW;
                if (c.buffered) FC_FN(fc_fill_window)(buf, &c.win, row);
                int64_t q = 0, r = 0;
                for (int64_t kw = 0; kw < rg.KW; ++kw) {
                    FC_VEC x0, x1;
                    FC_LOAD_TAP(x0, x1, c, rg, row, buf, kw, q, r);
#pragma GCC unroll 8
                    for (int j = 0; j < NB; ++j) {
                        const FC_T wv = wb[j][wt + kw];
                        acc[j][0] += wv * x0;
                        acc[j][1] += wv * x1;
                    }
                    FC_NEXT_TAP(rg, q, r);
                }
            }
        }
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j) FC_FN(fc_store_chunk)(orow[j] + o, acc[j][0], acc[j][1], c.cols);
    }
}

#undef FC_LOAD_TAP
#undef FC_NEXT_TAP

/* Depthwise output rows (see conv.h). Each output row is cut into segments of
 * up to FC_DW_SEG columns. Per (kd, kh) the segment's input window is copied
 * once (zero-filled over the padding, split by phase as in fc_fill_window;
 * all the item's input rows at once when they fit FC_DW_CACHE, so each is
 * copied once rather than once per output row), then every chunk of U vectors of output columns adds its
 * taps from contiguous loads, its partial sums kept in `accm` between the
 * (kd, kh) steps: bias first, then (kd, kh, kw) in order, as the other direct
 * paths. Windows longer than the buffer (huge dilations) and strides above
 * FC_DIRECT_MAXPHASE take the general direct kernel with one channel. */
#define FC_DW_SEG 128
#define FC_DW_MAXWIN 2048
#define FC_DW_CACHE 8192
/* Vectors of output columns per chunk of the depthwise kernels. */
#define FC_DW_U 4

/* a[u] += w[kw] * (window column kw * dw + u * VL ...) for kw = 0 .. KW-1 in
 * order, the window split by phase (column i * sw + r at base[r * PL + i]), so
 * tap kw starts at phase r, index q with kw * dw = q * sw + r. */
static inline __attribute__((always_inline))
void FC_FN(fc_dw_taps)(FC_VEC *a, const FC_T *base, const FC_T *wt, int64_t KW, int64_t PL,
                       int64_t dq, int64_t dr, int64_t sw)
{
    enum { VL = FC_VBYTES / sizeof(FC_T), U = FC_DW_U };
    int64_t q = 0, r = 0;
    for (int64_t kw = 0; kw < KW; ++kw) {
        const FC_T wv = wt[kw];
        const FC_T *src = base + r * PL + q;
#pragma GCC unroll 8
        for (int u = 0; u < U; ++u) a[u] += wv * *(const FC_VEC *)(src + u * VL);
        q += dq;
        r += dr;
        if (r >= sw) { r -= sw; ++q; }
    }
}

/* One output row segment of a 2-D 3x3 stride-1 depthwise item, from the three
 * cached input windows r0, r1, r2 (tap row kh's window; tap kw starts kw * dw
 * columns in): the nine weights stay in registers, each chunk of U vectors
 * sums bias, then (kh, kw) in order as the general path does, and full chunks
 * are stored straight into the output row (cols columns at orow). A separate
 * small function, so its loop keeps everything in registers. */
static void FC_FN(fc_dw3x3_row)(const FC_T *restrict r0, const FC_T *restrict r1,
                                const FC_T *restrict r2, const FC_T *restrict w9, FC_T b,
                                int64_t dw, int64_t cols, FC_T *restrict orow)
{
    enum { VL = FC_VBYTES / sizeof(FC_T), U = FC_DW_U, CHW = U * VL };
    const FC_T *rr[3] = {r0, r1, r2};
    for (int64_t c0 = 0; c0 < cols; c0 += CHW) {
        FC_VEC a[U];
#pragma GCC unroll 8
        for (int u = 0; u < U; ++u) a[u] = (FC_VEC){0} + b;
#pragma GCC unroll 3
        for (int kh = 0; kh < 3; ++kh) {
#pragma GCC unroll 3
            for (int kw = 0; kw < 3; ++kw) {
                const FC_T wv = w9[kh * 3 + kw];
                const FC_T *src = rr[kh] + c0 + kw * dw;
#pragma GCC unroll 8
                for (int u = 0; u < U; ++u) a[u] += wv * *(const FC_VEC *)(src + u * VL);
            }
        }
        if (c0 + CHW <= cols) {
#pragma GCC unroll 8
            for (int u = 0; u < U; ++u) *(FC_VEC *)(orow + c0 + u * VL) = a[u];
        } else {
            FC_T t[CHW];
#pragma GCC unroll 8
            for (int u = 0; u < U; ++u) *(FC_VEC *)(t + u * VL) = a[u];
            for (int64_t i = 0; i < cols - c0; ++i) orow[c0 + i] = t[i];
        }
    }
}

void FC_FN(fc_depthwise_item)(const fc_geom *g, const FC_T *x, const FC_T *w, const FC_T *bias,
                              FC_T *out, const FC_T *zrow,
                              int64_t n, int64_t oc, int64_t od, int64_t oh0, int64_t nrows)
{
    enum { VL = FC_VBYTES / sizeof(FC_T), U = FC_DW_U, CHW = U * VL };
    const int64_t W = g->W, OW = g->OW, sw = g->sw, pw = g->pw, dw = g->dw, KW = g->KW;
    const int64_t HW = g->H * W;
    const int64_t ic = oc / g->Cog;                 /* the group's single input channel */
    const FC_T *xc = x + (n * g->C + ic) * g->D * HW;
    const FC_T *wc = w + oc * g->KD * g->KH * KW;
    const FC_T b = bias ? bias[oc] : (FC_T)0;
    const int64_t span = (KW - 1) * dw + 1;
    int64_t S = (OW + CHW - 1) / CHW * CHW;         /* segment columns, a multiple of CHW */
    if (S > FC_DW_SEG) S = FC_DW_SEG;
    while (S > CHW && (S - 1) * sw + span > FC_DW_MAXWIN) S -= CHW;
    const int64_t L = (S - 1) * sw + span;          /* a segment's input window */
    if (L > FC_DW_MAXWIN || sw > FC_DIRECT_MAXPHASE) {
        for (int64_t oh = oh0; oh < oh0 + nrows; ++oh) {
            FC_T *orow = out + (((n * g->Co + oc) * g->OD + od) * g->OH + oh) * OW;
            FC_FN(fc_direct_rows)(g, xc, &wc, &b, &orow, zrow, od, oh, 1);
        }
        return;
    }
    const int64_t dq = dw / sw, dr = dw % sw;
    /* The item's input rows (all KD planes), each row's window copied once and
     * read by every output row and tap that needs it, when they fit in the
     * cache buffer and most of them are used; else one copy per (row, tap row). */
    const int64_t nin = (nrows - 1) * g->sh + (g->KH - 1) * g->dh + 1;
    const int64_t RS = L + FC_DIRECT_MAXPHASE;
    const int cached = g->KD * nin * RS <= FC_DW_CACHE && nin <= nrows * g->KH;
    FC_T buf[FC_DW_MAXWIN + FC_DIRECT_MAXPHASE];
    FC_T rbuf[FC_DW_CACHE];
    FC_T accm[FC_DW_SEG];

    for (int64_t s0 = 0; s0 < OW; s0 += S) {
        const int64_t cols = OW - s0 < S ? OW - s0 : S;
        const int64_t nch = (cols + CHW - 1) / CHW;
        FC_CAT(fc_window, FC_SFX) win;
        FC_FN(fc_window_plan)(&win, s0 * sw - pw, L, sw, W);
        if (cached) {
            for (int64_t kd = 0; kd < g->KD; ++kd) {
                const int64_t id = od * g->sd - g->pd + kd * g->dd;
                const int vd = id >= 0 && id < g->D;
                for (int64_t t = 0; t < nin; ++t) {
                    const int64_t ih = oh0 * g->sh - g->ph + t;
                    const FC_T *row = (vd && ih >= 0 && ih < g->H) ? xc + id * HW + ih * W
                                                                   : zrow;
                    FC_FN(fc_fill_window)(rbuf + (kd * nin + t) * RS, &win, row);
                }
            }
        }
        if (cached && g->KD == 1 && g->KH == 3 && KW == 3 && sw == 1) {
            for (int64_t oh = oh0; oh < oh0 + nrows; ++oh) {
                const FC_T *r0 = rbuf + (oh - oh0) * g->sh * RS;
                FC_FN(fc_dw3x3_row)(r0, r0 + g->dh * RS, r0 + 2 * g->dh * RS, wc, b, dw, cols,
                                    out + (((n * g->Co + oc) * g->OD + od) * g->OH + oh) * OW
                                        + s0);
            }
            continue;
        }
        if (cached) {
            /* Every tap's window is at hand: each chunk's sums stay in
             * registers over all (kd, kh, kw), in the same order as below. */
            for (int64_t oh = oh0; oh < oh0 + nrows; ++oh) {
                for (int64_t ch = 0; ch < nch; ++ch) {
                    FC_VEC a[U];
#pragma GCC unroll 8
                    for (int u = 0; u < U; ++u) a[u] = (FC_VEC){0} + b;
                    for (int64_t kd = 0; kd < g->KD; ++kd) {
                        for (int64_t kh = 0; kh < g->KH; ++kh) {
                            const FC_T *wbuf = rbuf + (kd * nin + (oh - oh0) * g->sh
                                                       + kh * g->dh) * RS;
                            const FC_T *wt = wc + (kd * g->KH + kh) * KW;
                            FC_FN(fc_dw_taps)(a, wbuf + ch * CHW, wt, KW, win.PL, dq, dr, sw);
                        }
                    }
#pragma GCC unroll 8
                    for (int u = 0; u < U; ++u) *(FC_VEC *)(accm + ch * CHW + u * VL) = a[u];
                }
                FC_T *orow = out + (((n * g->Co + oc) * g->OD + od) * g->OH + oh) * OW;
                for (int64_t i = 0; i < cols; ++i) orow[s0 + i] = accm[i];
            }
            continue;
        }
        for (int64_t oh = oh0; oh < oh0 + nrows; ++oh) {
            for (int64_t i = 0; i < nch * CHW; i += VL) *(FC_VEC *)(accm + i) = (FC_VEC){0} + b;
            for (int64_t kd = 0; kd < g->KD; ++kd) {
                const int64_t id = od * g->sd - g->pd + kd * g->dd;
                const int vd = id >= 0 && id < g->D;
                for (int64_t kh = 0; kh < g->KH; ++kh) {
                    const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
                    const FC_T *row = (vd && ih >= 0 && ih < g->H) ? xc + id * HW + ih * W
                                                                   : zrow;
                    FC_FN(fc_fill_window)(buf, &win, row);
                    const FC_T *wt = wc + (kd * g->KH + kh) * KW;
                    for (int64_t ch = 0; ch < nch; ++ch) {
                        FC_VEC a[U];
#pragma GCC unroll 8
                        for (int u = 0; u < U; ++u) a[u] = *(const FC_VEC *)(accm + ch * CHW + u * VL);
                        FC_FN(fc_dw_taps)(a, buf + ch * CHW, wt, KW, win.PL, dq, dr, sw);
#pragma GCC unroll 8
                        for (int u = 0; u < U; ++u) *(FC_VEC *)(accm + ch * CHW + u * VL) = a[u];
                    }
                }
            }
            FC_T *orow = out + (((n * g->Co + oc) * g->OD + od) * g->OH + oh) * OW;
            for (int64_t i = 0; i < cols; ++i) orow[s0 + i] = accm[i];
        }
    }
}

#undef FC_DW_SEG
#undef FC_DW_MAXWIN
#undef FC_DW_CACHE
#undef FC_DW_U

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

/* Grid kernel (2-D and 1-D problems, see conv.h's fc_grid_item). The band's
 * input is copied once per item into phase planes: plane (ic, a, b) holds the
 * zero-padded input rows oh0 * sh + i * sh + a, columns j * sw + b, as a
 * Hq x Wq grid flattened row by row (Wq = OW + ((KW-1)*dw)/sw, Hq = rows +
 * ((KH-1)*dh)/sh). Output position (i, ow) of the band is grid position
 * p = i * Wq + ow, and tap (kh, kw) reads plane ((kh*dh)%sh, (kw*dw)%sw) at
 * p + ((kh*dh)/sh) * Wq + (kw*dw)/sw: the same offset for every position, so
 * U consecutive vectors of positions -- spanning several output rows on a
 * small map -- take each tap as U contiguous loads. Positions with ow >= OW
 * are computed and dropped. A tile of NB (<= FC_DIRECT_OCB) output channels x
 * U vectors keeps its accumulators in registers over the whole (ic, kh, kw)
 * reduction, each weight broadcast from the weight array in place (packing
 * them per channel block was measured at 11% of a 7x7 map's time).
 * Each output element is bias, then the products in (ic, kh, kw) order, as
 * in fc_direct_rows: the two kernels give the same bits. */
#if FC_VBYTES >= 64
#define FC_GRID_U 6
#else
#define FC_GRID_U 3
#endif

/* One tile: NB output channels x U vectors of grid positions starting at
 * src0 (plane 0 of channel 0, offset by the tile's first position), stored
 * at dst (row j at dst + j * obs). */
static inline __attribute__((always_inline))
void FC_FN(fc_grid_tile)(const FC_T *src0, const int64_t *toff, int64_t K, int64_t Cg,
                         int64_t cs, const FC_T *const *wb, const FC_T *bv, FC_T *dst,
                         int64_t obs, const int NB, const int U)
{
    enum { VL = FC_VBYTES / sizeof(FC_T) };
    FC_VEC acc[FC_DIRECT_OCB][FC_GRID_U];
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) {
#pragma GCC unroll 8
        for (int u = 0; u < U; ++u) acc[j][u] = (FC_VEC){0} + bv[j];
    }
    int64_t e = 0;                          /* weight (ic, k) of each channel */
    for (int64_t ic = 0; ic < Cg; ++ic) {
        const FC_T *s = src0 + ic * cs;
        for (int64_t k = 0; k < K; ++k, ++e) {
            const FC_T *t = s + toff[k];
            FC_VEC xv[FC_GRID_U];
#pragma GCC unroll 8
            for (int u = 0; u < U; ++u) xv[u] = *(const FC_VEC *)(t + u * VL);
#pragma GCC unroll 8
            for (int j = 0; j < NB; ++j) {
                const FC_T wv = wb[j][e];
#pragma GCC unroll 8
                for (int u = 0; u < U; ++u) acc[j][u] += wv * xv[u];
            }
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) {
#pragma GCC unroll 8
        for (int u = 0; u < U; ++u) *(FC_VEC *)(dst + j * obs + u * VL) = acc[j][u];
    }
}

/* All P grid positions of one channel block: tiles of FC_GRID_U vectors
 * while more than FC_GRID_U - 1 vectors are left, then one tile of those. */
static inline __attribute__((always_inline))
void FC_FN(fc_grid_block)(const FC_T *buf, const int64_t *toff, int64_t K, int64_t Cg,
                          int64_t cs, const FC_T *const *wb, const FC_T *bv, FC_T *obuf,
                          int64_t obs, int64_t P, const int NB)
{
    enum { VL = FC_VBYTES / sizeof(FC_T), U = FC_GRID_U };
    int64_t p0 = 0;
    for (; P - p0 > (U - 1) * VL; p0 += U * VL)     /* (the last may end past P) */
        FC_FN(fc_grid_tile)(buf + p0, toff, K, Cg, cs, wb, bv, obuf + p0, obs, NB, U);
    const int64_t rem = (P - p0 + VL - 1) / VL;
#define FC_GRID_REM(r)                                                                   \
    case r: if (r < U) FC_FN(fc_grid_tile)(buf + p0, toff, K, Cg, cs, wb, bv, obuf + p0,    \
                                           obs, NB, r < U ? r : 1); break;
    switch (rem) {
    FC_GRID_REM(1) FC_GRID_REM(2) FC_GRID_REM(3) FC_GRID_REM(4) FC_GRID_REM(5)
    default: break;
    }
#undef FC_GRID_REM
}

void FC_FN(fc_grid_item)(const fc_geom *g, const FC_T *x, const FC_T *w, const FC_T *bias,
                         FC_T *out, void *ws, int64_t n, int64_t grp, int64_t ob0, int64_t ob1,
                         int64_t oh0, int64_t rows)
{
    enum { MB = FC_DIRECT_OCB };
    fc_grid_layout lay;
    fc_grid_plan(g, rows, sizeof(FC_T), &lay);
    const int64_t sh = g->sh, sw = g->sw, Wq = lay.Wq, Hq = lay.Hq, ps = lay.ps;
    const int64_t K = g->KH * g->KW, Cg = g->Cg, W = g->W, OW = g->OW;
    const int64_t nph = sh * sw, cs = nph * ps;
    FC_T *buf = (FC_T *)((char *)ws + lay.buf_at);
    FC_T *obuf = (FC_T *)((char *)ws + lay.obuf_at);
    int64_t *toff = (int64_t *)((char *)ws + lay.toff_at);

    /* The band's phase planes, zero where they hang over the padding, and
     * their slack zeroed (read by the last tile's unused lanes). An input row
     * is read once, left to right, into its sw planes (a deinterleave for
     * stride 2), and the rows in order: reading each plane's columns in a
     * separate pass was measured at half the stride-2 kernel's time. */
    const FC_T *xg = x + (n * g->C + grp * Cg) * g->H * W;
    const int64_t pw = g->pw;
    /* Padded columns [clo, chi) are the row's (padded column c is input
     * column c - pw); the planes hold padded columns [0, L). */
    const int64_t L = Wq * sw;
    const int64_t clo = pw < L ? pw : L;
    int64_t chi = pw + W < L ? pw + W : L;
    if (chi < clo) chi = clo;
    /* Stride > 1: each row is staged zero-padded in tmp (its zero columns
     * written once here), then split into its sw planes. */
    FC_T *tmp = (FC_T *)((char *)ws + lay.row_at);
    if (sw > 1) {
        for (int64_t c = 0; c < clo; ++c) tmp[c] = 0;
        for (int64_t c = chi; c < L; ++c) tmp[c] = 0;
    }
    for (int64_t ic = 0; ic < Cg; ++ic) {
        for (int64_t i = 0; i < Hq; ++i)          /* input rows in order */
        for (int64_t a = 0; a < sh; ++a) {
            FC_T *pa = buf + ic * cs + a * sw * ps;
            const int64_t ih = (oh0 + i) * sh + a - g->ph;
            if (ih < 0 || ih >= g->H) {
                for (int64_t b = 0; b < sw; ++b)
                    for (int64_t j = 0; j < Wq; ++j) pa[b * ps + i * Wq + j] = 0;
                continue;
            }
            const FC_T *row = xg + (ic * g->H + ih) * W;
            if (sw == 1) {
                FC_T *d = pa + i * Wq;
                for (int64_t j = 0; j < clo; ++j) d[j] = 0;
                for (int64_t j = clo; j < chi; ++j) d[j] = row[j - pw];
                for (int64_t j = chi; j < Wq; ++j) d[j] = 0;
                continue;
            }
            for (int64_t c = clo; c < chi; ++c) tmp[c] = row[c - pw];
            if (sw == 2) {
                FC_T *d0 = pa + i * Wq, *d1 = pa + ps + i * Wq;
                for (int64_t j = 0; j < Wq; ++j) {
                    d0[j] = tmp[2 * j];
                    d1[j] = tmp[2 * j + 1];
                }
            } else {
                for (int64_t j = 0; j < Wq; ++j)
                    for (int64_t b = 0; b < sw; ++b) pa[b * ps + i * Wq + j] = tmp[j * sw + b];
            }
        }
        for (int64_t r = 0; r < sh * sw; ++r)
            for (int64_t j = Hq * Wq; j < ps; ++j) buf[ic * cs + r * ps + j] = 0;
    }
    for (int64_t kh = 0; kh < g->KH; ++kh)
        for (int64_t kw = 0; kw < g->KW; ++kw) {
            const int64_t rh = kh * g->dh, rw = kw * g->dw;
            toff[kh * g->KW + kw] = ((rh % sh) * sw + rw % sw) * ps + (rh / sh) * Wq + rw / sw;
        }

    const int64_t P = (rows - 1) * Wq + OW;    /* the band's last position + 1 */
    for (int64_t ob = ob0; ob < ob1; ++ob) {
        const int64_t j0 = ob * MB;
        const int64_t nb = g->Cog - j0 < MB ? g->Cog - j0 : MB;
        const int64_t oc0 = grp * g->Cog + j0;
        FC_T bv[MB];
        const FC_T *wb[MB];    /* each channel's (ic, kh, kw) weights, read in place */
        for (int64_t j = 0; j < MB; ++j) {
            bv[j] = (j < nb && bias) ? bias[oc0 + j] : (FC_T)0;
            wb[j] = w + (oc0 + (j < nb ? j : 0)) * Cg * K;
        }
        switch (nb) {
        case 1: FC_FN(fc_grid_block)(buf, toff, K, Cg, cs, wb, bv, obuf, lay.obs, P, 1); break;
        case 2: FC_FN(fc_grid_block)(buf, toff, K, Cg, cs, wb, bv, obuf, lay.obs, P, 2); break;
        case 3: FC_FN(fc_grid_block)(buf, toff, K, Cg, cs, wb, bv, obuf, lay.obs, P, 3); break;
        default: FC_FN(fc_grid_block)(buf, toff, K, Cg, cs, wb, bv, obuf, lay.obs, P, MB); break;
        }
        for (int64_t j = 0; j < nb; ++j)
            for (int64_t i = 0; i < rows; ++i) {
                FC_T *orow = out + ((n * g->Co + oc0 + j) * g->OH + oh0 + i) * OW;
                const FC_T *s = obuf + j * lay.obs + i * Wq;
                for (int64_t ow = 0; ow < OW; ++ow) orow[ow] = s[ow];
            }
    }
}

#undef FC_GRID_U

#undef FC_DIRECT_MAXWIN
#undef FC_DIRECT_MAXPHASE
#undef FC_VEC
#undef FC_FN
#undef FC_CAT
#undef FC_CAT_
