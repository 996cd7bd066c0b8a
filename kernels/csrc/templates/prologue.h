/* Shared prologue of every template: checks the parameters and derives the
 * block length of the blocked reductions. */
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
#define VECS (UNROLL / VLEN)
#if VECS % ACC != 0
#error "ACC must divide UNROLL / VLEN"
#endif
/* Terms each accumulator lane sums before the block is folded into a double:
 * bounds the float rounding error independently of n. */
#ifndef BLOCK_TERMS
#define BLOCK_TERMS 128
#endif
#define BLOCK_ITERATIONS ((BLOCK_TERMS * ACC + VECS - 1) / VECS)
