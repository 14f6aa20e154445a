/* Winograd F(2, 3) transforms of the input tiles and of the output tiles,
 * instantiated by conv.c once per SIMD level and dtype:
 *   FC_T      float or double
 *   FC_SFX    name suffix (_avx2_f32, ...)
 *
 * Along every transformed axis (3 taps, stride 1) a tile covers 4 input and
 * 2 output positions; along an untransformed axis (1 tap) 1 and 1. The
 * transforms are separable, so they are applied one axis at a time:
 *
 *   input:  B^T d    v0 = d0 - d2, v1 = d1 + d2, v2 = d2 - d1, v3 = d1 - d3
 *   output: A^T m    y0 = m0 + m1 + m2,  y1 = m1 - m2 - m3
 *
 * Every loop below runs over consecutive tiles of one tile row (a
 * "segment"), so its loads and stores are contiguous or stride-2 and the
 * compiler vectorises it; the D and H transforms work on whole rows. */

#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_NAME(name) FC_CAT(name, FC_SFX)

/* B^T along one axis, on rows of length n: out[i] from in[i]. */
static inline void FC_NAME(fc_wg_bt)(FC_T *const *in, FC_T *const *out, int64_t n)
{
    FC_T *restrict o0 = out[0], *restrict o1 = out[1], *restrict o2 = out[2],
         *restrict o3 = out[3];
    const FC_T *restrict i0 = in[0], *restrict i1 = in[1], *restrict i2 = in[2],
               *restrict i3 = in[3];
    for (int64_t j = 0; j < n; ++j) {
        o0[j] = i0[j] - i2[j];
        o1[j] = i1[j] + i2[j];
        o2[j] = i2[j] - i1[j];
        o3[j] = i1[j] - i3[j];
    }
}

/* B^T along one axis straight from 4 input rows: out[q][j] for j in [0, n),
 * reading in[q][off[q] + j] for j in [lo, hi) and zero outside it (the
 * padding). */
static inline void FC_NAME(fc_wg_bt_rows)(const FC_T *const *in, const int64_t *off,
                                          FC_T *const *out, int64_t lo, int64_t hi, int64_t n)
{
    FC_T *restrict o0 = out[0], *restrict o1 = out[1], *restrict o2 = out[2],
         *restrict o3 = out[3];
    int64_t j = 0;
    for (; j < lo; ++j)
        o0[j] = o1[j] = o2[j] = o3[j] = 0;
    if (hi > lo) {
        /* in[q] + off[q] + lo is inside row q: only columns >= lo are read. */
        const FC_T *restrict i0 = in[0] + off[0] + lo, *restrict i1 = in[1] + off[1] + lo,
                   *restrict i2 = in[2] + off[2] + lo, *restrict i3 = in[3] + off[3] + lo;
        FC_T *restrict p0 = o0 + lo, *restrict p1 = o1 + lo, *restrict p2 = o2 + lo,
             *restrict p3 = o3 + lo;
        for (int64_t k = 0; k < hi - lo; ++k) {
            p0[k] = i0[k] - i2[k];
            p1[k] = i1[k] + i2[k];
            p2[k] = i2[k] - i1[k];
            p3[k] = i1[k] - i3[k];
        }
        j = hi;
    }
    for (; j < n; ++j)
        o0[j] = o1[j] = o2[j] = o3[j] = 0;
}

/* A^T along one axis, on rows of length n. */
static inline void FC_NAME(fc_wg_at)(FC_T *const *in, FC_T *const *out, int64_t n)
{
    FC_T *restrict o0 = out[0], *restrict o1 = out[1];
    const FC_T *restrict i0 = in[0], *restrict i1 = in[1], *restrict i2 = in[2],
               *restrict i3 = in[3];
    for (int64_t j = 0; j < n; ++j) {
        o0[j] = i0[j] + i1[j] + i2[j];
        o1[j] = i1[j] - i2[j] - i3[j];
    }
}

