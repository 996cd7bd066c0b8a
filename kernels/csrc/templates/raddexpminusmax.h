/* raddexpminusmax: sum_i e^(x[i] - max), without stores
 * (pass 2 of three-pass with recomputing). */
#include "prologue.h"

double KERNEL_NAME(size_t n, const float* x, float max) {
    const vf vmax = v_set1(max);
    double total = 0.0;
    while (n >= UNROLL) {
        vf acc[ACC];
        SOFTMAX_UNROLL for (int k = 0; k < ACC; k++) acc[k] = v_zero();
        for (size_t i = 0; i < BLOCK_ITERATIONS && n >= UNROLL; i++, n -= UNROLL, x += UNROLL) {
            SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) {
                const vf e = v_expminus(v_sub(v_load(x + j * VLEN), vmax));
                acc[j % ACC] = v_add(acc[j % ACC], e);
            }
        }
        SOFTMAX_UNROLL for (int k = 1; k < ACC; k++) acc[0] = v_add(acc[0], acc[k]);
        total += v_hsum(acc[0]);
    }
    vf rest = v_zero();
    for (; n >= VLEN; n -= VLEN, x += VLEN) rest = v_add(rest, v_expminus(v_sub(v_load(x), vmax)));
    if (n != 0) {
        const vmask tail = v_first(n);
        const vf e = v_expminus(v_sub(v_load_first(x, tail), vmax));
        rest = v_add(rest, v_select(tail, e, v_zero()));
    }
    return total + v_hsum(rest);
}

#include "epilogue.h"
