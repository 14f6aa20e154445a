/* The single-channel filter kernel, written once over the element type and the
 * vector width; filter.c includes this file once per ISA level and dtype with
 *   FC_T       the element type (float or double)
 *   FC_SFX     the function-name suffix (e.g. _avx2_f32)
 *   FC_VBYTES  the vector width in bytes of the level
 *   FC_FU      vectors of output columns per register block
 * defined, inside a `#pragma GCC target` region above the baseline. No include
 * guard on purpose.
 *
 * A work item is a block of RI output rows by CI output columns. Its padded
 * input rows (RI + KH - 1 of them, CI + KW - 1 columns each) are pointed to by
 * rowp: straight into x when the whole row segment lies inside x (no copy),
 * otherwise into the thread's buffer, where the boundary values are written
 * once. The register block is FC_FR output rows by FC_FU vectors of columns:
 * each input row of the block is loaded once per tap column q and feeds every
 * output row of the block that uses it (output row i uses input row r with
 * kernel row p = r - i), so one vector load serves up to FC_FR FMAs. Rows left
 * over (fewer than FC_FR) use a one-row block, columns left over (fewer than a
 * vector) a scalar loop. Every output element sums its products in the order
 * (p, q), whatever block computes it, so the result does not depend on the
 * split into items or threads.
 */
#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_FN(name) FC_CAT(name, FC_SFX)
#define FC_FVEC FC_CAT(fc_fvec, FC_SFX)
#define FC_FL (FC_VBYTES / (int)sizeof(FC_T))
#define FC_FR 3   /* output rows per register block */

typedef FC_T FC_FVEC __attribute__((vector_size(FC_VBYTES), aligned(sizeof(FC_T))));

/* One register block: NR output rows (<= FC_FR) by NU vectors at column j of
 * the item's rows i0 .. i0 + NR - 1. NR and NU are compile-time constants after
 * inlining, so acc lives in registers. For each tap (p, q) the weight is
 * broadcast once and every accumulator takes one FMA with its input vector
 * read from memory (an FMA with a memory operand), so the loop has no branch
 * and loads never outnumber FMAs. */
static inline __attribute__((always_inline)) void
FC_FN(fc_filter_block)(const fc_fgeom *g, const FC_T *w, const FC_T **rowp, FC_T *out,
                       int64_t ostride, int64_t i0, int64_t j, const int NR, const int NU)
{
    FC_FVEC acc[FC_FR][FC_FU];
    const int64_t KH = g->KH, KW = g->KW;
    for (int i = 0; i < NR; i++)
        for (int u = 0; u < NU; u++)
            acc[i][u] = (FC_FVEC){0};
    for (int64_t p = 0; p < KH; p++) {
        const FC_T *src[FC_FR];
        for (int i = 0; i < NR; i++)
            src[i] = rowp[i0 + i + p] + j;
        const FC_T *wp = w + p * KW;
        for (int64_t q = 0; q < KW; q++) {
            const FC_T wv = wp[q];
            for (int i = 0; i < NR; i++)
                for (int u = 0; u < NU; u++)
                    acc[i][u] += *(const FC_FVEC *)(src[i] + q + u * FC_FL) * wv;
        }
    }
    for (int i = 0; i < NR; i++)
        for (int u = 0; u < NU; u++)
            *(FC_FVEC *)(out + (i0 + i) * ostride + j + u * FC_FL) = acc[i][u];
}

