/* vsub: y[i] = (x[i] - hi) - lo, the write pass of log_softmax for every
 * algorithm: x minus the log of the normaliser L, which the driver computes
 * in double and rounds once to the float pair hi = L, lo = L - hi (see
 * "log_softmax" in driver.c for why one float is not enough).  Subtracting
 * hi first keeps x - hi exact when x is within a factor 2 of hi (the
 * elements near the max, whose log-probabilities are small). */
#include "prologue.h"

void KERNEL_NAME(size_t n, const float* x, float* y, float hi, float lo) {
    const vf vhi = v_set1(hi);
    const vf vlo = v_set1(lo);
#define MAP(v) v_sub(v_sub((v), vhi), vlo)
#include "map_body.h"
#undef MAP
}

#include "epilogue.h"
