/* The 1-D pass kernels of lines.h, written once over the element type and the
 * vector width; lines.c includes this file once per ISA level and flavour with
 *   FC_T       the element type (float or double)
 *   FC_SFX     the function-name suffix (e.g. _avx2_f32)
 *   FC_VBYTES  the vector width in bytes of the level
 * defined, inside a `#pragma GCC target` region above the baseline (and with
 * contraction of multiply-adds switched off for the exact flavour). No include
 * guard on purpose.
 *
 * Every output element is formed by the same sequence of operations whatever
 * block computes it (vector blocks of 4 or 1 vectors, or the scalar tail),
 * in SciPy's order (lines.h), so results do not depend on where an element
 * lies, on the split into items, or on the number of threads.
 */
#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_LFN(name) FC_CAT(name, FC_SFX)
#define FC_LVEC FC_CAT(fc_lvec, FC_SFX)
#define FC_LN ((int64_t)(FC_VBYTES / (int)sizeof(FC_T)))
#define FC_LLOAD(p) (*(const FC_LVEC *)(p))

typedef FC_T FC_LVEC __attribute__((vector_size(FC_VBYTES), aligned(sizeof(FC_T))));

/* NU vectors of outputs at column j: the K-tap sum over src[t][j .. ]. NU is a
 * compile-time constant after inlining, so acc stays in registers. */
static inline __attribute__((always_inline)) void
FC_LFN(fc_fir_block)(const FC_T *const *src, const FC_T *w, int64_t K, int sym, FC_T *out,
                     int64_t j, const int NU)
{
    FC_LVEC acc[4];
    const int64_t c = K / 2;
    if (sym != 0) {
        const FC_T wc = w[c];
        for (int u = 0; u < NU; u++)
            acc[u] = FC_LLOAD(src[c] + j + u * FC_LN) * wc;
        if (sym > 0) {
            for (int64_t t = 0; t < c; t++) {
                const FC_T *a = src[t] + j, *b = src[K - 1 - t] + j;
                const FC_T wt = w[t];
                for (int u = 0; u < NU; u++)
                    acc[u] += (FC_LLOAD(a + u * FC_LN) + FC_LLOAD(b + u * FC_LN)) * wt;
            }
        } else {
            for (int64_t t = 0; t < c; t++) {
                const FC_T *a = src[t] + j, *b = src[K - 1 - t] + j;
                const FC_T wt = w[t];
                for (int u = 0; u < NU; u++)
                    acc[u] += (FC_LLOAD(a + u * FC_LN) - FC_LLOAD(b + u * FC_LN)) * wt;
            }
        }
    } else {
        const FC_T wl = w[K - 1];
        for (int u = 0; u < NU; u++)
            acc[u] = FC_LLOAD(src[K - 1] + j + u * FC_LN) * wl;
        for (int64_t t = 0; t < K - 1; t++) {
            const FC_T *a = src[t] + j;
            const FC_T wt = w[t];
            for (int u = 0; u < NU; u++)
                acc[u] += FC_LLOAD(a + u * FC_LN) * wt;
        }
    }
    for (int u = 0; u < NU; u++)
        *(FC_LVEC *)(out + j + u * FC_LN) = acc[u];
}

/* out[j] = the K-tap sum over src[t][j], for j in [0, n). */
static void FC_LFN(fc_fir)(const FC_T *const *src, const FC_T *w, int64_t K, int sym,
                           FC_T *out, int64_t n)
{
    int64_t j = 0;
    for (; j + 4 * FC_LN <= n; j += 4 * FC_LN)
        FC_LFN(fc_fir_block)(src, w, K, sym, out, j, 4);
    for (; j + FC_LN <= n; j += FC_LN)
        FC_LFN(fc_fir_block)(src, w, K, sym, out, j, 1);
    const int64_t c = K / 2;
    for (; j < n; j++) {
        FC_T o;
        if (sym > 0) {
            o = src[c][j] * w[c];
            for (int64_t t = 0; t < c; t++)
                o += (src[t][j] + src[K - 1 - t][j]) * w[t];
        } else if (sym < 0) {
            o = src[c][j] * w[c];
            for (int64_t t = 0; t < c; t++)
                o += (src[t][j] - src[K - 1 - t][j]) * w[t];
        } else {
            o = src[K - 1][j] * w[K - 1];
            for (int64_t t = 0; t < K - 1; t++)
                o += src[t][j] * w[t];
        }
        out[j] = o;
    }
}

/* ext[q] for q in [a, b): extended position q0 + q of a line through map
 * (-1: cval). */
static void FC_LFN(fc_extend)(FC_T *ext, const FC_T *line, const int64_t *map, int64_t q0,
                              int64_t a, int64_t b, FC_T cv)
{
    for (int64_t q = a; q < b; q++) {
        const int64_t m = map[q0 + q];
        ext[q] = m < 0 ? cv : line[m];
    }
}

/* One pass along contiguous lines (inner == 1): outputs [i0, i0 + n) of line o.
 * Outputs whose whole window lies inside the line (positions [off, off + L))
 * read the line itself; the others read the extended values copied once. */
