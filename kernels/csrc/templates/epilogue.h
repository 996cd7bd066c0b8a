/* Shared epilogue of every template: forgets the parameters. */
#undef KERNEL_NAME
#undef UNROLL
#undef ACC
#undef STREAM
#undef GUARDED
#undef VECS
#undef EXP_VARIANT
#undef EXP_SPEC
