/* Portable scalar "vector" layer: one lane, plain C99.  It compiles on any
 * CPU and computes exactly the same arithmetic as the SIMD layers (the same
 * magic-bias rounding, the same FMA chain), so it doubles as their reference.
 * Include inside a translation unit, followed by isa_end.h. */
#include "common.h"
#include "exp_constants.h"

#define ISA_NAME scalar
#define VLEN 1

typedef float vf;
typedef int vmask;

SOFTMAX_INLINE uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
SOFTMAX_INLINE float float_of(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

SOFTMAX_INLINE vf v_zero(void) { return 0.0f; }
SOFTMAX_INLINE vf v_set1(float a) { return a; }
SOFTMAX_INLINE vf v_load(const float* p) { return *p; }
SOFTMAX_INLINE void v_store(float* p, vf v) { *p = v; }
SOFTMAX_INLINE void v_stream(float* p, vf v) { *p = v; }
SOFTMAX_INLINE void v_stream_fence(void) {}
SOFTMAX_INLINE vf v_add(vf a, vf b) { return a + b; }
SOFTMAX_INLINE vf v_sub(vf a, vf b) { return a - b; }
SOFTMAX_INLINE vf v_mul(vf a, vf b) { return a * b; }
SOFTMAX_INLINE vf v_fma(vf a, vf b, vf c) { return fmaf(a, b, c); }
/* Like x86 MAXPS: returns b when either operand is NaN. */
SOFTMAX_INLINE vf v_max(vf a, vf b) { return a > b ? a : b; }
SOFTMAX_INLINE vf v_neg_abs(vf a) { return float_of(bits_of(a) | 0x80000000u); }
SOFTMAX_INLINE vmask v_gt(vf a, vf b) { return a > b; }
SOFTMAX_INLINE vf v_select(vmask m, vf a, vf b) { return m ? a : b; }
SOFTMAX_INLINE int v_any_gt(vf a, vf b) { return a > b; }
/* Lanes where a < b is false: a >= b, or either is NaN. */
SOFTMAX_INLINE vmask v_not_less(vf a, vf b) { return !(a < b); }
SOFTMAX_INLINE float v_hsum(vf a) { return a; }
SOFTMAX_INLINE float v_hmax(vf a) { return a; }

/* Per-lane double accumulators: reductions sum each iteration's terms
 * pairwise in float, then add them here, so error does not grow with n. */
typedef double vd;
SOFTMAX_INLINE vd vd_zero(void) { return 0.0; }
SOFTMAX_INLINE vd vd_add(vd acc, vf v) { return acc + (double)v; }
SOFTMAX_INLINE vd vd_mul(vd acc, vf v) { return acc * (double)v; }
SOFTMAX_INLINE void vd_store(double* p, vd acc) { *p = acc; }

/* Partial vectors never occur with one lane; these keep the templates uniform. */
SOFTMAX_INLINE vmask v_first(size_t count) { return count != 0; }
SOFTMAX_INLINE vf v_load_first(const float* p, vmask m) { return m ? *p : 0.0f; }
SOFTMAX_INLINE void v_store_first(float* p, vf v, vmask m) { if (m) *p = v; }
SOFTMAX_INLINE size_t v_stream_misalignment(const float* p) { (void)p; return 0; }

#include "exp_common.h"

/* scale * e^z for z <= 0 and 0 < scale <= 1; 0 when e^z is below the normal
 * range; NaN stays NaN.  The scale is folded into the polynomial. */
SOFTMAX_INLINE vf v_expminus_times(vf z, vf scale) {
    float n = fmaf(z, EXP_LOG2E, EXP_MAGIC_BIAS);
    const float s = float_of(bits_of(n) << 23); /* 2^n */
    n -= EXP_MAGIC_BIAS;
    /* s * scale * e^t: scaling by s is exact, so no intermediate is denormal
     * (s + (t*s)*p would be, and FTZ would flush it). */
    const float f = s * v_exp_poly_times(v_reduce_ln2(z, n), scale);
    return z < EXP_DENORMAL_CUTOFF ? 0.0f : f;
}

/* 2^d for integer-valued d <= 0, exact; 0 once d < -126 (no denormals). */
SOFTMAX_INLINE vf v_pow2_nonpositive(vf d) {
    const float clamped = d < -127.0f ? -127.0f : d;
    return float_of(bits_of(clamped + EXP_MAGIC_BIAS) << 23);
}

/* p * 2^d for integer-valued d <= 0. */
SOFTMAX_INLINE vf v_ldexp_nonpositive(vf p, vf d) { return p * v_pow2_nonpositive(d); }

/* acc + p * 2^d for integer-valued d <= 0. */
SOFTMAX_INLINE vf v_add_ldexp(vf acc, vf p, vf d) { return fmaf(p, v_pow2_nonpositive(d), acc); }

/* ---- the exp family's hooks (see exp_family.h), the vector ones' reference ---- */

/* table[j] for j the low `bits` bits of index's pattern. */
SOFTMAX_INLINE vf v_lookup(const float* table, int bits, vf index) {
    return table[bits_of(index) & ((1u << bits) - 1u)];
}

/* p * 2^m for v_exp_round's m and biased where normal (0 elsewhere): 2^m's
 * bits are biased << (23 - b) plus the adjusted table entry, as in the AVX2
 * layer. */
SOFTMAX_INLINE vf v_exp2_times_where(const exp_spec_t* spec, vf p, vf m, vf biased, vmask normal) {
    (void)m;
    uint32_t bits = bits_of(biased) << (23 - spec->table_bits);
    if (spec->table_bits) bits += bits_of(v_lookup(spec->table_minus_j, spec->table_bits, biased));
    return normal ? float_of(bits) * p : 0.0f;
}

SOFTMAX_INLINE vf v_floor(vf v) { return floorf(v); }

/* A table ExtExp's exponent: floor(m), an integer, which v_ldexp_nonpositive
 * needs (see isa_avx512f.h); so v_integer_exponent has nothing to do. */
SOFTMAX_INLINE vf v_extexp_exponent(vf m) { return v_floor(m); }
SOFTMAX_INLINE vf v_integer_exponent(vf e) { return e; }

#include "exp_family.h"
#include "isa_helpers.h"
