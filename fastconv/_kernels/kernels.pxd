# The C kernels of conv.h, separable.h, dwconv.h, pointwise.h and filter.h, declared once for every
# Cython module that calls them (see the headers for the full contracts).
#
# Each C kernel exists as an ``_f32`` and an ``_f64`` function; the ``cdef
# inline`` functions at the end are their dtype-generic forms, the one place
# where ``floating`` picks one of the two. (The GEMM's are in _gemm.pxd.)
from libc.stdint cimport int64_t

from fastconv._kernels._fused cimport floating

cdef extern from "conv.h" nogil:
    ctypedef struct fc_geom:
        int64_t N, C, D, H, W
        int64_t Co, groups, Cg, Cog
        int64_t KD, KH, KW
        int64_t OD, OH, OW
        int64_t sd, sh, sw
        int64_t pd, ph, pw
        int64_t dd, dh, dw
    ctypedef struct fc_wgeom:
        int64_t N, C, D, H, W
        int64_t Co, groups, Cg, Cog
        int64_t OD, OH, OW
        int64_t pd, ph, pw
        int64_t fd, fh, fw
        int64_t TD, TH, TW
        int64_t P
    int FC_DIRECT_OCB
    int FC_DEPTHWISE_ROWS
    void fc_direct_item_f32(int level, const fc_geom *g, const float *x, const float *w,
                            const float *bias, float *out, const float *zrow,
                            int64_t n, int64_t grp, int64_t oc0, int64_t nb,
                            int64_t od, int64_t oh)
    void fc_direct_item_f64(int level, const fc_geom *g, const double *x, const double *w,
                            const double *bias, double *out, const double *zrow,
                            int64_t n, int64_t grp, int64_t oc0, int64_t nb,
                            int64_t od, int64_t oh)
    ctypedef struct fc_grid_layout:
        int64_t Wq, Hq, ps, obs, buf_at, obuf_at, toff_at, row_at, bytes
    void fc_grid_plan(const fc_geom *g, int64_t rows, int64_t itemsize, fc_grid_layout *l)
    void fc_grid_item_f32(int level, const fc_geom *g, const float *x, const float *w,
                          const float *bias, float *out, void *ws, int64_t n, int64_t grp,
                          int64_t ob0, int64_t ob1, int64_t oh0, int64_t rows)
    void fc_grid_item_f64(int level, const fc_geom *g, const double *x, const double *w,
                          const double *bias, double *out, void *ws, int64_t n, int64_t grp,
                          int64_t ob0, int64_t ob1, int64_t oh0, int64_t rows)
    void fc_depthwise_item_f32(int level, const fc_geom *g, const float *x, const float *w,
                               const float *bias, float *out, const float *zrow,
                               int64_t n, int64_t oc, int64_t od, int64_t oh, int64_t nrows)
    void fc_depthwise_item_f64(int level, const fc_geom *g, const double *x, const double *w,
                               const double *bias, double *out, const double *zrow,
                               int64_t n, int64_t oc, int64_t od, int64_t oh, int64_t nrows)
    void fc_im2col_pack_f32(const fc_geom *g, const float *x, int64_t n, int64_t grp,
                            int64_t p0, int64_t ncols, int64_t ic0, int64_t ic1, int64_t nr,
                            float *Bp)
    void fc_im2col_pack_f64(const fc_geom *g, const double *x, int64_t n, int64_t grp,
                            int64_t p0, int64_t ncols, int64_t ic0, int64_t ic1, int64_t nr,
                            double *Bp)
    void fc_wino_weights_f32(const float *w, int64_t Co, int64_t K, int KD, int KH, int KW,
                             int64_t groups, int64_t mr, int64_t asz, int64_t q, float *ap)
    void fc_wino_weights_f64(const double *w, int64_t Co, int64_t K, int KD, int KH, int KW,
                             int64_t groups, int64_t mr, int64_t asz, int64_t q, double *ap)
    void fc_wino_input_f32(int level, const fc_wgeom *g, const float *x, int64_t grp,
                           int64_t t0, int64_t nt, int64_t nr, int64_t vstride, float *V)
    void fc_wino_input_f64(int level, const fc_wgeom *g, const double *x, int64_t grp,
                           int64_t t0, int64_t nt, int64_t nr, int64_t vstride, double *V)
    void fc_wino_output_f32(int level, const fc_wgeom *g, const float *Mb, int64_t ldm,
                            int64_t pstride, int64_t co0, int64_t mblk, int64_t t0,
                            int64_t nt, const float *bias, float *out)
    void fc_wino_output_f64(int level, const fc_wgeom *g, const double *Mb, int64_t ldm,
                            int64_t pstride, int64_t co0, int64_t mblk, int64_t t0,
                            int64_t nt, const double *bias, double *out)

