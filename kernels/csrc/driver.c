/* Composes the pass kernels into the four softmax algorithms, with one rule
 * for non-finite inputs shared by every algorithm and ISA (scipy's):
 *   a row containing NaN or +inf, or made only of -inf, becomes all NaN;
 *   -inf elements of any other row become exactly 0.
 * Each fast path detects such rows from values it computes anyway (a
 * non-finite max or sum), so finite rows pay nothing for the rule. */
#include "kernels.h"
#include "exp_constants.h"

#if SOFTMAX_X86_64
#include <immintrin.h>
#endif

/* The two-pass fast path is exact while the sum's exponent keeps every term
 * that survives the final scaling (at most 150 binades below it) inside
 * ExtExp's accurate range. */
#define EXTEXP_SAFE_EXPONENT ((double)EXTEXP_MAX_ABS_INPUT * 1.4426950408889634 - 160.0)

static void fill_nan(size_t n, float* y) {
    for (size_t i = 0; i < n; i++) y[i] = NAN;
}

/* The sum of e^(x_i - max) includes e^0 = 1, so anything else flags a NaN. */
static int normalizer_ok(double sum) { return sum >= 1.0 && sum < INFINITY; }

static int row_three_pass_recompute(const softmax_plan_t* p, size_t n, const float* x, float* y) {
    const float max = p->rmax(n, x);
    if (!isfinite(max)) return fill_nan(n, y), 1;
    const double sum = p->raddexpminusmax(n, x, max);
    if (!normalizer_ok(sum)) return fill_nan(n, y), 1;
    p->vscaleexpminusmax(n, x, y, max, (float)(1.0 / sum));
    return 0;
}

static int row_three_pass_reload(const softmax_plan_t* p, size_t n, const float* x, float* y) {
    const float max = p->rmax(n, x);
    if (!isfinite(max)) return fill_nan(n, y), 1;
    const double sum = p->raddstoreexpminusmax(n, x, y, max);
    if (!normalizer_ok(sum)) return fill_nan(n, y), 1;
    p->vscale(n, y, y, (float)(1.0 / sum));
    return 0;
}

/* Rows with -inf, NaN, +inf or |x| beyond ExtExp's range: find the max, then
 * run the two passes on max(x - shift, -2^16), shifting only when the max
 * itself is huge (so ordinary rows keep two-pass accuracy). */
static int row_two_pass_guarded(const softmax_plan_t* p, size_t n, const float* x, float* y) {
    const float max = p->rmax(n, x);
    if (!isfinite(max)) return fill_nan(n, y), 1;
    const float shift = fabsf(max) <= EXTEXP_SHIFT_THRESHOLD ? 0.0f : max;
    const extexp_sum_t sum = p->raddextexp_guarded(n, x, shift);
    if (!(isfinite(sum.mantissa) && sum.mantissa > 0.0)) return fill_nan(n, y), 1;
    p->vscaleextexp_guarded(n, x, y, shift, (float)(1.0 / sum.mantissa), (float)-sum.exponent);
    return 1;
}

static int row_two_pass(const softmax_plan_t* p, size_t n, const float* x, float* y) {
    const extexp_sum_t sum = p->raddextexp(n, x);
    if (!(isfinite(sum.mantissa) && sum.mantissa > 0.0 && fabs(sum.exponent) <= EXTEXP_SAFE_EXPONENT)) {
        return row_two_pass_guarded(p, n, x, y);
    }
    p->vscaleextexp(n, x, y, (float)(1.0 / sum.mantissa), (float)-sum.exponent);
    return 0;
}

static int row_online(const softmax_plan_t* p, size_t n, const float* x, float* y) {
    const online_sum_t sum = p->raddexponline(n, x);
    if (!(isfinite(sum.max) && normalizer_ok(sum.sum))) {
        row_three_pass_recompute(p, n, x, y);
        return 1;
    }
    p->vscaleexpminusmax(n, x, y, sum.max, (float)(1.0 / sum.sum));
    return 0;
}

unsigned softmax_denormals_off(void) {
#if SOFTMAX_X86_64
    const unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ | DAZ */
    return saved;
#else
    return 0;
#endif
}

