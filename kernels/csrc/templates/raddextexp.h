/* raddextexp: sum_i e^x[i] as an extended-exponent pair, never overflowing
 * (pass 1 of the two-pass algorithm).
 *
 * Each accumulator is a pair of vectors (m, e) meaning m * 2^e per lane.  An
 * iteration raises every accumulator's exponent to the maximum of its new
 * terms' exponents once, then adds the terms, each scaled by an exact power of
 * two <= 1 (Dukhan & Ablavatski 2020, "adding several extended numbers at a
 * time").  GUARDED kernels take e^(max(x - shift, -2^16)) instead: they handle
 * -inf and inputs of any magnitude, at the price of two more operations. */
#include "prologue.h"

#if GUARDED
extexp_sum_t KERNEL_NAME(size_t n, const float* x, float shift) {
    const vf vshift = v_set1(shift);
    const vf vclamp = v_set1(-EXTEXP_MAX_ABS_INPUT);
/* max(clamp, x - shift): NaN stays NaN (v_max returns its second operand). */
#define ARGUMENT(v) v_max(vclamp, v_sub((v), vshift))
#else
extexp_sum_t KERNEL_NAME(size_t n, const float* x) {
#define ARGUMENT(v) (v)
#endif
    extexp_sum_t total = {0.0, -INFINITY};
    while (n >= UNROLL) {
        vf acc_m[ACC], acc_e[ACC];
        SOFTMAX_UNROLL for (int k = 0; k < ACC; k++) acc_m[k] = v_zero(), acc_e[k] = v_set1(-FLT_MAX);
        for (size_t i = 0; i < BLOCK_ITERATIONS && n >= UNROLL; i++, n -= UNROLL, x += UNROLL) {
            vf p[VECS], e[VECS], max_e[ACC];
            SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) p[j] = v_extexp(ARGUMENT(v_load(x + j * VLEN)), &e[j]);
            SOFTMAX_UNROLL for (int k = 0; k < ACC; k++) max_e[k] = acc_e[k];
            SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) max_e[j % ACC] = v_max(max_e[j % ACC], e[j]);
            SOFTMAX_UNROLL for (int k = 0; k < ACC; k++) {
                acc_m[k] = v_ldexp_nonpositive(acc_m[k], v_sub(acc_e[k], max_e[k]));
                acc_e[k] = max_e[k];
            }
            SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) {
                acc_m[j % ACC] = v_add_ldexp(acc_m[j % ACC], p[j], v_sub(e[j], max_e[j % ACC]));
            }
        }
        v_extexp_fold(&total, acc_m, acc_e, ACC);
    }
    if (n != 0) {
        vf rest_m = v_zero(), rest_e = v_set1(-FLT_MAX), e;
        for (; n >= VLEN; n -= VLEN, x += VLEN) {
            const vf p = v_extexp(ARGUMENT(v_load(x)), &e);
            v_extexp_accumulate(&rest_m, &rest_e, p, e);
        }
        if (n != 0) {
            /* Lanes past the end add 0 at the accumulator's own exponent. */
            const vmask tail = v_first(n);
            const vf p = v_extexp(ARGUMENT(v_load_first(x, tail)), &e);
            v_extexp_accumulate(&rest_m, &rest_e, v_select(tail, p, v_zero()), v_select(tail, e, rest_e));
        }
        v_extexp_fold(&total, &rest_m, &rest_e, 1);
    }
#undef ARGUMENT
    return total;
}

#include "epilogue.h"
