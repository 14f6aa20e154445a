/* The uniform (box) passes of lines.h: SciPy's running sum in float64,
 * written once over the element type of the arrays; lines.c includes this
 * file once per ISA level and element type with
 *   FC_UT    the element type of the input and output (float or double)
 *   FC_UTS   the suffix of its vector load and store (_f32 or _f64)
 *   FC_USFX  the function-name suffix (e.g. _avx2_f32)
 * defined. No include guard on purpose.
 *
 * Only sums, differences and one division per output: nothing to fuse, and
 * every lane of a vector is an independent IEEE operation, so every output is
 * bitwise SciPy's at every level: s = e[0] + ... + e[K - 1] from 0.0, then
 * s += e[i + K - 1] - e[i - 1], each output s / K (e: the extended line). */
#define FC_UFN(name) FC_CAT(name, FC_USFX)
#define FC_ULOAD FC_CAT(fc_u4_load, FC_UTS)
#define FC_USTORE FC_CAT(fc_u4_store, FC_UTS)

/* Across rows (inner > 1): columns [j0, j0 + nj) of plane o, every row in
 * order (a column's sum goes down the whole plane). */
static void FC_UFN(fc_uniform_rows)(const fc_lshape *s, int64_t K, int64_t off,
                                    const int64_t *map, double cval, const FC_UT *x,
                                    FC_UT *out, int64_t item, char *ws)
{
    const int64_t L = s->L, N = s->inner;
    const int64_t ncb = (N + s->CB - 1) / s->CB, cb = item % ncb, o = item / ncb;
    const int64_t j0 = cb * s->CB, nj = (N - j0 < s->CB) ? N - j0 : s->CB;
    const FC_UT *plane = x + o * L * N + j0;
    FC_UT *oplane = out + o * L * N + j0;
    double *acc = (double *)ws;
    const double k = (double)K;
    (void)off;
    for (int64_t j = 0; j < nj; j++)
        acc[j] = 0.0;
    for (int64_t q = 0; q < K; q++) {
        const int64_t m = map[q];
        if (m < 0) {
            for (int64_t j = 0; j < nj; j++)
                acc[j] += cval;
        } else {
            const FC_UT *r = plane + m * N;
            for (int64_t j = 0; j < nj; j++)
                acc[j] += (double)r[j];
        }
    }
    for (int64_t j = 0; j < nj; j++)
        oplane[j] = (FC_UT)(acc[j] / k);
    for (int64_t i = 1; i < L; i++) {
        const int64_t ma = map[i + K - 1], mb = map[i - 1];
        const FC_UT *ra = plane + (ma < 0 ? 0 : ma) * N, *rb = plane + (mb < 0 ? 0 : mb) * N;
        FC_UT *d = oplane + i * N;
        if (ma >= 0 && mb >= 0) {
            for (int64_t j = 0; j < nj; j++) {
                acc[j] += (double)ra[j] - (double)rb[j];
                d[j] = (FC_UT)(acc[j] / k);
            }
        } else if (ma >= 0) {
            for (int64_t j = 0; j < nj; j++) {
                acc[j] += (double)ra[j] - cval;
                d[j] = (FC_UT)(acc[j] / k);
            }
        } else if (mb >= 0) {
            for (int64_t j = 0; j < nj; j++) {
                acc[j] += cval - (double)rb[j];
                d[j] = (FC_UT)(acc[j] / k);
            }
        } else {
            for (int64_t j = 0; j < nj; j++) {
                acc[j] += cval - cval;
                d[j] = (FC_UT)(acc[j] / k);
            }
        }
    }
}

/* Along up to eight lines of L elements at once (nl of them; lines[l] and
 * outs[l] for l < 8, the missing ones repeating the last): two vectors of four
 * lanes, one lane per line (two independent chains of sums). The extended
 * values are written interleaved into ib (position q of line l at
 * ib[8q + l]) by 4 x 4 transposes, the outputs transposed back four positions
 * at a time. ib holds 8 (L + K - 1) doubles. */