void softmax_denormals_restore(unsigned saved) {
#if SOFTMAX_X86_64
    _mm_setcsr(saved);
#else
    (void)saved;
#endif
}

size_t softmax_rows(const softmax_plan_t* plan, size_t rows, size_t n, const float* x, float* y) {
    int (*row)(const softmax_plan_t*, size_t, const float*, float*);
    switch (plan->algorithm) {
        case SOFTMAX_THREE_PASS_RECOMPUTE: row = row_three_pass_recompute; break;
        case SOFTMAX_THREE_PASS_RELOAD: row = row_three_pass_reload; break;
        case SOFTMAX_TWO_PASS: row = row_two_pass; break;
        case SOFTMAX_ONLINE: row = row_online; break;
        default: return 0;
    }
    if (n == 0) return 0;
    const unsigned saved = softmax_denormals_off();
    size_t guarded = 0;
    for (size_t r = 0; r < rows; r++) guarded += (size_t)row(plan, n, x + r * n, y + r * n);
    softmax_denormals_restore(saved);
    return guarded;
}

int softmax_cpu_supports(const char* isa) {
    if (strcmp(isa, "scalar") == 0) return 1;
#if SOFTMAX_X86_64 && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(isa, "avx512f") == 0) return __builtin_cpu_supports("avx512f");
#endif
    return 0;
}

/* ---- error of the exp approximations against libm's double exp ---- */

#define SCAN_CHUNK 4096

static float float_from_bits(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

static void scan_record(ulp_stats_t* s, double ulp, float x) {
    s->sum_ulp += ulp;
    s->count += 1;
    if (ulp > s->max_ulp) s->max_ulp = ulp, s->worst_input = x;
}

/* Fills xs with bit patterns from *next on; returns how many. */
static size_t scan_fill(float* xs, uint64_t* next, uint64_t last, uint32_t stride) {
    size_t k = 0;
    for (; k < SCAN_CHUNK && *next <= last; k++, *next += stride) xs[k] = float_from_bits((uint32_t)*next);
    return k;
}

ulp_stats_t softmax_expminus_ulp_scan(vexpminus_fn kernel, uint32_t first, uint32_t last, uint32_t stride) {
    ulp_stats_t s = {0.0, 0.0, 0, 0.0f};
    float xs[SCAN_CHUNK], ys[SCAN_CHUNK];
    uint64_t next = first;
    for (size_t k; (k = scan_fill(xs, &next, last, stride)) != 0;) {
        kernel(k, xs, ys);
        for (size_t i = 0; i < k; i++) {
            const double ref = exp((double)xs[i]);
            if (ref < (double)FLT_MIN) continue; /* outside the normal range */
            const double ulp = ldexp(1.0, ilogb(ref) - 23);
            scan_record(&s, fabs((double)ys[i] - ref) / ulp, xs[i]);
        }
    }
    return s;
}

ulp_stats_t softmax_extexp_ulp_scan(vextexp_fn kernel, uint32_t first, uint32_t last, uint32_t stride) {
    /* ln2 as a double-double, so x - k*ln2 is exact to ~1e-30 for |k| < 2^22. */
    const double ln2_hi = 0x1.62e42fefa39efp-1, ln2_lo = 0x1.abc9e3b39803fp-56;
    ulp_stats_t s = {0.0, 0.0, 0, 0.0f};
    float xs[SCAN_CHUNK], ms[SCAN_CHUNK], es[SCAN_CHUNK];
    uint64_t next = first;
    for (size_t k; (k = scan_fill(xs, &next, last, stride)) != 0;) {
        kernel(k, xs, ms, es);
        for (size_t i = 0; i < k; i++) {
            const double x = (double)xs[i];
            const double kk = nearbyint(x / ln2_hi);
            const double r = fma(-kk, ln2_lo, fma(-kk, ln2_hi, x));
            int ref_e;
            const double ref_m = frexp(exp(r), &ref_e); /* e^x = ref_m * 2^(ref_e + kk), ref_m in [0.5, 1) */
            const double ours = ldexp((double)ms[i], (int)((double)es[i] - kk) - ref_e);
            scan_record(&s, fabs(ours - ref_m) * 0x1p24, xs[i]);
        }
    }
    return s;
}
