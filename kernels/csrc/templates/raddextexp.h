/* raddextexp: sum_i e^x[i] as an extended-exponent pair, never overflowing
 * (pass 1 of the two-pass algorithm).
 *
 * Every lane keeps a running sum m * 2^e with m in double.  Each iteration
 * computes ExtExp(x) = p * 2^n for its vectors, raises the lanes' exponents
 * to the largest n seen (rescaling by exact powers of two, and only when some
 * lane grows), then adds the terms p * 2^(n - e), summed pairwise.
 * An element far below the others (x < -2^16, where ExtExp's p may be any
 * value) needs no clamp here: a finite p is scaled to 0, and a non-finite one
 * makes the sum non-finite, which sends the row to the guarded path.
 * GUARDED kernels take e^(max(x - shift, -2^16)) instead: they handle -inf
 * and inputs of any magnitude, at the price of two more operations. */
#include "prologue.h"

#if GUARDED
extexp_sum_t KERNEL_NAME(size_t n, const float* x, float shift) {
    const vf vshift = v_set1(shift);
#define ARGUMENT(v) v_extexp_argument(v_sub((v), vshift))
#else
extexp_sum_t KERNEL_NAME(size_t n, const float* x) {
#define ARGUMENT(v) (v)
#endif
    vd run_m = vd_zero();
    vf run_e = v_set1(-FLT_MAX);
    for (; n >= UNROLL; n -= UNROLL, x += UNROLL) {
        vf p[VECS], e[VECS];
        SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) p[j] = v_extexp_with(EXP_SPEC, ARGUMENT(v_load(x + j * VLEN)), &e[j]);
        v_extexp_accumulate(EXP_SPEC, &run_m, &run_e, p, e, VECS);
    }
    for (; n >= VLEN; n -= VLEN, x += VLEN) {
        vf e, p = v_extexp_with(EXP_SPEC, ARGUMENT(v_load(x)), &e);
        v_extexp_accumulate(EXP_SPEC, &run_m, &run_e, &p, &e, 1);
    }
    if (n != 0) {
        /* Lanes past the end add 0 at the running exponent. */
        const vmask tail = v_first(n);
        vf e, p = v_extexp_with(EXP_SPEC, ARGUMENT(v_load_first(x, tail)), &e);
        p = v_select(tail, p, v_zero());
        e = v_select(tail, e, run_e);
        v_extexp_accumulate(EXP_SPEC, &run_m, &run_e, &p, &e, 1);
    }
#undef ARGUMENT
    return v_extexp_finish(run_m, run_e);
}

#include "epilogue.h"
