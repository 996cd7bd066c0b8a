/* vcopy: y[i] = x[i], the copy bandwidth kernel. */
#include "prologue.h"

void KERNEL_NAME(size_t n, const float* x, float* y) {
#define MAP(v) (v)
#include "map_body.h"
#undef MAP
}

#include "epilogue.h"
