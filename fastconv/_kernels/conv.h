/* fastconv: C kernels of the convolution (direct, implicit im2col packing).
 *
 * Every convolution is described by one geometry: 3 spatial dims (1-D and 2-D
 * problems use leading dims of size 1), channels-first, C-contiguous arrays,
 * zero padding applied implicitly. All index arithmetic is int64_t.
 *
 *   x   (N, C, D, H, W)                 input
 *   w   (Co, Cg, KD, KH, KW)            weight, Cg = C / groups
 *   out (N, Co, OD, OH, OW)             output, Cog = Co / groups
 *
 * The padded-zero semantics are PyTorch's: a tap that falls in the padding
 * multiplies a zero (so a non-finite weight gives NaN there, as it does in
 * PyTorch), in every algorithm alike.
 */
#ifndef FASTCONV_CONV_H
#define FASTCONV_CONV_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t N, C, D, H, W;
    int64_t Co, groups, Cg, Cog;
    int64_t KD, KH, KW;
    int64_t OD, OH, OW;
    int64_t sd, sh, sw;     /* stride */
    int64_t pd, ph, pw;     /* padding before (after only shapes the output) */
    int64_t dd, dh, dw;     /* dilation */
} fc_geom;

/* Output channels computed together by one direct work item. */
#define FC_DIRECT_OCB 4

/* Direct convolution of one work item: output channels [oc0, oc0 + nb) of
 * group `grp` (nb <= FC_DIRECT_OCB), image n, output row (od, oh), all of
 * OW. `zrow` is a read-only row of at least W zeros, used for the input rows
 * that fall in the padding. Each output element is summed in the fixed order
 * (ic, kd, kh, kw), bias first: the result does not depend on how the items
 * are spread over threads. `level` is the SIMD level (gemm.h's FC_ISA_*),
 * lowered to the baseline when this CPU or build does not support it. */
void fc_direct_item_f32(int level, const fc_geom *g, const float *x, const float *w, const float *bias,
                        float *out, const float *zrow,
                        int64_t n, int64_t grp, int64_t oc0, int64_t nb, int64_t od, int64_t oh);
void fc_direct_item_f64(int level, const fc_geom *g, const double *x, const double *w, const double *bias,
                        double *out, const double *zrow,
                        int64_t n, int64_t grp, int64_t oc0, int64_t nb, int64_t od, int64_t oh);

/* Direct convolution on a flattened grid, for 1-D and 2-D problems
 * (D == KD == OD == 1): the same sums as fc_direct_item, in the same order
 * (the same bits), tiled for small maps and few channels per group (see
 * direct_impl.h). A work item is image n, group grp, output-channel blocks
 * [ob0, ob1) of FC_DIRECT_OCB channels of the group, output rows
 * [oh0, oh0 + rows); `ws` is a workspace of fc_grid_plan(g, rows, ...)'s
 * `bytes`, aligned to 64 bytes. */
typedef struct {
    int64_t Wq, Hq;         /* a phase plane's columns and rows */
    int64_t ps;             /* elements of a plane, slack included */
    int64_t obs;            /* elements of an output-channel row of the output tile */
    int64_t buf_at, obuf_at, toff_at, row_at, bytes;   /* workspace layout, in bytes */
} fc_grid_layout;

static inline int64_t fc_grid_round64(int64_t b) { return (b + 63) / 64 * 64; }

/* The workspace of a grid item of `rows` output rows, elements of itemsize bytes. */
static inline void fc_grid_plan(const fc_geom *g, int64_t rows, int64_t itemsize,
                                fc_grid_layout *l)
{
    const int64_t qw = (g->KW - 1) * g->dw / g->sw, qh = (g->KH - 1) * g->dh / g->sh;
    const int64_t K = g->KH * g->KW;
    l->Wq = g->OW + qw;
    l->Hq = rows + qh;
    l->ps = l->Hq * l->Wq + qw + 16;      /* a tile reads up to 16 lanes past the band */
    l->obs = rows * l->Wq + 16;
    l->buf_at = 0;
    l->obuf_at = fc_grid_round64(g->Cg * g->sh * g->sw * l->ps * itemsize);
    l->toff_at = l->obuf_at + fc_grid_round64(FC_DIRECT_OCB * l->obs * itemsize);
    l->row_at = l->toff_at + fc_grid_round64(K * (int64_t)sizeof(int64_t));
    l->bytes = l->row_at + fc_grid_round64(l->Wq * g->sw * itemsize);
}

void fc_grid_item_f32(int level, const fc_geom *g, const float *x, const float *w,
                      const float *bias, float *out, void *ws, int64_t n, int64_t grp,
                      int64_t ob0, int64_t ob1, int64_t oh0, int64_t rows);
void fc_grid_item_f64(int level, const fc_geom *g, const double *x, const double *w,
                      const double *bias, double *out, void *ws, int64_t n, int64_t grp,
                      int64_t ob0, int64_t ob1, int64_t oh0, int64_t rows);

/* Output rows of one depthwise work item (they share the input windows' set-up). */
#define FC_DEPTHWISE_ROWS 16

/* Depthwise direct convolution (C_in / groups == 1) of one work item: output
 * rows [oh, oh + nrows) (nrows <= FC_DEPTHWISE_ROWS) of output channel oc,
 * image n, output depth od. Each output element is summed in the order
 * (kd, kh, kw), bias first, like fc_direct_item. */
