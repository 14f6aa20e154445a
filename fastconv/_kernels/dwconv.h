/* fastconv: depthwise 2-D convolution kernels with the kernel size and stride
 * fixed at compile time: dw3x3s1, dw3x3s2, dw5x5s1, dw5x5s2, dw7x7s1,
 * dw7x7s2 (square kernels, no dilation), channels-first (NCHW), any channel
 * multiplier, any zero padding.
 *
 *   x   (N, C, H, W)      input
 *   w   (Co, 1, K, K)     weight, Co = C * m: output channel oc reads input channel oc / m
 *   out (N, Co, OH, OW)   output
 *
 * A work item is a block of output rows of one output channel of one image.
 * Its input rows are staged once into a thread's buffer, zero-padded at both
 * ends (stride 2: split into the even and the odd columns), and rows that
 * fall in the padding read one shared row of zeros (never copied). Output
 * tiles of R rows by U vectors of columns keep their sums in registers; each
 * input vector is loaded once per tile and added, with the weight of every
 * (kh, kw) that meets it, into every output row of the tile it reaches.
 * Each output element is summed in the order bias, then (kh, kw) in order:
 * the order of fastconv's general depthwise kernel (the same bits), and the
 * same whatever the item or the tile that computes it. */
#ifndef FASTCONV_DWCONV_H
#define FASTCONV_DWCONV_H

#include <stdint.h>

typedef struct {
    int64_t N, C, H, W;        /* input */
    int64_t Co, OH, OW;        /* output; Co = C * multiplier */
    int64_t K, S;              /* kernel size (3, 5, 7) and stride (1, 2) */
    int64_t pt, pl;            /* zero padding before the rows, the columns */
    int64_t RB;                /* output rows per work item */
    int64_t SW;                /* elements of one staged row (both phases for stride 2) */
} fc_dwgeom;

/* Does the family have a kernel for kernel size K, stride S? */
int fc_dw_supported(int64_t K, int64_t S);
/* Fill g->SW (elements of one staged row: a multiple of 16, off multiples of
 * 4 KiB) and g->RB (output rows per item: their staged input rows fit in L1)
 * for the level and dtype (0 float32, 1 float64), from the other fields. */
void fc_dw_plan(int level, int dtype, fc_dwgeom *g);
/* Elements of one thread's staging buffer; the zero row has g->SW. */
int64_t fc_dw_buffer_size(const fc_dwgeom *g);

/* One work item: output rows [oh0, oh0 + nrows) (nrows <= g->RB) of output
 * channel oc of image n. buf: the thread's staging buffer; zrow: SW zeros. */
void fc_dw_item_f32(int level, const fc_dwgeom *g, const float *x, const float *w,
                    const float *bias, float *out, float *buf, const float *zrow,
                    int64_t n, int64_t oc, int64_t oh0, int64_t nrows);
void fc_dw_item_f64(int level, const fc_dwgeom *g, const double *x, const double *w,
                    const double *bias, double *out, double *buf, const double *zrow,
                    int64_t n, int64_t oc, int64_t oh0, int64_t nrows);

/* Small maps, channel-vectorised: the lanes of a vector are consecutive
 * channels (multiplier 1 only, g->Co == g->C), no fc_dw_plan needed. A work
 * item is channels [c0, c0 + nc) (nc <= lanes) of image n, all of its output;
 * buf holds fc_dwcv_buffer_size elements. The same sums, in the same order,
 * as fc_dw_item: the same bits. */
int64_t fc_dwcv_lanes(int level, int dtype);
int64_t fc_dwcv_buffer_size(int level, int dtype, const fc_dwgeom *g);
void fc_dwcv_item_f32(int level, const fc_dwgeom *g, const float *x, const float *w,
                      const float *bias, float *out, float *buf, int64_t n, int64_t c0,
                      int64_t nc);
void fc_dwcv_item_f64(int level, const fc_dwgeom *g, const double *x, const double *w,
                      const double *bias, double *out, double *buf, int64_t n, int64_t c0,
                      int64_t nc);

#endif
