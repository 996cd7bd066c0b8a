/* Composite operations written once against the vector layer; included at
 * the end of every isa_*.h, so they exist once per ISA translation unit.
 *
 * Reductions follow one scheme: each loop iteration computes its terms
 * (one vector per loaded vector), sums them pairwise in float (at most
 * log2(16) roundings), and adds the result to per-lane double accumulators.
 * No float sum ever runs over more than one iteration, so the rounding error
 * does not grow with n, whatever the input. */

/* e^z for z <= 0; 0 when e^z is below the normal range; NaN stays NaN. */
SOFTMAX_INLINE vf v_expminus(vf z) { return v_expminus_times(z, v_set1(1.0f)); }

/* ExtExp: e^x = p * 2^n with p in [0.7, 1.42] and integer n, never overflows. */
SOFTMAX_INLINE vf v_extexp(vf x, vf* exponent) { return v_extexp_times(x, v_set1(1.0f), exponent); }

/* Sums count vectors pairwise, in place; returns the total. */
SOFTMAX_INLINE vf v_tree_sum(vf* v, int count) {
    SOFTMAX_UNROLL for (int w = 1; w < count; w *= 2) {
        SOFTMAX_UNROLL for (int j = 0; j + w < count; j += 2 * w) v[j] = v_add(v[j], v[j + w]);
    }
    return v[0];
}

/* The sum of the lanes of a double accumulator. */
SOFTMAX_INLINE double vd_total(vd acc) {
    double lanes[VLEN];
    vd_store(lanes, acc);
    double total = 0.0;
    for (int lane = 0; lane < VLEN; lane++) total += lanes[lane];
    return total;
}

/* Lane-wise maximum of count vectors, in place. */
SOFTMAX_INLINE vf v_tree_max(vf* v, int count) {
    SOFTMAX_UNROLL for (int w = 1; w < count; w *= 2) {
        SOFTMAX_UNROLL for (int j = 0; j + w < count; j += 2 * w) v[j] = v_max(v[j], v[j + w]);
    }
    return v[0];
}

/* The argument the paper's pass 2 of two-pass (and the guarded pass 1) give
 * ExtExp: max(x, -2^16).  Below -2^16 ExtExp's reduction breaks down and its
 * p may be anything, even inf, and inf * 2^-big is NaN; pass 1 does not see
 * such an element when its p is finite, and pass 2 may use another
 * exponential (the others flush such lanes themselves).  The
 * fast path runs only while the row's maximum is above -2^16 + 111 (driver.c,
 * EXTEXP_SAFE_EXPONENT), so a clamped element is more than 111 below it: its
 * output, e^-111 of the largest or less, rounds to 0 either way.  NaN stays
 * NaN (v_max returns its second operand). */
SOFTMAX_INLINE vf v_extexp_argument(vf x) { return v_max(v_set1(-EXTEXP_MAX_ABS_INPUT), x); }

/* scale_m * e^x * 2^scale_e for integer scale_e, pass 2 of two-pass (the
 * exponential spec).  The paper's p5 computes ExtExp and then scales, as the
 * paper does: (p * scale_m) * 2^(n + scale_e) from ExtExp(x) = p * 2^n, x
 * clamped by v_extexp_argument; the other exponentials fold scale_e into
 * their rounding (v_scaled_extexp_folded). */
SOFTMAX_INLINE vf v_scaled_extexp_with(const exp_spec_t* spec, vf x, vf scale_m, vf scale_e) {
    if (!spec->paper) return v_scaled_extexp_folded(spec, x, scale_m, scale_e);
    vf e;
    const vf p = v_extexp_times_with(spec, v_extexp_argument(x), scale_m, &e);
    return v_ldexp_nonpositive(p, v_add(e, scale_e));
}

SOFTMAX_INLINE vf v_scaled_extexp(vf x, vf scale_m, vf scale_e) { return v_scaled_extexp_with(&exp_p5, x, scale_m, scale_e); }

/* ---- two-pass: a per-lane running sum run_m * 2^run_e (run_m in double) ---- */

/* Raises the lanes' exponents to new_e (>= run_e), rescaling their sums by
 * exact powers of two; skipped when no lane grows, which is the common case
 * once the row's largest values have been seen. */
SOFTMAX_INLINE void v_extexp_raise(vd* run_m, vf* run_e, vf new_e) {
    if (v_any_gt(new_e, *run_e)) {
        *run_m = vd_mul(*run_m, v_pow2_nonpositive(v_sub(*run_e, new_e)));
        *run_e = new_e;
    }
}

