/* raddstoreexpminusmax: y[i] = e^(x[i] - max), returns sum_i y[i]
 * (pass 2 of three-pass with reloading).  y may alias x. */
#include "prologue.h"

double KERNEL_NAME(size_t n, const float* x, float* y, float max) {
    const vf vmax = v_set1(max);
    vd total = vd_zero();
#if STREAM
    const size_t head = v_stream_misalignment(y) < n ? v_stream_misalignment(y) : n;
    if (head != 0) {
        const vmask m = v_first(head);
        const vf e = v_select(m, v_expminus_with(EXP_SPEC, v_sub(v_load_first(x, m), vmax)), v_zero());
        v_store_first(y, e, m);
        total = vd_add(total, e);
        n -= head, x += head, y += head;
    }
#define STORE_OUTPUT v_stream
#else
#define STORE_OUTPUT v_store
#endif
    for (; n >= UNROLL; n -= UNROLL, x += UNROLL, y += UNROLL) {
        vf e[VECS];
        SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) {
            e[j] = v_expminus_with(EXP_SPEC, v_sub(v_load(x + j * VLEN), vmax));
            STORE_OUTPUT(y + j * VLEN, e[j]);
        }
        total = vd_add(total, v_tree_sum(e, VECS));
    }
    for (; n >= VLEN; n -= VLEN, x += VLEN, y += VLEN) {
        const vf e = v_expminus_with(EXP_SPEC, v_sub(v_load(x), vmax));
        STORE_OUTPUT(y, e);
        total = vd_add(total, e);
    }
    if (n != 0) {
        const vmask tail = v_first(n);
        const vf e = v_select(tail, v_expminus_with(EXP_SPEC, v_sub(v_load_first(x, tail), vmax)), v_zero());
        v_store_first(y, e, tail);
        total = vd_add(total, e);
    }
#if STREAM
    v_stream_fence();
#endif
#undef STORE_OUTPUT
    return vd_total(total);
}

#include "epilogue.h"
