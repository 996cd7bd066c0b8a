/* col_vscale: y = scale[lane] * x over n rows (pass 3 of three-pass with
 * reloading, column form, in place). */
#include "prologue.h"
#include "column_common.h"

void KERNEL_NAME(size_t n, size_t w, size_t stride, const float* x, float* y, const float* scale) {
    const size_t vecs = column_vectors(w);
    for (; n != 0; n--, x += stride, y += stride) {
        for (size_t k = 0; k < vecs; k++) column_store(y, k, w, v_mul(column_load(x, k, w), column_load(scale, k, w)));
    }
}

#include "epilogue.h"