static void FC_LFN(fc_corr_lines)(const fc_lshape *s, const fc_lpass *p, const FC_T *x,
                                  FC_T *out, int64_t item, char *ws)
{
    const int64_t K = p->K, L = s->L, off = p->off;
    const int64_t nch = (L + s->RB - 1) / s->RB;
    const int64_t o = item / nch, i0 = (item % nch) * s->RB;
    const int64_t n = (L - i0 < s->RB) ? L - i0 : s->RB;
    const FC_T *w = (const FC_T *)p->w;
    const FC_T *line = x + o * L;
    FC_T *dst = out + o * L;
    const FC_T **src = (const FC_T **)ws;
    FC_T *ext = (FC_T *)(ws + FC_LALIGN(K * (int64_t)sizeof(FC_T *)));
    const FC_T cv = (FC_T)p->cval;
    /* interior outputs [ia, ib) (absolute): windows [i, i + K) inside [off, off + L) */
    int64_t ia = off, ib = off + L - K + 1;
    ia = ia < i0 ? i0 : (ia > i0 + n ? i0 + n : ia);
    ib = ib > i0 + n ? i0 + n : (ib < ia ? ia : ib);
    if (ib > ia) {
        for (int64_t t = 0; t < K; t++)
            src[t] = line + (ia - off) + t;
        FC_LFN(fc_fir)(src, w, K, p->sym, dst + ia, ib - ia);
    }
    /* the edges, through the map */
    if (ia > i0) {
        FC_LFN(fc_extend)(ext, line, p->map, i0, 0, ia - i0 + K - 1, cv);
        for (int64_t t = 0; t < K; t++)
            src[t] = ext + t;
        FC_LFN(fc_fir)(src, w, K, p->sym, dst + i0, ia - i0);
    }
    if (i0 + n > ib) {
        FC_LFN(fc_extend)(ext, line, p->map, ib, 0, i0 + n - ib + K - 1, cv);
        for (int64_t t = 0; t < K; t++)
            src[t] = ext + t;
        FC_LFN(fc_fir)(src, w, K, p->sym, dst + ib, i0 + n - ib);
    }
}

/* One pass across rows (inner > 1): a block of RB rows by CB columns of plane o. */
static void FC_LFN(fc_corr_rows)(const fc_lshape *s, const fc_lpass *p, const FC_T *x,
                                 FC_T *out, int64_t item, char *ws)
{
    const int64_t K = p->K, L = s->L, N = s->inner;
    const int64_t ncb = (N + s->CB - 1) / s->CB, nrb = (L + s->RB - 1) / s->RB;
    const int64_t cb = item % ncb, rb = (item / ncb) % nrb, o = item / (ncb * nrb);
    const int64_t j0 = cb * s->CB, nj = (N - j0 < s->CB) ? N - j0 : s->CB;
    const int64_t i0 = rb * s->RB, ni = (L - i0 < s->RB) ? L - i0 : s->RB;
    const FC_T *w = (const FC_T *)p->w;
    const FC_T **src = (const FC_T **)ws;
    FC_T *cvrow = (FC_T *)(ws + FC_LALIGN(K * (int64_t)sizeof(FC_T *)));
    int fill = 0;
    for (int64_t q = i0; q < i0 + ni + K - 1; q++)
        fill |= p->map[q] < 0;
    if (fill)
        for (int64_t j = 0; j < nj; j++)
            cvrow[j] = (FC_T)p->cval;
    const FC_T *plane = x + o * L * N + j0;
    for (int64_t i = i0; i < i0 + ni; i++) {
        for (int64_t t = 0; t < K; t++) {
            const int64_t m = p->map[i + t];
            src[t] = m < 0 ? cvrow : plane + m * N;
        }
        FC_LFN(fc_fir)(src, w, K, p->sym, out + (o * L + i) * N + j0, nj);
    }
}

/* The horizontal pass of one row into dst (W outputs): the row extended by
 * the map into ext (W + K - 1), then filtered. */
static void FC_LFN(fc_row_h)(const fc_lpass *p, const FC_T *row, int64_t W, FC_T *ext,
                             const FC_T **src, FC_T *dst)
{
    const int64_t K = p->K, off = p->off;
    const FC_T cv = (FC_T)p->cval;
    FC_LFN(fc_extend)(ext, row, p->map, 0, 0, off < W + K - 1 ? off : W + K - 1, cv);
    const int64_t hi = off + W < W + K - 1 ? off + W : W + K - 1;
    for (int64_t q = off; q < hi; q++)
        ext[q] = row[q - off];
    FC_LFN(fc_extend)(ext, row, p->map, 0, hi, W + K - 1, cv);
    for (int64_t t = 0; t < K; t++)
        src[t] = ext + t;
    FC_LFN(fc_fir)(src, (const FC_T *)p->w, K, p->sym, dst, W);
}

