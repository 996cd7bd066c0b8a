/* vscaleexpminusmax: y[i] = scale * e^(x[i] - max)
 * (pass 3 of three-pass with recomputing; pass 2 of the online softmax). */
#include "prologue.h"

void KERNEL_NAME(size_t n, const float* x, float* y, float max, float scale) {
    const vf vmax = v_set1(max);
    const vf vscale = v_set1(scale);
#define MAP(v) v_expminus_times_with(EXP_SPEC, v_sub((v), vmax), vscale)
#include "map_body.h"
#undef MAP
}

#include "epilogue.h"
