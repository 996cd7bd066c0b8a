/* col_raddstoreexpminusmax: y = e^(x - max[lane]) and its per-lane sum over
 * n rows (pass 2 of three-pass with reloading, column form).  y has x's
 * layout and may be x. */
#include "prologue.h"
#include "column_common.h"

void KERNEL_NAME(size_t n, size_t w, size_t stride, const float* x, float* y, const float* max, double* sum) {
    vd total[COLUMN_VECS];
    const size_t vecs = column_vectors(w);
    for (size_t k = 0; k < vecs; k++) total[k] = vd_zero();
    for (; n != 0; n--, x += stride, y += stride) {
        for (size_t k = 0; k < vecs; k++) {
            const vf e = v_expminus(v_sub(column_load(x, k, w), column_load(max, k, w)));
            column_store(y, k, w, e);
            total[k] = vd_add(total[k], e);
        }
    }
    column_store_doubles(sum, total, w);
}

#include "epilogue.h"
