/* The single-channel filter kernel, written once over the element type and the
 * vector width; filter.c includes this file once per ISA level and dtype with
 *   FC_T       the element type (float or double)
 *   FC_SFX     the function-name suffix (e.g. _avx2_f32)
 *   FC_VBYTES  the vector width in bytes of the level
 *   FC_FU      vectors of output columns per register block
 * defined, inside an isa.h level region (FC_LEVEL_BEGIN_<LEVEL>) above the baseline. No include
 * guard on purpose.
 *
 * A work item is a block of RI output rows by CI output columns, reading
 * RI + KH - 1 input rows through rowp. Its interior columns (every tap inside
 * x) read the rows straight from x, without a copy, unless a row of the item
 * is a fill row; the columns at the left and right edges (and every column of
 * an item with fill rows) read a thread-local buffer where the extended values
 * are written once. The register block is FC_FR output rows by FC_FU vectors
 * of columns (accumulators in registers): for each tap (p, q) the weight is
 * broadcast once and every accumulator takes one FMA whose input vector is
 * read from memory, so the loop has no branch and no more loads than FMAs.
 * Rows left over (fewer than FC_FR) use one-row blocks of 2 FC_FU vectors (a
 * 1-D signal is all such rows). Columns left over (fewer than a vector) are
 * computed by vector arithmetic too: the run's last full vector again when the
 * run is at least a vector wide (its other lanes rewrite columns with the bits
 * they already hold), else vectors gathered lane by lane (fc_filter_narrow).
 * Every output element sums its products in the order (p, q) with the same
 * vector operations, whatever block computes it, so the result depends
 * neither on the split into items or threads nor on where the element sits in
 * its row: a slice of the input gives the bits of the same region of the
 * whole (a scalar tail would round differently where the vector body fuses
 * its multiply-adds).
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
                       int64_t ostride, int64_t i0, int64_t j, int64_t joff, const int NR,
                       const int NU)
{
    FC_FVEC acc[FC_FR][2 * FC_FU];
    const int64_t KH = g->KH, KW = g->KW;
    for (int i = 0; i < NR; i++)
        for (int u = 0; u < NU; u++)
            acc[i][u] = (FC_FVEC){0};
    for (int64_t p = 0; p < KH; p++) {
        const FC_T *src[FC_FR];
        for (int i = 0; i < NR; i++)
            src[i] = rowp[i0 + i + p] + (j + joff);
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

/* Columns [j0, j1) of a run narrower than a vector (j1 - j0 < FC_FL) of rows
 * i0 .. i0 + NR - 1: for each tap the run's input values are gathered into
 * the low lanes of a vector (zeros above), which takes the same multiply-add
 * as in fc_filter_block, so each column gets the bits a full vector gives it.
 * Reads only the run's own input columns [j0 + joff, j1 + joff + KW - 1). */
static inline __attribute__((always_inline)) void
FC_FN(fc_filter_narrow)(const fc_fgeom *g, const FC_T *w, const FC_T **rowp, FC_T *out,
                        int64_t ostride, int64_t i0, int64_t j0, int64_t j1, int64_t joff,
                        const int NR)
{
    const int64_t n = j1 - j0, KH = g->KH, KW = g->KW;
    FC_FVEC acc[FC_FR];
    FC_T lanes[FC_FL];
    for (int i = 0; i < NR; i++)
        acc[i] = (FC_FVEC){0};
    for (int l = 0; l < FC_FL; l++)
        lanes[l] = 0;
    for (int64_t p = 0; p < KH; p++) {
        const FC_T *wp = w + p * KW;
        for (int64_t q = 0; q < KW; q++) {
            const FC_T wv = wp[q];
            for (int i = 0; i < NR; i++) {
                const FC_T *src = rowp[i0 + i + p] + (j0 + joff) + q;
                for (int64_t l = 0; l < n; l++)
                    lanes[l] = src[l];
                acc[i] += *(const FC_FVEC *)lanes * wv;
            }
        }
    }
    for (int i = 0; i < NR; i++)
        for (int64_t l = 0; l < n; l++)
            out[(i0 + i) * ostride + j0 + l] = acc[i][l];
}

/* Columns [j, j1) of output rows i0 .. i0 + nr - 1 (nr <= FC_FR). */
static inline __attribute__((always_inline)) void
FC_FN(fc_filter_rows_k)(const fc_fgeom *g, const FC_T *w, const FC_T **rowp, FC_T *out,
                        int64_t ostride, int64_t i0, int64_t j0, int64_t j1, int64_t joff,
                        const int NR, const int NU)
{
    int64_t j = j0;
    for (; j + NU * FC_FL <= j1; j += NU * FC_FL)
        FC_FN(fc_filter_block)(g, w, rowp, out, ostride, i0, j, joff, NR, NU);
    for (; j + FC_FL <= j1; j += FC_FL)
        FC_FN(fc_filter_block)(g, w, rowp, out, ostride, i0, j, joff, NR, 1);
    if (j < j1) {
        if (j1 - j0 >= FC_FL)   /* the run's last vector, overlapping computed columns */
            FC_FN(fc_filter_block)(g, w, rowp, out, ostride, i0, j1 - FC_FL, joff, NR, 1);
        else
            FC_FN(fc_filter_narrow)(g, w, rowp, out, ostride, i0, j, j1, joff, NR);
    }
}