cdef extern from "separable.h" nogil:
    void fc_separable_dw_rows_f32(int level, const fc_geom *g, const float *x, const float *w,
                                  float *tile, const float *zrow, int64_t n, int64_t oc,
                                  int64_t oh0, int64_t nrows)
    void fc_separable_dw_rows_f64(int level, const fc_geom *g, const double *x,
                                  const double *w, double *tile, const double *zrow,
                                  int64_t n, int64_t oc, int64_t oh0, int64_t nrows)

cdef extern from "dwconv.h" nogil:
    ctypedef struct fc_dwgeom:
        int64_t N, C, H, W
        int64_t Co, OH, OW
        int64_t K, S
        int64_t pt, pl
        int64_t RB
        int64_t SW
    int fc_dw_supported(int64_t K, int64_t S)
    void fc_dw_plan(int level, int dtype, fc_dwgeom *g)
    int64_t fc_dw_buffer_size(const fc_dwgeom *g)
    void fc_dw_item_f32(int level, const fc_dwgeom *g, const float *x, const float *w,
                        const float *bias, float *out, float *buf, const float *zrow,
                        int64_t n, int64_t oc, int64_t oh0, int64_t nrows)
    void fc_dw_item_f64(int level, const fc_dwgeom *g, const double *x, const double *w,
                        const double *bias, double *out, double *buf, const double *zrow,
                        int64_t n, int64_t oc, int64_t oh0, int64_t nrows)
    int64_t fc_dwcv_lanes(int level, int dtype)
    int64_t fc_dwcv_buffer_size(int level, int dtype, const fc_dwgeom *g)
    void fc_dwcv_item_f32(int level, const fc_dwgeom *g, const float *x, const float *w,
                          const float *bias, float *out, float *buf, int64_t n, int64_t c0,
                          int64_t nc)
    void fc_dwcv_item_f64(int level, const fc_dwgeom *g, const double *x, const double *w,
                          const double *bias, double *out, double *buf, int64_t n,
                          int64_t c0, int64_t nc)

cdef extern from "pointwise.h" nogil:
    ctypedef struct fc_pwgeom:
        int64_t N, C, Co, P, groups
    int64_t FC_PW_OCB
    void fc_pw_item_f32(int level, const fc_pwgeom *g, const float *xt, const float *w,
                        const float *bias, float *out, int64_t n, int64_t grp, int64_t oc0,
                        int64_t nb)
    void fc_pw_item_f64(int level, const fc_pwgeom *g, const double *xt, const double *w,
                        const double *bias, double *out, int64_t n, int64_t grp, int64_t oc0,
                        int64_t nb)

cdef extern from "filter.h" nogil:
    ctypedef struct fc_fgeom:
        int64_t H, W, KH, KW, OH, OW, padl, RI, CI
    int fc_filter_level(int level)
    void fc_filter_item_f32(int level, const fc_fgeom *g, const float *x, const float *w,
                            float *out, const int64_t *rmap, const int64_t *cmap, float fill,
                            int64_t item, float *buf, const float **rowp)
    void fc_filter_item_f64(int level, const fc_fgeom *g, const double *x, const double *w,
                            double *out, const int64_t *rmap, const int64_t *cmap, double fill,
                            int64_t item, double *buf, const double **rowp)


cdef inline void direct_item(int level, const fc_geom *g, const floating *x,
                             const floating *w, const floating *bias, floating *out,
                             const floating *zrow, int64_t n, int64_t grp, int64_t oc0,
                             int64_t nb, int64_t od, int64_t oh) noexcept nogil:
    if floating is float:
        fc_direct_item_f32(level, g, x, w, bias, out, zrow, n, grp, oc0, nb, od, oh)
    else:
        fc_direct_item_f64(level, g, x, w, bias, out, zrow, n, grp, oc0, nb, od, oh)


cdef inline void grid_item(int level, const fc_geom *g, const floating *x, const floating *w,
                           const floating *bias, floating *out, void *ws, int64_t n,
                           int64_t grp, int64_t ob0, int64_t ob1, int64_t oh0,
                           int64_t rows) noexcept nogil:
    if floating is float:
        fc_grid_item_f32(level, g, x, w, bias, out, ws, n, grp, ob0, ob1, oh0, rows)
    else:
        fc_grid_item_f64(level, g, x, w, bias, out, ws, n, grp, ob0, ob1, oh0, rows)


