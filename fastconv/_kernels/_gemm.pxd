# The packed GEMM of gemm.c (see gemm.h for the full contract).
#
# Two ways to use it from another Cython module:
#
# * ``cimport`` the ``fc_*`` declarations below: the C functions are then
#   called directly, and gemm.c must be compiled into that extension too
#   (it then has its own copy of the ISA-level state);
# * ``cimport`` the ``cdef`` functions at the end: they are exported by
#   ``fastconv._kernels._gemm`` and called through it, so every module shares
#   the one ISA level that ``_gemm.isa_set`` selects. They take the level
#   explicitly: snapshot ``current_level()`` once per operation and pass it to
#   every call, so packing and computing agree on MR and NR.
from libc.stdint cimport int64_t

cdef extern from "gemm.h" nogil:
    enum:
        FC_ISA_GENERIC
        FC_ISA_AVX2
        FC_ISA_AVX512
        FC_DTYPE_F32
        FC_DTYPE_F64
        FC_GEMM_MAX_MR
        FC_GEMM_MAX_NR

    int fc_isa_supported()
    int fc_isa_get()
    int fc_isa_set(int level)
    const char *fc_isa_name(int level)

    int fc_gemm_mr(int dtype)
    int fc_gemm_nr(int dtype)
    int64_t fc_packed_a_size(int64_t M, int64_t K, int dtype)
    int64_t fc_packed_b_size(int64_t K, int64_t N, int dtype)
    void fc_pack_a_f32(int64_t M, int64_t K, const float *A, int64_t lda, float *Ap)
    void fc_pack_a_f64(int64_t M, int64_t K, const double *A, int64_t lda, double *Ap)
    void fc_pack_b_f32(int64_t K, int64_t N, const float *B, int64_t ldb, float *Bp)
    void fc_pack_b_f64(int64_t K, int64_t N, const double *B, int64_t ldb, double *Bp)
    void fc_gemm_packed_f32(int64_t M, int64_t N, int64_t K, const float *Ap, const float *Bp,
                            float *C, int64_t ldc, const float *bias, int accumulate)
    void fc_gemm_packed_f64(int64_t M, int64_t N, int64_t K, const double *Ap,
                            const double *Bp, double *C, int64_t ldc, const double *bias,
                            int accumulate)

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
    void fc_gemm_ai_f32_at(int level, int64_t M, int64_t N, int64_t K, const float *A,
                           int64_t lda, const float *B, int64_t ldb, int64_t b_pstride,
                           float *C, int64_t ldc, const float *bias, int accumulate)
    void fc_gemm_ai_f64_at(int level, int64_t M, int64_t N, int64_t K, const double *A,
                           int64_t lda, const double *B, int64_t ldb, int64_t b_pstride,
                           double *C, int64_t ldc, const double *bias, int accumulate)


# Exported by fastconv._kernels._gemm (one shared ISA level for all modules).
cdef int current_level() noexcept nogil
cdef int gemm_mr(int level, int dtype) noexcept nogil
cdef int gemm_nr(int level, int dtype) noexcept nogil
cdef int64_t packed_a_size(int level, int64_t M, int64_t K, int dtype) noexcept nogil
cdef int64_t packed_b_size(int level, int64_t K, int64_t N, int dtype) noexcept nogil
cdef void pack_a_f32(int level, int64_t M, int64_t K, const float *A, int64_t lda,
                     float *Ap) noexcept nogil
cdef void pack_a_f64(int level, int64_t M, int64_t K, const double *A, int64_t lda,
                     double *Ap) noexcept nogil
cdef void pack_b_f32(int level, int64_t K, int64_t N, const float *B, int64_t ldb,
                     float *Bp) noexcept nogil
cdef void pack_b_f64(int level, int64_t K, int64_t N, const double *B, int64_t ldb,
                     double *Bp) noexcept nogil
cdef void gemm_packed_f32(int level, int64_t M, int64_t N, int64_t K, const float *Ap,
                          const float *Bp, float *C, int64_t ldc, const float *bias,
                          int accumulate) noexcept nogil
cdef void gemm_packed_f64(int level, int64_t M, int64_t N, int64_t K, const double *Ap,
                          const double *Bp, double *C, int64_t ldc, const double *bias,
                          int accumulate) noexcept nogil