/* Input rows of length n starting at input column x0 of row `src` (NULL: a
 * row in the padding), zero outside [0, W). */
static inline void FC_NAME(fc_wg_load_row)(const FC_T *src, int64_t x0, int64_t n, int64_t W,
                                          FC_T *restrict dst)
{
    int64_t j = 0, lo, hi;
    if (src == NULL) {
        for (; j < n; ++j) dst[j] = 0;
        return;
    }
    lo = x0 < 0 ? -x0 : 0;               /* first j inside the row */
    if (lo > n) lo = n;
    hi = W - x0;                         /* first j past the row */
    if (hi > n) hi = n;
    if (hi < lo) hi = lo;
    for (; j < lo; ++j) dst[j] = 0;
    for (; j < hi; ++j) dst[j] = src[x0 + j];
    for (; j < n; ++j) dst[j] = 0;
}

/* Transform the input tiles [t0, t0 + nt) (flattened over N, TD, TH, TW) of
 * every input channel of group grp into V: P points vstride elements apart,
 * each a packed-B operand (Cg rows, nt rounded up to nr columns, zero past
 * nt) of the GEMM.
 *
 * Tiles are taken a run at a time (consecutive tiles of one tile row, at most
 * FC_WG_RUN): the D and H transforms are applied once to the run's input
 * rows (read in place when they lie inside the input, else copied with their
 * zero padding), then the W transform writes each panel's part of the run. */