cdef inline void depthwise_item(int level, const fc_geom *g, const floating *x,
                                const floating *w, const floating *bias, floating *out,
                                const floating *zrow, int64_t n, int64_t oc, int64_t od,
                                int64_t oh, int64_t nrows) noexcept nogil:
    if floating is float:
        fc_depthwise_item_f32(level, g, x, w, bias, out, zrow, n, oc, od, oh, nrows)
    else:
        fc_depthwise_item_f64(level, g, x, w, bias, out, zrow, n, oc, od, oh, nrows)


cdef inline void im2col_pack(const fc_geom *g, const floating *x, int64_t n, int64_t grp,
                             int64_t p0, int64_t ncols, int64_t ic0, int64_t ic1, int64_t nr,
                             floating *Bp) noexcept nogil:
    if floating is float:
        fc_im2col_pack_f32(g, x, n, grp, p0, ncols, ic0, ic1, nr, Bp)
    else:
        fc_im2col_pack_f64(g, x, n, grp, p0, ncols, ic0, ic1, nr, Bp)


cdef inline void wino_weights(const floating *w, int64_t Co, int64_t K, int KD, int KH, int KW,
                              int64_t groups, int64_t mr, int64_t asz, int64_t q,
                              floating *ap) noexcept nogil:
    if floating is float:
        fc_wino_weights_f32(w, Co, K, KD, KH, KW, groups, mr, asz, q, ap)
    else:
        fc_wino_weights_f64(w, Co, K, KD, KH, KW, groups, mr, asz, q, ap)


cdef inline void wino_input(int level, const fc_wgeom *g, const floating *x, int64_t grp,
                            int64_t t0, int64_t nt, int64_t nr, int64_t vstride,
                            floating *V) noexcept nogil:
    if floating is float:
        fc_wino_input_f32(level, g, x, grp, t0, nt, nr, vstride, V)
    else:
        fc_wino_input_f64(level, g, x, grp, t0, nt, nr, vstride, V)


cdef inline void wino_output(int level, const fc_wgeom *g, const floating *Mb, int64_t ldm,
                             int64_t pstride, int64_t co0, int64_t mblk, int64_t t0,
                             int64_t nt, const floating *bias, floating *out) noexcept nogil:
    if floating is float:
        fc_wino_output_f32(level, g, Mb, ldm, pstride, co0, mblk, t0, nt, bias, out)
    else:
        fc_wino_output_f64(level, g, Mb, ldm, pstride, co0, mblk, t0, nt, bias, out)


cdef inline void separable_dw_rows(int level, const fc_geom *g, const floating *x,
                                   const floating *w, floating *tile, const floating *zrow,
                                   int64_t n, int64_t oc, int64_t oh0,
                                   int64_t nrows) noexcept nogil:
    if floating is float:
        fc_separable_dw_rows_f32(level, g, x, w, tile, zrow, n, oc, oh0, nrows)
    else:
        fc_separable_dw_rows_f64(level, g, x, w, tile, zrow, n, oc, oh0, nrows)


cdef inline void dw_item(int level, const fc_dwgeom *g, const floating *x, const floating *w,
                         const floating *bias, floating *out, floating *buf,
                         const floating *zrow, int64_t n, int64_t oc, int64_t oh0,
                         int64_t nrows) noexcept nogil:
    if floating is float:
        fc_dw_item_f32(level, g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows)
    else:
        fc_dw_item_f64(level, g, x, w, bias, out, buf, zrow, n, oc, oh0, nrows)


cdef inline void dwcv_item(int level, const fc_dwgeom *g, const floating *x,
                           const floating *w, const floating *bias, floating *out,
                           floating *buf, int64_t n, int64_t c0, int64_t nc) noexcept nogil:
    if floating is float:
        fc_dwcv_item_f32(level, g, x, w, bias, out, buf, n, c0, nc)
    else:
        fc_dwcv_item_f64(level, g, x, w, bias, out, buf, n, c0, nc)


cdef inline void pw_item(int level, const fc_pwgeom *g, const floating *xt,
                         const floating *w, const floating *bias, floating *out, int64_t n,
                         int64_t grp, int64_t oc0, int64_t nb) noexcept nogil:
    if floating is float:
        fc_pw_item_f32(level, g, xt, w, bias, out, n, grp, oc0, nb)
    else:
        fc_pw_item_f64(level, g, xt, w, bias, out, n, grp, oc0, nb)


cdef inline void filter_item(int level, const fc_fgeom *g, const floating *x,
                             const floating *w, floating *out, const int64_t *rmap,
                             const int64_t *cmap, floating fill, int64_t item, floating *buf,
                             const floating **rowp) noexcept nogil:
    if floating is float:
        fc_filter_item_f32(level, g, x, w, out, rmap, cmap, fill, item, buf, rowp)
    else:
        fc_filter_item_f64(level, g, x, w, out, rmap, cmap, fill, item, buf, rowp)
