/* fastconv: packed single-threaded GEMM with run-time ISA dispatch.
 *
 * C[i, j] (=|+=) sum_k A[i, k] * B[k, j] on row-major float32 / float64
 * matrices, through a register-tiled micro-kernel. The operands are first
 * packed into panels:
 *
 *   packed A: ceil(M / MR) panels, panel p holds rows [p*MR, p*MR + MR) as
 *             K columns of MR contiguous values (Ap[p*K*MR + k*MR + r]);
 *             rows past M are zero.
 *   packed B: ceil(N / NR) panels, panel p holds columns [p*NR, p*NR + NR) as
 *             K rows of NR contiguous values (Bp[p*K*NR + k*NR + j]);
 *             columns past N are zero.
 *
 * MR and NR depend on the ISA level and the dtype (fc_gemm_mr, fc_gemm_nr).
 * The convolution writes unfolded input straight into the packed-B layout,
 * so that layout is part of this interface.
 *
 * ISA levels (isa.h): the generic level is compiled for the baseline of the
 * target (SSE2 on x86-64, plain C elsewhere); the AVX2+FMA and AVX-512 levels
 * are compiled per function in the same translation unit and used only when
 * the CPU supports them. The first use selects the best supported level;
 * fc_isa_set changes it (process-wide).
 *
 * Every function without a level argument works at the current level. The
 * "_at" variants take the level explicitly: a caller that snapshots
 * fc_isa_get() once and passes it to every call stays consistent (packing
 * and computing with the same MR and NR) even if the level is changed
 * meanwhile. A level that is invalid or not supported by this CPU/build is
 * treated as FC_ISA_GENERIC by every "_at" function alike.
 *
 * Rounding: within one level the summation order of each C element is fixed:
 * one accumulator chain, initialised with C (accumulate != 0), with bias[i]
 * (accumulate == 0 and bias != NULL) or with zero, then k = 0 .. K-1 in
 * order. The result therefore does not depend on how a caller splits M or N
 * between calls or threads, and splitting K into consecutive blocks (the
 * first with accumulate == 0, the others with accumulate != 0) gives the
 * same bits as one call over all of K. The AVX2 and AVX-512 levels use fused
 * multiply-add; the generic level a separate multiply and add unless the
 * build flags themselves enable FMA contraction.
 *
 * All sizes and indices are int64_t. dtype: 0 = float32, 1 = float64.
 */
#ifndef FASTCONV_GEMM_H
#define FASTCONV_GEMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { FC_ISA_GENERIC = 0, FC_ISA_AVX2 = 1, FC_ISA_AVX512 = 2 };

enum { FC_DTYPE_F32 = 0, FC_DTYPE_F64 = 1 };

/* Largest MR and NR of any level and dtype (for callers' stack buffers). */
#define FC_GEMM_MAX_MR 8
#define FC_GEMM_MAX_NR 32

/* Best level that both this CPU and this build support. */
int fc_isa_supported(void);
/* Level in use (the first call selects fc_isa_supported()). */
int fc_isa_get(void);
/* Select a level <= fc_isa_supported(); returns the level now in effect, or
 * -1 (level unchanged) if `level` is invalid or not supported. Must not be
 * called while another thread computes through the level-less functions. */
int fc_isa_set(int level);
/* Highest level compiled into this build (FC_ISA_GENERIC off x86). */
int fc_isa_compiled(void);
/* The level this build emulates (FC_ISA_AVX512 in a FASTCONV_EMULATE_AVX512
 * test build, see isa.h), else -1. */
int fc_isa_emulated(void);
/* "generic", "avx2", "avx512"; "unknown" for an invalid level. */
const char *fc_isa_name(int level);

/* Register tile (rows of A, columns of B) of the current level. */
int fc_gemm_mr(int dtype);
int fc_gemm_nr(int dtype);

