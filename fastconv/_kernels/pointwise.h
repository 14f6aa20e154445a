/* fastconv: 1x1 convolution of few pixels as matrix times a few vectors
 * (pw1x1gemv): for every image and group, out = W x, W the group's
 * (Cog x Cig) weight matrix and x its Cig input channels at each of the P
 * pixels (stride 1, no padding).
 *
 *   xt  (N, P, C)         input, pixel-major: the channels of a pixel are
 *                         contiguous (a (N, C, 1) input as it is; else the
 *                         caller transposes (N, C, P), a copy of N*P*C)
 *   w   (Co, C / groups)  weight: row oc is contiguous
 *   out (N, Co, P)        output, channels-first
 *
 * A GEMM's column panel (16 wide) would carry P useful columns; here each
 * output element is a dot product of a weight row and a pixel's channels,
 * vectorised along the channels: register tiles of R weight rows by Q
 * pixels keep R x Q vector sums, each weight and input vector loaded once
 * per tile. Each output element is summed the same way whatever the tile:
 * the products of whole vectors of channels lane-wise in channel order,
 * the lanes added pairwise (lane i + VL/2 into lane i, halving), then the
 * remaining channels one by one in order, then the bias; so the result does
 * not depend on the thread count or on where the element sits in the work.
 */
#ifndef FASTCONV_POINTWISE_H
#define FASTCONV_POINTWISE_H

#include <stdint.h>

typedef struct {
    int64_t N, C, Co, P, groups;
} fc_pwgeom;

/* Output channels one work item computes (for every pixel of its image). */
#define FC_PW_OCB 16

/* One work item: output channels [oc0, oc0 + nb) (nb <= FC_PW_OCB) of group
 * grp (oc0 counted within the group) of image n, every pixel. bias may be NULL. */
void fc_pw_item_f32(int level, const fc_pwgeom *g, const float *xt, const float *w,
                    const float *bias, float *out, int64_t n, int64_t grp, int64_t oc0,
                    int64_t nb);
void fc_pw_item_f64(int level, const fc_pwgeom *g, const double *xt, const double *w,
                    const double *bias, double *out, int64_t n, int64_t grp, int64_t oc0,
                    int64_t nb);

#endif
