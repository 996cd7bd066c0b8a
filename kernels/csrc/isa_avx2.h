/* AVX2 + FMA layer: 8 float lanes in a __m256.  The target region lets this
 * compile whatever -march says; cpu.c decides whether it may run.  The build
 * compiles this translation unit with AVX-512 off (-mno-avx512f, see
 * kernels/build.py): on an AVX-512 CPU, -march=native would otherwise let
 * these kernels use EVEX encodings and 32 vector registers, and they would no
 * longer be the AVX2 kernels an AVX2-only CPU runs.
 * Include inside a translation unit, followed by isa_end.h. */
#include "common.h"
#include "exp_constants.h"
#include <immintrin.h>

#define SOFTMAX_TARGET_REGION 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#define ISA_NAME avx2
#define VLEN 8

typedef __m256 vf;
typedef __m256 vmask; /* all-ones lanes where true */

SOFTMAX_INLINE vf v_zero(void) { return _mm256_setzero_ps(); }
SOFTMAX_INLINE vf v_set1(float a) { return _mm256_set1_ps(a); }
SOFTMAX_INLINE vf v_load(const float* p) { return _mm256_loadu_ps(p); }
SOFTMAX_INLINE void v_store(float* p, vf v) { _mm256_storeu_ps(p, v); }
SOFTMAX_INLINE void v_stream(float* p, vf v) { _mm256_stream_ps(p, v); }
SOFTMAX_INLINE void v_stream_fence(void) { _mm_sfence(); }
SOFTMAX_INLINE vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
SOFTMAX_INLINE vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
SOFTMAX_INLINE vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
SOFTMAX_INLINE vf v_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
/* MAXPS returns b when either operand is NaN. */
SOFTMAX_INLINE vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
SOFTMAX_INLINE vf v_neg_abs(vf a) { return _mm256_or_ps(a, _mm256_set1_ps(-0.0f)); }
SOFTMAX_INLINE vmask v_gt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
SOFTMAX_INLINE vf v_select(vmask m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }

SOFTMAX_INLINE int v_any_gt(vf a, vf b) { return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ)) != 0; }
/* Lanes where a < b is false: a >= b, or either is NaN. */
SOFTMAX_INLINE vmask v_not_less(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_NLT_UQ); }

/* Per-lane double accumulators (8 lanes in two __m256d): reductions sum each
 * iteration's terms pairwise in float, then add them here, so error does not
 * grow with n. */
typedef struct {
    __m256d lo, hi;
} vd;
SOFTMAX_INLINE vd vd_zero(void) { return (vd){_mm256_setzero_pd(), _mm256_setzero_pd()}; }
SOFTMAX_INLINE vd vd_add(vd acc, vf v) {
    acc.lo = _mm256_add_pd(acc.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    acc.hi = _mm256_add_pd(acc.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    return acc;
}
SOFTMAX_INLINE vd vd_mul(vd acc, vf v) {
    acc.lo = _mm256_mul_pd(acc.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    acc.hi = _mm256_mul_pd(acc.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    return acc;
}
SOFTMAX_INLINE void vd_store(double* p, vd acc) {
    _mm256_storeu_pd(p, acc.lo);
    _mm256_storeu_pd(p + 4, acc.hi);
}

SOFTMAX_INLINE float v_hsum(vf a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SOFTMAX_INLINE float v_hmax(vf a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Mask of the first `count` lanes, 0 < count < 8. */
SOFTMAX_INLINE vmask v_first(size_t count) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lane));
}
SOFTMAX_INLINE vf v_load_first(const float* p, vmask m) { return _mm256_maskload_ps(p, _mm256_castps_si256(m)); }
SOFTMAX_INLINE void v_store_first(float* p, vf v, vmask m) { _mm256_maskstore_ps(p, _mm256_castps_si256(m), v); }
/* Elements to peel before p is aligned for v_stream. */
SOFTMAX_INLINE size_t v_stream_misalignment(const float* p) {
    return (size_t)((-(uintptr_t)p / sizeof(float)) & (VLEN - 1));
}

#include "exp_common.h"

/* scale * e^z for z <= 0 and 0 < scale <= 1; 0 when e^z is below the
 * normal range; NaN stays NaN.  The scale is folded into the polynomial's
 * coefficients (loop-invariant, so computed once per call). */
SOFTMAX_INLINE vf v_expminus_times(vf z, vf scale) {
    vf n = _mm256_fmadd_ps(z, _mm256_set1_ps(EXP_LOG2E), _mm256_set1_ps(EXP_MAGIC_BIAS));
    const vf s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(n), 23)); /* 2^n */
    n = _mm256_sub_ps(n, _mm256_set1_ps(EXP_MAGIC_BIAS));
    /* s * scale * e^t: scaling by s is exact, so no intermediate is denormal
     * (s + (t*s)*p would be, and FTZ would flush it). */
    const vf f = _mm256_mul_ps(s, v_exp_poly_times(v_reduce_ln2(z, n), scale));
    /* Below the cutoff 2^n is garbage: return 0 (NaN fails the compare and stays). */
    const vf underflow = _mm256_cmp_ps(z, _mm256_set1_ps(EXP_DENORMAL_CUTOFF), _CMP_LT_OQ);
    return _mm256_andnot_ps(underflow, f);
}

/* 2^d for integer-valued d <= 0, exact; 0 once d < -126 (no denormals). */
SOFTMAX_INLINE vf v_pow2_nonpositive(vf d) {
    const vf clamped = _mm256_max_ps(d, _mm256_set1_ps(-127.0f));
    const vf biased = _mm256_add_ps(clamped, _mm256_set1_ps(EXP_MAGIC_BIAS));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(biased), 23));
}

