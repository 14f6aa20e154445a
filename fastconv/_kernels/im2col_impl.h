/* Implicit im2col packing, written once over the element type (no SIMD of its
 * own: its inner loops are copies). conv.c includes this file once per dtype
 * with FC_T and FC_SFX (_f32, _f64) defined. No include guard on purpose.
 */
#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_FN(name) FC_CAT(name, FC_SFX)

void FC_FN(fc_im2col_pack)(const fc_geom *g, const FC_T *x, int64_t n, int64_t grp,
                           int64_t p0, int64_t ncols, int64_t nr, FC_T *Bp)
{
    const int64_t HW = g->H * g->W, DHW = g->D * HW;
    const int64_t OHW = g->OH * g->OW, OW = g->OW;
    const int64_t K = g->Cg * g->KD * g->KH * g->KW;
    const int64_t W = g->W, sw = g->sw;
    const FC_T *xn = x + (n * g->C + grp * g->Cg) * DHW;
    const int64_t npanels = (ncols + nr - 1) / nr;

    for (int64_t q = 0; q < npanels; ++q) {
        const int64_t pq = p0 + q * nr;
        const int64_t cq = ncols - q * nr < nr ? ncols - q * nr : nr;
        const int64_t od0 = pq / OHW, oh0 = (pq % OHW) / OW, ow0 = pq % OW;
        FC_T *dst = Bp + q * K * nr;
        for (int64_t ic = 0; ic < g->Cg; ++ic)
        for (int64_t kd = 0; kd < g->KD; ++kd)
        for (int64_t kh = 0; kh < g->KH; ++kh)
        for (int64_t kw = 0; kw < g->KW; ++kw, dst += nr) {
            /* The panel's columns, cut into runs that share an output row. */
            const int64_t off = kw * g->dw - g->pw;
            /* Output columns t with 0 <= t * sw + off < W: [t_lo, t_hi). */
            const int64_t t_lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
            const int64_t t_hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
            int64_t j = 0, od = od0, oh = oh0, ow = ow0;
            while (j < cq) {
                const int64_t seg = cq - j < OW - ow ? cq - j : OW - ow;
                const int64_t id = od * g->sd - g->pd + kd * g->dd;
                const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
                FC_T *d = dst + j - ow;   /* d[t] for t in [ow, ow + seg) */
                int64_t lo = ow, hi = ow;
                if (id >= 0 && id < g->D && ih >= 0 && ih < g->H) {
                    const FC_T *row = xn + ic * DHW + id * HW + ih * W;
                    lo = t_lo > ow ? t_lo : ow;
                    hi = t_hi < ow + seg ? t_hi : ow + seg;
                    if (hi < lo) hi = lo = ow;
                    if (sw == 1) {
                        __builtin_memcpy(d + lo, row + lo + off, (size_t)(hi - lo) * sizeof(FC_T));
                    } else {
                        for (int64_t t = lo; t < hi; ++t) d[t] = row[t * sw + off];
                    }
                }
                for (int64_t t = ow; t < lo; ++t) d[t] = 0;
                for (int64_t t = hi; t < ow + seg; ++t) d[t] = 0;
                j += seg;
                ow = 0;
                if (++oh == g->OH) { oh = 0; ++od; }
            }
            for (int64_t t = cq; t < nr; ++t) dst[t] = 0;
        }
    }
}

#undef FC_FN
#undef FC_CAT
#undef FC_CAT_