/* Elements of a packed A (M x K) / packed B (K x N); 0 if any size <= 0. */
int64_t fc_packed_a_size(int64_t M, int64_t K, int dtype);
int64_t fc_packed_b_size(int64_t K, int64_t N, int dtype);

/* Pack A (M x K, row stride lda, column stride 1). */
void fc_pack_a_f32(int64_t M, int64_t K, const float *A, int64_t lda, float *Ap);
void fc_pack_a_f64(int64_t M, int64_t K, const double *A, int64_t lda, double *Ap);

/* Pack B (K x N, row stride ldb, column stride 1). */
void fc_pack_b_f32(int64_t K, int64_t N, const float *B, int64_t ldb, float *Bp);
void fc_pack_b_f64(int64_t K, int64_t N, const double *B, int64_t ldb, double *Bp);

/* C[i, j] (=|+=) sum_k A[i, k] B[k, j] (+ bias[i] if bias != NULL and
 * accumulate == 0; bias is ignored when accumulate != 0) for 0 <= i < M,
 * 0 <= j < N. C has row stride ldc and column stride 1. Ap and Bp were packed
 * with the same M, N, K at the same level. Single-threaded, no allocation. */
void fc_gemm_packed_f32(int64_t M, int64_t N, int64_t K, const float *Ap, const float *Bp,
                        float *C, int64_t ldc, const float *bias, int accumulate);
void fc_gemm_packed_f64(int64_t M, int64_t N, int64_t K, const double *Ap, const double *Bp,
                        double *C, int64_t ldc, const double *bias, int accumulate);

/* The general form, of which fc_gemm_packed is the case a_pstride = K * MR,
 * ldb = NR, b_pstride = K * NR: A's row panel p (K x MR, as packed) starts at
 * Ap + p * a_pstride, so a block of K rows inside a longer packed panel can be
 * used in place; B's column panel q starts at B + q * b_pstride and holds its
 * row k (NR values) at + k * ldb. Hence B can also be read unpacked, as a
 * row-major matrix with row stride ldb: b_pstride = NR, and then N must be a
 * multiple of NR (every panel full; pack the remaining columns). Same
 * summation order as fc_gemm_packed. */
void fc_gemm_ex_f32_at(int level, int64_t M, int64_t N, int64_t K, const float *Ap,
                       int64_t a_pstride, const float *B, int64_t ldb, int64_t b_pstride,
                       float *C, int64_t ldc, const float *bias, int accumulate);
void fc_gemm_ex_f64_at(int level, int64_t M, int64_t N, int64_t K, const double *Ap,
                       int64_t a_pstride, const double *B, int64_t ldb, int64_t b_pstride,
                       double *C, int64_t ldc, const double *bias, int accumulate);

/* The same functions at an explicit level (see above). */
int fc_gemm_mr_at(int level, int dtype);
int fc_gemm_nr_at(int level, int dtype);
int64_t fc_packed_a_size_at(int level, int64_t M, int64_t K, int dtype);
int64_t fc_packed_b_size_at(int level, int64_t K, int64_t N, int dtype);
void fc_pack_a_f32_at(int level, int64_t M, int64_t K, const float *A, int64_t lda, float *Ap);
void fc_pack_a_f64_at(int level, int64_t M, int64_t K, const double *A, int64_t lda, double *Ap);
void fc_pack_b_f32_at(int level, int64_t K, int64_t N, const float *B, int64_t ldb, float *Bp);
void fc_pack_b_f64_at(int level, int64_t K, int64_t N, const double *B, int64_t ldb, double *Bp);
void fc_gemm_packed_f32_at(int level, int64_t M, int64_t N, int64_t K, const float *Ap,
                           const float *Bp, float *C, int64_t ldc, const float *bias,
                           int accumulate);
void fc_gemm_packed_f64_at(int level, int64_t M, int64_t N, int64_t K, const double *Ap,
                           const double *Bp, double *C, int64_t ldc, const double *bias,
                           int accumulate);

#ifdef __cplusplus
}
#endif

#endif /* FASTCONV_GEMM_H */
