/* The 1-D pass kernels of lines.h, written once over the element type and the
 * vector width; lines.c includes this file once per ISA level and flavour with
 *   FC_T       the element type (float or double)
 *   FC_SFX     the function-name suffix (e.g. _avx2_f32)
 *   FC_VBYTES  the vector width in bytes of the level
 *   FC_NTSTORE(p, v)  a non-temporal store of vector v at aligned address p
 * defined, inside an isa.h level region above the baseline (and with
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
/* The same vector at its natural alignment: the type of non-temporal stores. */
typedef FC_T FC_CAT(FC_LVEC, _a) __attribute__((vector_size(FC_VBYTES)));

/* NU vectors of outputs at column j: the K-tap sum over src[t][j .. ], plus
 * add[j] when add is not NULL (a rounded sum added to a rounded sum, SciPy's
 * output += tmp). NU is a compile-time constant after inlining, so acc stays
 * in registers. */
static inline __attribute__((always_inline)) void
FC_LFN(fc_fir_block)(const FC_T *const *src, const FC_T *w, int64_t K, int sym, FC_T *out,
                     const FC_T *add, int64_t j, const int NU, const int NT)
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
    if (add)
        for (int u = 0; u < NU; u++)
            acc[u] = FC_LLOAD(add + j + u * FC_LN) + acc[u];
    for (int u = 0; u < NU; u++) {
        if (NT)     /* out + j is vector-aligned here (fc_fir_run peels to it) */
            FC_NTSTORE((FC_T *)(out + j + u * FC_LN), (FC_CAT(FC_LVEC, _a))acc[u]);
        else
            *(FC_LVEC *)(out + j + u * FC_LN) = acc[u];
    }
}

/* One output of fc_fir_add computed alone (the same operations, in the same
 * order, as a lane of fc_fir_block). */
static inline __attribute__((always_inline)) FC_T
FC_LFN(fc_fir_one)(const FC_T *const *src, const FC_T *w, int64_t K, int sym,
                   const FC_T *add, int64_t j)
{
    const int64_t c = K / 2;
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
    return add ? add[j] + o : o;
}

/* The elements before out + j is vector-aligned (for non-temporal stores). */
static inline int64_t FC_LFN(fc_peel)(const FC_T *out, int64_t n)
{
    const int64_t head = (int64_t)((-(uintptr_t)out / sizeof(FC_T)) & (uintptr_t)(FC_LN - 1));
    return head < n ? head : n;
}

/* The loop of fc_fir_add: whole blocks of 4 and 1 vectors, then a scalar tail
 * (every element formed by the same operations in the same order); with nt,
 * the first elements one by one up to a vector-aligned address, then the
 * blocks stored non-temporally (the result is not read again soon: it
 * bypasses the caches instead of first reading its lines from memory). */
static inline __attribute__((always_inline)) void
FC_LFN(fc_fir_run)(const FC_T *const *src, const FC_T *w, int64_t K, int sym, FC_T *out,
                   const FC_T *add, int64_t n, int nt)
{
    int64_t j = 0;
    if (nt) {
        for (const int64_t head = FC_LFN(fc_peel)(out, n); j < head; j++)
            out[j] = FC_LFN(fc_fir_one)(src, w, K, sym, add, j);
        for (; j + 4 * FC_LN <= n; j += 4 * FC_LN)
            FC_LFN(fc_fir_block)(src, w, K, sym, out, add, j, 4, 1);
        for (; j + FC_LN <= n; j += FC_LN)
            FC_LFN(fc_fir_block)(src, w, K, sym, out, add, j, 1, 1);
    } else {
        for (; j + 4 * FC_LN <= n; j += 4 * FC_LN)
            FC_LFN(fc_fir_block)(src, w, K, sym, out, add, j, 4, 0);
        for (; j + FC_LN <= n; j += FC_LN)
            FC_LFN(fc_fir_block)(src, w, K, sym, out, add, j, 1, 0);
    }
    for (; j < n; j++)
        out[j] = FC_LFN(fc_fir_one)(src, w, K, sym, add, j);
}