static void FC_NAME(fc_wino_input)(const fc_wgeom *g, const FC_T *x, int64_t grp, int64_t t0,
                                   int64_t nt, int64_t nr, int64_t vstride, FC_T *V)
{
    const int aD = g->fd ? 4 : 1, aH = g->fh ? 4 : 1;
    const int64_t md = g->fd ? 2 : 1, mh = g->fh ? 2 : 1, mw = g->fw ? 2 : 1;
    const int64_t aW = g->fw ? 4 : 1;
    const int64_t Cg = g->Cg, ntp = (nt + nr - 1) / nr * nr;
    FC_T rows[4][FC_WG_RROW], tmp[16][FC_WG_RROW], tmp2[16][FC_WG_RROW];
    FC_T zero[FC_WG_RROW];
    FC_T *rp[4], *tp[16], *t2p[16];

    for (int64_t j = 0; j < FC_WG_RROW; ++j)
        zero[j] = 0;

    for (int q = 0; q < 16; ++q) {
        tp[q] = tmp[q];
        t2p[q] = tmp2[q];
    }
    for (int64_t ci = 0; ci < Cg; ++ci) {
        const int64_t c = grp * Cg + ci;
        int64_t l = 0;
        while (l < nt) {
            int64_t n, td, th, tw;
            const int64_t run = fc_wg_tile_run(g, t0 + l, nt - l, FC_WG_RUN, &n, &td, &th, &tw);
            const int64_t len = (run - 1) * mw + aW;
            const int64_t x0 = tw * mw - g->pw;
            const int inside = x0 >= 0 && x0 + len <= g->W;

            FC_T **cur = rp;
            if (g->fh) {
                /* Along H straight from the input rows (rows a*aH + b ->
                 * a*aH + ph); rows and columns in the padding read as zero. */
                int64_t lo = x0 < 0 ? -x0 : 0, hi = g->W - x0;
                if (lo > len) lo = len;
                if (hi > len) hi = len;
                if (hi < lo) hi = lo;
                for (int a = 0; a < aD; ++a) {
                    const int64_t z = td * md - g->pd + a;
                    const FC_T *in4[4];
                    int64_t off4[4];
                    for (int b = 0; b < 4; ++b) {
                        const int64_t y = th * mh - g->ph + b;
                        if (z >= 0 && z < g->D && y >= 0 && y < g->H) {
                            in4[b] = x + (((n * g->C + c) * g->D + z) * g->H + y) * g->W;
                            off4[b] = x0;
                        } else {
                            in4[b] = zero;
                            off4[b] = 0;
                        }
                    }
                    FC_NAME(fc_wg_bt_rows)(in4, off4, tp + a * 4, lo, hi, len);
                }
                cur = tp;
            } else {
                /* The aD input rows of the run, read in place when inside the
                 * input, else copied with their zero padding. */
                for (int a = 0; a < aD; ++a) {
                    const int64_t z = td * md - g->pd + a;
                    const int64_t y = th - g->ph;
                    const FC_T *src = NULL;
                    if (z >= 0 && z < g->D && y >= 0 && y < g->H)
                        src = x + (((n * g->C + c) * g->D + z) * g->H + y) * g->W;
                    if (src != NULL && inside) {
                        rp[a] = (FC_T *)(src + x0);
                    } else {
                        FC_NAME(fc_wg_load_row)(src, x0, len, g->W, rows[a]);
                        rp[a] = rows[a];
                    }
                }
            }
            if (g->fd) {
                FC_T **dst = (cur == tp) ? t2p : tp;
                for (int b = 0; b < aH; ++b) {
                    FC_T *in4[4], *out4[4];
                    for (int a = 0; a < 4; ++a) {
                        in4[a] = cur[a * aH + b];
                        out4[a] = dst[a * aH + b];
                    }
                    FC_NAME(fc_wg_bt)(in4, out4, len);
                }
                cur = dst;
            }

            /* Along W, stored straight into the packed operands, a panel's
             * part of the run at a time. */
            int64_t s0 = 0;
            while (s0 < run) {
                const int64_t lane = (l + s0) % nr;
                int64_t seg = nr - lane;
                if (seg > run - s0) seg = run - s0;
                const int64_t off = ((l + s0) / nr) * Cg * nr + ci * nr + lane;
                for (int q = 0; q < aD * aH; ++q) {
                    const FC_T *restrict e = cur[q] + s0 * mw;
                    if (g->fw) {
                        FC_T *restrict v0 = V + (int64_t)(q * 4 + 0) * vstride + off;
                        FC_T *restrict v1 = V + (int64_t)(q * 4 + 1) * vstride + off;
                        FC_T *restrict v2 = V + (int64_t)(q * 4 + 2) * vstride + off;
                        FC_T *restrict v3 = V + (int64_t)(q * 4 + 3) * vstride + off;
                        for (int64_t s = 0; s < seg; ++s) {
                            const FC_T c0 = e[2 * s], c1 = e[2 * s + 1], c2 = e[2 * s + 2],
                                       c3 = e[2 * s + 3];
                            v0[s] = c0 - c2;
                            v1[s] = c1 + c2;
                            v2[s] = c2 - c1;
                            v3[s] = c1 - c3;
                        }
                    } else {
                        FC_T *restrict v = V + (int64_t)q * vstride + off;
                        for (int64_t s = 0; s < seg; ++s)
                            v[s] = e[s];
                    }
                }
                s0 += seg;
            }
            l += run;
        }
    }
    /* Columns past nt in the last panel: zero (their products are discarded). */
    if (ntp > nt) {
        const int64_t last = (ntp / nr - 1) * Cg * nr;
        for (int64_t p = 0; p < g->P; ++p)
            for (int64_t ci = 0; ci < Cg; ++ci)
                for (int64_t j = nt % nr; j < nr; ++j)
                    V[p * vstride + last + ci * nr + j] = 0;
    }
}

/* Transform the GEMM results of tiles [t0, t0 + nt) back into output values:
 * Mb holds P points, each mblk rows (output channels co0 ..) x ldm columns
 * (tiles), point stride pstride. Adds the bias and writes the output rows,
 * cropped to (OD, OH, OW). */
