/* fastconv: packed GEMM, one micro-kernel source (gemm_impl.h) instantiated
 * per ISA level and dtype, chosen at run time (see gemm.h). */
#include "gemm.h"
#include "isa.h"

#include <string.h>

#if FC_X86_LEVELS
#include <immintrin.h>
#endif

#if defined(__GNUC__)
#define FC_UNROLL _Pragma("GCC unroll 32")
#define FC_UNROLL_K _Pragma("GCC unroll 4")
#else
#define FC_UNROLL
#define FC_UNROLL_K
#endif

#if defined(__GNUC__)
#define FC_PREFETCH(p) __builtin_prefetch((p), 1, 3)
#else
#define FC_PREFETCH(p) ((void)(p))
#endif

#if !defined(__STDC_VERSION__) || __STDC_VERSION__ < 199901L
#define restrict
#endif

typedef void (*fc_gemm_f32_fn)(int64_t, int64_t, int64_t, const float *, int64_t,
                               const float *, int64_t, int64_t, float *, int64_t,
                               const float *, int);
typedef void (*fc_gemm_f64_fn)(int64_t, int64_t, int64_t, const double *, int64_t,
                               const double *, int64_t, int64_t, double *, int64_t,
                               const double *, int);
typedef void (*fc_pack_f32_fn)(int64_t, int64_t, const float *, int64_t, float *);
typedef void (*fc_pack_f64_fn)(int64_t, int64_t, const double *, int64_t, double *);

/* ------------------------------------------------------------------------
 * Generic level: the baseline of the target. On x86 that is SSE2; elsewhere
 * GCC vector extensions of 16 bytes, or plain scalars for other compilers.
 * 6 x 2 vector accumulators + 2 B vectors + the broadcast + a product
 * temporary fill the 16 SSE registers (6 x 8 beat 4 x 8 and 4 x 12 for
 * float32 when measured).
 * ------------------------------------------------------------------------ */
#define FC_GENERIC_MR_F32 6
#define FC_GENERIC_MR_F64 6
#define FC_GENERIC_NR_F32 8
#define FC_GENERIC_NR_F64 4

