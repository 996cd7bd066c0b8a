/* raddexpminusmax: sum_i e^(x[i] - max), without stores
 * (pass 2 of three-pass with recomputing). */
#include "prologue.h"

double KERNEL_NAME(size_t n, const float* x, float max) {
    const vf vmax = v_set1(max);
    vd total = vd_zero();
    for (; n >= UNROLL; n -= UNROLL, x += UNROLL) {
        vf e[VECS];
        SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) e[j] = v_expminus(v_sub(v_load(x + j * VLEN), vmax));
        total = vd_add(total, v_tree_sum(e, VECS));
    }
    for (; n >= VLEN; n -= VLEN, x += VLEN) total = vd_add(total, v_expminus(v_sub(v_load(x), vmax)));
    if (n != 0) {
        const vmask tail = v_first(n);
        const vf e = v_expminus(v_sub(v_load_first(x, tail), vmax));
        total = vd_add(total, v_select(tail, e, v_zero()));
    }
    return vd_total(total);
}

#include "epilogue.h"
