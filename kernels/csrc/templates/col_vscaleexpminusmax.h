/* col_vscaleexpminusmax: y = scale[lane] * e^(x - max[lane]) over n rows
 * (pass 3 of three-pass with recomputing and pass 2 of the online softmax,
 * column form). */
#include "prologue.h"
#include "column_common.h"

void KERNEL_NAME(size_t n, size_t w, size_t stride, const float* x, float* y, const float* max, const float* scale) {
    const size_t vecs = column_vectors(w);
    for (; n != 0; n--, x += stride, y += stride) {
        for (size_t k = 0; k < vecs; k++) {
            const vf z = v_sub(column_load(x, k, w), column_load(max, k, w));
            column_store(y, k, w, v_expminus_times(z, column_load(scale, k, w)));
        }
    }
}

#include "epilogue.h"
