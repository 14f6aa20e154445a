/* Micro-kernel and tile loop of gemm.c, written once for every ISA level and
 * dtype. No include guard: gemm.c includes this file once per (level, dtype)
 * after defining
 *
 *   FC_SFX              function-name suffix, e.g. _avx2_f32
 *   FC_ATTR             function attributes (the level's target), may be empty
 *   FC_T                element type (float or double)
 *   FC_V                vector type holding FC_VL elements of FC_T
 *   FC_VL               elements per vector
 *   FC_MR               rows of the register tile
 *   FC_NV               vectors per tile row (NR = FC_NV * FC_VL)
 *   FC_VLOAD(p)         load FC_VL elements from p (any alignment)
 *   FC_VSTORE(p, v)     store them to p (any alignment)
 *   FC_VSET1(x)         vector with every element x
 *   FC_VZERO()          vector of +0.0
 *   FC_VFMA(a, b, c)    a * b + c, elementwise
 *
 * It defines FC_SFX-suffixed static functions fc_pack_a, fc_pack_b,
 * fc_kernel and fc_gemm, and undefines all of the above at its end.
 */
#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_FN(name) FC_CAT(name, FC_SFX)
#define FC_NR (FC_NV * FC_VL)
/* Elements of A per cache line, and how many lines ahead the in-place rows are fetched. */
#define FC_A_LINE (64 / (int)sizeof(FC_T))
#define FC_A_AHEAD 4

/* Pack A (M x K, row stride lda) into ceil(M / MR) panels of K x MR. */
FC_ATTR static void FC_FN(fc_pack_a)(int64_t M, int64_t K, const FC_T *A, int64_t lda, FC_T *Ap)
{
    if (M <= 0 || K <= 0) return;
    for (int64_t i0 = 0; i0 < M; i0 += FC_MR) {
        const int64_t mb = M - i0 < FC_MR ? M - i0 : FC_MR;
        const FC_T *a = A + i0 * lda;
        if (mb == FC_MR) {
            for (int64_t k = 0; k < K; ++k) {
                FC_UNROLL
                for (int r = 0; r < FC_MR; ++r) Ap[k * FC_MR + r] = a[r * lda + k];
            }
        } else {
            for (int64_t k = 0; k < K; ++k) {
                for (int64_t r = 0; r < FC_MR; ++r) Ap[k * FC_MR + r] = r < mb ? a[r * lda + k] : 0;
            }
        }
        Ap += K * FC_MR;
    }
}

/* Pack B (K x N, row stride ldb) into ceil(N / NR) panels of K x NR. Rows of
 * B are read in order (the panels are written K * NR elements apart). */
FC_ATTR static void FC_FN(fc_pack_b)(int64_t K, int64_t N, const FC_T *B, int64_t ldb, FC_T *Bp)
{
    if (N <= 0 || K <= 0) return;
    const int64_t nfull = N / FC_NR, rem = N - nfull * FC_NR;
    const int64_t pstride = K * FC_NR;
    for (int64_t k = 0; k < K; ++k) {
        const FC_T *b = B + k * ldb;
        FC_T *d = Bp + k * FC_NR;
        for (int64_t p = 0; p < nfull; ++p) {
            FC_UNROLL
            for (int v = 0; v < FC_NV; ++v)
                FC_VSTORE(d + p * pstride + v * FC_VL, FC_VLOAD(b + p * FC_NR + v * FC_VL));
        }
        if (rem) {
            FC_T *t = d + nfull * pstride;
            const FC_T *s = b + nfull * FC_NR;
            for (int64_t j = 0; j < FC_NR; ++j) t[j] = j < rem ? s[j] : 0;
        }
    }
}

/* One MR x NR tile of C over all of K, the tile held in registers.
 * A comes packed or in place: with lda == 0, a is one packed-A panel (K x MR,
 * a[k * MR + r]); with lda > 0, a is the tile's first row of A itself (row r
 * at a + r * lda, k contiguous), of which only the first mb rows exist (the
 * others read row mb - 1 again: their sums are computed and never stored).
 * b: NR values of row k of B at b + k * ldb (ldb = NR for a packed-B panel,
 * the row stride for B read in place). The accumulators start from C
 * (accumulate), from bias[r] (bias != NULL) or from zero; then one fused
 * chain per element over k = 0 .. K-1: the same order for both forms of A. */
