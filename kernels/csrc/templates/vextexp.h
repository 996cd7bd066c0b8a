/* vextexp: (m[i], e[i]) with e^x[i] = m[i] * 2^e[i], ExtExp on its own
 * (used to measure its error against a float64 reference). */
#include "prologue.h"

void KERNEL_NAME(size_t n, const float* x, float* m, float* e) {
    for (; n >= VLEN; n -= VLEN, x += VLEN, m += VLEN, e += VLEN) {
        vf exponent;
        v_store(m, v_extexp_with(EXP_SPEC, v_load(x), &exponent));
        v_store(e, v_extexp_integer(EXP_SPEC, exponent));
    }
    if (n != 0) {
        const vmask tail = v_first(n);
        vf exponent;
        v_store_first(m, v_extexp_with(EXP_SPEC, v_load_first(x, tail), &exponent), tail);
        v_store_first(e, v_extexp_integer(EXP_SPEC, exponent), tail);
    }
}

#include "epilogue.h"
