/* Staged input rows and vector helpers shared by the direct kernels of
 * fixed shape (dwconv_impl.h, gconv_impl.h), written once over the element
 * type and the vector width. Included by those files once per ISA level and
 * dtype, with FC_T, FC_IDX, FC_SFX, FC_VBYTES and FC_VL defined (see
 * dwconv_impl.h) and FC_CAT/FC_FN available; it defines the vector types
 * FC_DVEC and FC_DMASK, which the including file undefines at its end. No
 * include guard on purpose.
 *
 * A staged row is an input row copied into a thread's buffer with its zero
 * padding, so a register tile reads every tap as contiguous vectors. Stride
 * 1: element j is padded column j (input column j - pl). Stride 2: the
 * padded columns split by parity, the even ones (padded column 2j at j) in
 * the first `len` elements, the odd ones (2j + 1 at len + j) in the next
 * `len`. Only the first `reach` elements of a phase are read by the taps.
 */
#define FC_DVEC FC_CAT(fc_stvec, FC_SFX)
#define FC_DMASK FC_CAT(fc_stmask, FC_SFX)

typedef FC_T FC_DVEC __attribute__((vector_size(FC_VBYTES), aligned(sizeof(FC_T))));
typedef FC_IDX FC_DMASK __attribute__((vector_size(FC_VBYTES)));

/* Even and odd lanes of the 2 * FC_VL values lo, hi. */
#if FC_VL == 16
#define FC_ST_EVEN_IDX 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define FC_ST_ODD_IDX 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#elif FC_VL == 8
#define FC_ST_EVEN_IDX 0, 2, 4, 6, 8, 10, 12, 14
#define FC_ST_ODD_IDX 1, 3, 5, 7, 9, 11, 13, 15
#elif FC_VL == 4
#define FC_ST_EVEN_IDX 0, 2, 4, 6
#define FC_ST_ODD_IDX 1, 3, 5, 7
#elif FC_VL == 2
#define FC_ST_EVEN_IDX 0, 2
#define FC_ST_ODD_IDX 1, 3
#else
#error "dwconv_impl.h: unsupported FC_VL"
#endif
#if defined(__clang__)
#define FC_ST_EVEN(lo, hi) __builtin_shufflevector((lo), (hi), FC_ST_EVEN_IDX)
#define FC_ST_ODD(lo, hi) __builtin_shufflevector((lo), (hi), FC_ST_ODD_IDX)
#else
#define FC_ST_EVEN(lo, hi) __builtin_shuffle((lo), (hi), (FC_DMASK){FC_ST_EVEN_IDX})
#define FC_ST_ODD(lo, hi) __builtin_shuffle((lo), (hi), (FC_DMASK){FC_ST_ODD_IDX})
#endif

/* A vector of x in every lane (exactly: adding it to a zero vector would
 * turn -0.0 into +0.0). */
static inline __attribute__((always_inline)) FC_DVEC FC_FN(fc_st_splat)(FC_T x)
{
    FC_DVEC v;
    for (int i = 0; i < FC_VL; ++i) v[i] = x;
    return v;
}

/* dst[pl + j] = row[j] for j < W (and j < len - pl), zero elsewhere in
 * dst[0, reach) (reach <= len; the stores may go up to len + FC_VL). Whole vectors are copied, the
 * lanes past the row's end cleared with a mask; a vector that would read
 * past `end` (the end of the input array) is copied lane by lane. */
static inline __attribute__((always_inline)) void
FC_FN(fc_st_stage_run)(FC_T *restrict dst, const FC_T *restrict row, int64_t W, int64_t pl,
                       int64_t len, int64_t reach, const FC_T *end)
{
    enum { VL = FC_VL };
    const FC_DVEC zero = {0};
    if (pl + W > len) W = len - pl > 0 ? len - pl : 0;
    if (pl > len) pl = len;
    for (int64_t j = 0; j < pl; j += VL) *(FC_DVEC *)(dst + j) = zero;
    int64_t j = 0;
    for (; j + VL <= W; j += VL) *(FC_DVEC *)(dst + pl + j) = *(const FC_DVEC *)(row + j);
    if (j < W) {
        FC_DVEC v;
        if (row + j + VL <= end) {
            FC_DMASK lane, keep;
            for (int i = 0; i < VL; ++i) lane[i] = i;
            keep = lane < (FC_IDX)(W - j);                 /* all ones where kept */
            v = (FC_DVEC)((FC_DMASK)*(const FC_DVEC *)(row + j) & keep);
        } else {
            FC_T t[VL];
            for (int i = 0; i < VL; ++i) t[i] = j + i < W ? row[j + i] : (FC_T)0;
            v = *(const FC_DVEC *)t;
        }
        *(FC_DVEC *)(dst + pl + j) = v;
        j += VL;
    }
    for (j += pl; j < reach; j += VL) *(FC_DVEC *)(dst + j) = zero;
}

/* How the rows of one call are staged with stride 2 (the same for every
 * row): where each parity's half goes and how much of it the phases take. */
typedef struct {
    int64_t eoff, ooff;        /* offsets of the even and odd columns' halves in dst */
    int64_t nfull;             /* pairs of vectors read whole from the row */
    int64_t part;              /* 1: one more pair, partly past the row's end */
    int64_t zhead[2], ztail[2];   /* per phase: zeros in [0, zhead), [ztail, reach) */
    int64_t reach;             /* elements of a phase the taps read */
} FC_CAT(fc_ststage, FC_SFX);