#if defined(__SSE2__)
#include <emmintrin.h>
#define FC_GEN_V32 __m128
#define FC_GEN_VL32 4
#define FC_GEN_LOAD32(p) _mm_loadu_ps(p)
#define FC_GEN_STORE32(p, v) _mm_storeu_ps((p), (v))
#define FC_GEN_SET1_32(x) _mm_set1_ps(x)
#define FC_GEN_ZERO32() _mm_setzero_ps()
#define FC_GEN_FMA32(a, b, c) _mm_add_ps(_mm_mul_ps((a), (b)), (c))
#define FC_GEN_V64 __m128d
#define FC_GEN_VL64 2
#define FC_GEN_LOAD64(p) _mm_loadu_pd(p)
#define FC_GEN_STORE64(p, v) _mm_storeu_pd((p), (v))
#define FC_GEN_SET1_64(x) _mm_set1_pd(x)
#define FC_GEN_ZERO64() _mm_setzero_pd()
#define FC_GEN_FMA64(a, b, c) _mm_add_pd(_mm_mul_pd((a), (b)), (c))
#elif defined(__GNUC__)
typedef float fc_gv32 __attribute__((vector_size(16)));
typedef double fc_gv64 __attribute__((vector_size(16)));
static inline fc_gv32 fc_gload32(const float *p) { fc_gv32 v; memcpy(&v, p, sizeof v); return v; }
static inline fc_gv64 fc_gload64(const double *p) { fc_gv64 v; memcpy(&v, p, sizeof v); return v; }
static inline fc_gv32 fc_gset32(float x) { fc_gv32 v = {x, x, x, x}; return v; }
static inline fc_gv64 fc_gset64(double x) { fc_gv64 v = {x, x}; return v; }
#define FC_GEN_V32 fc_gv32
#define FC_GEN_VL32 4
#define FC_GEN_LOAD32(p) fc_gload32(p)
#define FC_GEN_STORE32(p, v) do { fc_gv32 fc_s_ = (v); memcpy((p), &fc_s_, sizeof fc_s_); } while (0)
#define FC_GEN_SET1_32(x) fc_gset32(x)
#define FC_GEN_ZERO32() fc_gset32(0.0f)
#define FC_GEN_FMA32(a, b, c) ((a) * (b) + (c))
#define FC_GEN_V64 fc_gv64
#define FC_GEN_VL64 2
#define FC_GEN_LOAD64(p) fc_gload64(p)
#define FC_GEN_STORE64(p, v) do { fc_gv64 fc_s_ = (v); memcpy((p), &fc_s_, sizeof fc_s_); } while (0)
#define FC_GEN_SET1_64(x) fc_gset64(x)
#define FC_GEN_ZERO64() fc_gset64(0.0)
#define FC_GEN_FMA64(a, b, c) ((a) * (b) + (c))
#else
#define FC_GEN_V32 float
#define FC_GEN_VL32 1
#define FC_GEN_LOAD32(p) (*(p))
#define FC_GEN_STORE32(p, v) (*(p) = (v))
#define FC_GEN_SET1_32(x) (x)
#define FC_GEN_ZERO32() 0.0f
#define FC_GEN_FMA32(a, b, c) ((a) * (b) + (c))
#define FC_GEN_V64 double
#define FC_GEN_VL64 1
#define FC_GEN_LOAD64(p) (*(p))
#define FC_GEN_STORE64(p, v) (*(p) = (v))
#define FC_GEN_SET1_64(x) (x)
#define FC_GEN_ZERO64() 0.0
#define FC_GEN_FMA64(a, b, c) ((a) * (b) + (c))
#endif

#define FC_SFX _generic_f32
#define FC_ATTR
#define FC_T float
#define FC_V FC_GEN_V32
#define FC_VL FC_GEN_VL32
#define FC_MR FC_GENERIC_MR_F32
#define FC_NV (FC_GENERIC_NR_F32 / FC_GEN_VL32)
#define FC_VLOAD FC_GEN_LOAD32
#define FC_VSTORE FC_GEN_STORE32
#define FC_VSET1 FC_GEN_SET1_32
#define FC_VZERO FC_GEN_ZERO32
#define FC_VFMA FC_GEN_FMA32
#include "gemm_impl.h"

#define FC_SFX _generic_f64
#define FC_ATTR
#define FC_T double
#define FC_V FC_GEN_V64
#define FC_VL FC_GEN_VL64
#define FC_MR FC_GENERIC_MR_F64
#define FC_NV (FC_GENERIC_NR_F64 / FC_GEN_VL64)
#define FC_VLOAD FC_GEN_LOAD64
#define FC_VSTORE FC_GEN_STORE64
#define FC_VSET1 FC_GEN_SET1_64
#define FC_VZERO FC_GEN_ZERO64
#define FC_VFMA FC_GEN_FMA64
#include "gemm_impl.h"

/* ------------------------------------------------------------------------
 * AVX2 + FMA and AVX-512 levels (x86 with GCC or Clang only): the same
 * kernel source with 256-bit / 512-bit vectors, compiled for that target.
 *
 * AVX2: 6 x 2 ymm accumulators (12 independent FMA chains cover the 4-cycle
 * latency of 2 FMA pipes) + 2 B vectors + the broadcast = 15 of 16
 * registers. On a Zen 3 core 6 x 16, 4 x 24 and 4 x 16 (float32) measured
 * within noise of each other; 6 x 16 keeps the most chains in flight.
 * AVX-512: 8 x 2 zmm accumulators (16 chains, 19 of 32 registers); MR = 8
 * divides the usual channel counts.
 * ------------------------------------------------------------------------ */
