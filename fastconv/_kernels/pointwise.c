/* fastconv: the pw1x1gemv kernel of pointwise.h, instantiated once per ISA
 * level (isa.h's levels and selection) and dtype. */
#include "pointwise.h"
#include "isa.h"

#include <stddef.h>

#define FC_VBYTES FC_GENERIC_VBYTES
#define FC_T float
#define FC_VL 4
#define FC_SFX _generic_f32
#include "pointwise_impl.h"
#undef FC_T
#undef FC_VL
#undef FC_SFX
#define FC_T double
#define FC_VL 2
#define FC_SFX _generic_f64
#include "pointwise_impl.h"
#undef FC_T
#undef FC_VL
#undef FC_SFX
#undef FC_VBYTES

#if FC_X86_LEVELS
FC_LEVEL_BEGIN_AVX2
#define FC_VBYTES FC_AVX2_VBYTES
#define FC_T float
#define FC_VL 8
#define FC_SFX _avx2_f32
#include "pointwise_impl.h"
#undef FC_T
#undef FC_VL
#undef FC_SFX
#define FC_T double
#define FC_VL 4
#define FC_SFX _avx2_f64
#include "pointwise_impl.h"
#undef FC_T
#undef FC_VL
#undef FC_SFX
#undef FC_VBYTES
FC_LEVEL_END

FC_LEVEL_BEGIN_AVX512
#define FC_VBYTES FC_AVX512_VBYTES
#define FC_T float
#define FC_VL 16
#define FC_SFX _avx512_f32
#include "pointwise_impl.h"
#undef FC_T
#undef FC_VL
#undef FC_SFX
#define FC_T double
#define FC_VL 8
#define FC_SFX _avx512_f64
#include "pointwise_impl.h"
#undef FC_T
#undef FC_VL
#undef FC_SFX
#undef FC_VBYTES
FC_LEVEL_END
#endif

#if FC_X86_LEVELS
#define FC_PW_CASES(SFX, ...)                                                                \
    switch (fc_runnable_level(level)) {                                                      \
    case 2: fc_pw_item_avx512##SFX(__VA_ARGS__); return;                                     \
    case 1: fc_pw_item_avx2##SFX(__VA_ARGS__); return;                                       \
    default: fc_pw_item_generic##SFX(__VA_ARGS__); return;                                   \
    }
#else
#define FC_PW_CASES(SFX, ...) fc_pw_item_generic##SFX(__VA_ARGS__);
#endif

void fc_pw_item_f32(int level, const fc_pwgeom *g, const float *xt, const float *w,
                    const float *bias, float *out, int64_t n, int64_t grp, int64_t oc0,
                    int64_t nb)
{
    FC_PW_CASES(_f32, g, xt, w, bias, out, n, grp, oc0, nb)
}

void fc_pw_item_f64(int level, const fc_pwgeom *g, const double *xt, const double *w,
                    const double *bias, double *out, int64_t n, int64_t grp, int64_t oc0,
                    int64_t nb)
{
    FC_PW_CASES(_f64, g, xt, w, bias, out, n, grp, oc0, nb)
}
