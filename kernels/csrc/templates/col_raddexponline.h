/* col_raddexponline: per-lane (max, sum of e^(x - max)) over n rows in one
 * read (pass 1 of the online softmax, column form; see raddexponline.h). */
#include "prologue.h"
#include "column_common.h"

void KERNEL_NAME(size_t n, size_t w, size_t stride, const float* x, float* max, double* sum) {
    vd run_d[COLUMN_VECS];
    vf run_m[COLUMN_VECS];
    const size_t vecs = column_vectors(w);
    for (size_t k = 0; k < vecs; k++) run_d[k] = vd_zero(), run_m[k] = v_set1(-FLT_MAX);
    for (; n != 0; n--, x += stride) {
        for (size_t k = 0; k < vecs; k++) {
            vf v = column_load(x, k, w);
            v_online_accumulate(&run_d[k], &run_m[k], &v, 1);
        }
    }
    column_store_floats(max, run_m, w);
    column_store_doubles(sum, run_d, w);
}

#include "epilogue.h"
