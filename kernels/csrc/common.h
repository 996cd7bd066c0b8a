/* Portability helpers shared by every kernel translation unit.
 *
 * Kernels are written once per family (templates/) against a small vector
 * abstraction (isa_*.h).  Each ISA layer is compiled in its own translation
 * unit inside a "target region", so AVX2 and AVX-512 code can be built on any
 * x86-64 compiler regardless of -march, and is only *called* after a run-time
 * CPU check (cpu.c).  On other architectures only the scalar layer exists. */
#ifndef SOFTMAX_COMMON_H
#define SOFTMAX_COMMON_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define SOFTMAX_X86_64 1
#else
#define SOFTMAX_X86_64 0
#endif

#define SOFTMAX_CAT2_(a, b) a##b
#define SOFTMAX_CAT2(a, b) SOFTMAX_CAT2_(a, b)

/* Full unrolling of the fixed-trip-count loops inside a template, so that
 * arrays of vector accumulators become registers. */
#if defined(__clang__)
#define SOFTMAX_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define SOFTMAX_UNROLL _Pragma("GCC unroll 64")
#else
#define SOFTMAX_UNROLL
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SOFTMAX_INLINE static inline __attribute__((always_inline))
#define SOFTMAX_RESTRICT __restrict__
#else
#define SOFTMAX_INLINE static inline
#define SOFTMAX_RESTRICT
#endif

/* Results of the reductions that need more than one float. */
typedef struct {
    double mantissa; /* sum of e^x_i  ==  mantissa * 2^exponent */
    double exponent; /* an integer held in a double */
} extexp_sum_t;

typedef struct {
    float max;  /* max_i x_i */
    double sum; /* sum of e^(x_i - max) */
} online_sum_t;

/* Lanes a column kernel handles in one call (softmax over a non-last axis):
 * their running state (12 bytes a lane, 24 KiB) stays in L1 on the kernel's
 * stack, and a row of them (8 KiB of input) is long enough for the hardware
 * prefetchers to stream.  Measured against 1024 and 4096 (README). */
#define SOFTMAX_COLUMN_BLOCK 2048

/* Exact 2^k in double for integer k; 0 below the double normal range. */
static inline double softmax_pow2_double(double k) {
    if (!(k >= -1022.0)) return 0.0; /* also NaN: its mantissa carries the NaN */
    uint64_t bits = (uint64_t)((int64_t)k + 1023) << 52;
    double result;
    memcpy(&result, &bits, sizeof result);
    return result;
}

/* Adds mantissa * 2^exponent into an extended-exponent sum, rescaling the
 * smaller side by an exact power of two. */
static inline void extexp_sum_add(extexp_sum_t* sum, double mantissa, double exponent) {
    if (mantissa == 0.0) return;
    if (exponent > sum->exponent) {
        sum->mantissa = sum->mantissa * softmax_pow2_double(sum->exponent - exponent) + mantissa;
        sum->exponent = exponent;
    } else {
        sum->mantissa += mantissa * softmax_pow2_double(exponent - sum->exponent);
    }
}

#endif /* SOFTMAX_COMMON_H */
