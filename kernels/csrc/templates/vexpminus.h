/* vexpminus: y[i] = e^x[i] for x[i] <= 0, the three-pass exp on its own
 * (used to measure its error against a float64 reference). */
#include "prologue.h"

void KERNEL_NAME(size_t n, const float* x, float* y) {
#define MAP(v) v_expminus_with(EXP_SPEC, v)
#include "map_body.h"
#undef MAP
}

#include "epilogue.h"
