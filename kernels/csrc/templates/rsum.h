/* rsum: sum_i x[i], a read-only bandwidth kernel for the analysis chapter. */
#include "prologue.h"

double KERNEL_NAME(size_t n, const float* x) {
    vd total = vd_zero();
    for (; n >= UNROLL; n -= UNROLL, x += UNROLL) {
        vf v[VECS];
        SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) v[j] = v_load(x + j * VLEN);
        total = vd_add(total, v_tree_sum(v, VECS));
    }
    for (; n >= VLEN; n -= VLEN, x += VLEN) total = vd_add(total, v_load(x));
    if (n != 0) total = vd_add(total, v_load_first(x, v_first(n)));
    return vd_total(total);
}

#include "epilogue.h"
