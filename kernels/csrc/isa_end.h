/* Closes the target region opened by an isa_*.h layer. */
#if defined(SOFTMAX_TARGET_REGION)
#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#undef SOFTMAX_TARGET_REGION
#endif
#undef ISA_NAME
#undef VLEN
