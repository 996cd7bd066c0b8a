/* vfill: y[i] = value, the write-only bandwidth kernel. */
#include "prologue.h"

void KERNEL_NAME(size_t n, float* y, float value) {
    const vf v = v_set1(value);
#if STREAM
    const size_t head = v_stream_misalignment(y) < n ? v_stream_misalignment(y) : n;
    if (head != 0) {
        v_store_first(y, v, v_first(head));
        n -= head, y += head;
    }
#define STORE_OUTPUT v_stream
#else
#define STORE_OUTPUT v_store
#endif
    for (; n >= UNROLL; n -= UNROLL, y += UNROLL) {
        SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) STORE_OUTPUT(y + j * VLEN, v);
    }
    for (; n >= VLEN; n -= VLEN, y += VLEN) STORE_OUTPUT(y, v);
    if (n != 0) v_store_first(y, v, v_first(n));
#if STREAM
    v_stream_fence();
#endif
#undef STORE_OUTPUT
}

#include "epilogue.h"
