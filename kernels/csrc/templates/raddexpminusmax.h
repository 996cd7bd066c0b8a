/* raddexpminusmax: sum_i e^(x[i] - max), without stores
 * (pass 2 of three-pass with recomputing).
 * DOUBLE_WORK (a measurement for the bandwidth chapter, not a softmax pass):
 * evaluate the exponential twice per element, on z and on z(1 - 2^-22), and
 * average, so the arithmetic doubles while the memory traffic does not. */
#include "prologue.h"

#ifndef DOUBLE_WORK
#define DOUBLE_WORK 0
#endif
#if DOUBLE_WORK
#define TERM(z) v_mul(v_add(v_expminus_with(EXP_SPEC, z), v_expminus_with(EXP_SPEC, v_mul((z), vnudge))), vhalf)
#else
#define TERM(z) v_expminus_with(EXP_SPEC, z)
#endif

double KERNEL_NAME(size_t n, const float* x, float max) {
    const vf vmax = v_set1(max);
#if DOUBLE_WORK
    const vf vnudge = v_set1(1.0f - 0x1p-22f), vhalf = v_set1(0.5f);
#endif
    vd total = vd_zero();
    for (; n >= UNROLL; n -= UNROLL, x += UNROLL) {
        vf e[VECS];
        SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) e[j] = TERM(v_sub(v_load(x + j * VLEN), vmax));
        total = vd_add(total, v_tree_sum(e, VECS));
    }
    for (; n >= VLEN; n -= VLEN, x += VLEN) total = vd_add(total, TERM(v_sub(v_load(x), vmax)));
    if (n != 0) {
        const vmask tail = v_first(n);
        const vf e = TERM(v_sub(v_load_first(x, tail), vmax));
        total = vd_add(total, v_select(tail, e, v_zero()));
    }
    return vd_total(total);
}
#undef TERM
#undef DOUBLE_WORK

#include "epilogue.h"
