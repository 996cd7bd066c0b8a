/* The description of one exponential of the exp family (an entry of
 * kernels/registry.py EXPS), and every exponential's description, generated
 * with its coefficients and tables into exp_coefficients.h.  The functions of
 * exp_family.h take one as a compile-time constant: after inlining, each
 * kernel holds only its own exponential's instructions. */
#ifndef SOFTMAX_EXP_SPEC_H
#define SOFTMAX_EXP_SPEC_H

#include "common.h"
#include "exp_constants.h"

typedef struct {
    int paper;      /* 1: the paper's p5, bit for bit the library's original exp */
    int reductions; /* t = z - m ln2 with 1 constant (ln2 rounded) or 2 (Cody-Waite) */
    int table_bits; /* b: 2^m = 2^floor(m) * table[j], m a multiple of 2^-b; 0: no table */
    int degree;     /* e^t ~ 1 + c[0] t + ... + c[degree-1] t^degree */
    float c[5];
    const float* table;         /* 2^(j/2^b), j < 2^b */
    const float* table_minus_j; /* the same, minus j << (23 - b) in its bits */
} exp_spec_t;

#include "exp_coefficients.h"

#endif /* SOFTMAX_EXP_SPEC_H */
