/* Shared prologue of every template: checks the parameters. */
#if !defined(KERNEL_NAME) || !defined(UNROLL)
#error "define KERNEL_NAME and UNROLL before including a template"
#endif
#if UNROLL % VLEN != 0
#error "UNROLL must be a multiple of VLEN"
#endif
#ifndef ACC
#define ACC 1
#endif
#ifndef STREAM
#define STREAM 0
#endif
#ifndef GUARDED
#define GUARDED 0
#endif
/* PREFETCH > 0: the bandwidth kernels prefetch their input PREFETCH elements
 * ahead, one prefetch per 64-byte line of each main-loop block. */
#ifndef PREFETCH
#define PREFETCH 0
#endif
#if PREFETCH && (defined(__GNUC__) || defined(__clang__))
#define PREFETCH_AHEAD(p) SOFTMAX_UNROLL for (int line_ = 0; line_ < UNROLL; line_ += 16) \
    __builtin_prefetch((p) + PREFETCH + line_, 0, 3)
#else
#define PREFETCH_AHEAD(p) ((void)0)
#endif
/* The exponential: an entry of kernels/registry.py EXPS (exp_coefficients.h). */
#ifndef EXP_VARIANT
#define EXP_VARIANT p5
#endif
#define EXP_SPEC (&SOFTMAX_CAT2(exp_, EXP_VARIANT))
#define VECS (UNROLL / VLEN)
#if VECS % ACC != 0
#error "ACC must divide UNROLL / VLEN"
#endif
#if VECS > 16
#error "at most 16 vectors per iteration"
#endif
