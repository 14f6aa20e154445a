/* fastconv: fused depthwise-separable convolution, the depthwise stage (see
 * separable.h). conv.c and gemm.c are compiled into this extension too (the
 * SIMD level is always passed explicitly). */
#include "conv.h"
#include "gemm.h"
#include "separable.h"

/* The band is computed with a geometry of its own: one image, one channel,
 * the band's rows only. Its input starts `shift` rows into the channel's
 * plane and its top padding shrinks by as much, so that local output row r
 * reads exactly the input rows (and padding) that row oh0 + r reads in the
 * whole problem:
 *   absolute input row = (oh0 + r) * sh - ph + kh * dh
 *                      = shift + (r * sh - ph' + kh * dh),  ph' = ph + shift - oh0 * sh,
 * and it is in the padding exactly when the local row is outside [0, H - shift). */
#define FC_SEPARABLE_ROWS(T, SFX)                                                           \
void fc_separable_dw_rows##SFX(int level, const fc_geom *g, const T *x, const T *w,          \
                               T *tile, const T *zrow, int64_t n, int64_t oc,                \
                               int64_t oh0, int64_t nrows)                                   \
{                                                                                            \
    const int64_t m = g->Cog;                  /* channel multiplier */                     \
    const int64_t ic = oc / m;                                                               \
    int64_t shift = oh0 * g->sh - g->ph;                                                     \
    if (shift < 0) shift = 0;                                                                \
    if (shift > g->H) shift = g->H;                                                          \
    fc_geom b = *g;                                                                          \
    b.N = 1; b.C = 1; b.Co = 1; b.groups = 1; b.Cg = 1; b.Cog = 1;                           \
    b.D = 1; b.KD = 1; b.OD = 1; b.sd = 1; b.pd = 0; b.dd = 1;                               \
    b.H = g->H - shift;                                                                      \
    b.ph = g->ph + shift - oh0 * g->sh;                                                      \
    b.OH = nrows;                                                                            \
    const T *xc = x + ((n * g->C + ic) * g->H + shift) * g->W;                               \
    const T *wc = w + oc * g->KH * g->KW;                                                    \
    for (int64_t r = 0; r < nrows; r += FC_DEPTHWISE_ROWS) {                                 \
        const int64_t nb = nrows - r < FC_DEPTHWISE_ROWS ? nrows - r : FC_DEPTHWISE_ROWS;    \
        fc_depthwise_item##SFX(level, &b, xc, wc, (const T *)0, tile, zrow, 0, 0, 0, r, nb); \
    }                                                                                        \
}

FC_SEPARABLE_ROWS(float, _f32)
FC_SEPARABLE_ROWS(double, _f64)
