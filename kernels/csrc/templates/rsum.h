/* rsum: sum_i x[i], a read-only bandwidth kernel for the analysis chapter. */
#include "prologue.h"

double KERNEL_NAME(size_t n, const float* x) {
    double total = 0.0;
    while (n >= UNROLL) {
        vf acc[ACC];
        SOFTMAX_UNROLL for (int k = 0; k < ACC; k++) acc[k] = v_zero();
        for (size_t i = 0; i < BLOCK_ITERATIONS && n >= UNROLL; i++, n -= UNROLL, x += UNROLL) {
            SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) {
                acc[j % ACC] = v_add(acc[j % ACC], v_load(x + j * VLEN));
            }
        }
        SOFTMAX_UNROLL for (int k = 1; k < ACC; k++) acc[0] = v_add(acc[0], acc[k]);
        total += v_hsum(acc[0]);
    }
    vf rest = v_zero();
    for (; n >= VLEN; n -= VLEN, x += VLEN) rest = v_add(rest, v_load(x));
    if (n != 0) rest = v_add(rest, v_load_first(x, v_first(n)));
    return total + v_hsum(rest);
}

#include "epilogue.h"
