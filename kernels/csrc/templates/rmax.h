/* rmax: max_i x[i] (pass 1 of both three-pass algorithms).
 * Returns -inf for n == 0.  NaN inputs may or may not propagate: callers
 * detect NaN rows from the later passes. */
#include "prologue.h"

float KERNEL_NAME(size_t n, const float* x) {
    vf acc[ACC];
    SOFTMAX_UNROLL for (int k = 0; k < ACC; k++) acc[k] = v_set1(-INFINITY);
    for (; n >= UNROLL; n -= UNROLL, x += UNROLL) {
        PREFETCH_AHEAD(x);
        SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) {
            acc[j % ACC] = v_max(acc[j % ACC], v_load(x + j * VLEN));
        }
    }
    for (; n >= VLEN; n -= VLEN, x += VLEN) acc[0] = v_max(acc[0], v_load(x));
    if (n != 0) {
        const vmask tail = v_first(n);
        acc[0] = v_max(acc[0], v_select(tail, v_load_first(x, tail), v_set1(-INFINITY)));
    }
    SOFTMAX_UNROLL for (int k = 1; k < ACC; k++) acc[0] = v_max(acc[0], acc[k]);
    return v_hmax(acc[0]);
}

#include "epilogue.h"