#define FC_AVX2_MR_F32 6
#define FC_AVX2_MR_F64 6
#define FC_AVX2_NR_F32 16
#define FC_AVX2_NR_F64 8
#define FC_AVX512_MR_F32 8
#define FC_AVX512_MR_F64 8
#define FC_AVX512_NR_F32 32
#define FC_AVX512_NR_F64 16

#if FC_X86_LEVELS

#define FC_SFX _avx2_f32
#define FC_ATTR FC_AVX2_ATTR
#define FC_T float
#define FC_V __m256
#define FC_VL 8
#define FC_MR FC_AVX2_MR_F32
#define FC_NV (FC_AVX2_NR_F32 / 8)
#define FC_VLOAD(p) _mm256_loadu_ps(p)
#define FC_VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define FC_VSET1(x) _mm256_set1_ps(x)
#define FC_VZERO() _mm256_setzero_ps()
#define FC_VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#include "gemm_impl.h"

#define FC_SFX _avx2_f64
#define FC_ATTR FC_AVX2_ATTR
#define FC_T double
#define FC_V __m256d
#define FC_VL 4
#define FC_MR FC_AVX2_MR_F64
#define FC_NV (FC_AVX2_NR_F64 / 4)
#define FC_VLOAD(p) _mm256_loadu_pd(p)
#define FC_VSTORE(p, v) _mm256_storeu_pd((p), (v))
#define FC_VSET1(x) _mm256_set1_pd(x)
#define FC_VZERO() _mm256_setzero_pd()
#define FC_VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#include "gemm_impl.h"

#if FC_EMULATE_AVX512
/* Emulated AVX-512 (isa.h): the level's 64-byte vectors as GCC vectors on
 * AVX2, each fused multiply-add done as two 256-bit ones (the same rounding
 * as one 512-bit FMA). */
typedef float fc_e512f __attribute__((vector_size(64)));
typedef double fc_e512d __attribute__((vector_size(64)));
typedef union { fc_e512f v; __m256 h[2]; } fc_e512f_halves;
typedef union { fc_e512d v; __m256d h[2]; } fc_e512d_halves;
/* Statement expressions, not functions: a 64-byte vector is never passed
 * or returned by value without AVX-512 (GCC warns that this changes the ABI). */
#define FC_E512_LOAD(T, p) ({ T fc_l_; memcpy(&fc_l_, (p), sizeof fc_l_); fc_l_; })
#define FC_E512_FMA(U, FMA, a, b, c)                                                         \
    ({                                                                                       \
        U fc_a_ = {(a)}, fc_b_ = {(b)}, fc_c_ = {(c)}, fc_r_;                                \
        fc_r_.h[0] = FMA(fc_a_.h[0], fc_b_.h[0], fc_c_.h[0]);                                \
        fc_r_.h[1] = FMA(fc_a_.h[1], fc_b_.h[1], fc_c_.h[1]);                                \
        fc_r_.v;                                                                             \
    })
#define FC_512_V32 fc_e512f
#define FC_512_LOAD32(p) FC_E512_LOAD(fc_e512f, p)
#define FC_512_STORE32(p, v) do { fc_e512f fc_s_ = (v); memcpy((p), &fc_s_, sizeof fc_s_); } while (0)
#define FC_512_SET1_32(x) ((fc_e512f){0} + (float)(x))
#define FC_512_ZERO32() ((fc_e512f){0})
#define FC_512_FMA32(a, b, c) FC_E512_FMA(fc_e512f_halves, _mm256_fmadd_ps, a, b, c)
#define FC_512_V64 fc_e512d
#define FC_512_LOAD64(p) FC_E512_LOAD(fc_e512d, p)
#define FC_512_STORE64(p, v) do { fc_e512d fc_s_ = (v); memcpy((p), &fc_s_, sizeof fc_s_); } while (0)
#define FC_512_SET1_64(x) ((fc_e512d){0} + (double)(x))
#define FC_512_ZERO64() ((fc_e512d){0})
#define FC_512_FMA64(a, b, c) FC_E512_FMA(fc_e512d_halves, _mm256_fmadd_pd, a, b, c)
#else
#define FC_512_V32 __m512
#define FC_512_LOAD32(p) _mm512_loadu_ps(p)
#define FC_512_STORE32(p, v) _mm512_storeu_ps((p), (v))
#define FC_512_SET1_32(x) _mm512_set1_ps(x)
#define FC_512_ZERO32() _mm512_setzero_ps()
#define FC_512_FMA32(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define FC_512_V64 __m512d
#define FC_512_LOAD64(p) _mm512_loadu_pd(p)
#define FC_512_STORE64(p, v) _mm512_storeu_pd((p), (v))
#define FC_512_SET1_64(x) _mm512_set1_pd(x)
#define FC_512_ZERO64() _mm512_setzero_pd()
#define FC_512_FMA64(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#endif

