/* col_raddexpminusmax: per-lane sum of e^(x - max[lane]) over n rows, in
 * double (pass 2 of three-pass with recomputing, column form). */
#include "prologue.h"
#include "column_common.h"

void KERNEL_NAME(size_t n, size_t w, size_t stride, const float* x, const float* max, double* sum) {
    vd total[COLUMN_VECS];
    const size_t vecs = column_vectors(w);
    for (size_t k = 0; k < vecs; k++) total[k] = vd_zero();
    for (; n != 0; n--, x += stride) {
        for (size_t k = 0; k < vecs; k++) {
            total[k] = vd_add(total[k], v_expminus(v_sub(column_load(x, k, w), column_load(max, k, w))));
        }
    }
    column_store_doubles(sum, total, w);
}

#include "epilogue.h"
