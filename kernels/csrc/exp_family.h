/* The exp family: every exponential of kernels/registry.py EXPS, written once
 * against the vector layer and described by an exp_spec_t (exp_spec.h), a
 * compile-time constant of each kernel (templates/prologue.h: EXP_SPEC).
 *
 * e^z = 2^m e^t, with m = z log2(e) rounded to a multiple of 1/N (N = 2^b
 * table entries; N = 1 without a table) and t = z - m ln2, |t| <= ln2/(2N);
 * 2^m = 2^floor(m) 2^(j/N), the second factor from the table, and e^t a
 * minimax polynomial.  Each isa_*.h provides three hooks before including
 * this file, the only ISA-specific parts:
 *   v_lookup(table, b, v)                  table[j], j the low b bits of v's pattern
 *   v_exp2_times_where(spec, p, m, biased, normal) p 2^m in the lanes of normal, 0 elsewhere
 *   v_floor(v)
 *   v_extexp_exponent(m), v_integer_exponent(e)  a table ExtExp's exponent
 *                                          (e^x = p 2^floor(e)), and floor(e)
 * Every exponential keeps the paper's p5 semantics: 0 below the cutoff
 * (a compare, so -inf gives 0), NaN stays NaN, e^0 = 1 exactly. */

/* m = z log2(e) rounded to a multiple of 2^-b (one FMA: the exact product is
 * rounded once), returned; *biased = m + magic, whose low mantissa bits hold
 * m 2^b (plus 127 without a table: the exponent field of 2^m). */
SOFTMAX_INLINE float exp_magic(const exp_spec_t* spec) {
    return spec->table_bits ? 0x1.8p23f / (float)(1 << spec->table_bits) : EXP_MAGIC_BIAS;
}

SOFTMAX_INLINE vf v_exp_round(const exp_spec_t* spec, vf z, vf* biased) {
    const vf magic = v_set1(exp_magic(spec));
    *biased = v_fma(z, v_set1(EXP_LOG2E), magic);
    return v_sub(*biased, magic);
}

/* t = z - m ln2: one FMA with ln2 rounded (error |m| 1.9e-9), or Cody-Waite's
 * two, whose first product is exact for every m the kernels meet. */
SOFTMAX_INLINE vf v_exp_reduce(const exp_spec_t* spec, vf z, vf m) {
    return spec->reductions == 1 ? v_fma(m, v_set1(EXP_MINUS_LN2), z) : v_reduce_ln2(z, m);
}

/* scale (1 + c1 t + ... + ck t^k) by Horner's rule, the scale folded into the
 * coefficients (loop-invariant, so the products are computed once per call). */
SOFTMAX_INLINE vf v_exp_poly(const exp_spec_t* spec, vf t, vf scale) {
    vf p = v_mul(v_set1(spec->c[spec->degree - 1]), scale);
    SOFTMAX_UNROLL for (int k = spec->degree - 2; k >= 0; k--) p = v_fma(p, t, v_mul(v_set1(spec->c[k]), scale));
    return v_fma(p, t, scale);
}

/* scale * e^z for z <= 0 and 0 < scale <= 1, as v_expminus_times. */
SOFTMAX_INLINE vf v_expminus_times_with(const exp_spec_t* spec, vf z, vf scale) {
    if (spec->paper) return v_expminus_times(z, scale);
    vf biased;
    const vf m = v_exp_round(spec, z, &biased);
    const vmask normal = v_not_less(z, v_set1(EXP_DENORMAL_CUTOFF));
    return v_exp2_times_where(spec, v_exp_poly(spec, v_exp_reduce(spec, z, m), scale), m, biased, normal);
}

/* e^z for z <= 0, as v_expminus. */
SOFTMAX_INLINE vf v_expminus_with(const exp_spec_t* spec, vf z) { return v_expminus_times_with(spec, z, v_set1(1.0f)); }

/* ExtExp times a scale, as v_extexp_times: scale * e^x = p * 2^floor(n),
 * never overflowing; p in scale * [0.7, 1.42] without a table, in scale *
 * [0.98, 2.03] with one (2^(j/N) e^t).  n is an integer except for a table
 * exponential on AVX-512 (v_extexp_exponent). */
SOFTMAX_INLINE vf v_extexp_times_with(const exp_spec_t* spec, vf x, vf scale, vf* exponent) {
    if (spec->paper) return v_extexp_times(x, scale, exponent);
    vf biased;
    const vf m = v_exp_round(spec, x, &biased);
    const vf p = v_exp_poly(spec, v_exp_reduce(spec, x, m), scale);
    if (!spec->table_bits) {
        *exponent = m;
        return p;
    }
    *exponent = v_extexp_exponent(m);
    return v_mul(p, v_lookup(spec->table, spec->table_bits, biased));
}

/* floor(e) for an exponent of v_extexp_times_with: only a table exponential's
 * may be fractional (on AVX-512), so the others pass through. */
SOFTMAX_INLINE vf v_extexp_integer(const exp_spec_t* spec, vf e) {
    return spec->table_bits ? v_integer_exponent(e) : e;
}

/* ExtExp, as v_extexp. */
SOFTMAX_INLINE vf v_extexp_with(const exp_spec_t* spec, vf x, vf* exponent) {
    return v_extexp_times_with(spec, x, v_set1(1.0f), exponent);
}

/* scale_m * e^x * 2^scale_e for integer scale_e (pass 2 of two-pass): what
 * ExtExp followed by a scaling computes, in fewer operations.  scale_e joins
 * the rounding constant, so the FMA rounds x log2(e) + scale_e, which gives
 * m + scale_e exactly (rounding to a grid commutes with shifting it by a
 * multiple of its step), and 2^(m + scale_e) is built like e^z's 2^m.
 * Lanes whose m + scale_e is below -126 (outputs below the normal range, and
 * every x below -2^16, whose p may be anything) are 0; NaN stays NaN. */
SOFTMAX_INLINE vf v_scaled_extexp_folded(const exp_spec_t* spec, vf x, vf scale_m, vf scale_e) {
    const vf magic = v_set1(exp_magic(spec));
    const vf shifted_magic = v_add(magic, scale_e);
    const vf biased = v_fma(x, v_set1(EXP_LOG2E), shifted_magic); /* m + scale_e + magic */
    const vf m = v_sub(biased, shifted_magic);
    const vf p = v_exp_poly(spec, v_exp_reduce(spec, x, m), scale_m);
    const vmask normal = v_not_less(biased, v_sub(magic, v_set1(126.0f)));
    return v_exp2_times_where(spec, p, v_sub(biased, magic), biased, normal);
}