#define FC_SFX _avx512_f32
#define FC_ATTR FC_AVX512_ATTR
#define FC_T float
#define FC_V FC_512_V32
#define FC_VL 16
#define FC_MR FC_AVX512_MR_F32
#define FC_NV (FC_AVX512_NR_F32 / 16)
#define FC_VLOAD FC_512_LOAD32
#define FC_VSTORE FC_512_STORE32
#define FC_VSET1 FC_512_SET1_32
#define FC_VZERO FC_512_ZERO32
#define FC_VFMA FC_512_FMA32
#include "gemm_impl.h"

#define FC_SFX _avx512_f64
#define FC_ATTR FC_AVX512_ATTR
#define FC_T double
#define FC_V FC_512_V64
#define FC_VL 8
#define FC_MR FC_AVX512_MR_F64
#define FC_NV (FC_AVX512_NR_F64 / 8)
#define FC_VLOAD FC_512_LOAD64
#define FC_VSTORE FC_512_STORE64
#define FC_VSET1 FC_512_SET1_64
#define FC_VZERO FC_512_ZERO64
#define FC_VFMA FC_512_FMA64
#include "gemm_impl.h"

#endif /* FC_X86_LEVELS */

/* Every tile fits the bounds advertised in gemm.h. */
typedef char fc_check_max_mr[(FC_GENERIC_MR_F32 <= FC_GEMM_MAX_MR && FC_GENERIC_MR_F64 <= FC_GEMM_MAX_MR
                              && FC_AVX2_MR_F32 <= FC_GEMM_MAX_MR && FC_AVX2_MR_F64 <= FC_GEMM_MAX_MR
                              && FC_AVX512_MR_F32 <= FC_GEMM_MAX_MR
                              && FC_AVX512_MR_F64 <= FC_GEMM_MAX_MR) ? 1 : -1];
typedef char fc_check_max_nr[(FC_GENERIC_NR_F32 <= FC_GEMM_MAX_NR && FC_GENERIC_NR_F64 <= FC_GEMM_MAX_NR
                              && FC_AVX2_NR_F32 <= FC_GEMM_MAX_NR && FC_AVX2_NR_F64 <= FC_GEMM_MAX_NR
                              && FC_AVX512_NR_F32 <= FC_GEMM_MAX_NR
                              && FC_AVX512_NR_F64 <= FC_GEMM_MAX_NR) ? 1 : -1];

/* ------------------------------------------------------------------------
 * Level table and selection.
 * ------------------------------------------------------------------------ */
typedef struct {
    int mr[2], nr[2];
    fc_pack_f32_fn pack_a_f32, pack_b_f32;
    fc_pack_f64_fn pack_a_f64, pack_b_f64;
    fc_gemm_f32_fn gemm_f32;
    fc_gemm_f64_fn gemm_f64;
} fc_level_info;

#define FC_LEVEL_FNS(lvl)                                                                    \
    fc_pack_a_##lvl##_f32, fc_pack_b_##lvl##_f32, fc_pack_a_##lvl##_f64,                     \
        fc_pack_b_##lvl##_f64, fc_gemm_##lvl##_f32, fc_gemm_##lvl##_f64

