/* vscale: y[i] = scale * x[i]; in place (y == x) it is pass 3 of three-pass
 * with reloading, out of place it is the analysis chapter's read+write kernel. */
#include "prologue.h"

void KERNEL_NAME(size_t n, const float* x, float* y, float scale) {
    const vf vscale = v_set1(scale);
#define MAP(v) v_mul((v), vscale)
#include "map_body.h"
#undef MAP
}

#include "epilogue.h"
