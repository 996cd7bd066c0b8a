/* col_vsub: y = (x - hi[lane]) - lo[lane] over n rows (the write pass of
 * log_softmax, column form; see vsub.h). */
#include "prologue.h"
#include "column_common.h"

void KERNEL_NAME(size_t n, size_t w, size_t stride, const float* x, float* y, const float* hi, const float* lo) {
    const size_t vecs = column_vectors(w);
    for (; n != 0; n--, x += stride, y += stride) {
        for (size_t k = 0; k < vecs; k++) {
            const vf v = v_sub(v_sub(column_load(x, k, w), column_load(hi, k, w)), column_load(lo, k, w));
            column_store(y, k, w, v);
        }
    }
}

#include "epilogue.h"
