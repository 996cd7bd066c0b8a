/* raddexponline: (max_i x[i], sum_i e^(x[i] - max)) in one read of x
 * (pass 1 of the online softmax, Milakov & Gimelshein 2018).
 *
 * Every lane keeps a running maximum and a running sum of e^(x - max) in
 * double.  The maximum is updated once per iteration (the register tile),
 * rescaling the sum by e^(old - new) only when some lane grows; then the
 * tile's e^(x - max) are summed pairwise and added. */
#include "prologue.h"

online_sum_t KERNEL_NAME(size_t n, const float* x) {
    vd run_d = vd_zero();
    vf run_m = v_set1(-FLT_MAX);
    for (; n >= UNROLL; n -= UNROLL, x += UNROLL) {
        vf v[VECS];
        SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) v[j] = v_load(x + j * VLEN);
        v_online_accumulate_with(EXP_SPEC, &run_d, &run_m, v, VECS);
    }
    for (; n >= VLEN; n -= VLEN, x += VLEN) {
        vf v = v_load(x);
        v_online_accumulate_with(EXP_SPEC, &run_d, &run_m, &v, 1);
    }
    if (n != 0) {
        /* Lanes past the end read -inf, which adds e^-inf = 0. */
        const vmask tail = v_first(n);
        vf v = v_select(tail, v_load_first(x, tail), v_set1(-INFINITY));
        v_online_accumulate_with(EXP_SPEC, &run_d, &run_m, &v, 1);
    }
    return v_online_finish_with(EXP_SPEC, run_d, run_m);
}

#include "epilogue.h"
