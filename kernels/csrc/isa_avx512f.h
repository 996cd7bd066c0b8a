/* AVX-512F layer: 16 float lanes in a __m512, masks in __mmask16, and
 * VSCALEFPS for exact scaling by 2^n.  The target region lets this compile on
 * any x86-64 compiler; cpu.c decides whether it may run.
 * Include inside a translation unit, followed by isa_end.h. */
#include "common.h"
#include "exp_constants.h"
#include <immintrin.h>

#define SOFTMAX_TARGET_REGION 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f")
#endif

#define ISA_NAME avx512f
#define VLEN 16

typedef __m512 vf;
typedef __mmask16 vmask;

SOFTMAX_INLINE vf v_zero(void) { return _mm512_setzero_ps(); }
SOFTMAX_INLINE vf v_set1(float a) { return _mm512_set1_ps(a); }
SOFTMAX_INLINE vf v_load(const float* p) { return _mm512_loadu_ps(p); }
SOFTMAX_INLINE void v_store(float* p, vf v) { _mm512_storeu_ps(p, v); }
SOFTMAX_INLINE void v_stream(float* p, vf v) { _mm512_stream_ps(p, v); }
SOFTMAX_INLINE void v_stream_fence(void) { _mm_sfence(); }
SOFTMAX_INLINE vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
SOFTMAX_INLINE vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
SOFTMAX_INLINE vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
SOFTMAX_INLINE vf v_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
/* VMAXPS returns b when either operand is NaN. */
SOFTMAX_INLINE vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
SOFTMAX_INLINE vf v_neg_abs(vf a) {
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int)0x80000000u)));
}
SOFTMAX_INLINE vmask v_gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
SOFTMAX_INLINE vf v_select(vmask m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }
SOFTMAX_INLINE int v_any_gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ) != 0; }
/* Lanes where a < b is false: a >= b, or either is NaN. */
SOFTMAX_INLINE vmask v_not_less(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_NLT_UQ); }
SOFTMAX_INLINE float v_hsum(vf a) { return _mm512_reduce_add_ps(a); }

/* Per-lane double accumulators (16 lanes in two __m512d): reductions sum each
 * iteration's terms pairwise in float, then add them here, so error does not
 * grow with n.  (The upper half is converted through a 256-bit cast: AVX-512F
 * has no 256-bit float extract without AVX512DQ.) */
