/* vscaleextexp: y[i] = e^x[i] / S for S = scale_m^-1 * 2^-scale_e, computed
 * as (p * scale_m) * 2^(n + scale_e) from ExtExp(x) = p * 2^n
 * (pass 2 of the two-pass algorithm).  n + scale_e <= 0 because -scale_e is
 * the maximum exponent found in pass 1.  GUARDED: see raddextexp.h. */
#include "prologue.h"

#if GUARDED
void KERNEL_NAME(size_t n, const float* x, float* y, float shift, float scale_m, float scale_e) {
    const vf vshift = v_set1(shift);
#define ARGUMENT(v) v_sub((v), vshift)
#else
void KERNEL_NAME(size_t n, const float* x, float* y, float scale_m, float scale_e) {
#define ARGUMENT(v) (v)
#endif
    const vf vscale_m = v_set1(scale_m);
    const vf vscale_e = v_set1(scale_e);
#define MAP(v) v_scaled_extexp_with(EXP_SPEC, ARGUMENT(v), vscale_m, vscale_e)
#include "map_body.h"
#undef MAP
#undef ARGUMENT
}

#include "epilogue.h"