/* The vertical pass of output row i of a plane (H rows of W) into dst. */
static void FC_LFN(fc_row_v)(const fc_lpass *p, const FC_T *plane, int64_t W, int64_t i,
                             const FC_T *cvrow, const FC_T **src, FC_T *dst)
{
    for (int64_t t = 0; t < p->K; t++) {
        const int64_t m = p->map[i + t];
        src[t] = m < 0 ? cvrow : plane + m * W;
    }
    FC_LFN(fc_fir)(src, (const FC_T *)p->w, p->K, p->sym, dst, W);
}

/* Two passes fused on a block of RB rows of plane o (see lines.h). */
static void FC_LFN(fc_fused)(const fc_lshape *s, const fc_lpass *first, const fc_lpass *second,
                             int vfirst, int combine, const FC_T *x, FC_T *out, int64_t item,
                             char *ws)
{
    const int64_t H = s->L, W = s->inner;
    const int64_t nrb = (H + s->RB - 1) / s->RB;
    const int64_t o = item / nrb, i0 = (item % nrb) * s->RB;
    const int64_t ni = (H - i0 < s->RB) ? H - i0 : s->RB;
    const fc_lpass *pv = vfirst ? first : second, *ph = vfirst ? second : first;
    const int64_t Kv = pv->K, Kh = ph->K, Kmax = Kv > Kh ? Kv : Kh;
    const FC_T **src = (const FC_T **)ws;
    char *cur = ws + FC_LALIGN(Kmax * (int64_t)sizeof(FC_T *));
    FC_T *ext = (FC_T *)cur;
    cur += FC_LALIGN((W + Kh - 1) * (int64_t)sizeof(FC_T));
    FC_T *cvrow = (FC_T *)cur;
    cur += FC_LALIGN(W * (int64_t)sizeof(FC_T));
    FC_T *tmp = (FC_T *)cur;           /* a row (sum), or Kv rows (ring, vertical second) */
    const FC_T *plane = x + o * H * W;
    FC_T *oplane = out + o * H * W;
    for (int64_t j = 0; j < W; j++)
        cvrow[j] = (FC_T)pv->cval;
    if (combine == FC_LINES_SUM) {
        /* out = first(x) + second(x), each rounded, as SciPy's output += tmp */
        for (int64_t i = i0; i < i0 + ni; i++) {
            FC_T *dst = oplane + i * W;
            FC_LFN(fc_row_v)(pv, plane, W, i, cvrow, src, vfirst ? dst : tmp);
            FC_LFN(fc_row_h)(ph, plane + i * W, W, ext, src, vfirst ? tmp : dst);
            for (int64_t j = 0; j < W; j++)
                dst[j] = dst[j] + tmp[j];
        }
        return;
    }
    if (vfirst) {
        /* vertical into the interior of ext, extended by the horizontal map, filtered */
        const int64_t off = ph->off;
        const FC_T cv = (FC_T)ph->cval;
        for (int64_t i = i0; i < i0 + ni; i++) {
            FC_T *mid = ext + off;
            if (off >= 0 && off + W <= W + Kh - 1) {
                FC_LFN(fc_row_v)(pv, plane, W, i, cvrow, src, mid);
                for (int64_t q = 0; q < off; q++) {
                    const int64_t m = ph->map[q];
                    ext[q] = m < 0 ? cv : mid[m];
                }
                for (int64_t q = off + W; q < W + Kh - 1; q++) {
                    const int64_t m = ph->map[q];
                    ext[q] = m < 0 ? cv : mid[m];
                }
                for (int64_t t = 0; t < Kh; t++)
                    src[t] = ext + t;
                FC_LFN(fc_fir)(src, (const FC_T *)ph->w, Kh, ph->sym, oplane + i * W, W);
            } else {
                FC_LFN(fc_row_v)(pv, plane, W, i, cvrow, src, tmp);
                FC_LFN(fc_row_h)(ph, tmp, W, ext, src, oplane + i * W);
            }
        }
        return;
    }
    /* horizontal first: a ring of Kv horizontally filtered rows, slot p % Kv
     * holding extended row position p of the vertical pass */
    const FC_T **rows = (const FC_T **)(tmp + Kv * W);
    for (int64_t q = i0; q < i0 + ni + Kv - 1; q++) {
        FC_T *slot = tmp + (q % Kv) * W;
        const int64_t m = pv->map[q];
        if (m < 0) {
            for (int64_t j = 0; j < W; j++)
                slot[j] = (FC_T)pv->cval;
        } else {
            FC_LFN(fc_row_h)(ph, plane + m * W, W, ext, src, slot);
        }
        const int64_t i = q - (Kv - 1);
        if (i < i0)
            continue;
        for (int64_t t = 0; t < Kv; t++)
            rows[t] = tmp + ((i + t) % Kv) * W;
        FC_LFN(fc_fir)(rows, (const FC_T *)pv->w, Kv, pv->sym, oplane + i * W, W);
    }
}

#undef FC_LFN
#undef FC_LVEC
#undef FC_LN
#undef FC_LLOAD
