/* fastconv: the depthwise stage of the fused depthwise-separable convolution.
 *
 * One call computes a band of output rows of one depthwise output channel into
 * a tile buffer (rows of OW contiguous values), with the same depthwise kernel
 * as fastconv's direct convolution (fc_depthwise_item, conv.h), so every value
 * is bitwise the one the unfused depthwise call computes.
 *
 * `g` is the geometry of the whole depthwise convolution (2-D problems: D = KD
 * = OD = 1, groups == C, Co == C * m). The band's rows [oh0, oh0 + nrows) are
 * computed FC_DEPTHWISE_ROWS at a time and land at tile[(oh - oh0) * OW + ow].
 */
#ifndef FASTCONV_SEPARABLE_H
#define FASTCONV_SEPARABLE_H

#include <stdint.h>
#include "conv.h"

void fc_separable_dw_rows_f32(int level, const fc_geom *g, const float *x, const float *w,
                              float *tile, const float *zrow, int64_t n, int64_t oc,
                              int64_t oh0, int64_t nrows);
void fc_separable_dw_rows_f64(int level, const fc_geom *g, const double *x, const double *w,
                              double *tile, const double *zrow, int64_t n, int64_t oc,
                              int64_t oh0, int64_t nrows);

#endif