static inline __attribute__((always_inline)) void
FC_FN(fc_st_stage_plan)(FC_CAT(fc_ststage, FC_SFX) *sp, int64_t W, int64_t pl, int64_t len,
                        int64_t reach)
{
    enum { VL = FC_VL };
    const int64_t e_ph = pl & 1, eoff = pl / 2, ooff = (pl + 1) / 2;
    sp->eoff = e_ph * len + eoff;
    sp->ooff = (1 - e_ph) * len + ooff;
    /* pairs that fit the phases (the plan makes every needed one fit) */
    const int64_t room = len - ooff - VL;
    const int64_t npairs = (W + 2 * VL - 1) / (2 * VL);
    const int64_t fit = room >= 0 ? room / VL + 1 : 0;
    sp->nfull = W / (2 * VL) < fit ? W / (2 * VL) : fit;
    sp->part = sp->nfull < npairs && sp->nfull < fit;
    const int64_t filled = (sp->nfull + sp->part) * VL;
    sp->zhead[e_ph] = eoff;
    sp->zhead[1 - e_ph] = ooff;
    sp->ztail[e_ph] = eoff + filled;
    sp->ztail[1 - e_ph] = ooff + filled;
    sp->reach = reach < len ? reach : len;
}

/* Stage input row `row` (W values) into dst (see the top comment); `len` is
 * the length of one phase: SW for stride 1, PH for stride 2. Stride 2 splits
 * the row itself by parity (pairs of vectors, shuffled) and stores the
 * halves at the offsets the padding gives them (sp): with pl even, the even
 * columns are phase 0 and the odd ones phase 1, both shifted by pl / 2;
 * with pl odd the other way round. (Splitting a padded copy instead would
 * load vectors that straddle the copy's just-stored vectors: a
 * store-forwarding stall each.) */
static inline __attribute__((always_inline)) void
FC_FN(fc_st_stage)(FC_T *restrict dst, const FC_T *restrict row, int64_t W, int64_t pl,
                   int64_t len, int64_t reach, const FC_T *end,
                   const FC_CAT(fc_ststage, FC_SFX) *sp, const int S)
{
    enum { VL = FC_VL };
    if (S == 1) {
        FC_FN(fc_st_stage_run)(dst, row, W, pl, len - VL, reach, end);
        return;
    }
    const FC_DVEC zero = {0};
#pragma GCC unroll 2
    for (int p = 0; p < 2; ++p) {
        FC_T *ph_ = dst + p * len;
        for (int64_t j = 0; j < sp->zhead[p]; j += VL) *(FC_DVEC *)(ph_ + j) = zero;
        for (int64_t j = sp->ztail[p]; j < sp->reach; j += VL)   /* never past len */
            *(FC_DVEC *)(ph_ + (j + VL <= len ? j : len - VL)) = zero;
    }
    FC_T *de = dst + sp->eoff, *dodd = dst + sp->ooff;
    int64_t i = 0;
    for (int64_t q = 0; q < sp->nfull; ++q, i += VL) {
        const FC_DVEC lo = *(const FC_DVEC *)(row + 2 * i);
        const FC_DVEC hi = *(const FC_DVEC *)(row + 2 * i + VL);
        *(FC_DVEC *)(de + i) = FC_ST_EVEN(lo, hi);
        *(FC_DVEC *)(dodd + i) = FC_ST_ODD(lo, hi);
    }
    if (sp->part) {
        FC_DVEC lo, hi;
        if (row + 2 * i + 2 * VL <= end) {
            /* past the row's end: loaded, then cleared */
            FC_DMASK lane;
            for (int l = 0; l < VL; ++l) lane[l] = l;
            lo = (FC_DVEC)((FC_DMASK) * (const FC_DVEC *)(row + 2 * i)
                           & (lane < (FC_IDX)(W - 2 * i)));
            hi = (FC_DVEC)((FC_DMASK) * (const FC_DVEC *)(row + 2 * i + VL)
                           & (lane < (FC_IDX)(W - 2 * i - VL)));
        } else {
            FC_T t[2 * VL];
            for (int l = 0; l < 2 * VL; ++l) t[l] = 2 * i + l < W ? row[2 * i + l] : (FC_T)0;
            lo = *(const FC_DVEC *)t;
            hi = *(const FC_DVEC *)(t + VL);
        }
        *(FC_DVEC *)(de + i) = FC_ST_EVEN(lo, hi);
        *(FC_DVEC *)(dodd + i) = FC_ST_ODD(lo, hi);
    }
}

/* The first `cols` (< FC_VL) lanes of v to dst, in pieces of 8, 4, 2 and 1
 * elements (each a single move). */
static inline __attribute__((always_inline)) void
FC_FN(fc_st_store_part)(FC_T *dst, FC_DVEC v, int64_t cols)
{
    FC_T t[FC_VL];
    *(FC_DVEC *)t = v;
    int64_t i = 0;
    if (FC_VL > 8 && (cols & 8)) { memcpy(dst + i, t + i, 8 * sizeof(FC_T)); i += 8; }
    if (FC_VL > 4 && (cols & 4)) { memcpy(dst + i, t + i, 4 * sizeof(FC_T)); i += 4; }
    if (FC_VL > 2 && (cols & 2)) { memcpy(dst + i, t + i, 2 * sizeof(FC_T)); i += 2; }
    if (cols & 1) dst[i] = t[i];
}

