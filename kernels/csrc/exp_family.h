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
 *   v_exp2_times_flush(spec, p, m, biased, z) p 2^m, 0 where z < EXP_DENORMAL_CUTOFF
 *   v_floor(v)
 * Every exponential keeps the paper's p5 semantics: 0 below the cutoff
 * (a compare, so -inf gives 0), NaN stays NaN, e^0 = 1 exactly. */

/* m = z log2(e) rounded to a multiple of 2^-b (one FMA: the exact product is
 * rounded once), returned; *biased = m + magic, whose low mantissa bits hold
 * m 2^b (plus 127 without a table: the exponent field of 2^m). */
SOFTMAX_INLINE vf v_exp_round(const exp_spec_t* spec, vf z, vf* biased) {
    const float magic = spec->table_bits ? 0x1.8p23f / (float)(1 << spec->table_bits) : EXP_MAGIC_BIAS;
    *biased = v_fma(z, v_set1(EXP_LOG2E), v_set1(magic));
    return v_sub(*biased, v_set1(magic));
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
    return v_exp2_times_flush(spec, v_exp_poly(spec, v_exp_reduce(spec, z, m), scale), m, biased, z);
}

/* e^z for z <= 0, as v_expminus. */
SOFTMAX_INLINE vf v_expminus_with(const exp_spec_t* spec, vf z) { return v_expminus_times_with(spec, z, v_set1(1.0f)); }

/* ExtExp times a scale, as v_extexp_times: scale * e^x = p * 2^n with integer
 * n, never overflowing; p in scale * [0.7, 1.42] without a table, in scale *
 * [0.98, 2.03] with one (2^(j/N) e^t). */
SOFTMAX_INLINE vf v_extexp_times_with(const exp_spec_t* spec, vf x, vf scale, vf* exponent) {
    if (spec->paper) return v_extexp_times(x, scale, exponent);
    vf biased;
    const vf m = v_exp_round(spec, x, &biased);
    const vf p = v_exp_poly(spec, v_exp_reduce(spec, x, m), scale);
    if (!spec->table_bits) {
        *exponent = m;
        return p;
    }
    *exponent = v_floor(m);
    return v_mul(p, v_lookup(spec->table, spec->table_bits, biased));
}

/* ExtExp, as v_extexp. */
SOFTMAX_INLINE vf v_extexp_with(const exp_spec_t* spec, vf x, vf* exponent) {
    return v_extexp_times_with(spec, x, v_set1(1.0f), exponent);
}
