/* col_rmax: per-lane max over n rows (pass 1 of both three-pass algorithms,
 * column form; see column_common.h).  NaN may or may not propagate, as in
 * rmax.h: later passes detect NaN columns. */
#include "prologue.h"
#include "column_common.h"

void KERNEL_NAME(size_t n, size_t w, size_t stride, const float* x, float* max) {
    vf run[COLUMN_VECS];
    const size_t vecs = column_vectors(w);
    for (size_t k = 0; k < vecs; k++) run[k] = v_set1(-INFINITY);
    for (; n != 0; n--, x += stride) {
        for (size_t k = 0; k < vecs; k++) run[k] = v_max(run[k], column_load(x, k, w));
    }
    column_store_floats(max, run, w);
}

#include "epilogue.h"
