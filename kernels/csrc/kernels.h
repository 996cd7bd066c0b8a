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
#define SOFTMAX_DECLARE_vsub(name) void name(size_t n, const float* x, float* y, float hi, float lo)
#define SOFTMAX_DECLARE_vcopy(name) void name(size_t n, const float* x, float* y)
#define SOFTMAX_DECLARE_vcopy_paced SOFTMAX_DECLARE_vcopy
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

/* Column kernels: the passes over n rows of w <= SOFTMAX_COLUMN_BLOCK lanes,
 * row i at x + i * stride (softmax along a non-last axis, vectorised along
 * the contiguous inner one).  Each lane is its own softmax; per-lane inputs
 * and results are arrays of w. */
#define SOFTMAX_DECLARE_col_rmax(name) void name(size_t n, size_t w, size_t stride, const float* x, float* max)
#define SOFTMAX_DECLARE_col_raddexpminusmax(name) \
    void name(size_t n, size_t w, size_t stride, const float* x, const float* max, double* sum)
#define SOFTMAX_DECLARE_col_raddstoreexpminusmax(name) \
    void name(size_t n, size_t w, size_t stride, const float* x, float* y, const float* max, double* sum)
#define SOFTMAX_DECLARE_col_vscaleexpminusmax(name) \
    void name(size_t n, size_t w, size_t stride, const float* x, float* y, const float* max, const float* scale)
#define SOFTMAX_DECLARE_col_vscale(name) \
    void name(size_t n, size_t w, size_t stride, const float* x, float* y, const float* scale)
#define SOFTMAX_DECLARE_col_raddextexp(name) \
    void name(size_t n, size_t w, size_t stride, const float* x, double* m, float* e)
#define SOFTMAX_DECLARE_col_vscaleextexp(name) \
    void name(size_t n, size_t w, size_t stride, const float* x, float* y, const float* scale_m, const float* scale_e)
#define SOFTMAX_DECLARE_col_raddexponline(name) \
    void name(size_t n, size_t w, size_t stride, const float* x, float* max, double* sum)
#define SOFTMAX_DECLARE_col_vsub(name) \
    void name(size_t n, size_t w, size_t stride, const float* x, float* y, const float* hi, const float* lo)

typedef SOFTMAX_DECLARE_rmax((*rmax_fn));
typedef SOFTMAX_DECLARE_rsum((*rsum_fn));
typedef SOFTMAX_DECLARE_raddexpminusmax((*raddexpminusmax_fn));
typedef SOFTMAX_DECLARE_raddstoreexpminusmax((*raddstoreexpminusmax_fn));
typedef SOFTMAX_DECLARE_vscaleexpminusmax((*vscaleexpminusmax_fn));
typedef SOFTMAX_DECLARE_vscale((*vscale_fn));
typedef SOFTMAX_DECLARE_vsub((*vsub_fn));
typedef SOFTMAX_DECLARE_vcopy((*vcopy_fn));
typedef SOFTMAX_DECLARE_vfill((*vfill_fn));
typedef SOFTMAX_DECLARE_raddextexp((*raddextexp_fn));
typedef SOFTMAX_DECLARE_raddextexp_guarded((*raddextexp_guarded_fn));
typedef SOFTMAX_DECLARE_vscaleextexp((*vscaleextexp_fn));
typedef SOFTMAX_DECLARE_vscaleextexp_guarded((*vscaleextexp_guarded_fn));
typedef SOFTMAX_DECLARE_raddexponline((*raddexponline_fn));
typedef SOFTMAX_DECLARE_vexpminus((*vexpminus_fn));
typedef SOFTMAX_DECLARE_vextexp((*vextexp_fn));
typedef SOFTMAX_DECLARE_col_rmax((*col_rmax_fn));
typedef SOFTMAX_DECLARE_col_raddexpminusmax((*col_raddexpminusmax_fn));
typedef SOFTMAX_DECLARE_col_raddstoreexpminusmax((*col_raddstoreexpminusmax_fn));
typedef SOFTMAX_DECLARE_col_vscaleexpminusmax((*col_vscaleexpminusmax_fn));
typedef SOFTMAX_DECLARE_col_vscale((*col_vscale_fn));
typedef SOFTMAX_DECLARE_col_raddextexp((*col_raddextexp_fn));
typedef SOFTMAX_DECLARE_col_vscaleextexp((*col_vscaleextexp_fn));
typedef SOFTMAX_DECLARE_col_raddexponline((*col_raddexponline_fn));
typedef SOFTMAX_DECLARE_col_vsub((*col_vsub_fn));

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
 *              recompute kernels
 * and the same passes' column kernels (col_*) for a non-last axis; columns
 * that take a guarded path run the row kernels on a copy of the column.
 *
 * log_softmax (plan->log_softmax = 1): the same reductions, then the write pass
 * vsub (col_vsub), y = x - log(normaliser):
 *   both three-pass variants: rmax, raddexpminusmax, vsub
 *   two-pass:  raddextexp, vsub; guarded path: rmax, raddextexp_guarded
 *   online:    raddexponline, vsub; guarded path: the three-pass kernels
 * (see "log_softmax" in driver.c).
 *
 * Threads: a call runs on at most `threads` threads, and on fewer when it has
 * less than min_elements_per_thread elements per thread (0: no minimum); a
 * row is split across threads only into chunks of at least min_split_chunk
 * elements.  See softmax_schedule. */
