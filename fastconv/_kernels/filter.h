/* fastconv: single-channel N-D filter kernel (see filter_impl.h). */
#ifndef FASTCONV_FILTER_H
#define FASTCONV_FILTER_H
#include <stdint.h>

/* A single-channel 2-D correlation over a virtual padded image P:
 *   out[i, j] = sum_{p < KH, q < KW} w[p, q] * P[i + p, j + q]
 * with P[r, c] = x[rmap[r], xc(c)] where xc(c) = c - padl when 0 <= c - padl < W,
 * else cmap[c]; a map entry of -1 means the fill value. */
typedef struct {
    int64_t H, W;          /* the input x */
    int64_t KH, KW;        /* the kernel w */
    int64_t OH, OW;        /* the output */
    int64_t padl;          /* padded column c is x column c - padl when that is inside x */
    int64_t RI, CI;        /* rows and columns of output per work item */
} fc_fgeom;

int fc_filter_level(int level);
void fc_filter_item_f32(int level, const fc_fgeom *g, const float *x, const float *w,
                        float *out, const int64_t *rmap, const int64_t *cmap, float fill,
                        int64_t item, float *buf, const float **rowp);
void fc_filter_item_f64(int level, const fc_fgeom *g, const double *x, const double *w,
                        double *out, const int64_t *rmap, const int64_t *cmap, double fill,
                        int64_t item, double *buf, const double **rowp);
#endif
