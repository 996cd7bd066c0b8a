/* Shared epilogue of every template: forgets the parameters. */
#undef KERNEL_NAME
#undef UNROLL
#undef ACC
#undef STREAM
#undef GUARDED
#undef PREFETCH
#undef PREFETCH_AHEAD
#undef VECS
#undef EXP_VARIANT
#undef EXP_SPEC