/* p * 2^d for integer-valued d <= 0. */
SOFTMAX_INLINE vf v_ldexp_nonpositive(vf p, vf d) { return _mm256_mul_ps(p, v_pow2_nonpositive(d)); }

/* acc + p * 2^d for integer-valued d <= 0. */
SOFTMAX_INLINE vf v_add_ldexp(vf acc, vf p, vf d) { return _mm256_fmadd_ps(p, v_pow2_nonpositive(d), acc); }

/* ---- the exp family's hooks (see exp_family.h) ---- */

/* table[j] for j the low `bits` bits of each lane's pattern: a permute of the
 * table in a register (8 entries), two and a blend on bit 3 (16), a gather
 * where no permute holds the table (32). */
SOFTMAX_INLINE vf v_lookup(const float* table, int bits, vf index) {
    const __m256i j = _mm256_castps_si256(index);
    if (bits == 3) return _mm256_permutevar8x32_ps(_mm256_loadu_ps(table), j);
    if (bits == 4) {
        const vf low = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table), j);
        const vf high = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table + 8), j);
        return _mm256_blendv_ps(low, high, _mm256_castsi256_ps(_mm256_slli_epi32(j, 28)));
    }
    return _mm256_i32gather_ps(table, _mm256_and_si256(j, _mm256_set1_epi32((1 << bits) - 1)), 4);
}

/* p * 2^m for v_exp_round's m and biased, in the lanes of `normal` (0
 * elsewhere).  2^m's bits are biased << (23 - b): the exponent field, and
 * j << (23 - b), which the adjusted table entry turns into 2^(j/N)'s
 * mantissa (XNNPACK's trick: one shift and one integer add).  Scaling by
 * 2^m is exact, so no intermediate is denormal. */
SOFTMAX_INLINE vf v_exp2_times_where(const exp_spec_t* spec, vf p, vf m, vf biased, vmask normal) {
    (void)m;
    __m256i bits = _mm256_slli_epi32(_mm256_castps_si256(biased), 23 - spec->table_bits);
    if (spec->table_bits) {
        bits = _mm256_add_epi32(bits, _mm256_castps_si256(v_lookup(spec->table_minus_j, spec->table_bits, biased)));
    }
    return _mm256_and_ps(normal, _mm256_mul_ps(_mm256_castsi256_ps(bits), p));
}

SOFTMAX_INLINE vf v_floor(vf v) { return _mm256_floor_ps(v); }

/* A table ExtExp's exponent: floor(m), an integer, which v_ldexp_nonpositive
 * needs (see isa_avx512f.h); so v_integer_exponent has nothing to do. */
SOFTMAX_INLINE vf v_extexp_exponent(vf m) { return v_floor(m); }
SOFTMAX_INLINE vf v_integer_exponent(vf e) { return e; }

#include "exp_family.h"
#include "isa_helpers.h"