static void FC_UFN(fc_uniform_8lines)(int64_t L, int64_t K, int64_t off, const int64_t *map,
                                      double cval, const FC_UT *const *lines, int64_t nl,
                                      FC_UT *const *outs, double *ib)
{
    const int64_t E = L + K - 1;
    const double k = (double)K;
    int64_t q = 0;
    for (; q < off && q < E; q++)
        for (int l = 0; l < 8; l++)
            ib[8 * q + l] = map[q] < 0 ? cval : (double)lines[l][map[q]];
    for (; q + 4 <= off + L && q + 4 <= E; q += 4) {
        for (int h = 0; h < 2; h++) {
            fc_u4 r[4];
            for (int l = 0; l < 4; l++)
                r[l] = FC_ULOAD(lines[4 * h + l] + (q - off));
            fc_u4_transpose(r);
            for (int c = 0; c < 4; c++)
                *(fc_u4 *)(ib + 8 * (q + c) + 4 * h) = r[c];
        }
    }
    for (; q < E; q++)
        for (int l = 0; l < 8; l++)
            ib[8 * q + l] = map[q] < 0 ? cval : (double)lines[l][map[q]];
    fc_u4 a0 = {0.0, 0.0, 0.0, 0.0}, a1 = {0.0, 0.0, 0.0, 0.0};
    for (int64_t t = 0; t < K; t++) {
        a0 += *(const fc_u4 *)(ib + 8 * t);
        a1 += *(const fc_u4 *)(ib + 8 * t + 4);
    }
    for (int64_t i = 0; i < L; i += 4) {
        const int64_t n = (L - i < 4) ? L - i : 4;
        fc_u4 o0[4], o1[4];
        for (int c = 0; c < n; c++) {
            if (i + c > 0) {
                const double *pa = ib + 8 * (i + c + K - 1), *pb = ib + 8 * (i + c - 1);
                a0 += *(const fc_u4 *)pa - *(const fc_u4 *)pb;
                a1 += *(const fc_u4 *)(pa + 4) - *(const fc_u4 *)(pb + 4);
            }
            o0[c] = a0 / k;
            o1[c] = a1 / k;
        }
        if (n == 4) {
            fc_u4_transpose(o0);
            fc_u4_transpose(o1);
            for (int64_t l = 0; l < 4 && l < nl; l++)
                FC_USTORE(outs[l] + i, o0[l]);
            for (int64_t l = 4; l < nl; l++)
                FC_USTORE(outs[l] + i, o1[l - 4]);
        } else {
            for (int c = 0; c < n; c++)
                for (int64_t l = 0; l < nl; l++)
                    outs[l][i + c] = (FC_UT)(l < 4 ? o0[c][l] : o1[c][l - 4]);
        }
    }
}

/* Along lines (inner == 1): item = eight consecutive lines. */
static void FC_UFN(fc_uniform_lines)(const fc_lshape *s, int64_t K, int64_t off,
                                     const int64_t *map, double cval, const FC_UT *x,
                                     FC_UT *out, int64_t item, char *ws)
{
    const int64_t L = s->L, l0 = item * 8;
    const int64_t nl = (s->outer - l0 < 8) ? s->outer - l0 : 8;
    const FC_UT *lines[8];
    FC_UT *outs[8];
    for (int64_t l = 0; l < 8; l++) {
        const int64_t r = l0 + (l < nl ? l : nl - 1);
        lines[l] = x + r * L;
        outs[l] = out + r * L;
    }
    FC_UFN(fc_uniform_8lines)(L, K, off, map, cval, lines, nl, outs, (double *)ws);
}

/* The first row a share of a plane of H rows starts at, the plane being cut
 * into `splits` shares of equal cost when a share first runs the vertical
 * sums down to its first row (a third of the cost of a row it outputs):
 * r_t = C (1 - (2/3)^t) / (1/3), with r_splits = H. */
