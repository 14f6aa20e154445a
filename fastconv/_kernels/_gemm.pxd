# The packed GEMM of gemm.c (see gemm.h for the full contract).
#
# A Cython module that ``cimport``s these declarations calls the C functions
# directly, so gemm.c is compiled into that extension too (setup.py's
# ``shared_sources``); every call passes the SIMD level explicitly (snapshot
# it once per operation, so packing and computing agree on MR and NR).
#
# The ``*_at`` functions at the end are the dtype-generic forms of the
# per-dtype C functions: the one place where ``floating`` picks ``_f32`` or
# ``_f64``.
from libc.stdint cimport int64_t

from fastconv._kernels._fused cimport floating

cdef extern from "gemm.h" nogil:
    enum:
        FC_DTYPE_F32
        FC_DTYPE_F64

    int fc_isa_supported()
    int fc_isa_get()
    int fc_isa_set(int level)
    int fc_isa_compiled()
    int fc_isa_emulated()
    const char *fc_isa_name(int level)

    int fc_gemm_mr_at(int level, int dtype)
    int fc_gemm_nr_at(int level, int dtype)
    int64_t fc_packed_a_size_at(int level, int64_t M, int64_t K, int dtype)
    int64_t fc_packed_b_size_at(int level, int64_t K, int64_t N, int dtype)
    void fc_pack_a_f32_at(int level, int64_t M, int64_t K, const float *A, int64_t lda,
                          float *Ap)
    void fc_pack_a_f64_at(int level, int64_t M, int64_t K, const double *A, int64_t lda,
                          double *Ap)
    void fc_pack_b_f32_at(int level, int64_t K, int64_t N, const float *B, int64_t ldb,
                          float *Bp)
    void fc_pack_b_f64_at(int level, int64_t K, int64_t N, const double *B, int64_t ldb,
                          double *Bp)
    void fc_gemm_packed_f32_at(int level, int64_t M, int64_t N, int64_t K, const float *Ap,
                               const float *Bp, float *C, int64_t ldc, const float *bias,
                               int accumulate)
    void fc_gemm_packed_f64_at(int level, int64_t M, int64_t N, int64_t K, const double *Ap,
                               const double *Bp, double *C, int64_t ldc, const double *bias,
                               int accumulate)
    void fc_gemm_ex_f32_at(int level, int64_t M, int64_t N, int64_t K, const float *Ap,
                           int64_t a_pstride, const float *B, int64_t ldb, int64_t b_pstride,
                           float *C, int64_t ldc, const float *bias, int accumulate)
    void fc_gemm_ex_f64_at(int level, int64_t M, int64_t N, int64_t K, const double *Ap,
                           int64_t a_pstride, const double *B, int64_t ldb, int64_t b_pstride,
                           double *C, int64_t ldc, const double *bias, int accumulate)

cdef inline void pack_a_at(int level, int64_t M, int64_t K, const floating *A, int64_t lda,
                           floating *Ap) noexcept nogil:
    if floating is float:
        fc_pack_a_f32_at(level, M, K, A, lda, Ap)
    else:
        fc_pack_a_f64_at(level, M, K, A, lda, Ap)


cdef inline void pack_b_at(int level, int64_t K, int64_t N, const floating *B, int64_t ldb,
                           floating *Bp) noexcept nogil:
    if floating is float:
        fc_pack_b_f32_at(level, K, N, B, ldb, Bp)
    else:
        fc_pack_b_f64_at(level, K, N, B, ldb, Bp)


cdef inline void gemm_packed_at(int level, int64_t M, int64_t N, int64_t K,
                                const floating *Ap, const floating *Bp, floating *C,
                                int64_t ldc, const floating *bias,
                                int accumulate) noexcept nogil:
    if floating is float:
        fc_gemm_packed_f32_at(level, M, N, K, Ap, Bp, C, ldc, bias, accumulate)
    else:
        fc_gemm_packed_f64_at(level, M, N, K, Ap, Bp, C, ldc, bias, accumulate)


cdef inline void gemm_ex_at(int level, int64_t M, int64_t N, int64_t K, const floating *Ap,
                            int64_t a_pstride, const floating *B, int64_t ldb,
                            int64_t b_pstride, floating *C, int64_t ldc, const floating *bias,
                            int accumulate) noexcept nogil:
    # A packed (panel stride a_pstride), B packed (ldb = nr, b_pstride = K * nr)
    # or read in place (ldb = row stride, b_pstride = nr).
    if floating is float:
        fc_gemm_ex_f32_at(level, M, N, K, Ap, a_pstride, B, ldb, b_pstride, C, ldc, bias,
                          accumulate)
    else:
        fc_gemm_ex_f64_at(level, M, N, K, Ap, a_pstride, B, ldb, b_pstride, C, ldc, bias,
                          accumulate)