void fc_depthwise_item_f32(int level, const fc_geom *g, const float *x, const float *w,
                           const float *bias, float *out, const float *zrow,
                           int64_t n, int64_t oc, int64_t od, int64_t oh, int64_t nrows);
void fc_depthwise_item_f64(int level, const fc_geom *g, const double *x, const double *w,
                           const double *bias, double *out, const double *zrow,
                           int64_t n, int64_t oc, int64_t od, int64_t oh, int64_t nrows);

/* Implicit im2col: write the unfolded input of image n, group grp, output
 * positions [p0, p0 + ncols) (flattened over OD*OH*OW) and the group's input
 * channels [ic0, ic1) straight into the GEMM's packed-B format: ceil(ncols /
 * nr) panels of K rows x nr contiguous values, K = (ic1 - ic0)*KD*KH*KW rows
 * in (ic, kd, kh, kw) order, zero-padded columns. */
void fc_im2col_pack_f32(const fc_geom *g, const float *x, int64_t n, int64_t grp,
                        int64_t p0, int64_t ncols, int64_t ic0, int64_t ic1, int64_t nr,
                        float *Bp);
void fc_im2col_pack_f64(const fc_geom *g, const double *x, int64_t n, int64_t grp,
                        int64_t p0, int64_t ncols, int64_t ic0, int64_t ic1, int64_t nr,
                        double *Bp);

/* Winograd F(2, 3) weights: w (Co, K, KD, KH, KW) with KD, KH, KW each 1 or 3
 * (one at least 3), transformed (G g G^T along each 3-tap axis, in float64)
 * into ap in the GEMM's packed-A format: for point p and group grp, the
 * (Co/groups x K) matrix packed with row tile mr at ap + (p * groups + grp) *
 * asz, asz being one packed matrix's size. One call writes row panel q only
 * (group q / npan, rows from (q % npan) * mr, npan = ceil(Co/groups / mr)),
 * so threads can share the panels; a panel's rows past Co/groups are
 * written as zeros. */
void fc_wino_weights_f32(const float *w, int64_t Co, int64_t K, int KD, int KH, int KW,
                         int64_t groups, int64_t mr, int64_t asz, int64_t q, float *ap);
void fc_wino_weights_f64(const double *w, int64_t Co, int64_t K, int KD, int KH, int KW,
                         int64_t groups, int64_t mr, int64_t asz, int64_t q, double *ap);

/* Winograd F(2, 3): the tiling of one convolution with stride 1, every
 * kernel axis of 1 or 3 taps (fd/fh/fw: the axis has 3 taps and is
 * transformed) and no dilation (the Python layer splits a dilated input into
 * sub-grids). A tile covers 2 output positions along a transformed axis and 1
 * along the others; tiles are numbered over (N, TD, TH, TW). */
typedef struct {
    int64_t N, C, D, H, W;
    int64_t Co, groups, Cg, Cog;
    int64_t OD, OH, OW;
    int64_t pd, ph, pw;     /* padding before */
    int64_t fd, fh, fw;     /* 1: the axis has 3 taps */
    int64_t TD, TH, TW;     /* tiles along each axis */
    int64_t P;              /* transform points: 4 ** (fd + fh + fw) */
} fc_wgeom;

/* Tile t of a Winograd tiling: its image n and tile coordinates (td, th, tw).
 * Returns how many tiles from t on lie in the same row of tiles, at most
 * `left` and `cap` (the tiles a transform handles in one go). */
static inline __attribute__((always_inline)) int64_t
fc_wg_tile_run(const fc_wgeom *g, int64_t t, int64_t left, int64_t cap, int64_t *n,
               int64_t *td, int64_t *th, int64_t *tw)
{
    int64_t r = t / g->TW;
    *tw = t % g->TW;
    *th = r % g->TH;
    r /= g->TH;
    *td = r % g->TD;
    *n = r / g->TD;
    int64_t run = g->TW - *tw;
    if (run > left) run = left;
    if (run > cap) run = cap;
    return run;
}

/* Tiles of one segment: at most the widest GEMM panel. */
#define FC_WG_SEG 32
/* Tiles of one run of the input transform (consecutive tiles of a tile row)
 * and the length of its row buffers. */
#define FC_WG_RUN 128
#define FC_WG_RROW (2 * FC_WG_RUN + 2)

/* Input transform of tiles [t0, t0 + nt) of group grp into the P packed-B
 * operands V (point p at V + p * vstride; each Cg rows x nt rounded up to nr). */
void fc_wino_input_f32(int level, const fc_wgeom *g, const float *x, int64_t grp, int64_t t0,
                       int64_t nt, int64_t nr, int64_t vstride, float *V);
void fc_wino_input_f64(int level, const fc_wgeom *g, const double *x, int64_t grp, int64_t t0,
                       int64_t nt, int64_t nr, int64_t vstride, double *V);
/* Output transform of the GEMM results Mb (point p at Mb + p * pstride; rows
 * are output channels co0 .. co0 + mblk - 1, row stride ldm) of tiles
 * [t0, t0 + nt), plus bias, into out (N, Co, OD, OH, OW). */
void fc_wino_output_f32(int level, const fc_wgeom *g, const float *Mb, int64_t ldm,
                        int64_t pstride, int64_t co0, int64_t mblk, int64_t t0, int64_t nt,
                        const float *bias, float *out);
void fc_wino_output_f64(int level, const fc_wgeom *g, const double *Mb, int64_t ldm,
                        int64_t pstride, int64_t co0, int64_t mblk, int64_t t0, int64_t nt,
                        const double *bias, double *out);

#endif
