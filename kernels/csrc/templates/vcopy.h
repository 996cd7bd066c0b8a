/* vcopy: y[i] = x[i], the copy bandwidth kernel.
 *
 * PACED (vcopy_paced): each vector first passes PACE_FMAS dependent FMAs by 1
 * and -0, which leave every value as it is (NaN, infinities and signed zeros
 * included; denormals become 0, as kernels run with FTZ/DAZ).  A pass with arithmetic between its loads and stores can move its
 * bytes faster than a bare copy (measured on a Zen 3: 1-2 % out of cache), so
 * the read+write roofs try a copy paced like one.  1 and -0 are read through
 * volatiles: constants the compiler could fold away. */
#include "prologue.h"

#ifndef PACED
#define PACED 0
#endif
#define PACE_FMAS 12

#if PACED
#define PACED_MAP SOFTMAX_CAT2(KERNEL_NAME, _pace)  /* one helper per kernel of this translation unit */
SOFTMAX_INLINE vf PACED_MAP(vf v, vf one, vf minus_zero) {
    for (int k = 0; k < PACE_FMAS; k++) v = v_fma(v, one, minus_zero);
    return v;
}
#endif

void KERNEL_NAME(size_t n, const float* x, float* y) {
#if PACED
    static volatile float pace_one = 1.0f, pace_minus_zero = -0.0f;
    const vf one = v_set1(pace_one), minus_zero = v_set1(pace_minus_zero);
#define MAP(v) PACED_MAP((v), one, minus_zero)
#else
#define MAP(v) (v)
#endif
#include "map_body.h"
#undef MAP
}
#undef PACED_MAP
#undef PACED

#include "epilogue.h"
