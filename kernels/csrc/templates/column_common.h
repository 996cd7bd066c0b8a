/* Helpers shared by the column templates (col_*.h): softmax along a
 * non-last axis, one lane per column.  A call covers n rows of w lanes
 * (w <= SOFTMAX_COLUMN_BLOCK), row i at x + i * stride; the lanes' running
 * state is an array of vectors on the kernel's stack, visited row by row, so
 * x streams through memory in rows of w contiguous floats.  Lanes past w in
 * the last vector are loaded as 0 and never stored. */
#ifndef SOFTMAX_COLUMN_COMMON_H
#define SOFTMAX_COLUMN_COMMON_H

#define COLUMN_VECS ((SOFTMAX_COLUMN_BLOCK + VLEN - 1) / VLEN)

SOFTMAX_INLINE size_t column_vectors(size_t w) { return (w + VLEN - 1) / VLEN; }

/* Vector k of a row of w lanes (the last one masked to the lanes that exist). */
SOFTMAX_INLINE vf column_load(const float* row, size_t k, size_t w) {
    if ((k + 1) * VLEN <= w) return v_load(row + k * VLEN);
    return v_load_first(row + k * VLEN, v_first(w - k * VLEN));
}

SOFTMAX_INLINE void column_store(float* row, size_t k, size_t w, vf v) {
    if ((k + 1) * VLEN <= w) {
        v_store(row + k * VLEN, v);
    } else {
        v_store_first(row + k * VLEN, v, v_first(w - k * VLEN));
    }
}

/* Writes the first w lanes of the per-lane double accumulators. */
SOFTMAX_INLINE void column_store_doubles(double* out, const vd* acc, size_t w) {
    for (size_t k = 0; k < column_vectors(w); k++) {
        double lanes[VLEN];
        vd_store(lanes, acc[k]);
        for (size_t j = 0; j < VLEN && k * VLEN + j < w; j++) out[k * VLEN + j] = lanes[j];
    }
}

SOFTMAX_INLINE void column_store_floats(float* out, const vf* acc, size_t w) {
    for (size_t k = 0; k < column_vectors(w); k++) column_store(out, k, w, acc[k]);
}

#endif /* SOFTMAX_COLUMN_COMMON_H */
