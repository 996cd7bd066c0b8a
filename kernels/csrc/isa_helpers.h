/* Composite operations written once against the vector layer; included at
 * the end of every isa_*.h, so they exist once per ISA translation unit. */

/* Adds one vector of ExtExp terms p * 2^e into the pair accumulator
 * (acc_m, acc_e): rescale the accumulator to the new maximum exponent, then
 * add the terms scaled to it.  Every scale is an exact power of two <= 1. */
SOFTMAX_INLINE void v_extexp_accumulate(vf* acc_m, vf* acc_e, vf p, vf e) {
    const vf max_e = v_max(*acc_e, e);
    *acc_m = v_add_ldexp(v_ldexp_nonpositive(*acc_m, v_sub(*acc_e, max_e)), p, v_sub(e, max_e));
    *acc_e = max_e;
}

/* (p * scale_m) * 2^(n + scale_e) for ExtExp(x) = p * 2^n. */
SOFTMAX_INLINE vf v_scaled_extexp(vf x, vf scale_m, vf scale_e) {
    vf e;
    const vf p = v_extexp(x, &e);
    return v_ldexp_nonpositive(v_mul(p, scale_m), v_add(e, scale_e));
}

/* Folds ACC pair accumulators into a double extended sum. */
SOFTMAX_INLINE void v_extexp_fold(extexp_sum_t* total, const vf* acc_m, const vf* acc_e, int count) {
    vf max_e = acc_e[0];
    for (int k = 1; k < count; k++) max_e = v_max(max_e, acc_e[k]);
    const float block_e = v_hmax(max_e);
    const vf vblock_e = v_set1(block_e);
    vf m = v_zero();
    for (int k = 0; k < count; k++) m = v_add_ldexp(m, acc_m[k], v_sub(acc_e[k], vblock_e));
    extexp_sum_add(total, v_hsum(m), block_e);
}

/* One online-softmax step per lane (Milakov & Gimelshein 2018): with
 * m' = max(m, x), d' = d * e^(m - m') + e^(x - m').  One of the two exponents
 * is 0, so a single e^(-|x - m|) and a select do both cases. */
SOFTMAX_INLINE void v_online_update(vf* acc_m, vf* acc_d, vf x) {
    const vf e = v_expminus(v_neg_abs(v_sub(x, *acc_m)));
    const vmask grows = v_gt(x, *acc_m);
    *acc_d = v_select(grows, v_fma(*acc_d, e, v_set1(1.0f)), v_add(*acc_d, e));
    *acc_m = v_max(*acc_m, x);
}

/* Folds `count` per-lane online states into a double (max, sum). */
SOFTMAX_INLINE void v_online_fold(online_sum_t* total, const vf* acc_m, const vf* acc_d, int count) {
    vf max_m = acc_m[0];
    for (int k = 1; k < count; k++) max_m = v_max(max_m, acc_m[k]);
    const float block_max = v_hmax(max_m);
    const vf vblock_max = v_set1(block_max);
    vf d = v_zero();
    for (int k = 0; k < count; k++) d = v_fma(acc_d[k], v_expminus(v_sub(acc_m[k], vblock_max)), d);
    online_sum_add(total, block_max, v_hsum(d));
}