static void FC_FN(fc_filter_rows)(const fc_fgeom *g, const FC_T *w, const FC_T **rowp,
                                  FC_T *out, int64_t ostride, int64_t i0, int64_t j0,
                                  int64_t j1, int64_t joff, const int NR)
{
    if (NR == FC_FR)
        FC_FN(fc_filter_rows_k)(g, w, rowp, out, ostride, i0, j0, j1, joff, FC_FR, FC_FU);
    else   /* one row (a 1-D signal): twice the columns, for as many FMA chains */
        FC_FN(fc_filter_rows_k)(g, w, rowp, out, ostride, i0, j0, j1, joff, 1, 2 * FC_FU);
}

/* Output columns [j0, j1) of the item's nr rows; input column j + joff of rowp. */
static void FC_FN(fc_filter_cols)(const fc_fgeom *g, const FC_T *w, const FC_T **rowp,
                                  FC_T *out, int64_t nr, int64_t j0, int64_t j1, int64_t joff)
{
    int64_t i = 0;
    for (; i + FC_FR <= nr; i += FC_FR)
        FC_FN(fc_filter_rows)(g, w, rowp, out, g->OW, i, j0, j1, joff, FC_FR);
    for (; i < nr; i++)
        FC_FN(fc_filter_rows)(g, w, rowp, out, g->OW, i, j0, j1, joff, 1);
}

/* The extended values of the item's nin input rows at its local padded columns
 * [a, b), into buf (rows of b - a values); rowp[r] points to row r. */
static void FC_FN(fc_filter_window)(const fc_fgeom *g, const FC_T *x, const int64_t *rmap,
                                    const int64_t *cmap, FC_T fill, int64_t r0, int64_t nin,
                                    int64_t c0, int64_t a, int64_t b, FC_T *buf,
                                    const FC_T **rowp)
{
    const int64_t len = b - a;
    /* local columns [lo, hi) are x columns c0 + c - padl */
    int64_t lo = g->padl - c0, hi = g->W + g->padl - c0;
    lo = lo < a ? a : (lo > b ? b : lo);
    hi = hi < lo ? lo : (hi > b ? b : hi);
    for (int64_t r = 0; r < nin; r++) {
        const int64_t xr = rmap[r0 + r];
        FC_T *dst = buf + r * len - a;          /* dst[c] for c in [a, b) */
        rowp[r] = buf + r * len;
        if (xr < 0) {
            for (int64_t c = a; c < b; c++) dst[c] = fill;
            continue;
        }
        const FC_T *xrow = x + xr * g->W;
        for (int64_t c = a; c < lo; c++) {
            const int64_t xc = cmap[c0 + c];
            dst[c] = xc < 0 ? fill : xrow[xc];
        }
        for (int64_t c = lo; c < hi; c++) dst[c] = xrow[c + c0 - g->padl];
        for (int64_t c = hi; c < b; c++) {
            const int64_t xc = cmap[c0 + c];
            dst[c] = xc < 0 ? fill : xrow[xc];
        }
    }
}

/* One work item. Its interior columns (whose taps all lie inside x) read the
 * input rows straight from x when no row of the item is a fill row; the few
 * columns at the left and right edges, and every column of an item with fill
 * rows, read a buffer of the extended values. */
static void FC_FN(fc_filter_item)(const fc_fgeom *g, const FC_T *x, const FC_T *w, FC_T *out,
                                  const int64_t *rmap, const int64_t *cmap, FC_T fill,
                                  int64_t item, FC_T *buf, const FC_T **rowp)
{
    const int64_t ncb = (g->OW + g->CI - 1) / g->CI;
    const int64_t r0 = (item / ncb) * g->RI, c0 = (item % ncb) * g->CI;
    const int64_t nr = (g->OH - r0 < g->RI) ? g->OH - r0 : g->RI;
    const int64_t nc = (g->OW - c0 < g->CI) ? g->OW - c0 : g->CI;
    const int64_t nin = nr + g->KH - 1, win = nc + g->KW - 1;
    FC_T *o = out + r0 * g->OW + c0;
    int fillrows = 0;
    for (int64_t r = 0; r < nin; r++)
        fillrows |= rmap[r0 + r] < 0;
    /* interior output columns: [ja, jb) */
    int64_t ja = g->padl - c0, jb = g->W + g->padl - c0 - g->KW + 1;
    ja = ja < 0 ? 0 : (ja > nc ? nc : ja);
    jb = jb > nc ? nc : (jb < ja ? ja : jb);
    if (fillrows || jb <= ja) {
        FC_FN(fc_filter_window)(g, x, rmap, cmap, fill, r0, nin, c0, 0, win, buf, rowp);
        FC_FN(fc_filter_cols)(g, w, rowp, o, nr, 0, nc, 0);
        return;
    }
    for (int64_t r = 0; r < nin; r++)
        rowp[r] = x + rmap[r0 + r] * g->W;
    FC_FN(fc_filter_cols)(g, w, rowp, o, nr, ja, jb, c0 - g->padl);
    if (ja > 0) {
        FC_FN(fc_filter_window)(g, x, rmap, cmap, fill, r0, nin, c0, 0, ja + g->KW - 1, buf,
                                rowp);
        FC_FN(fc_filter_cols)(g, w, rowp, o, nr, 0, ja, 0);
    }
    if (jb < nc) {
        FC_FN(fc_filter_window)(g, x, rmap, cmap, fill, r0, nin, c0, jb, win, buf, rowp);
        FC_FN(fc_filter_cols)(g, w, rowp, o, nr, jb, nc, -jb);
    }
}

#undef FC_FR
#undef FC_FL
