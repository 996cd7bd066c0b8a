/* raddexponline: (max_i x[i], sum_i e^(x[i] - max)) in one read of x
 * (pass 1 of the online softmax, Milakov & Gimelshein 2018).  Each lane
 * keeps its own running (m, d); blocks fold them into a double. */
#define BLOCK_TERMS 512
#include "prologue.h"

online_sum_t KERNEL_NAME(size_t n, const float* x) {
    online_sum_t total = {-INFINITY, 0.0};
    while (n >= UNROLL) {
        vf acc_m[ACC], acc_d[ACC];
        SOFTMAX_UNROLL for (int k = 0; k < ACC; k++) acc_m[k] = v_set1(-FLT_MAX), acc_d[k] = v_zero();
        for (size_t i = 0; i < BLOCK_ITERATIONS && n >= UNROLL; i++, n -= UNROLL, x += UNROLL) {
            SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) {
                v_online_update(&acc_m[j % ACC], &acc_d[j % ACC], v_load(x + j * VLEN));
            }
        }
        v_online_fold(&total, acc_m, acc_d, ACC);
    }
    if (n != 0) {
        vf rest_m = v_set1(-FLT_MAX), rest_d = v_zero();
        for (; n >= VLEN; n -= VLEN, x += VLEN) v_online_update(&rest_m, &rest_d, v_load(x));
        if (n != 0) {
            /* Lanes past the end read -inf, which adds e^-inf = 0. */
            const vmask tail = v_first(n);
            v_online_update(&rest_m, &rest_d, v_select(tail, v_load_first(x, tail), v_set1(-INFINITY)));
        }
        v_online_fold(&total, &rest_m, &rest_d, 1);
    }
    return total;
}

#include "epilogue.h"