typedef struct {
    int algorithm;
    int threads;
    size_t min_elements_per_thread;
    size_t min_split_chunk;
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
    col_rmax_fn col_rmax;
    col_raddexpminusmax_fn col_raddexpminusmax;
    col_vscaleexpminusmax_fn col_vscaleexpminusmax;
    col_raddstoreexpminusmax_fn col_raddstoreexpminusmax;
    col_vscale_fn col_vscale;
    col_raddextexp_fn col_raddextexp;
    col_vscaleextexp_fn col_vscaleextexp;
    col_raddexponline_fn col_raddexponline;
    int log_softmax; /* 1: log_softmax instead of softmax */
    vsub_fn vsub;
    col_vsub_fn col_vsub;
} softmax_plan_t;

/* Most threads (and row chunks) one call uses. */
#define SOFTMAX_MAX_THREADS 256

/* Softmax (log_softmax when plan->log_softmax) of `rows` contiguous rows of n floats each; y may equal x.
 * Returns how many rows took a guarded path (non-finite inputs, or inputs
 * beyond ExtExp's accurate range for two-pass).  Flushes denormals while it
 * runs (on every thread). */
size_t softmax_rows(const softmax_plan_t* plan, size_t rows, size_t n, const float* x, float* y);

/* Softmax along the middle axis of a C-contiguous (outer, n, inner) array:
 * element (o, i, j) at o*n*inner + i*inner + j; y may equal x.  Returns the
 * number of (o, j) columns that took a guarded path, or SOFTMAX_NO_MEMORY
 * when a column copy for a guarded path could not be allocated. */
size_t softmax_strided(const softmax_plan_t* plan, size_t outer, size_t n, size_t inner, const float* x, float* y);
#define SOFTMAX_NO_MEMORY ((size_t)-1)

/* How a call spreads over threads: one thread; whole rows per thread; every
 * row split into `threads` chunks; blocks of columns per thread. */
enum softmax_mode { SOFTMAX_ONE_THREAD = 0, SOFTMAX_SPREAD_ROWS = 1, SOFTMAX_SPLIT_ROWS = 2, SOFTMAX_SPREAD_COLUMNS = 3 };
typedef struct {
    int threads;
    int mode;
} softmax_schedule_t;

/* The schedule softmax_strided (inner > 1) or softmax_rows (inner == 1,
 * rows = outer) runs with. */
softmax_schedule_t softmax_schedule(const softmax_plan_t* plan, size_t outer, size_t n, size_t inner);

/* 1 when the driver was compiled with OpenMP; without it every call runs on
 * one thread. */
int softmax_openmp(void);

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
