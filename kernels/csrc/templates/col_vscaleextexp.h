/* col_vscaleextexp: y = e^x * scale_m[lane] * 2^scale_e[lane] over n rows
 * (pass 2 of the two-pass algorithm, column form; see vscaleextexp.h). */
#include "prologue.h"
#include "column_common.h"

void KERNEL_NAME(size_t n, size_t w, size_t stride, const float* x, float* y, const float* scale_m,
                 const float* scale_e) {
    const size_t vecs = column_vectors(w);
    for (; n != 0; n--, x += stride, y += stride) {
        for (size_t k = 0; k < vecs; k++) {
            const vf v = v_scaled_extexp(column_load(x, k, w), column_load(scale_m, k, w), column_load(scale_e, k, w));
            column_store(y, k, w, v);
        }
    }
}

#include "epilogue.h"
