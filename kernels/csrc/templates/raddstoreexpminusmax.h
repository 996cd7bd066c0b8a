/* raddstoreexpminusmax: y[i] = e^(x[i] - max), returns sum_i y[i]
 * (pass 2 of three-pass with reloading).  y may alias x. */
#include "prologue.h"

double KERNEL_NAME(size_t n, const float* x, float* y, float max) {
    const vf vmax = v_set1(max);
    double total = 0.0;
#if STREAM
    const size_t head = v_stream_misalignment(y) < n ? v_stream_misalignment(y) : n;
    if (head != 0) {
        const vmask m = v_first(head);
        const vf e = v_select(m, v_expminus(v_sub(v_load_first(x, m), vmax)), v_zero());
        v_store_first(y, e, m);
        total += v_hsum(e);
        n -= head, x += head, y += head;
    }
#define STORE_OUTPUT v_stream
#else
#define STORE_OUTPUT v_store
#endif
    while (n >= UNROLL) {
        vf acc[ACC];
        SOFTMAX_UNROLL for (int k = 0; k < ACC; k++) acc[k] = v_zero();
        for (size_t i = 0; i < BLOCK_ITERATIONS && n >= UNROLL; i++, n -= UNROLL, x += UNROLL, y += UNROLL) {
            SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) {
                const vf e = v_expminus(v_sub(v_load(x + j * VLEN), vmax));
                STORE_OUTPUT(y + j * VLEN, e);
                acc[j % ACC] = v_add(acc[j % ACC], e);
            }
        }
        SOFTMAX_UNROLL for (int k = 1; k < ACC; k++) acc[0] = v_add(acc[0], acc[k]);
        total += v_hsum(acc[0]);
    }
    vf rest = v_zero();
    for (; n >= VLEN; n -= VLEN, x += VLEN, y += VLEN) {
        const vf e = v_expminus(v_sub(v_load(x), vmax));
        STORE_OUTPUT(y, e);
        rest = v_add(rest, e);
    }
    if (n != 0) {
        const vmask tail = v_first(n);
        const vf e = v_select(tail, v_expminus(v_sub(v_load_first(x, tail), vmax)), v_zero());
        v_store_first(y, e, tail);
        rest = v_add(rest, e);
    }
#if STREAM
    v_stream_fence();
#endif
#undef STORE_OUTPUT
    return total + v_hsum(rest);
}

#include "epilogue.h"