FC_ATTR static inline __attribute__((always_inline)) void
FC_FN(fc_kernel_body)(int64_t K, const FC_T *restrict a, int64_t lda, int64_t mb,
                      const FC_T *restrict b, int64_t ldb, FC_T *restrict c, int64_t ldc,
                      const FC_T *restrict bias, int accumulate, const int inplace,
                      const int R, const int NV)
{
    FC_V acc[FC_MR][FC_NV];
    const FC_T *ar[FC_MR];
    if (inplace) {
        FC_UNROLL
        for (int r = 0; r < R; ++r) ar[r] = a + (r < mb ? r : mb - 1) * lda;
    }
    if (accumulate) {
        FC_UNROLL
        for (int r = 0; r < R; ++r) {
            FC_UNROLL
            for (int v = 0; v < NV; ++v) acc[r][v] = FC_VLOAD(c + r * ldc + v * FC_VL);
        }
    } else if (bias) {
        FC_UNROLL
        for (int r = 0; r < R; ++r) {
            FC_UNROLL
            for (int v = 0; v < NV; ++v) acc[r][v] = FC_VSET1(bias[r]);
        }
    } else {
        FC_UNROLL
        for (int r = 0; r < R; ++r) {
            FC_UNROLL
            for (int v = 0; v < NV; ++v) acc[r][v] = FC_VZERO();
        }
    }
    FC_UNROLL_K
    for (int64_t k = 0; k < K; ++k) {
        if (inplace && (k & (FC_A_LINE - 1)) == 0) {
            /* A's MR rows are MR streams: fetch each one's line FC_A_AHEAD lines ahead. */
            FC_UNROLL
            for (int r = 0; r < R; ++r) FC_PREFETCH_A(ar[r] + k + FC_A_LINE * FC_A_AHEAD);
        }
        FC_V bv[FC_NV];
        FC_UNROLL
        for (int v = 0; v < NV; ++v) bv[v] = FC_VLOAD(b + v * FC_VL);
        FC_UNROLL
        for (int r = 0; r < R; ++r) {
            const FC_V av = FC_VSET1(inplace ? ar[r][k] : a[r]);
            FC_UNROLL
            for (int v = 0; v < NV; ++v) acc[r][v] = FC_VFMA(av, bv[v], acc[r][v]);
        }
        if (!inplace) a += FC_MR;
        b += ldb;
    }
    FC_UNROLL
    for (int r = 0; r < R; ++r) {
        FC_UNROLL
        for (int v = 0; v < NV; ++v) FC_VSTORE(c + r * ldc + v * FC_VL, acc[r][v]);
    }
}

FC_ATTR static void FC_FN(fc_kernel)(int64_t K, const FC_T *restrict a, const FC_T *restrict b,
                                     int64_t ldb, FC_T *restrict c, int64_t ldc,
                                     const FC_T *restrict bias, int accumulate)
{
    FC_FN(fc_kernel_body)(K, a, 0, FC_MR, b, ldb, c, ldc, bias, accumulate, 0, FC_MR, FC_NV);
}

FC_ATTR static void FC_FN(fc_kernel_ai)(int64_t K, const FC_T *restrict a, int64_t lda,
                                        int64_t mb, const FC_T *restrict b, int64_t ldb,
                                        FC_T *restrict c, int64_t ldc,
                                        const FC_T *restrict bias, int accumulate)
{
    FC_FN(fc_kernel_body)(K, a, lda, mb, b, ldb, c, ldc, bias, accumulate, 1, FC_MR, FC_NV);
}

#if FC_NV > 1
/* The tile of the last, part-empty column panel when it holds at most one
 * vector of columns (a 7 x 7 map's 49th column): the kernel body compiled
 * for one vector per row, half the work of the full tile (whose other
 * vector would only compute zeros' sums). Into the scratch tile, as any
 * edge tile; the same chain per element, the same bits. */
