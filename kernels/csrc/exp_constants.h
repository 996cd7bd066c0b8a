/* Constants of the degree-5 exp approximation shared by every ISA.
 *
 * e^x = 2^n * e^t with n = round(x * log2(e)) and t = x - n*ln2 in
 * [-ln2/2, ln2/2].  ln2 is split Cody-Waite style into a high and a low part
 * applied with two FMAs; e^t is a minimax polynomial 1 + c1 t + ... + c5 t^5
 * with float coefficients (Dukhan & Ablavatski 2020, XNNPACK's "p5"). */
#ifndef SOFTMAX_EXP_CONSTANTS_H
#define SOFTMAX_EXP_CONSTANTS_H

#define EXP_LOG2E 0x1.715476p+0f
#define EXP_MINUS_LN2_HI -0x1.62E43p-1f
#define EXP_MINUS_LN2_LO 0x1.05C61p-29f
#define EXP_C1 0x1.FFFFF6p-1f
#define EXP_C2 0x1.FFFDC6p-2f
#define EXP_C3 0x1.555A80p-3f
#define EXP_C4 0x1.573A1Ap-5f
#define EXP_C5 0x1.0F9F9Cp-7f

/* fma(z, log2e, MAGIC) rounds z*log2e to an integer n and leaves n + 127 in
 * the low mantissa bits, so shifting the bits left by 23 gives 2^n. */
#define EXP_MAGIC_BIAS 0x1.8000FEp23f
/* Below this, e^z is not a normal float: exp-minus kernels return 0. */
#define EXP_DENORMAL_CUTOFF -0x1.5D589Ep6f

/* ExtExp stays within 2 ULP while |x| < 2^16 (measured per binade, see
 * tests/test_exp.py; beyond it x*log2e's rounding pushes t outside the
 * polynomial's interval).  Pass 2 of two-pass clamps ExtExp's argument at
 * -EXTEXP_MAX_ABS_INPUT (isa_helpers.h, v_extexp_argument); the fast path
 * checks the exponent of its sum against this bound and takes the guarded
 * path otherwise. */
#define EXTEXP_MAX_ABS_INPUT 0x1p16f
/* The guarded two-pass path evaluates ExtExp(max(x - shift, -EXTEXP_MAX_ABS_INPUT))
 * with shift = 0 while |max x| stays below this threshold (so no rounding is
 * introduced) and shift = max x beyond it. */
#define EXTEXP_SHIFT_THRESHOLD 0x1p15f

#endif /* SOFTMAX_EXP_CONSTANTS_H */
