/* Signatures of every kernel family, the plan that composes them into a
 * softmax algorithm, and the driver entry points. */
#ifndef SOFTMAX_KERNELS_H
#define SOFTMAX_KERNELS_H

#include "common.h"

/* Declares a kernel of a family; the generated instance files put these in
 * front of each definition, so a template whose signature drifts from its
 * family's fails to compile. */
#define SOFTMAX_DECLARE_rmax(name) float name(size_t n, const float* x)
#define SOFTMAX_DECLARE_rsum(name) double name(size_t n, const float* x)
#define SOFTMAX_DECLARE_raddexpminusmax(name) double name(size_t n, const float* x, float max)
#define SOFTMAX_DECLARE_raddexpminusmax_x2(name) double name(size_t n, const float* x, float max)
#define SOFTMAX_DECLARE_raddstoreexpminusmax(name) double name(size_t n, const float* x, float* y, float max)
#define SOFTMAX_DECLARE_vscaleexpminusmax(name) void name(size_t n, const float* x, float* y, float max, float scale)
#define SOFTMAX_DECLARE_vscale(name) void name(size_t n, const float* x, float* y, float scale)
#define SOFTMAX_DECLARE_vcopy(name) void name(size_t n, const float* x, float* y)
#define SOFTMAX_DECLARE_vfill(name) void name(size_t n, float* y, float value)
#define SOFTMAX_DECLARE_raddextexp(name) extexp_sum_t name(size_t n, const float* x)
#define SOFTMAX_DECLARE_raddextexp_guarded(name) extexp_sum_t name(size_t n, const float* x, float shift)
#define SOFTMAX_DECLARE_vscaleextexp(name) \
    void name(size_t n, const float* x, float* y, float scale_m, float scale_e)
#define SOFTMAX_DECLARE_vscaleextexp_guarded(name) \
    void name(size_t n, const float* x, float* y, float shift, float scale_m, float scale_e)
#define SOFTMAX_DECLARE_raddexponline(name) online_sum_t name(size_t n, const float* x)
#define SOFTMAX_DECLARE_vexpminus(name) void name(size_t n, const float* x, float* y)
#define SOFTMAX_DECLARE_vextexp(name) void name(size_t n, const float* x, float* m, float* e)

typedef SOFTMAX_DECLARE_rmax((*rmax_fn));
typedef SOFTMAX_DECLARE_rsum((*rsum_fn));
typedef SOFTMAX_DECLARE_raddexpminusmax((*raddexpminusmax_fn));
typedef SOFTMAX_DECLARE_raddstoreexpminusmax((*raddstoreexpminusmax_fn));
typedef SOFTMAX_DECLARE_vscaleexpminusmax((*vscaleexpminusmax_fn));
typedef SOFTMAX_DECLARE_vscale((*vscale_fn));
typedef SOFTMAX_DECLARE_vcopy((*vcopy_fn));
typedef SOFTMAX_DECLARE_vfill((*vfill_fn));
typedef SOFTMAX_DECLARE_raddextexp((*raddextexp_fn));
typedef SOFTMAX_DECLARE_raddextexp_guarded((*raddextexp_guarded_fn));
typedef SOFTMAX_DECLARE_vscaleextexp((*vscaleextexp_fn));
typedef SOFTMAX_DECLARE_vscaleextexp_guarded((*vscaleextexp_guarded_fn));
typedef SOFTMAX_DECLARE_raddexponline((*raddexponline_fn));
typedef SOFTMAX_DECLARE_vexpminus((*vexpminus_fn));
typedef SOFTMAX_DECLARE_vextexp((*vextexp_fn));

/* One entry of the generated kernel table. */
typedef struct {
    const char* name;
    void (*fn)(void);
} kernel_entry_t;

extern const kernel_entry_t softmax_kernel_table[];
extern const size_t softmax_kernel_count;

enum softmax_algorithm {
    SOFTMAX_THREE_PASS_RECOMPUTE = 0,
    SOFTMAX_THREE_PASS_RELOAD = 1,
    SOFTMAX_TWO_PASS = 2,
    SOFTMAX_ONLINE = 3,
};

/* The kernels one algorithm runs.  Unused slots may be NULL:
 *   recompute: rmax, raddexpminusmax, vscaleexpminusmax
 *   reload:    rmax, raddstoreexpminusmax, vscale
 *   two-pass:  raddextexp, vscaleextexp; guarded path: rmax,
 *              raddextexp_guarded, vscaleextexp_guarded
 *   online:    raddexponline, vscaleexpminusmax; guarded path: the
 *              recompute kernels */
typedef struct {
    int algorithm;
    rmax_fn rmax;
    raddexpminusmax_fn raddexpminusmax;
    vscaleexpminusmax_fn vscaleexpminusmax;
    raddstoreexpminusmax_fn raddstoreexpminusmax;
    vscale_fn vscale;
    raddextexp_fn raddextexp;
    vscaleextexp_fn vscaleextexp;
    raddextexp_guarded_fn raddextexp_guarded;
    vscaleextexp_guarded_fn vscaleextexp_guarded;
    raddexponline_fn raddexponline;
} softmax_plan_t;

/* Softmax of `rows` contiguous rows of n floats each; y may equal x.
 * Returns how many rows took a guarded path (non-finite inputs, or inputs
 * beyond ExtExp's accurate range for two-pass).  Flushes denormals while it
 * runs. */
size_t softmax_rows(const softmax_plan_t* plan, size_t rows, size_t n, const float* x, float* y);

/* Denormal control around direct kernel calls (x86: MXCSR FTZ|DAZ). */
unsigned softmax_denormals_off(void);
void softmax_denormals_restore(unsigned saved);

/* 1 when this CPU (and OS) can run the ISA: "scalar", "avx2" (with FMA),
 * "avx512f". */
int softmax_cpu_supports(const char* isa);

/* Error statistics of an exp kernel over float bit patterns
 * first, first + stride, ... <= last (all of one sign). */
typedef struct {
    double max_ulp;
    double sum_ulp;
    uint64_t count;
    float worst_input;
} ulp_stats_t;

ulp_stats_t softmax_expminus_ulp_scan(vexpminus_fn kernel, uint32_t first, uint32_t last, uint32_t stride);
ulp_stats_t softmax_extexp_ulp_scan(vextexp_fn kernel, uint32_t first, uint32_t last, uint32_t stride);

#endif /* SOFTMAX_KERNELS_H */