FC_ATTR static void FC_FN(fc_kernel_narrow)(int64_t K, const FC_T *restrict a, int64_t lda,
                                            int64_t mb, const FC_T *restrict b, int64_t ldb,
                                            FC_T *restrict c, int64_t ldc)
{
    if (lda > 0) FC_FN(fc_kernel_body)(K, a, lda, mb, b, ldb, c, ldc, 0, 1, 1, FC_MR, 1);
    else FC_FN(fc_kernel_body)(K, a, 0, mb, b, ldb, c, ldc, 0, 1, 0, FC_MR, 1);
}
#endif

/* A tile of full width and mb < MR rows, straight into C: the kernel body
 * compiled for R = mb rows (no accumulators, loads or stores for the rows
 * past M). Each element's chain is the full kernel's, the same bits. */
FC_ATTR static void FC_FN(fc_kernel_rows)(int64_t K, const FC_T *restrict a, int64_t lda,
                                          int64_t mb, const FC_T *restrict b, int64_t ldb,
                                          FC_T *restrict c, int64_t ldc,
                                          const FC_T *restrict bias, int accumulate)
{
#define FC_ROWS_CASE(R_)                                                                     \
    case R_:                                                                                 \
        if (lda > 0)                                                                         \
            FC_FN(fc_kernel_body)(K, a, lda, mb, b, ldb, c, ldc, bias, accumulate, 1, R_, FC_NV); \
        else                                                                                 \
            FC_FN(fc_kernel_body)(K, a, 0, mb, b, ldb, c, ldc, bias, accumulate, 0, R_, FC_NV);   \
        break;
    switch (mb) {
    FC_ROWS_CASE(1)
#if FC_MR > 2
    FC_ROWS_CASE(2)
#endif
#if FC_MR > 3
    FC_ROWS_CASE(3)
#endif
#if FC_MR > 4
    FC_ROWS_CASE(4)
#endif
#if FC_MR > 5
    FC_ROWS_CASE(5)
#endif
#if FC_MR > 6
    FC_ROWS_CASE(6)
#endif
#if FC_MR > 7
    FC_ROWS_CASE(7)
#endif
    default: break;
    }
#undef FC_ROWS_CASE
}

/* One tile (rows [i0, i0 + mb), columns [j0, j0 + nb)): the kernel straight
 * into C when the tile is full, else on a stack tile that starts from the
 * value the full kernel would start from, so an element gets the same bits
 * whether it lies in a full or an edge tile. ap: the packed panel (lda == 0)
 * or the tile's first row of A (lda > 0). */
FC_ATTR static inline __attribute__((always_inline)) void
FC_FN(fc_tile)(int64_t K, const FC_T *ap, int64_t lda, const FC_T *bp, int64_t ldb, FC_T *cp,
               int64_t ldc, const FC_T *bias, int accumulate, int64_t mb, int64_t nb)
{
    if (nb == FC_NR && mb == FC_MR) {
        if (lda > 0) FC_FN(fc_kernel_ai)(K, ap, lda, FC_MR, bp, ldb, cp, ldc, bias, accumulate);
        else FC_FN(fc_kernel)(K, ap, bp, ldb, cp, ldc, bias, accumulate);
        return;
    }
    if (nb == FC_NR) {
        FC_FN(fc_kernel_rows)(K, ap, lda, mb, bp, ldb, cp, ldc, bias, accumulate);
        return;
    }
    FC_T tile[FC_MR * FC_NR];
    for (int64_t r = 0; r < FC_MR; ++r) {
        for (int64_t j = 0; j < FC_NR; ++j) {
            FC_T init = 0;
            if (r < mb && j < nb)
                init = accumulate ? cp[r * ldc + j] : (bias ? bias[r] : 0);
            tile[r * FC_NR + j] = init;
        }
    }
#if FC_NV > 1
    if (nb <= FC_VL)
        FC_FN(fc_kernel_narrow)(K, ap, lda, mb, bp, ldb, tile, FC_NR);
    else
#endif
    if (lda > 0) FC_FN(fc_kernel_ai)(K, ap, lda, mb, bp, ldb, tile, FC_NR, 0, 1);
    else FC_FN(fc_kernel)(K, ap, bp, ldb, tile, FC_NR, 0, 1);
    for (int64_t r = 0; r < mb; ++r) {
        for (int64_t j = 0; j < nb; ++j) cp[r * ldc + j] = tile[r * FC_NR + j];
    }
}