/* out[j] = the K-tap sum over src[t][j] (+ add[j] when add is not NULL), for
 * j in [0, n); nt: non-temporal stores (see fc_fir_run). Three taps
 * (derivatives, Laplace, Sobel's smoothing) get a copy of the loop with the
 * tap count known to the compiler. */
static void FC_LFN(fc_fir_add)(const FC_T *const *src, const FC_T *w, int64_t K, int sym,
                               FC_T *out, const FC_T *add, int64_t n, int nt)
{
    if (K == 3)
        FC_LFN(fc_fir_run)(src, w, 3, sym, out, add, n, nt);
    else
        FC_LFN(fc_fir_run)(src, w, K, sym, out, add, n, nt);
}

static inline void FC_LFN(fc_fir)(const FC_T *const *src, const FC_T *w, int64_t K, int sym,
                                  FC_T *out, int64_t n)
{
    FC_LFN(fc_fir_add)(src, w, K, sym, out, (const FC_T *)0, n, 0);
}

static inline void FC_LFN(fc_fir_nt)(const FC_T *const *src, const FC_T *w, int64_t K,
                                     int sym, FC_T *out, int64_t n, int nt)
{
    FC_LFN(fc_fir_add)(src, w, K, sym, out, (const FC_T *)0, n, nt);
}

/* out[j] = (Kv-tap sum over srcv[t][j]) + (Kh-tap sum over srch[t][j]) for j
 * in [0, n): two passes summed in one sweep (each sum formed and rounded as
 * fc_fir forms it, then the two added: SciPy's output += tmp). */
static inline __attribute__((always_inline)) void
FC_LFN(fc_fir2_run)(const FC_T *const *srcv, const FC_T *wv, int64_t Kv, int symv,
                    const FC_T *const *srch, const FC_T *wh, int64_t Kh, int symh, FC_T *out,
                    int64_t n, int nt)
{
    const FC_T *sv[FC_LINES_MAX_FUSED_TAPS], *sh[FC_LINES_MAX_FUSED_TAPS];
    FC_T v[4 * FC_LN] __attribute__((aligned(64)));
    int64_t j = 0;
    if (nt) {
        for (const int64_t head = FC_LFN(fc_peel)(out, n); j < head; j++) {
            const FC_T vj = FC_LFN(fc_fir_one)(srcv, wv, Kv, symv, (const FC_T *)0, j);
            const FC_T hj = FC_LFN(fc_fir_one)(srch, wh, Kh, symh, (const FC_T *)0, j);
            out[j] = vj + hj;
        }
    }
    for (; j + 4 * FC_LN <= n; j += 4 * FC_LN) {
        for (int64_t t = 0; t < Kv; t++)
            sv[t] = srcv[t] + j;
        for (int64_t t = 0; t < Kh; t++)
            sh[t] = srch[t] + j;
        FC_LFN(fc_fir_block)(sv, wv, Kv, symv, v, (const FC_T *)0, 0, 4, 0);
        if (nt)
            FC_LFN(fc_fir_block)(sh, wh, Kh, symh, out + j, v, 0, 4, 1);
        else
            FC_LFN(fc_fir_block)(sh, wh, Kh, symh, out + j, v, 0, 4, 0);
    }
    if (j < n) {
        for (int64_t t = 0; t < Kv; t++)
            sv[t] = srcv[t] + j;
        for (int64_t t = 0; t < Kh; t++)
            sh[t] = srch[t] + j;
        FC_LFN(fc_fir)(sv, wv, Kv, symv, v, n - j);
        FC_LFN(fc_fir_add)(sh, wh, Kh, symh, out + j, v, n - j, 0);
    }
}