static const fc_level_info fc_levels[3] = {
    {{FC_GENERIC_MR_F32, FC_GENERIC_MR_F64}, {FC_GENERIC_NR_F32, FC_GENERIC_NR_F64},
     FC_LEVEL_FNS(generic)},
#if FC_X86_LEVELS
    {{FC_AVX2_MR_F32, FC_AVX2_MR_F64}, {FC_AVX2_NR_F32, FC_AVX2_NR_F64}, FC_LEVEL_FNS(avx2)},
    {{FC_AVX512_MR_F32, FC_AVX512_MR_F64}, {FC_AVX512_NR_F32, FC_AVX512_NR_F64},
     FC_LEVEL_FNS(avx512)},
#else
    /* Never selected: fc_isa_supported() is FC_ISA_GENERIC on this build. */
    {{FC_GENERIC_MR_F32, FC_GENERIC_MR_F64}, {FC_GENERIC_NR_F32, FC_GENERIC_NR_F64},
     FC_LEVEL_FNS(generic)},
    {{FC_GENERIC_MR_F32, FC_GENERIC_MR_F64}, {FC_GENERIC_NR_F32, FC_GENERIC_NR_F64},
     FC_LEVEL_FNS(generic)},
#endif
};

/* Cached values, -1 until computed. Racing first calls compute the same
 * value, and the accesses are atomic where the compiler offers it. */
static int fc_supported_cache = -1;
static int fc_level_current = -1;

#if defined(__GNUC__)
#define FC_ATOMIC_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define FC_ATOMIC_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#else
#define FC_ATOMIC_LOAD(p) (*(volatile int *)(p))
#define FC_ATOMIC_STORE(p, v) (*(volatile int *)(p) = (v))
#endif

static int fc_detect(void) { return fc_cpu_level(); }

int fc_isa_supported(void)
{
    int s = FC_ATOMIC_LOAD(&fc_supported_cache);
    if (s < 0) {
        s = fc_detect();
        FC_ATOMIC_STORE(&fc_supported_cache, s);
    }
    return s;
}

int fc_isa_get(void)
{
    int level = FC_ATOMIC_LOAD(&fc_level_current);
    if (level < 0) {
        level = fc_isa_supported();
        FC_ATOMIC_STORE(&fc_level_current, level);
    }
    return level;
}

int fc_isa_set(int level)
{
    if (level < FC_ISA_GENERIC || level > fc_isa_supported()) return -1;
    FC_ATOMIC_STORE(&fc_level_current, level);
    return level;
}

int fc_isa_compiled(void) { return FC_ISA_COMPILED_MAX; }

int fc_isa_emulated(void) { return FC_X86_LEVELS && FC_EMULATE_AVX512 ? FC_ISA_AVX512 : -1; }

const char *fc_isa_name(int level)
{
    switch (level) {
    case FC_ISA_GENERIC: return "generic";
    case FC_ISA_AVX2: return "avx2";
    case FC_ISA_AVX512: return "avx512";
    default: return "unknown";
    }
}

/* The table entry of `level`, FC_ISA_GENERIC's for an invalid or unsupported one. */
static const fc_level_info *fc_info(int level)
{
    if (level < FC_ISA_GENERIC || level > fc_isa_supported()) level = FC_ISA_GENERIC;
    return &fc_levels[level];
}

static int fc_dtype_index(int dtype) { return dtype == FC_DTYPE_F64 ? 1 : 0; }

int fc_gemm_mr_at(int level, int dtype) { return fc_info(level)->mr[fc_dtype_index(dtype)]; }
int fc_gemm_nr_at(int level, int dtype) { return fc_info(level)->nr[fc_dtype_index(dtype)]; }
int fc_gemm_mr(int dtype) { return fc_gemm_mr_at(fc_isa_get(), dtype); }
int fc_gemm_nr(int dtype) { return fc_gemm_nr_at(fc_isa_get(), dtype); }