static void FC_NAME(fc_wino_output)(const fc_wgeom *g, const FC_T *Mb, int64_t ldm,
                                    int64_t pstride, int64_t co0, int64_t mblk, int64_t t0,
                                    int64_t nt, const FC_T *bias, FC_T *out)
{
    const int aD = g->fd ? 4 : 1, aH = g->fh ? 4 : 1;
    const int64_t md = g->fd ? 2 : 1, mh = g->fh ? 2 : 1, mw = g->fw ? 2 : 1;
    FC_T wrow[16][2 * FC_WG_SEG], hrow[8][2 * FC_WG_SEG], drow[4][2 * FC_WG_SEG];
    FC_T *wp[16], *hp[8], *dp[4];

    for (int q = 0; q < 16; ++q) wp[q] = wrow[q];
    for (int q = 0; q < 8; ++q) hp[q] = hrow[q];
    for (int q = 0; q < 4; ++q) dp[q] = drow[q];
    for (int64_t i = 0; i < mblk; ++i) {
        const int64_t co = co0 + i;
        const FC_T b = bias ? bias[co] : (FC_T)0;
        int64_t l = 0;
        while (l < nt) {
            int64_t n, td, th, tw;
            const int64_t seg = fc_wg_tile_run(g, t0 + l, nt - l, FC_WG_SEG, &n, &td, &th, &tw);
            const int64_t len = seg * mw;
            const FC_T *base = Mb + i * ldm + l;

            /* Along W: point rows (q, pw) -> output columns of row q. */
            for (int q = 0; q < aD * aH; ++q) {
                FC_T *restrict w = wrow[q];
                if (g->fw) {
                    const FC_T *restrict m0 = base + (int64_t)(q * 4 + 0) * pstride;
                    const FC_T *restrict m1 = base + (int64_t)(q * 4 + 1) * pstride;
                    const FC_T *restrict m2 = base + (int64_t)(q * 4 + 2) * pstride;
                    const FC_T *restrict m3 = base + (int64_t)(q * 4 + 3) * pstride;
                    for (int64_t s = 0; s < seg; ++s) {
                        w[2 * s] = m0[s] + m1[s] + m2[s];
                        w[2 * s + 1] = m1[s] - m2[s] - m3[s];
                    }
                } else {
                    const FC_T *restrict m0 = base + (int64_t)q * pstride;
                    for (int64_t s = 0; s < seg; ++s)
                        w[s] = m0[s];
                }
            }
            /* Along H: rows a*aH + ph -> a*mh + oh; then along D. */
            FC_T **cur = wp;
            if (g->fh) {
                for (int a = 0; a < aD; ++a)
                    FC_NAME(fc_wg_at)(wp + a * 4, hp + a * 2, len);
                cur = hp;
            }
            if (g->fd) {
                for (int oh = 0; oh < mh; ++oh) {
                    FC_T *in4[4], *out2[2];
                    for (int a = 0; a < 4; ++a) in4[a] = cur[a * mh + oh];
                    out2[0] = dp[0 * mh + oh];
                    out2[1] = dp[1 * mh + oh];
                    FC_NAME(fc_wg_at)(in4, out2, len);
                }
                cur = dp;
            }
            /* Rows (od, oh) of the tiles, cropped to the output, plus bias. */
            int64_t ow0 = tw * mw, nw = len;
            if (nw > g->OW - ow0) nw = g->OW - ow0;
            for (int64_t a = 0; a < md; ++a) {
                const int64_t od = td * md + a;
                if (od >= g->OD) break;
                for (int64_t c = 0; c < mh; ++c) {
                    const int64_t oh = th * mh + c;
                    if (oh >= g->OH) break;
                    const FC_T *restrict src = cur[a * mh + c];
                    FC_T *restrict dst = out + (((n * g->Co + co) * g->OD + od) * g->OH + oh)
                                         * g->OW + ow0;
                    for (int64_t j = 0; j < nw; ++j)
                        dst[j] = b + src[j];
                }
            }
            l += seg;
        }
    }
}

#undef FC_NAME
#undef FC_CAT
#undef FC_CAT_
