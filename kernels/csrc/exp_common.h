/* The parts of the exp approximation that every ISA shares, written once
 * against the vector layer; each isa_*.h includes this after its basic
 * operations and before its exp-minus function (which differs between ISAs
 * only in how it rounds z*log2(e) and rebuilds 2^n).  The other exponentials
 * of the exp family are in exp_family.h. */
#include "exp_spec.h"

/* t = z - n*ln2 with ln2 split in two floats (Cody-Waite): |t| <= ln2/2. */
SOFTMAX_INLINE vf v_reduce_ln2(vf z, vf n) {
    const vf t = v_fma(n, v_set1(EXP_MINUS_LN2_HI), z);
    return v_fma(n, v_set1(EXP_MINUS_LN2_LO), t);
}

/* scale * (1 + c1 t + ... + c5 t^5) ~= scale * e^t, by Horner's rule, with
 * the scale folded into the coefficients (loop-invariant, so the products
 * are computed once per kernel call). */
SOFTMAX_INLINE vf v_exp_poly_times(vf t, vf scale) {
    vf p = v_fma(v_mul(v_set1(EXP_C5), scale), t, v_mul(v_set1(EXP_C4), scale));
    p = v_fma(p, t, v_mul(v_set1(EXP_C3), scale));
    p = v_fma(p, t, v_mul(v_set1(EXP_C2), scale));
    p = v_fma(p, t, v_mul(v_set1(EXP_C1), scale));
    return v_fma(p, t, scale);
}

/* ---- ExtExp: the two-pass algorithm's exponential ---- */

/* ExtExp times a scale: scale * e^x = p * 2^n with p in scale * [0.7, 1.42]
 * and integer n; never overflows.  Rounding the exact product x*log2(e) (one
 * FMA with the magic bias) keeps ExtExp within 2 ULP up to |x| = 2^16;
 * rounding a rounded product (ROUNDSCALE of x*log2e) loses that beyond 2^14. */
SOFTMAX_INLINE vf v_extexp_times(vf x, vf scale, vf* exponent) {
    const vf magic = v_set1(EXP_MAGIC_BIAS);
    const vf n = v_sub(v_fma(x, v_set1(EXP_LOG2E), magic), magic);
    *exponent = n;
    return v_exp_poly_times(v_reduce_ln2(x, n), scale);
}