static int64_t FC_UFN(fc_uniform_split)(int64_t H, int64_t splits, int64_t t)
{
    if (t >= splits)
        return H;
    double gt = 1.0, gs = 1.0;
    for (int64_t i = 0; i < t; i++)
        gt *= 2.0 / 3.0;
    for (int64_t i = 0; i < splits; i++)
        gs *= 2.0 / 3.0;
    return (int64_t)((double)H * (1.0 - gt) / (1.0 - gs));
}

/* Two uniform passes fused on planes (outer, H, W): the vertical one (Kv taps,
 * map mapv) then the horizontal one (Kh taps, maph), one cval, each pass's
 * result rounded to FC_UT (SciPy's per-pass cast). Item: share t of plane o
 * (see fc_uniform_split). The vertical sums go down the plane row by row (a
 * share first runs them, without output, to its first row, so every row's
 * sums are SciPy's whatever the split); every eight rows of the vertical pass
 * are filtered horizontally together (fc_uniform_8lines). ws: the vertical
 * sums (W doubles), eight rows, the interleaved buffer. */
static void FC_UFN(fc_uniform_2d)(const fc_lshape *s, int64_t Kv, int64_t offv,
                                  const int64_t *mapv, int64_t Kh, int64_t offh,
                                  const int64_t *maph, double cval, const FC_UT *x, FC_UT *out,
                                  int64_t splits, int64_t item, char *ws)
{
    const int64_t H = s->L, W = s->inner;
    const int64_t o = item / splits, t = item % splits;
    const int64_t r0 = FC_UFN(fc_uniform_split)(H, splits, t);
    const int64_t r1 = FC_UFN(fc_uniform_split)(H, splits, t + 1);
    const FC_UT *plane = x + o * H * W;
    FC_UT *oplane = out + o * H * W;
    double *acc = (double *)ws;
    FC_UT *rows = (FC_UT *)(ws + FC_LALIGN(W * 8));
    double *ib = (double *)((char *)rows + FC_LALIGN(8 * W * 8));
    const double k = (double)Kv;
    const FC_UT *lines[8];
    FC_UT *outs[8];
    int64_t nl = 0;
    (void)offv;
    if (r1 <= r0)
        return;
    for (int64_t j = 0; j < W; j++)
        acc[j] = 0.0;
    for (int64_t q = 0; q < Kv; q++) {
        const int64_t m = mapv[q];
        const FC_UT *r = plane + (m < 0 ? 0 : m) * W;
        for (int64_t j = 0; j < W; j++)
            acc[j] += m < 0 ? cval : (double)r[j];
    }
    for (int64_t i = 0; i < r1; i++) {
        if (i > 0) {
            const int64_t ma = mapv[i + Kv - 1], mb = mapv[i - 1];
            const FC_UT *ra = plane + (ma < 0 ? 0 : ma) * W;
            const FC_UT *rb = plane + (mb < 0 ? 0 : mb) * W;
            if (ma >= 0 && mb >= 0) {
                for (int64_t j = 0; j < W; j++)
                    acc[j] += (double)ra[j] - (double)rb[j];
            } else {
                const double ca = ma < 0 ? cval : 0.0, cb = mb < 0 ? cval : 0.0;
                for (int64_t j = 0; j < W; j++)
                    acc[j] += (ma < 0 ? ca : (double)ra[j]) - (mb < 0 ? cb : (double)rb[j]);
            }
        }
        if (i < r0)
            continue;
        FC_UT *row = rows + nl * W;
        for (int64_t j = 0; j < W; j++)
            row[j] = (FC_UT)(acc[j] / k);
        lines[nl] = row;
        outs[nl] = oplane + i * W;
        nl++;
        if (nl == 8 || i + 1 == r1) {
            for (int64_t l = nl; l < 8; l++) {
                lines[l] = lines[nl - 1];
                outs[l] = outs[nl - 1];
            }
            FC_UFN(fc_uniform_8lines)(W, Kh, offh, maph, cval, lines, nl, outs, ib);
            nl = 0;
        }
    }
}

#undef FC_UFN
#undef FC_ULOAD
#undef FC_USTORE