static void FC_LFN(fc_fir2)(const FC_T *const *srcv, const fc_lpass *pv,
                            const FC_T *const *srch, const fc_lpass *ph, FC_T *out, int64_t n,
                            int nt)
{
    const FC_T *wv = (const FC_T *)pv->w, *wh = (const FC_T *)ph->w;
    if (pv->K == 3 && ph->K == 3)
        FC_LFN(fc_fir2_run)(srcv, wv, 3, pv->sym, srch, wh, 3, ph->sym, out, n, nt);
    else
        FC_LFN(fc_fir2_run)(srcv, wv, pv->K, pv->sym, srch, wh, ph->K, ph->sym, out, n, nt);
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

/* Outputs [i0, i0 + n) of a horizontal pass along one line of L elements,
 * into dst (output i0 at dst[0]). Outputs whose whole window lies inside the
 * line (positions [off, off + L)) read the line itself; the few at the edges
 * read their extended values, copied into ext (at most K - 1 + the edge). */
static void FC_LFN(fc_line_add)(const fc_lpass *p, const FC_T *line, int64_t L, int64_t i0,
                                int64_t n, FC_T *ext, const FC_T **src, FC_T *dst,
                                const FC_T *add, int nt)
{
    const int64_t K = p->K, off = p->off;
    const FC_T *w = (const FC_T *)p->w;
    const FC_T cv = (FC_T)p->cval;
    /* interior outputs [ia, ib): windows [i, i + K) inside [off, off + L) */
    int64_t ia = off, ib = off + L - K + 1;
    ia = ia < i0 ? i0 : (ia > i0 + n ? i0 + n : ia);
    ib = ib > i0 + n ? i0 + n : (ib < ia ? ia : ib);
    if (ib > ia) {
        for (int64_t t = 0; t < K; t++)
            src[t] = line + (ia - off) + t;
        FC_LFN(fc_fir_add)(src, w, K, p->sym, dst + (ia - i0), add ? add + (ia - i0) : add,
                           ib - ia, nt);
    }
    if (ia > i0) {
        FC_LFN(fc_extend)(ext, line, p->map, i0, 0, ia - i0 + K - 1, cv);
        for (int64_t t = 0; t < K; t++)
            src[t] = ext + t;
        FC_LFN(fc_fir_add)(src, w, K, p->sym, dst, add, ia - i0, 0);
    }
    if (i0 + n > ib) {
        FC_LFN(fc_extend)(ext, line, p->map, ib, 0, i0 + n - ib + K - 1, cv);
        for (int64_t t = 0; t < K; t++)
            src[t] = ext + t;
        FC_LFN(fc_fir_add)(src, w, K, p->sym, dst + (ib - i0), add ? add + (ib - i0) : add,
                           i0 + n - ib, 0);
    }
}

static inline void FC_LFN(fc_line)(const fc_lpass *p, const FC_T *line, int64_t L, int64_t i0,
                                   int64_t n, FC_T *ext, const FC_T **src, FC_T *dst, int nt)
{
    FC_LFN(fc_line_add)(p, line, L, i0, n, ext, src, dst, (const FC_T *)0, nt);
}

/* One pass along contiguous lines (inner == 1): outputs [i0, i0 + RB) of line o. */
static void FC_LFN(fc_corr_lines)(const fc_lshape *s, const fc_lpass *p, const FC_T *x,
                                  FC_T *out, int64_t item, char *ws)
{
    const int64_t L = s->L;
    const int64_t nch = (L + s->RB - 1) / s->RB;
    const int64_t o = item / nch, i0 = (item % nch) * s->RB;
    const int64_t n = (L - i0 < s->RB) ? L - i0 : s->RB;
    const FC_T **src = (const FC_T **)ws;
    FC_T *ext = (FC_T *)(ws + FC_LALIGN(p->K * (int64_t)sizeof(FC_T *)));
    FC_LFN(fc_line)(p, x + o * L, L, i0, n, ext, src, out + o * L + i0, (int)s->nt);
}

/* Rows [i0, i0 + ni) of a vertical pass, columns [j0, j0 + nj), of a plane of
 * rows N elements apart: output row i into dst + (i - i0) * dstride, column
 * block by column block of FC_LINES_VBYTES bytes (the block's input row
 * segments are reused from the L1 cache by its ni output rows).
 * With `copy`, a block's ni + K - 1 input row segments are first copied into
 * seg, one after the other: rows of an image are often a multiple of 4 KiB
 * apart, and the K segments one output vector reads would then all fall into
 * the same sets of the L1 cache and evict each other (the callers copy when
 * K is large enough for that to happen; their own buffers have strides that
 * spread rows over the sets). seg holds (ni + K - 1) blocks, rowp as many
 * pointers; cvrow one block of cval. */
static void FC_LFN(fc_rows_v)(const fc_lpass *p, const FC_T *plane, int64_t N, int64_t i0,
                              int64_t ni, int64_t j0, int64_t nj, const FC_T *cvrow,
                              const FC_T **src, FC_T *dst, int64_t dstride, int copy,
                              FC_T *seg, const FC_T **rowp, int nt)
{
    const int64_t K = p->K;
    const int64_t cb = (copy ? FC_LINES_VBYTES : FC_LINES_VBYTES_DIRECT) / (int64_t)sizeof(FC_T);
    for (int64_t jb = j0; jb < j0 + nj; jb += cb) {
        const int64_t n = (j0 + nj - jb < cb) ? j0 + nj - jb : cb;
        for (int64_t q = 0; q < ni + K - 1; q++) {
            const int64_t m = p->map[i0 + q];
            if (m < 0) {
                rowp[q] = cvrow;
            } else if (copy) {
                memcpy(seg + q * cb, plane + m * N + jb, (size_t)n * sizeof(FC_T));
                rowp[q] = seg + q * cb;
            } else {
                rowp[q] = plane + m * N + jb;
            }
        }
        for (int64_t i = 0; i < ni; i++) {
            for (int64_t t = 0; t < K; t++)
                src[t] = rowp[i + t];
            FC_LFN(fc_fir_nt)(src, (const FC_T *)p->w, K, p->sym, dst + i * dstride + (jb - j0),
                              n, nt);
        }
    }
}

/* One pass across rows (inner > 1): a block of RB rows by CB columns of plane
 * o; consecutive items go down a column strip (the input rows of an item are
 * those the previous one read). */
static void FC_LFN(fc_corr_rows)(const fc_lshape *s, const fc_lpass *p, const FC_T *x,
                                 FC_T *out, int64_t item, char *ws)
{
    const int64_t K = p->K, L = s->L, N = s->inner;
    const int64_t ncb = (N + s->CB - 1) / s->CB, nrb = (L + s->RB - 1) / s->RB;
    const int64_t rb = item % nrb, cb = (item / nrb) % ncb, o = item / (ncb * nrb);
    const int64_t j0 = cb * s->CB, nj = (N - j0 < s->CB) ? N - j0 : s->CB;
    const int64_t i0 = rb * s->RB, ni = (L - i0 < s->RB) ? L - i0 : s->RB;
    const FC_T **src = (const FC_T **)ws;
    const FC_T **rowp = (const FC_T **)(ws + FC_LALIGN(K * (int64_t)sizeof(FC_T *)));
    char *cur = (char *)rowp + FC_LALIGN((s->RB + K - 1) * (int64_t)sizeof(FC_T *));
    FC_T *cvrow = (FC_T *)cur;
    FC_T *seg = (FC_T *)(cur + FC_LALIGN(FC_LINES_VBYTES_DIRECT));
    for (int64_t j = 0; j < FC_LINES_VBYTES_DIRECT / (int64_t)sizeof(FC_T); j++)
        cvrow[j] = (FC_T)p->cval;
    FC_LFN(fc_rows_v)(p, x + o * L * N, N, i0, ni, j0, nj, cvrow, src,
                      out + (o * L + i0) * N + j0, N, K >= FC_LINES_COPY_TAPS, seg, rowp,
                      (int)s->nt);
}

/* The edges of an extended row whose interior [off, off + W) holds the row. */
static void FC_LFN(fc_edges)(const fc_lpass *p, FC_T *ext, int64_t W)
{
    const int64_t off = p->off, n = W + p->K - 1;
    const FC_T cv = (FC_T)p->cval;
    const FC_T *mid = ext + off;
    for (int64_t q = 0; q < off; q++) {
        const int64_t m = p->map[q];
        ext[q] = m < 0 ? cv : mid[m];
    }
    for (int64_t q = off + W; q < n; q++) {
        const int64_t m = p->map[q];
        ext[q] = m < 0 ? cv : mid[m];
    }
}

/* A row of a sum of passes: out = vertical pass (its Kv source rows in
 * srcv[0 .. Kv)) + horizontal pass of `line`, in one sweep; the horizontal
 * pass reads the line itself inside, its extended values at the edges. */
static void FC_LFN(fc_row_sum)(const fc_lpass *pv, const fc_lpass *ph, const FC_T **srcv,
                               const FC_T *line, int64_t W, FC_T *ext, FC_T *out, int nt)
{
    const int64_t Kv = pv->K, Kh = ph->K, off = ph->off;
    const FC_T *sv[FC_LINES_MAX_FUSED_TAPS], *sh[FC_LINES_MAX_FUSED_TAPS];
    int64_t ia = off, ib = off + W - Kh + 1;
    ia = ia < 0 ? 0 : (ia > W ? W : ia);
    ib = ib > W ? W : (ib < ia ? ia : ib);
    /* the ranges [0, ia) (edge), [ia, ib) (inside), [ib, W) (edge) */
    const int64_t a[3] = {0, ia, ib}, b[3] = {ia, ib, W};
    for (int r = 0; r < 3; r++) {
        if (b[r] <= a[r])
            continue;
        for (int64_t t = 0; t < Kv; t++)
            sv[t] = srcv[t] + a[r];
        if (r == 1) {
            for (int64_t t = 0; t < Kh; t++)
                sh[t] = line + (a[r] - off) + t;
        } else {
            FC_LFN(fc_extend)(ext, line, ph->map, a[r], 0, b[r] - a[r] + Kh - 1,
                              (FC_T)ph->cval);
            for (int64_t t = 0; t < Kh; t++)
                sh[t] = ext + t;
        }
        FC_LFN(fc_fir2)(sv, pv, sh, ph, out + a[r], b[r] - a[r], r == 1 && nt);
    }
}

/* Two passes fused on the rows of a plane, a few taps vertically (Kv below
 * FC_LINES_COPY_TAPS): row by row, without a band. Item: RB rows of plane o.
 *   vertical first: the vertical pass of a row into the interior of an
 *     extended row (ext), its edges, the horizontal pass into out;
 *   horizontal first: a ring of Kv horizontally filtered rows (slot p % Kv
 *     holds extended position p of the vertical pass, each row filtered once),
 *     the vertical pass over the ring into out;
 *   sum: the vertical pass of a row into tmp, the horizontal pass of the same
 *     row added to it on the way out. */
static void FC_LFN(fc_fused_rows)(const fc_lshape *s, const fc_lpass *pv, const fc_lpass *ph,
                                  int vfirst, int combine, const FC_T *x, FC_T *out,
                                  int64_t item, char *ws)
{
    const int64_t H = s->L, W = s->inner;
    const int64_t nrb = (H + s->RB - 1) / s->RB;
    const int64_t o = item / nrb, i0 = (item % nrb) * s->RB;
    const int64_t ni = (H - i0 < s->RB) ? H - i0 : s->RB;
    const int64_t Kv = pv->K, Kh = ph->K, Kmax = Kv > Kh ? Kv : Kh;
    const int64_t bs = fc_lines_band_stride(W + Kh - 1, (int64_t)sizeof(FC_T));
    const int nt = (int)s->nt;
    const FC_T **src = (const FC_T **)ws;
    char *cur = ws + FC_LALIGN(Kmax * (int64_t)sizeof(FC_T *));
    FC_T *cvrow = (FC_T *)cur;                      /* a whole row of cval */
    cur += FC_LALIGN(W * (int64_t)sizeof(FC_T));
    FC_T *ext = (FC_T *)cur;
    cur += FC_LALIGN((W + Kh - 1) * (int64_t)sizeof(FC_T));
    FC_T *ring = (FC_T *)cur;                       /* Kv rows bs apart (or a row) */
    const FC_T *plane = x + o * H * W;
    FC_T *oplane = out + o * H * W;
    if (combine == FC_LINES_SUM || vfirst) {
        for (int64_t j = 0; j < W; j++)
            cvrow[j] = (FC_T)pv->cval;
        for (int64_t i = i0; i < i0 + ni; i++) {
            for (int64_t t = 0; t < Kv; t++) {
                const int64_t m = pv->map[i + t];
                src[t] = m < 0 ? cvrow : plane + m * W;
            }
            if (combine == FC_LINES_SUM && Kh <= FC_LINES_MAX_FUSED_TAPS) {
                FC_LFN(fc_row_sum)(pv, ph, src, plane + i * W, W, ext, oplane + i * W, nt);
            } else if (combine == FC_LINES_SUM) {
                FC_LFN(fc_fir)(src, (const FC_T *)pv->w, Kv, pv->sym, ring, W);
                FC_LFN(fc_line_add)(ph, plane + i * W, W, 0, W, ext, src, oplane + i * W, ring,
                                    nt);
            } else {
                FC_LFN(fc_fir)(src, (const FC_T *)pv->w, Kv, pv->sym, ext + ph->off, W);
                FC_LFN(fc_edges)(ph, ext, W);
                for (int64_t t = 0; t < Kh; t++)
                    src[t] = ext + t;
                FC_LFN(fc_fir_nt)(src, (const FC_T *)ph->w, Kh, ph->sym, oplane + i * W, W, nt);
            }
        }
        return;
    }
    /* the new slot and the output row column chunk by column chunk, so that
     * a chunk of the slot is read back from L1 right after it is written */
    const FC_T **rows = (const FC_T **)(ring + Kv * bs);
    const int64_t chunk = FC_LINES_VBYTES_DIRECT / (int64_t)sizeof(FC_T);
    for (int64_t q = i0; q < i0 + ni + Kv - 1; q++) {
        FC_T *slot = ring + (q % Kv) * bs;
        const int64_t m = pv->map[q], i = q - (Kv - 1);
        if (i >= i0)
            for (int64_t t = 0; t < Kv; t++)
                rows[t] = ring + ((i + t) % Kv) * bs;
        for (int64_t j = 0; j < W; j += chunk) {
            const int64_t n = W - j < chunk ? W - j : chunk;
            if (m < 0) {
                for (int64_t c = j; c < j + n; c++)
                    slot[c] = (FC_T)pv->cval;
            } else {
                FC_LFN(fc_line)(ph, plane + m * W, W, j, n, ext, src, slot + j, 0);
            }
            if (i < i0)
                continue;
            const FC_T *rj[FC_LINES_COPY_TAPS];
            for (int64_t t = 0; t < Kv; t++)
                rj[t] = rows[t] + j;
            FC_LFN(fc_fir_nt)(rj, (const FC_T *)pv->w, Kv, pv->sym, oplane + i * W + j, n, nt);
        }
    }
}

/* Two passes fused on a band of RB rows of plane o (see lines.h), for a
 * vertical pass of many taps, through a band buffer of the thread (in the L2
 * cache) whose row stride `bs` spreads its rows over the L1 sets (lines.c):
 * the vertical pass column block by column block (its input segments copied,
 * see fc_rows_v), the horizontal pass row by row. */
static void FC_LFN(fc_fused)(const fc_lshape *s, const fc_lpass *first, const fc_lpass *second,
                             int vfirst, int combine, const FC_T *x, FC_T *out, int64_t item,
                             char *ws)
{
    const int64_t H = s->L, W = s->inner;
    const fc_lpass *pv = vfirst ? first : second, *ph = vfirst ? second : first;
    if (pv->K < FC_LINES_COPY_TAPS) {
        FC_LFN(fc_fused_rows)(s, pv, ph, vfirst, combine, x, out, item, ws);
        return;
    }
    const int64_t nrb = (H + s->RB - 1) / s->RB;
    const int64_t o = item / nrb, i0 = (item % nrb) * s->RB;
    const int64_t ni = (H - i0 < s->RB) ? H - i0 : s->RB;
    const int64_t Kv = pv->K, Kh = ph->K, Kmax = Kv > Kh ? Kv : Kh;
    const int64_t bs = fc_lines_band_stride(W + Kh - 1, (int64_t)sizeof(FC_T));
    const FC_T **src = (const FC_T **)ws;
    char *cur = ws + FC_LALIGN(Kmax * (int64_t)sizeof(FC_T *));
    const FC_T **rowp = (const FC_T **)cur;
    cur += FC_LALIGN((s->RB + Kv - 1) * (int64_t)sizeof(FC_T *));
    FC_T *seg = (FC_T *)cur;
    cur += FC_LALIGN((s->RB + Kv - 1) * (int64_t)FC_LINES_VBYTES);
    FC_T *cvrow = (FC_T *)cur;
    cur += FC_LALIGN(FC_LINES_VBYTES_DIRECT);
    FC_T *ext = (FC_T *)cur;                        /* the edges of a horizontal pass */
    cur += FC_LALIGN((W + Kh - 1) * (int64_t)sizeof(FC_T));
    int64_t *bmap = (int64_t *)cur;
    cur += FC_LALIGN((s->RB + Kv - 1) * (int64_t)sizeof(int64_t));
    FC_T *band = (FC_T *)cur;                      /* rows bs elements apart */
    const FC_T *plane = x + o * H * W;
    FC_T *oplane = out + o * H * W;
    for (int64_t j = 0; j < FC_LINES_VBYTES_DIRECT / (int64_t)sizeof(FC_T); j++)
        cvrow[j] = (FC_T)pv->cval;
    if (combine == FC_LINES_SUM) {
        /* out = first(x) + second(x), each rounded, as SciPy's output += tmp */
        FC_LFN(fc_rows_v)(pv, plane, W, i0, ni, 0, W, cvrow, src, band, bs, 1, seg, rowp, 0);
        for (int64_t i = i0; i < i0 + ni; i++)
            FC_LFN(fc_line_add)(ph, plane + i * W, W, 0, W, ext, src, oplane + i * W,
                                band + (i - i0) * bs, (int)s->nt);
        return;
    }
    if (vfirst) {
        /* the vertical pass into the interiors of the band's extended rows,
         * each then extended by the horizontal map and filtered */
        FC_LFN(fc_rows_v)(pv, plane, W, i0, ni, 0, W, cvrow, src, band + ph->off, bs, 1, seg,
                          rowp, 0);
        for (int64_t i = i0; i < i0 + ni; i++) {
            FC_T *row = band + (i - i0) * bs;
            FC_LFN(fc_edges)(ph, row, W);
            for (int64_t t = 0; t < Kh; t++)
                src[t] = row + t;
            FC_LFN(fc_fir_nt)(src, (const FC_T *)ph->w, Kh, ph->sym, oplane + i * W, W,
                              (int)s->nt);
        }
        return;
    }
    /* horizontal first: the band's ni + Kv - 1 extended positions of the
     * vertical pass, each the horizontal pass of its row (or cval), then the
     * vertical pass over them */
    fc_lpass band_v = *pv;
    for (int64_t q = 0; q < ni + Kv - 1; q++) {
        const int64_t m = pv->map[i0 + q];
        bmap[q] = m < 0 ? -1 : q;
        if (m >= 0)
            FC_LFN(fc_line)(ph, plane + m * W, W, 0, W, ext, src, band + q * bs, 0);
    }
    band_v.map = bmap;
    FC_LFN(fc_rows_v)(&band_v, band, bs, 0, ni, 0, W, cvrow, src, oplane + i0 * W, W, 0, seg,
                      rowp, (int)s->nt);
}

#undef FC_LFN
#undef FC_LVEC
#undef FC_LN
#undef FC_LLOAD