typedef struct {
    __m512d lo, hi;
} vd;
SOFTMAX_INLINE __m256 v_upper_half(vf v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}
SOFTMAX_INLINE vd vd_zero(void) { return (vd){_mm512_setzero_pd(), _mm512_setzero_pd()}; }
SOFTMAX_INLINE vd vd_add(vd acc, vf v) {
    acc.lo = _mm512_add_pd(acc.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    acc.hi = _mm512_add_pd(acc.hi, _mm512_cvtps_pd(v_upper_half(v)));
    return acc;
}
SOFTMAX_INLINE vd vd_mul(vd acc, vf v) {
    acc.lo = _mm512_mul_pd(acc.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    acc.hi = _mm512_mul_pd(acc.hi, _mm512_cvtps_pd(v_upper_half(v)));
    return acc;
}
SOFTMAX_INLINE void vd_store(double* p, vd acc) {
    _mm512_storeu_pd(p, acc.lo);
    _mm512_storeu_pd(p + 8, acc.hi);
}
SOFTMAX_INLINE float v_hmax(vf a) { return _mm512_reduce_max_ps(a); }

/* Mask of the first `count` lanes, 0 < count < 16. */
SOFTMAX_INLINE vmask v_first(size_t count) { return (vmask)((1u << count) - 1u); }
SOFTMAX_INLINE vf v_load_first(const float* p, vmask m) { return _mm512_maskz_loadu_ps(m, p); }
SOFTMAX_INLINE void v_store_first(float* p, vf v, vmask m) { _mm512_mask_storeu_ps(p, m, v); }
/* Elements to peel before p is aligned for v_stream. */
SOFTMAX_INLINE size_t v_stream_misalignment(const float* p) {
    return (size_t)((-(uintptr_t)p / sizeof(float)) & (VLEN - 1));
}

#include "exp_common.h"

/* scale * e^z for z <= 0 and 0 < scale <= 1; 0 when e^z is below the
 * normal range; NaN stays NaN.  The scale is folded into the polynomial's
 * coefficients (loop-invariant, so computed once per call). */
SOFTMAX_INLINE vf v_expminus_times(vf z, vf scale) {
    const vf n = _mm512_roundscale_ps(_mm512_mul_ps(z, _mm512_set1_ps(EXP_LOG2E)), _MM_FROUND_TO_NEAREST_INT);
    const vf p = v_exp_poly_times(v_reduce_ln2(z, n), scale);
    /* Lanes with z below the cutoff (but not NaN) become exactly 0. */
    const vmask normal = _mm512_cmp_ps_mask(z, _mm512_set1_ps(EXP_DENORMAL_CUTOFF), _CMP_NLT_UQ);
    return _mm512_maskz_scalef_ps(normal, p, n);
}

/* 2^d for integer-valued d <= 0 (flushed to 0 under FTZ once d < -126). */
SOFTMAX_INLINE vf v_pow2_nonpositive(vf d) { return _mm512_scalef_ps(_mm512_set1_ps(1.0f), d); }

/* p * 2^d for integer-valued d <= 0 (VSCALEFPS: 2^floor(d) for any d). */
SOFTMAX_INLINE vf v_ldexp_nonpositive(vf p, vf d) { return _mm512_scalef_ps(p, d); }

/* acc + p * 2^d for integer-valued d <= 0 (2^floor(d) for any d). */
SOFTMAX_INLINE vf v_add_ldexp(vf acc, vf p, vf d) { return _mm512_add_ps(acc, _mm512_scalef_ps(p, d)); }

/* ---- the exp family's hooks (see exp_family.h) ---- */

/* table[j] for j the low `bits` bits of each lane's pattern: one permute of
 * the table in registers (8 entries repeated in both halves, 16, or 32 in
 * two registers), a gather beyond. */
SOFTMAX_INLINE vf v_lookup(const float* table, int bits, vf index) {
    const __m512i j = _mm512_castps_si512(index);
    if (bits == 3) {
        const __m256d eight = _mm256_castps_pd(_mm256_loadu_ps(table));
        return _mm512_permutexvar_ps(j, _mm512_castpd_ps(_mm512_broadcast_f64x4(eight)));
    }
    if (bits == 4) return _mm512_permutexvar_ps(j, _mm512_loadu_ps(table));
    if (bits == 5) return _mm512_permutex2var_ps(_mm512_loadu_ps(table), j, _mm512_loadu_ps(table + 16));
    return _mm512_i32gather_ps(_mm512_and_si512(j, _mm512_set1_epi32((1 << bits) - 1)), table, 4);
}

/* p * 2^m for v_exp_round's m, in the lanes of `normal` (0 elsewhere).
 * Without a table: VSCALEFPS, which multiplies by 2^m exactly.  With one:
 * 2^m's bits built as on AVX2 (biased << (23 - b) plus the adjusted table
 * entry), then one multiply, instead of a multiply by the entry and a
 * VSCALEFPS: the same result (the scaling is exact), one floating-point
 * operation fewer; on a Zen 5 the table exponentials' e^z passes ran 3-5 %
 * faster, two-pass's pass 2 up to 13 %. */
SOFTMAX_INLINE vf v_exp2_times_where(const exp_spec_t* spec, vf p, vf m, vf biased, vmask normal) {
    if (!spec->table_bits) return _mm512_maskz_scalef_ps(normal, p, m);
    const __m512i shifted = _mm512_slli_epi32(_mm512_castps_si512(biased), 23 - spec->table_bits);
    const vf entry = v_lookup(spec->table_minus_j, spec->table_bits, biased);
    return _mm512_maskz_mul_ps(normal, _mm512_castsi512_ps(_mm512_add_epi32(shifted, _mm512_castps_si512(entry))), p);
}

SOFTMAX_INLINE vf v_floor(vf v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }

/* A table ExtExp's exponent: m itself, a multiple of 2^-b, since VSCALEFPS
 * scales by 2^floor of it; the two-pass sums floor only their tile's
 * reference exponent (v_integer_exponent), one operation per tile instead
 * of one per vector. */
SOFTMAX_INLINE vf v_extexp_exponent(vf m) { return m; }
SOFTMAX_INLINE vf v_integer_exponent(vf e) { return v_floor(e); }

#include "exp_family.h"
#include "isa_helpers.h"