/* Columns [j, j1) of output rows i0 .. i0 + nr - 1 (nr <= FC_FR). */
static inline __attribute__((always_inline)) void
FC_FN(fc_filter_rows_k)(const fc_fgeom *g, const FC_T *w, const FC_T **rowp, FC_T *out,
                        int64_t ostride, int64_t i0, int64_t j0, int64_t j1, const int NR)
{
    int64_t j = j0;
    for (; j + FC_FU * FC_FL <= j1; j += FC_FU * FC_FL)
        FC_FN(fc_filter_block)(g, w, rowp, out, ostride, i0, j, NR, FC_FU);
    for (; j + FC_FL <= j1; j += FC_FL)
        FC_FN(fc_filter_block)(g, w, rowp, out, ostride, i0, j, NR, 1);
    for (; j < j1; j++) {
        for (int i = 0; i < NR; i++) {
            FC_T s = 0;
            for (int64_t p = 0; p < g->KH; p++) {
                const FC_T *src = rowp[i0 + i + p] + j;
                for (int64_t q = 0; q < g->KW; q++)
                    s += src[q] * w[p * g->KW + q];
            }
            out[(i0 + i) * ostride + j] = s;
        }
    }
}

static void FC_FN(fc_filter_rows)(const fc_fgeom *g, const FC_T *w, const FC_T **rowp,
                                  FC_T *out, int64_t ostride, int64_t i0, int64_t j0,
                                  int64_t j1, const int NR)
{
    if (NR == FC_FR)
        FC_FN(fc_filter_rows_k)(g, w, rowp, out, ostride, i0, j0, j1, FC_FR);
    else
        FC_FN(fc_filter_rows_k)(g, w, rowp, out, ostride, i0, j0, j1, 1);
}

static void FC_FN(fc_filter_item)(const fc_fgeom *g, const FC_T *x, const FC_T *w, FC_T *out,
                                  const int64_t *rmap, const int64_t *cmap, FC_T fill,
                                  int64_t item, FC_T *buf, const FC_T **rowp)
{
    const int64_t ncb = (g->OW + g->CI - 1) / g->CI;
    const int64_t r0 = (item / ncb) * g->RI, c0 = (item % ncb) * g->CI;
    const int64_t nr = (g->OH - r0 < g->RI) ? g->OH - r0 : g->RI;
    const int64_t nc = (g->OW - c0 < g->CI) ? g->OW - c0 : g->CI;
    const int64_t nin = nr + g->KH - 1, win = nc + g->KW - 1;
    /* The padded columns [c0, c0 + win) of the item: those inside x form one
     * run [in0, in1) of x columns starting at in0 - ... (clipped). */
    int64_t lo = g->padl - c0, hi = g->W + g->padl - c0;   /* local c with x col inside */
    if (lo < 0) lo = 0;
    if (hi > win) hi = win;
    const int inside = (lo == 0 && hi == win);
    int64_t nbuf = 0;
    for (int64_t r = 0; r < nin; r++) {
        const int64_t xr = rmap[r0 + r];
        if (xr >= 0 && inside) {
            rowp[r] = x + xr * g->W + (c0 - g->padl);
            continue;
        }
        FC_T *dst = buf + (nbuf++) * win;
        rowp[r] = dst;
        if (xr < 0) {
            for (int64_t c = 0; c < win; c++) dst[c] = fill;
            continue;
        }
        const FC_T *xrow = x + xr * g->W;
        for (int64_t c = 0; c < win && c < lo; c++) {
            const int64_t xc = cmap[c0 + c];
            dst[c] = xc < 0 ? fill : xrow[xc];
        }
        for (int64_t c = lo; c < hi; c++) dst[c] = xrow[c + c0 - g->padl];
        for (int64_t c = (hi > lo ? hi : lo); c < win; c++) {
            const int64_t xc = cmap[c0 + c];
            dst[c] = xc < 0 ? fill : xrow[xc];
        }
    }
    FC_T *o = out + r0 * g->OW + c0;
    int64_t i = 0;
    for (; i + FC_FR <= nr; i += FC_FR)
        FC_FN(fc_filter_rows)(g, w, rowp, o, g->OW, i, 0, nc, FC_FR);
    for (; i < nr; i++)
        FC_FN(fc_filter_rows)(g, w, rowp, o, g->OW, i, 0, nc, 1);
}

#undef FC_FR
#undef FC_FL