static int64_t fc_round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

int64_t fc_packed_a_size_at(int level, int64_t M, int64_t K, int dtype)
{
    if (M <= 0 || K <= 0) return 0;
    return fc_round_up(M, fc_gemm_mr_at(level, dtype)) * K;
}

int64_t fc_packed_b_size_at(int level, int64_t K, int64_t N, int dtype)
{
    if (N <= 0 || K <= 0) return 0;
    return fc_round_up(N, fc_gemm_nr_at(level, dtype)) * K;
}

int64_t fc_packed_a_size(int64_t M, int64_t K, int dtype)
{
    return fc_packed_a_size_at(fc_isa_get(), M, K, dtype);
}

int64_t fc_packed_b_size(int64_t K, int64_t N, int dtype)
{
    return fc_packed_b_size_at(fc_isa_get(), K, N, dtype);
}

/* ------------------------------------------------------------------------
 * Public entry points: forward to the level's functions.
 * ------------------------------------------------------------------------ */
#define FC_DEFINE_ENTRY(T, SFX, DT)                                                          \
    void fc_pack_a##SFX##_at(int level, int64_t M, int64_t K, const T *A, int64_t lda,       \
                             T *Ap)                                                          \
    {                                                                                        \
        fc_info(level)->pack_a##SFX(M, K, A, lda, Ap);                                       \
    }                                                                                        \
    void fc_pack_b##SFX##_at(int level, int64_t K, int64_t N, const T *B, int64_t ldb,       \
                             T *Bp)                                                          \
    {                                                                                        \
        fc_info(level)->pack_b##SFX(K, N, B, ldb, Bp);                                       \
    }                                                                                        \
    void fc_gemm_ex##SFX##_at(int level, int64_t M, int64_t N, int64_t K, const T *Ap,       \
                              int64_t a_pstride, const T *B, int64_t ldb, int64_t b_pstride, \
                              T *C, int64_t ldc, const T *bias, int accumulate)              \
    {                                                                                        \
        fc_info(level)->gemm##SFX(M, N, K, Ap, a_pstride, B, ldb, b_pstride, C, ldc, bias,   \
                                  accumulate);                                               \
    }                                                                                        \
    void fc_gemm_packed##SFX##_at(int level, int64_t M, int64_t N, int64_t K, const T *Ap,   \
                                  const T *Bp, T *C, int64_t ldc, const T *bias,             \
                                  int accumulate)                                            \
    {                                                                                        \
        const fc_level_info *info = fc_info(level);                                          \
        const int64_t mr = info->mr[DT], nr = info->nr[DT];                                  \
        info->gemm##SFX(M, N, K, Ap, K * mr, Bp, nr, K * nr, C, ldc, bias, accumulate);     \
    }                                                                                        \
    void fc_pack_a##SFX(int64_t M, int64_t K, const T *A, int64_t lda, T *Ap)                \
    {                                                                                        \
        fc_pack_a##SFX##_at(fc_isa_get(), M, K, A, lda, Ap);                                 \
    }                                                                                        \
    void fc_pack_b##SFX(int64_t K, int64_t N, const T *B, int64_t ldb, T *Bp)                \
    {                                                                                        \
        fc_pack_b##SFX##_at(fc_isa_get(), K, N, B, ldb, Bp);                                 \
    }                                                                                        \
    void fc_gemm_packed##SFX(int64_t M, int64_t N, int64_t K, const T *Ap, const T *Bp,      \
                             T *C, int64_t ldc, const T *bias, int accumulate)               \
    {                                                                                        \
        fc_gemm_packed##SFX##_at(fc_isa_get(), M, N, K, Ap, Bp, C, ldc, bias, accumulate);   \
    }

FC_DEFINE_ENTRY(float, _f32, 0)
FC_DEFINE_ENTRY(double, _f64, 1)
