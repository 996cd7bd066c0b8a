/* Body of the elementwise templates: y[i] = MAP(x[i]) for i < n.
 * The including template defines MAP(v) and any constants it uses.  With
 * STREAM, a masked head aligns y so the bulk uses non-temporal stores. */
#if STREAM
{
    const size_t head = v_stream_misalignment(y) < n ? v_stream_misalignment(y) : n;
    if (head != 0) {
        const vmask m = v_first(head);
        v_store_first(y, MAP(v_load_first(x, m)), m);
        n -= head, x += head, y += head;
    }
}
#define STORE_OUTPUT v_stream
#else
#define STORE_OUTPUT v_store
#endif
for (; n >= UNROLL; n -= UNROLL, x += UNROLL, y += UNROLL) {
    PREFETCH_AHEAD(x);
    SOFTMAX_UNROLL for (int j = 0; j < VECS; j++) STORE_OUTPUT(y + j * VLEN, MAP(v_load(x + j * VLEN)));
}
for (; n >= VLEN; n -= VLEN, x += VLEN, y += VLEN) STORE_OUTPUT(y, MAP(v_load(x)));
if (n != 0) {
    const vmask tail = v_first(n);
    v_store_first(y, MAP(v_load_first(x, tail)), tail);
}
#if STREAM
v_stream_fence();
#endif
#undef STORE_OUTPUT
