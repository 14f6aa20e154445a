/* fastconv: 1-D filter passes along one axis of an array ("lines"), alone or
 * two fused, the kernels of fastconv.ndimage's separable filters.
 *
 * An array is seen as (outer, L, inner), C-contiguous: the pass runs along
 * the middle axis, of L elements. Every pass reads its input through an index
 * map of L + K - 1 entries: extended position p (output i reads positions
 * i .. i + K - 1) is input element map[p] along the axis, or the constant
 * cval when map[p] < 0; the boundary rule and the origin are all in the map.
 *
 * The sum of a K-tap correlation pass is formed in SciPy's order
 * (scipy.ndimage.correlate1d, NI_Correlate1D): for a symmetric kernel (odd K,
 * |w[c + j] - w[c - j]| <= DBL_EPSILON, c = K / 2) o = x[c] w[c], then
 * o += (x[t] + x[K - 1 - t]) w[t] for t = 0 .. c - 1; antisymmetric kernels
 * subtract the pair instead; any other kernel starts with o = x[K - 1] w[K - 1]
 * and adds x[t] w[t] for t = 0 .. K - 2. Two flavours are compiled:
 *   fast   float32 or float64, multiply-adds fused where the ISA has FMA;
 *   exact  float64, every product and sum rounded on its own, so the result
 *          is bitwise SciPy's double (on which its integer outputs depend).
 * The uniform (box) pass is SciPy's running sum in float64, bitwise:
 * s = x[0] + ... + x[K - 1] from 0.0, then s += x[i + K - 1] - x[i - 1], each
 * output s / K.
 *
 * Work is split into items (see lines_impl.h) that own disjoint outputs and
 * compute each one the same way wherever it lies, so results do not depend on
 * the number of threads.
 */
#ifndef FASTCONV_LINES_H
#define FASTCONV_LINES_H
#include <stdint.h>

/* One correlation pass: K taps (of the kernel's dtype), SciPy's symmetry
 * flag (+1 symmetric, -1 antisymmetric, 0 general), the index map and cval.
 * Extended positions [off, off + L) are the line itself (map[p] = p - off);
 * off = K / 2 + origin. */
typedef struct {
    int64_t K;
    int64_t off;
    int sym;
    const void *w;
    const int64_t *map;
    double cval;
} fc_lpass;

/* The array of a call: (outer, L, inner) and the blocking of its items. */
typedef struct {
    int64_t outer, L, inner;
    int64_t RB;   /* rows (or positions along L) per item */
    int64_t CB;   /* columns of inner per item */
    int64_t nt;   /* store the result non-temporally (a large output, not read soon) */
} fc_lshape;

/* Flavours: the element type and rounding of a pass. */
enum { FC_LINES_F32 = 0, FC_LINES_F64 = 1, FC_LINES_F64_EXACT = 2 };
/* How a fused pair of passes combines: second(first(x)), or first(x) + second(x). */
enum { FC_LINES_COMPOSE = 0, FC_LINES_SUM = 1 };

int fc_lines_level(int level);

/* Items of fc_lines_corr for shape s, and the workspace bytes one thread needs. */
int64_t fc_lines_corr_items(const fc_lshape *s);
int64_t fc_lines_corr_ws(const fc_lshape *s, int64_t K, int flavour);
/* Correlation pass along L, item `item`, into out (same shape as x). */
void fc_lines_corr(int level, int flavour, const fc_lshape *s, const fc_lpass *p,
                   const void *x, void *out, int64_t item, void *ws);

/* Two passes fused on (outer, H = L, W = inner) planes: `first` along H then
 * `second` along W (vfirst = 1) or `first` along W then `second` along H
 * (vfirst = 0); combined by `combine`. An item is a block of RB rows of one plane. */
int64_t fc_lines_fused_items(const fc_lshape *s);
int64_t fc_lines_fused_ws(const fc_lshape *s, int64_t Kv, int64_t Kh, int flavour);
void fc_lines_fused(int level, int flavour, const fc_lshape *s, const fc_lpass *first,
                    const fc_lpass *second, int vfirst, int combine, const void *x, void *out,
                    int64_t item, void *ws);

/* Uniform (box) pass of K taps along L: SciPy's running sum in float64; x and
 * out are float32 (f32 = 1) or float64; extended positions [off, off + L) are
 * the line itself. */
int64_t fc_lines_uniform_items(const fc_lshape *s);
int64_t fc_lines_uniform_ws(const fc_lshape *s, int64_t K);
void fc_lines_uniform(int level, int f32, const fc_lshape *s, int64_t K, int64_t off,
                      const int64_t *map, double cval, const void *x, void *out, int64_t item,
                      void *ws);

/* Two uniform passes fused on planes (outer, H = L, W = inner): vertical
 * (Kv taps) then horizontal (Kh taps), one cval; each plane cut into `splits`
 * shares (items: outer * splits). */
int64_t fc_lines_uniform2d_ws(const fc_lshape *s, int64_t Kh);
void fc_lines_uniform2d(int level, int f32, const fc_lshape *s, int64_t Kv, int64_t offv,
                        const int64_t *mapv, int64_t Kh, int64_t offh, const int64_t *maph,
                        double cval, const void *x, void *out, int64_t splits, int64_t item,
                        void *ws);
#endif