/* sum_j p[j] * 2^floor(e[j] - ref), pairwise (integer ref >= every floor(e[j])). */
SOFTMAX_INLINE vf v_extexp_terms(const vf* p, const vf* e, int count, vf ref) {
    vf t[16];
    const int pairs = count / 2;
    SOFTMAX_UNROLL for (int i = 0; i < pairs; i++) {
        const vf first = v_ldexp_nonpositive(p[2 * i], v_sub(e[2 * i], ref));
        t[i] = v_add_ldexp(first, p[2 * i + 1], v_sub(e[2 * i + 1], ref));
    }
    if (count % 2) t[pairs] = v_ldexp_nonpositive(p[count - 1], v_sub(e[count - 1], ref));
    return v_tree_sum(t, pairs + count % 2);
}

/* Adds a tile of ExtExp values (p[j], e[j]) of the exponential spec into the
 * running sum, whose exponents stay integers. */
SOFTMAX_INLINE void v_extexp_accumulate(const exp_spec_t* spec, vd* run_m, vf* run_e, vf* p, vf* e, int count) {
    vf maxima[16];
    SOFTMAX_UNROLL for (int j = 0; j < count; j++) maxima[j] = e[j];
    v_extexp_raise(run_m, run_e, v_max(*run_e, v_extexp_integer(spec, v_tree_max(maxima, count))));
    *run_m = vd_add(*run_m, v_extexp_terms(p, e, count, *run_e));
}

/* Folds the lanes of the running sum into one extended sum. */
SOFTMAX_INLINE extexp_sum_t v_extexp_finish(vd run_m, vf run_e) {
    double m[VLEN];
    float e[VLEN];
    vd_store(m, run_m);
    v_store(e, run_e);
    extexp_sum_t total = {0.0, -INFINITY};
    for (int lane = 0; lane < VLEN; lane++) extexp_sum_add(&total, m[lane], e[lane]);
    return total;
}

/* ---- online softmax: a per-lane running max run_m and sum run_d of e^(x - run_m) ----
 * (e^ with the exponential spec; the functions without _with use p5) */

/* Raises the lanes' maxima to new_m (>= run_m), rescaling their sums by
 * e^(old - new); skipped when no lane grows. */
SOFTMAX_INLINE void v_online_raise_with(const exp_spec_t* spec, vd* run_d, vf* run_m, vf new_m) {
    if (v_any_gt(new_m, *run_m)) {
        *run_d = vd_mul(*run_d, v_expminus_with(spec, v_sub(*run_m, new_m)));
        *run_m = new_m;
    }
}

/* Adds a tile of inputs x[j]: one running-max update per tile (Milakov &
 * Gimelshein's online normalizer, blocked by the register tile), then
 * e^(x - max) summed pairwise. */
SOFTMAX_INLINE void v_online_accumulate_with(const exp_spec_t* spec, vd* run_d, vf* run_m, vf* x, int count) {
    vf maxima[16];
    SOFTMAX_UNROLL for (int j = 0; j < count; j++) maxima[j] = x[j];
    v_online_raise_with(spec, run_d, run_m, v_max(*run_m, v_tree_max(maxima, count)));
    SOFTMAX_UNROLL for (int j = 0; j < count; j++) x[j] = v_expminus_with(spec, v_sub(x[j], *run_m));
    *run_d = vd_add(*run_d, v_tree_sum(x, count));
}

/* Folds the lanes into (max, sum of e^(x - max)). */
SOFTMAX_INLINE online_sum_t v_online_finish_with(const exp_spec_t* spec, vd run_d, vf run_m) {
    const float max = v_hmax(run_m);
    double d[VLEN];
    vd_store(d, vd_mul(run_d, v_expminus_with(spec, v_sub(run_m, v_set1(max)))));
    online_sum_t total = {max, 0.0};
    for (int lane = 0; lane < VLEN; lane++) total.sum += d[lane];
    return total;
}

SOFTMAX_INLINE void v_online_raise(vd* run_d, vf* run_m, vf new_m) { v_online_raise_with(&exp_p5, run_d, run_m, new_m); }
SOFTMAX_INLINE void v_online_accumulate(vd* run_d, vf* run_m, vf* x, int count) {
    v_online_accumulate_with(&exp_p5, run_d, run_m, x, count);
}
SOFTMAX_INLINE online_sum_t v_online_finish(vd run_d, vf run_m) { return v_online_finish_with(&exp_p5, run_d, run_m); }
