/* col_raddextexp: per-lane sum of e^x over n rows as m * 2^e, m in double
 * (pass 1 of the two-pass algorithm, column form).  Each lane's exponent is
 * raised to the largest ExtExp exponent seen, as in raddextexp.h. */
#include "prologue.h"
#include "column_common.h"

void KERNEL_NAME(size_t n, size_t w, size_t stride, const float* x, double* m, float* e) {
    vd run_m[COLUMN_VECS];
    vf run_e[COLUMN_VECS];
    const size_t vecs = column_vectors(w);
    for (size_t k = 0; k < vecs; k++) run_m[k] = vd_zero(), run_e[k] = v_set1(-FLT_MAX);
    for (; n != 0; n--, x += stride) {
        for (size_t k = 0; k < vecs; k++) {
            vf exponent, p = v_extexp(column_load(x, k, w), &exponent);
            v_extexp_accumulate(&exp_p5, &run_m[k], &run_e[k], &p, &exponent, 1);
        }
    }
    column_store_doubles(m, run_m, w);
    column_store_floats(e, run_e, w);
}

#include "epilogue.h"