/* The tile loop. A's panel p is at Ap + p * a_pstride (packed, lda == 0), or
 * A is read in place with row stride lda (lda > 0; a_pstride is ignored);
 * B's panel q at B + q * b_pstride, its row k at + k * ldb (see fc_gemm_ex
 * in gemm.h). Usually for each NR panel of B, for each MR panel of A: a B
 * panel stays in L1 while it meets every A panel. When all of B's panels fit
 * in L2 together (few columns: small feature maps), the other way round: an
 * A panel stays in L1 while it meets the few B panels, so A (then the large
 * operand) is read once instead of once per B panel. Each element's sum is
 * the same either way. */
FC_ATTR static void FC_FN(fc_gemm)(int64_t M, int64_t N, int64_t K, const FC_T *Ap,
                                   int64_t a_pstride, int64_t lda, const FC_T *B, int64_t ldb,
                                   int64_t b_pstride, FC_T *C, int64_t ldc, const FC_T *bias,
                                   int accumulate)
{
    if (M <= 0 || N <= 0) return;
    if (K < 0) K = 0;
    if (accumulate) bias = 0;
    const int64_t npb = (N + FC_NR - 1) / FC_NR;
    if (lda > 0) a_pstride = FC_MR * lda;
    if (npb > 1 && M > FC_MR && npb * K * FC_NR * (int64_t)sizeof(FC_T) <= FC_GEMM_B_RESIDENT) {
        for (int64_t i0 = 0; i0 < M; i0 += FC_MR) {
            const int64_t mb = M - i0 < FC_MR ? M - i0 : FC_MR;
            const FC_T *ap = Ap + (i0 / FC_MR) * a_pstride;
            for (int64_t j0 = 0; j0 < N; j0 += FC_NR) {
                const int64_t nb = N - j0 < FC_NR ? N - j0 : FC_NR;
                FC_T *cp = C + i0 * ldc + j0;
                FC_FN(fc_tile)(K, ap, lda, B + (j0 / FC_NR) * b_pstride, ldb, cp, ldc,
                               bias ? bias + i0 : 0, accumulate, mb, nb);
            }
        }
        return;
    }
    for (int64_t j0 = 0; j0 < N; j0 += FC_NR) {
        const int64_t nb = N - j0 < FC_NR ? N - j0 : FC_NR;
        const FC_T *bp = B + (j0 / FC_NR) * b_pstride;
        for (int64_t i0 = 0; i0 < M; i0 += FC_MR) {
            const int64_t mb = M - i0 < FC_MR ? M - i0 : FC_MR;
            const FC_T *ap = Ap + (i0 / FC_MR) * a_pstride;
            FC_T *cp = C + i0 * ldc + j0;
            {
                /* The next tile's C rows: fetched while this tile computes. */
                const int64_t ni = i0 + FC_MR < M ? i0 + FC_MR : 0;
                const int64_t nj = i0 + FC_MR < M ? j0 : j0 + FC_NR;
                if (nj < N) {
                    const int64_t nm = M - ni < FC_MR ? M - ni : FC_MR;
                    const FC_T *pc = C + ni * ldc + nj;
                    for (int64_t r = 0; r < nm; ++r) {
                        FC_PREFETCH(pc + r * ldc);
                        FC_PREFETCH(pc + r * ldc + FC_NR - 1);
                    }
                }
            }
            FC_FN(fc_tile)(K, ap, lda, bp, ldb, cp, ldc, bias ? bias + i0 : 0, accumulate,
                           mb, nb);
        }
    }
}

#undef FC_NR
#undef FC_A_LINE
#undef FC_A_AHEAD
#undef FC_FN
#undef FC_CAT
#undef FC_CAT_
#undef FC_SFX
#undef FC_ATTR
#undef FC_T
#undef FC_V
#undef FC_VL
#undef FC_MR
#undef FC_NV
#undef FC_VLOAD
#undef FC_VSTORE
#undef FC_VSET1
#undef FC_VZERO
#undef FC_VFMA
