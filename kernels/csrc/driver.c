/* Composes the pass kernels into the four softmax algorithms, with one rule
 * for non-finite inputs shared by every algorithm and ISA (scipy's):
 *   a row containing NaN or +inf, or made only of -inf, becomes all NaN;
 *   -inf elements of any other row become exactly 0.
 * Each fast path detects such rows from values it computes anyway (a
 * non-finite max or sum), so finite rows pay nothing for the rule.
 *
 * Threads (OpenMP).  A call takes one of three schedules (softmax_schedule):
 *   spread rows:   each thread runs a contiguous block of whole rows, each
 *                  row exactly as on one thread;
 *   split rows:    every row is cut into one chunk per thread.  Each
 *                  reduction pass computes one partial result per chunk,
 *                  then a barrier, then every thread merges all partials in
 *                  chunk order (so all agree, and no second barrier is
 *                  needed) and decides the row's path from the merged value,
 *                  exactly as one thread decides from its whole-row value;
 *                  the write pass runs per chunk.  Two-pass and online cost
 *                  one barrier per row (merging (m, e) or (max, sum) pairs),
 *                  three-pass two (the max, then the sum);
 *   spread columns (a non-last axis): blocks of columns per thread.
 * The partition depends only on the shape and the thread count, and merges
 * run in a fixed order, so a given thread count gives bit-identical results
 * on every run, however many threads the OpenMP runtime actually provides.
 * A row algorithm run as one chunk is exactly the single-thread code:
 * a merge of one partial returns it unchanged.
 *
 * log_softmax (plan->log_softmax) runs the same reductions, schedules and
 * partitions, with a subtraction as the write pass (see "log_softmax"). */
#include "kernels.h"
#include "exp_constants.h"

#include <stdlib.h>

#if SOFTMAX_X86_64
#include <immintrin.h>
#endif

#if defined(_OPENMP)
#include <omp.h>
#define SOFTMAX_OMP(directive) _Pragma(directive)
#else
#define SOFTMAX_OMP(directive)
#endif

/* The two-pass fast path is exact while the sum's exponent keeps every term
 * that survives the final scaling (at most 150 binades below it) inside
 * ExtExp's accurate range. */
#define EXTEXP_SAFE_EXPONENT ((double)EXTEXP_MAX_ABS_INPUT * 1.4426950408889634 - 160.0)

#define LN2_DOUBLE 0x1.62e42fefa39efp-1 /* ln 2 rounded to double */

/* Chunks of a split row start at multiples of a cache line of floats. */
#define CHUNK_ALIGN 16

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static void fill_nan(size_t n, float* y) {
    for (size_t i = 0; i < n; i++) y[i] = NAN;
}

/* The sum of e^(x_i - max) includes e^0 = 1, so anything else flags a NaN. */
static int normalizer_ok(double sum) { return sum >= 1.0 && sum < INFINITY; }

static int online_sum_ok(online_sum_t sum) { return isfinite(sum.max) && normalizer_ok(sum.sum); }

static int extexp_fast_path_ok(extexp_sum_t sum) {
    return isfinite(sum.mantissa) && sum.mantissa > 0.0 && fabs(sum.exponent) <= EXTEXP_SAFE_EXPONENT;
}

/* The guarded two-pass shift: 0 while |max| is small enough that x - 0 adds
 * no rounding, max itself beyond. */
static float guarded_shift(float max) { return fabsf(max) <= EXTEXP_SHIFT_THRESHOLD ? 0.0f : max; }

/* ---- merging the partial results of a row's chunks (in chunk order) ---- */

/* NaN propagates: any NaN partial makes the row's max NaN. */
static float merged_max(const float* max, int parts) {
    float m = max[0];
    for (int p = 1; p < parts; p++) m = (max[p] > m || isnan(max[p])) ? max[p] : m;
    return m;
}

static double merged_sum(const double* sum, int parts) {
    double total = sum[0];
    for (int p = 1; p < parts; p++) total += sum[p];
    return total;
}

/* Exact: each pair is rescaled by a power of two. */
static extexp_sum_t merged_extexp(const extexp_sum_t* sums, int parts) {
    if (parts == 1) return sums[0];
    extexp_sum_t total = {0.0, -INFINITY};
    for (int p = 0; p < parts; p++) extexp_sum_add(&total, sums[p].mantissa, sums[p].exponent);
    return total;
}

/* (max, sum) pairs: sum = sum_p sum_p * e^(max_p - max). */
static online_sum_t merged_online(const online_sum_t* sums, int parts) {
    if (parts == 1) return sums[0];
    float max = sums[0].max;
    for (int p = 1; p < parts; p++) max = (sums[p].max > max || isnan(sums[p].max)) ? sums[p].max : max;
    online_sum_t total = {max, 0.0};
    for (int p = 0; p < parts; p++) total.sum += sums[p].sum * exp((double)sums[p].max - (double)max);
    return total;
}

/* ---- one row, run by a team of threads over its chunks ---- */

/* Where the chunks of a row leave their partial results: slot p for chunk p. */
typedef struct {
    extexp_sum_t* extexp;
    online_sum_t* online;
    float* max;
    double* sum;
} partials_t;

/* A row cut into `parts` chunks; this thread (member of `members`) runs
 * chunks member, member + members, ...  One thread alone: parts == 1. */
typedef struct {
    const softmax_plan_t* plan;
    size_t n;
    const float* x;
    float* y;
    int parts, member, members;
    partials_t partials; /* shared by the team */
} row_team_t;

static size_t chunk_start(const row_team_t* t, int part) {
    if (part >= t->parts) return t->n;
    return t->n * (size_t)part / (size_t)t->parts / CHUNK_ALIGN * CHUNK_ALIGN;
}

/* for each of this thread's chunks: slot `part`, elements [lo, lo + len) */
#define EACH_CHUNK(t, part, lo, len)                                                              \
    for (int part = (t)->member; part < (t)->parts; part += (t)->members)                         \
        for (size_t lo = chunk_start((t), part), len = chunk_start((t), part + 1) - lo, once_ = 1; \
             once_; once_ = 0)

/* All partials written before any is read.  Only teams of several threads
 * wait: a barrier outside our own parallel region could bind to a caller's. */
static void team_barrier(const row_team_t* t) {
    if (t->members > 1) {
        SOFTMAX_OMP("omp barrier")
    }
}

static int team_fill_nan(const row_team_t* t) {
    EACH_CHUNK(t, part, lo, len) fill_nan(len, t->y + lo);
    return 1;
}

static float team_max(const row_team_t* t) {
    EACH_CHUNK(t, part, lo, len) t->partials.max[part] = t->plan->rmax(len, t->x + lo);
    team_barrier(t);
    return merged_max(t->partials.max, t->parts);
}

/* The sum of e^(x - max) without stores (three-pass's pass 2). */
static double team_sum_expminusmax(const row_team_t* t, float max) {
    EACH_CHUNK(t, part, lo, len) t->partials.sum[part] = t->plan->raddexpminusmax(len, t->x + lo, max);
    team_barrier(t);
    return merged_sum(t->partials.sum, t->parts);
}

static extexp_sum_t team_extexp(const row_team_t* t) {
    EACH_CHUNK(t, part, lo, len) t->partials.extexp[part] = t->plan->raddextexp(len, t->x + lo);
    team_barrier(t);
    return merged_extexp(t->partials.extexp, t->parts);
}

static extexp_sum_t team_extexp_guarded(const row_team_t* t, float shift) {
    EACH_CHUNK(t, part, lo, len) t->partials.extexp[part] = t->plan->raddextexp_guarded(len, t->x + lo, shift);
    team_barrier(t);
    return merged_extexp(t->partials.extexp, t->parts);
}

static online_sum_t team_online(const row_team_t* t) {
    EACH_CHUNK(t, part, lo, len) t->partials.online[part] = t->plan->raddexponline(len, t->x + lo);
    team_barrier(t);
    return merged_online(t->partials.online, t->parts);
}

static int guarded_extexp_ok(extexp_sum_t sum) { return isfinite(sum.mantissa) && sum.mantissa > 0.0; }

/* Each returns 1 when the row took a guarded path, 0 otherwise. */

static int row_three_pass_recompute(const row_team_t* t) {
    const softmax_plan_t* p = t->plan;
    const float max = team_max(t);
    if (!isfinite(max)) return team_fill_nan(t);
    const double sum = team_sum_expminusmax(t, max);
    if (!normalizer_ok(sum)) return team_fill_nan(t);
    EACH_CHUNK(t, part, lo, len) p->vscaleexpminusmax(len, t->x + lo, t->y + lo, max, (float)(1.0 / sum));
    return 0;
}

static int row_three_pass_reload(const row_team_t* t) {
    const softmax_plan_t* p = t->plan;
    const float max = team_max(t);
    if (!isfinite(max)) return team_fill_nan(t);
    EACH_CHUNK(t, part, lo, len) t->partials.sum[part] = p->raddstoreexpminusmax(len, t->x + lo, t->y + lo, max);
    team_barrier(t);
    const double sum = merged_sum(t->partials.sum, t->parts);
    if (!normalizer_ok(sum)) return team_fill_nan(t);
    EACH_CHUNK(t, part, lo, len) p->vscale(len, t->y + lo, t->y + lo, (float)(1.0 / sum));
    return 0;
}

/* Rows with -inf, NaN, +inf or |x| beyond ExtExp's range: find the max, then
 * run the two passes on max(x - shift, -2^16), shifting only when the max
 * itself is huge (so ordinary rows keep two-pass accuracy). */
static int row_two_pass_guarded(const row_team_t* t) {
    const softmax_plan_t* p = t->plan;
    const float max = team_max(t);
    if (!isfinite(max)) return team_fill_nan(t);
    const float shift = guarded_shift(max);
    const extexp_sum_t sum = team_extexp_guarded(t, shift);
    if (!guarded_extexp_ok(sum)) return team_fill_nan(t);
    const float scale_m = (float)(1.0 / sum.mantissa), scale_e = (float)-sum.exponent;
    EACH_CHUNK(t, part, lo, len) p->vscaleextexp_guarded(len, t->x + lo, t->y + lo, shift, scale_m, scale_e);
    return 1;
}

/* The merged sum has the whole row's exponent (the largest term's) and is
 * non-finite exactly when one chunk's is, so the row takes the path it takes
 * on one thread. */
static int row_two_pass(const row_team_t* t) {
    const softmax_plan_t* p = t->plan;
    const extexp_sum_t sum = team_extexp(t);
    if (!extexp_fast_path_ok(sum)) return row_two_pass_guarded(t);
    const float scale_m = (float)(1.0 / sum.mantissa), scale_e = (float)-sum.exponent;
    EACH_CHUNK(t, part, lo, len) p->vscaleextexp(len, t->x + lo, t->y + lo, scale_m, scale_e);
    return 0;
}

static int row_online(const row_team_t* t) {
    const softmax_plan_t* p = t->plan;
    const online_sum_t sum = team_online(t);
    if (!online_sum_ok(sum)) {
        row_three_pass_recompute(t);
        return 1;
    }
    EACH_CHUNK(t, part, lo, len) p->vscaleexpminusmax(len, t->x + lo, t->y + lo, sum.max, (float)(1.0 / sum.sum));
    return 0;
}

/* ---- log_softmax: the same reductions, then y = x - L ----
 * L = log sum_i e^(x_i), in double from the reductions' results:
 *   three-pass, online: L = max + log(sum of e^(x - max));
 *   two-pass:           L = log(m) + e ln 2 for the ExtExp sum m * 2^e
 *                       (guarded: shift + log(m) + e ln 2).
 * L is rounded once, to the float pair hi = L, lo = L - hi (from the
 * exact double-double max + log(sum), see float_pair), and the write pass
 * computes (x - hi) - lo.  One float would not do: rounding L costs up
 * to 2^-24 |L| absolute, and |L| ~ |max| can dwarf the log-probabilities
 * near the max (x around 1e4: an error of 5e-4 on outputs of magnitude
 * log n), while x - hi is exact for every x within a factor 2 of hi.
 *
 * The two three-pass variants coincide: reloading would store e^(x - max)
 * in pass 2 for pass 3 to read, but y = x - L needs x itself, not e^(x -
 * max) (log of the stored values would cost a log per element and lose
 * their accuracy), so both run max, sum without stores, subtract.
 *
 * Non-finite inputs: log_softmax is log(softmax) elementwise on the rows
 * softmax's rule covers: a row with NaN or +inf, or only -inf, is all NaN
 * (softmax is NaN there), and -inf elements of other rows become -inf
 * (x - L, the log of softmax's exact 0).  The rows are detected exactly as
 * softmax detects them. */

typedef struct {
    float hi, lo;
} float_pair_t;

/* a + b rounded once to a float pair: TwoSum gives s + e = a + b exactly in
 * doubles (a double sum alone would lose log(sum) next to a max of 1e30),
 * then hi = s rounded and lo = (s - hi) + e rounded. */
static float_pair_t float_pair(double a, double b) {
    const double s = a + b, b_part = s - a, e = (a - (s - b_part)) + (b - b_part);
    const float hi = (float)s;
    return (float_pair_t){hi, (float)((s - (double)hi) + e)};
}

/* y = x - (a + b) */
static void team_subtract(const row_team_t* t, double a, double b) {
    const float_pair_t c = float_pair(a, b);
    EACH_CHUNK(t, part, lo, len) t->plan->vsub(len, t->x + lo, t->y + lo, c.hi, c.lo);
}

static double log_extexp(extexp_sum_t sum) { return log(sum.mantissa) + sum.exponent * LN2_DOUBLE; }

static int row_log_three_pass(const row_team_t* t) {
    const float max = team_max(t);
    if (!isfinite(max)) return team_fill_nan(t);
    const double sum = team_sum_expminusmax(t, max);
    if (!normalizer_ok(sum)) return team_fill_nan(t);
    team_subtract(t, (double)max, log(sum));
    return 0;
}

static int row_log_two_pass_guarded(const row_team_t* t) {
    const float max = team_max(t);
    if (!isfinite(max)) return team_fill_nan(t);
    const float shift = guarded_shift(max);
    const extexp_sum_t sum = team_extexp_guarded(t, shift);
    if (!guarded_extexp_ok(sum)) return team_fill_nan(t);
    team_subtract(t, (double)shift, log_extexp(sum));
    return 1;
}

static int row_log_two_pass(const row_team_t* t) {
    const extexp_sum_t sum = team_extexp(t);
    if (!extexp_fast_path_ok(sum)) return row_log_two_pass_guarded(t);
    team_subtract(t, log_extexp(sum), 0.0);
    return 0;
}

static int row_log_online(const row_team_t* t) {
    const online_sum_t sum = team_online(t);
    if (!online_sum_ok(sum)) {
        row_log_three_pass(t);
        return 1;
    }
    team_subtract(t, (double)sum.max, log(sum.sum));
    return 0;
}

typedef int (*row_fn)(const row_team_t*);

static row_fn row_log_algorithm(int algorithm) {
    switch (algorithm) {
        case SOFTMAX_THREE_PASS_RECOMPUTE:
        case SOFTMAX_THREE_PASS_RELOAD: return row_log_three_pass;
        case SOFTMAX_TWO_PASS: return row_log_two_pass;
        case SOFTMAX_ONLINE: return row_log_online;
        default: return NULL;
    }
}

static row_fn row_softmax_algorithm(int algorithm) {
    switch (algorithm) {
        case SOFTMAX_THREE_PASS_RECOMPUTE: return row_three_pass_recompute;
        case SOFTMAX_THREE_PASS_RELOAD: return row_three_pass_reload;
        case SOFTMAX_TWO_PASS: return row_two_pass;
        case SOFTMAX_ONLINE: return row_online;
        default: return NULL;
    }
}

static row_fn row_algorithm(const softmax_plan_t* plan) {
    return plan->log_softmax ? row_log_algorithm(plan->algorithm) : row_softmax_algorithm(plan->algorithm);
}

/* The guarded path of a column, run on a contiguous copy of it. */
static row_fn row_guarded_algorithm(const softmax_plan_t* plan) {
    switch (plan->algorithm) {
        case SOFTMAX_TWO_PASS: return plan->log_softmax ? row_log_two_pass_guarded : row_two_pass_guarded;
        case SOFTMAX_ONLINE: return plan->log_softmax ? row_log_three_pass : row_three_pass_recompute;
        default: return NULL; /* three-pass: a guarded column is all NaN */
    }
}

/* One thread, one whole row. */
static int row_alone(const softmax_plan_t* plan, row_fn row, size_t n, const float* x, float* y) {
    extexp_sum_t extexp;
    online_sum_t online;
    float max;
    double sum;
    const row_team_t t = {plan, n, x, y, 1, 0, 1, {&extexp, &online, &max, &sum}};
    return row(&t);
}

unsigned softmax_denormals_off(void) {
#if SOFTMAX_X86_64
    const unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ | DAZ */
    return saved;
#else
    return 0;
#endif
}

void softmax_denormals_restore(unsigned saved) {
#if SOFTMAX_X86_64
    _mm_setcsr(saved);
#else
    (void)saved;
#endif
}

int softmax_openmp(void) {
#if defined(_OPENMP)
    return 1;
#else
    return 0;
#endif
}

/* ---- running a team ---- */

typedef void (*team_body_fn)(void* job, int member, int members);

/* Runs body(job, member, members) on `threads` threads (inline when 1), each
 * with denormals flushed (MXCSR is per thread). */
static void run_team(int threads, team_body_fn body, void* job) {
#if defined(_OPENMP)
    if (threads > 1) {
        SOFTMAX_OMP("omp parallel num_threads(threads)")
        {
            const unsigned saved = softmax_denormals_off();
            body(job, omp_get_thread_num(), omp_get_num_threads());
            softmax_denormals_restore(saved);
        }
        return;
    }
#endif
    (void)threads;
    body(job, 0, 1);
}

/* Start of part `part` of `parts` balanced parts of `count` items. */
static size_t part_start(size_t count, int parts, int part) { return count * (size_t)part / (size_t)parts; }

/* ---- schedules ---- */

#define COLUMN_ALIGN 16

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Threads worth starting for `total` elements: at most plan->threads, and
 * no more than one per min_elements_per_thread. */
static size_t useful_threads(const softmax_plan_t* plan, size_t total) {
    size_t t = plan->threads > 1 ? (size_t)plan->threads : 1;
    if (t > SOFTMAX_MAX_THREADS) t = SOFTMAX_MAX_THREADS;
    if (plan->min_elements_per_thread > 0) t = min_size(t, total / plan->min_elements_per_thread);
    if (!softmax_openmp()) t = 1;
    return t > 1 ? t : 1;
}

/* Blocks of columns per outer index: at most SOFTMAX_COLUMN_BLOCK lanes
 * each, and enough blocks to give every thread one when outer is small. */
static size_t column_blocks(size_t outer, size_t inner, size_t threads) {
    size_t blocks = ceil_div(inner, SOFTMAX_COLUMN_BLOCK - COLUMN_ALIGN); /* aligned starts add < COLUMN_ALIGN */
    if (outer * blocks < threads) {
        blocks = min_size(ceil_div(threads, outer), ceil_div(inner, COLUMN_ALIGN));
    }
    return blocks;
}

softmax_schedule_t softmax_schedule(const softmax_plan_t* plan, size_t outer, size_t n, size_t inner) {
    softmax_schedule_t one = {1, SOFTMAX_ONE_THREAD};
    const size_t total = outer * n * inner;
    const size_t t = useful_threads(plan, total);
    if (t == 1 || total == 0) return one;
    if (inner > 1) {
        const size_t tasks = outer * column_blocks(outer, inner, t);
        if (tasks < 2) return one;
        return (softmax_schedule_t){(int)min_size(t, tasks), SOFTMAX_SPREAD_COLUMNS};
    }
    /* Whole rows per thread leave threads idle when rows do not divide
     * evenly: split every row instead if the row partition would use under
     * 80% of the threads' time and the chunks are long enough. */
    const size_t rows = outer;
    const int uneven = 5 * rows < 4 * t * ceil_div(rows, t);
    const size_t min_chunk = plan->min_split_chunk > CHUNK_ALIGN ? plan->min_split_chunk : CHUNK_ALIGN;
    if (uneven && n / t >= min_chunk) return (softmax_schedule_t){(int)t, SOFTMAX_SPLIT_ROWS};
    if (rows < 2) return one;
    return (softmax_schedule_t){(int)min_size(t, rows), SOFTMAX_SPREAD_ROWS};
}

/* ---- rows ---- */

/* Storage for one set of a split row's partials. */
typedef struct {
    extexp_sum_t extexp[SOFTMAX_MAX_THREADS];
    online_sum_t online[SOFTMAX_MAX_THREADS];
    float max[SOFTMAX_MAX_THREADS];
    double sum[SOFTMAX_MAX_THREADS];
} partial_slots_t;

typedef struct {
    const softmax_plan_t* plan;
    row_fn row;
    size_t rows, n;
    const float* x;
    float* y;
    int parts;
    size_t guarded[SOFTMAX_MAX_THREADS]; /* per part */
    partial_slots_t slots[2];            /* split rows: consecutive rows use alternate sets */
} rows_job_t;

static void spread_rows_body(void* p, int member, int members) {
    rows_job_t* job = p;
    const size_t n = job->n;
    for (int part = member; part < job->parts; part += members) {
        size_t guarded = 0;
        const size_t end = part_start(job->rows, job->parts, part + 1);
        for (size_t r = part_start(job->rows, job->parts, part); r < end; r++) {
            guarded += (size_t)row_alone(job->plan, job->row, n, job->x + r * n, job->y + r * n);
        }
        job->guarded[part] = guarded;
    }
}

/* Every row has a barrier between writing its partials and reading them,
 * so by the time a thread writes row r + 2's partials every thread is done
 * with row r's: two alternating sets need no barrier between rows. */
static void split_rows_body(void* p, int member, int members) {
    rows_job_t* job = p;
    const size_t n = job->n;
    size_t guarded = 0;
    for (size_t r = 0; r < job->rows; r++) {
        partial_slots_t* set = &job->slots[r & 1];
        const row_team_t t = {job->plan, n, job->x + r * n, job->y + r * n, job->parts, member, members,
                              {set->extexp, set->online, set->max, set->sum}};
        guarded += (size_t)job->row(&t);
    }
    if (member == 0) job->guarded[0] = guarded;
}

size_t softmax_rows(const softmax_plan_t* plan, size_t rows, size_t n, const float* x, float* y) {
    const row_fn row = row_algorithm(plan);
    if (row == NULL || n == 0 || rows == 0) return 0;
    const unsigned saved = softmax_denormals_off();
    const softmax_schedule_t s = softmax_schedule(plan, rows, n, 1);
    size_t guarded = 0;
    if (s.mode == SOFTMAX_ONE_THREAD) {
        for (size_t r = 0; r < rows; r++) guarded += (size_t)row_alone(plan, row, n, x + r * n, y + r * n);
    } else {
        rows_job_t job; /* fields set one by one: the slots need no zeroing */
        job.plan = plan, job.row = row, job.rows = rows, job.n = n, job.x = x, job.y = y, job.parts = s.threads;
        const int split = s.mode == SOFTMAX_SPLIT_ROWS;
        run_team(s.threads, split ? split_rows_body : spread_rows_body, &job);
        for (int part = 0; part < (split ? 1 : s.threads); part++) guarded += job.guarded[part];
    }
    softmax_denormals_restore(saved);
    return guarded;
}

/* ---- columns: softmax along a non-last axis ---- */

/* Per-thread arrays for one block of lanes. */
typedef struct {
    float max[SOFTMAX_COLUMN_BLOCK];   /* the lane's max; two-pass: its sum's exponent */
    double sum[SOFTMAX_COLUMN_BLOCK];  /* the lane's sum; two-pass: its sum's mantissa */
    float scale[SOFTMAX_COLUMN_BLOCK]; /* 1 / sum (two-pass: 1 / mantissa); log_softmax: hi of L */
    float scale_e[SOFTMAX_COLUMN_BLOCK]; /* two-pass: -exponent; log_softmax: lo of L */
    unsigned char fast[SOFTMAX_COLUMN_BLOCK]; /* the lane takes the fast path */
    float* column;                            /* n floats for a guarded column, allocated on first use */
    int no_memory;
} column_scratch_t;

/* log_softmax: lane j's L as the pair (scale, scale_e) = (hi, lo). */
static void set_log_normalizer(column_scratch_t* s, size_t j, double a, double b) {
    const float_pair_t c = float_pair(a, b);
    s->scale[j] = c.hi, s->scale_e[j] = c.lo;
}

static void check_three_pass_lanes(column_scratch_t* s, size_t w, int log_softmax) {
    for (size_t j = 0; j < w; j++) {
        s->fast[j] = isfinite(s->max[j]) && normalizer_ok(s->sum[j]);
        if (log_softmax) {
            set_log_normalizer(s, j, (double)s->max[j], log(s->sum[j]));
        } else {
            s->scale[j] = (float)(1.0 / s->sum[j]);
        }
    }
}

static void check_two_pass_lanes(column_scratch_t* s, size_t w, int log_softmax) {
    for (size_t j = 0; j < w; j++) {
        const extexp_sum_t sum = {s->sum[j], s->max[j]};
        s->fast[j] = extexp_fast_path_ok(sum);
        if (log_softmax) {
            set_log_normalizer(s, j, log_extexp(sum), 0.0);
        } else {
            s->scale[j] = (float)(1.0 / sum.mantissa);
            s->scale_e[j] = (float)-sum.exponent;
        }
    }
}

/* Pass 1 (and 2) of a block of w lanes: fills s->fast and the scales. */
static void column_reductions(const softmax_plan_t* p, size_t n, size_t stride, const float* x, float* y, size_t w,
                              column_scratch_t* s) {
    const int reload = p->algorithm == SOFTMAX_THREE_PASS_RELOAD && !p->log_softmax; /* see log_softmax above */
    switch (p->algorithm) {
        case SOFTMAX_THREE_PASS_RECOMPUTE:
        case SOFTMAX_THREE_PASS_RELOAD:
            p->col_rmax(n, w, stride, x, s->max);
            if (reload) {
                p->col_raddstoreexpminusmax(n, w, stride, x, y, s->max, s->sum);
            } else {
                p->col_raddexpminusmax(n, w, stride, x, s->max, s->sum);
            }
            check_three_pass_lanes(s, w, p->log_softmax);
            break;
        case SOFTMAX_TWO_PASS:
            p->col_raddextexp(n, w, stride, x, s->sum, s->max);
            check_two_pass_lanes(s, w, p->log_softmax);
            break;
        case SOFTMAX_ONLINE:
            p->col_raddexponline(n, w, stride, x, s->max, s->sum);
            check_three_pass_lanes(s, w, p->log_softmax);
            break;
    }
}

/* The write pass over lanes [lo, lo + w) of the block. */
static void column_write(const softmax_plan_t* p, size_t n, size_t stride, const float* x, float* y, size_t lo,
                         size_t w, const column_scratch_t* s) {
    if (p->log_softmax) {
        p->col_vsub(n, w, stride, x + lo, y + lo, s->scale + lo, s->scale_e + lo);
        return;
    }
    switch (p->algorithm) {
        case SOFTMAX_THREE_PASS_RECOMPUTE:
        case SOFTMAX_ONLINE:
            p->col_vscaleexpminusmax(n, w, stride, x + lo, y + lo, s->max + lo, s->scale + lo);
            break;
        case SOFTMAX_THREE_PASS_RELOAD:
            p->col_vscale(n, w, stride, y + lo, y + lo, s->scale + lo);
            break;
        case SOFTMAX_TWO_PASS:
            p->col_vscaleextexp(n, w, stride, x + lo, y + lo, s->scale + lo, s->scale_e + lo);
            break;
    }
}

/* A column that failed the fast path gets exactly what the row algorithm
 * gives a contiguous copy of it: three-pass fills it with NaN, two-pass and
 * online run their guarded row path on the copy. */
static void column_guarded(const softmax_plan_t* p, size_t n, size_t stride, const float* x, float* y,
                           column_scratch_t* s) {
    const row_fn guarded = row_guarded_algorithm(p);
    if (guarded == NULL) {
        for (size_t i = 0; i < n; i++) y[i * stride] = NAN;
        return;
    }
    if (s->column == NULL && (s->column = malloc(n * sizeof(float))) == NULL) {
        s->no_memory = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) s->column[i] = x[i * stride];
    row_alone(p, guarded, n, s->column, s->column);
    for (size_t i = 0; i < n; i++) y[i * stride] = s->column[i];
}

/* Softmax of w lanes (columns) of n rows; returns the guarded columns.
 * The write pass runs on each run of fast lanes, so that in place the
 * guarded columns' inputs survive until they are copied. */
static size_t column_block(const softmax_plan_t* p, size_t n, size_t stride, const float* x, float* y, size_t w,
                           column_scratch_t* s) {
    column_reductions(p, n, stride, x, y, w, s);
    size_t guarded = 0;
    for (size_t j = 0; j < w;) {
        size_t end = j;
        while (end < w && s->fast[end]) end++;
        if (end > j) column_write(p, n, stride, x, y, j, end - j, s);
        if (end < w) column_guarded(p, n, stride, x + end, y + end, s), guarded++, end++;
        j = end;
    }
    return guarded;
}

typedef struct {
    const softmax_plan_t* plan;
    size_t outer, n, inner, blocks;
    const float* x;
    float* y;
    int parts;
    size_t guarded[SOFTMAX_MAX_THREADS]; /* per part; SOFTMAX_NO_MEMORY if a column copy failed */
} columns_job_t;

/* Lane `block` of `blocks` starts at a multiple of COLUMN_ALIGN. */
static size_t block_start(size_t inner, size_t blocks, size_t block) {
    if (block >= blocks) return inner;
    return inner * block / blocks / COLUMN_ALIGN * COLUMN_ALIGN;
}

static void spread_columns_body(void* p, int member, int members) {
    columns_job_t* job = p;
    column_scratch_t scratch;
    scratch.column = NULL, scratch.no_memory = 0;
    const size_t tasks = job->outer * job->blocks, slab = job->n * job->inner;
    for (int part = member; part < job->parts; part += members) {
        size_t guarded = 0;
        const size_t end = part_start(tasks, job->parts, part + 1);
        for (size_t task = part_start(tasks, job->parts, part); task < end; task++) {
            const size_t block = task % job->blocks, offset = task / job->blocks * slab;
            const size_t lo = block_start(job->inner, job->blocks, block);
            const size_t w = block_start(job->inner, job->blocks, block + 1) - lo;
            if (w == 0) continue;
            guarded += column_block(job->plan, job->n, job->inner, job->x + offset + lo, job->y + offset + lo, w,
                                    &scratch);
        }
        job->guarded[part] = scratch.no_memory ? SOFTMAX_NO_MEMORY : guarded;
    }
    free(scratch.column);
}

size_t softmax_strided(const softmax_plan_t* plan, size_t outer, size_t n, size_t inner, const float* x, float* y) {
    if (inner == 1) return softmax_rows(plan, outer, n, x, y);
    if (row_algorithm(plan) == NULL || outer == 0 || n == 0 || inner == 0) return 0;
    const unsigned saved = softmax_denormals_off();
    const softmax_schedule_t s = softmax_schedule(plan, outer, n, inner);
    columns_job_t job;
    job.plan = plan, job.outer = outer, job.n = n, job.inner = inner, job.x = x, job.y = y, job.parts = s.threads;
    job.blocks = column_blocks(outer, inner, (size_t)s.threads);
    run_team(s.threads, spread_columns_body, &job);
    size_t guarded = 0;
    for (int part = 0; part < s.threads; part++) {
        if (job.guarded[part] == SOFTMAX_NO_MEMORY) {
            guarded = SOFTMAX_NO_MEMORY;
            break;
        }
        guarded += job.guarded[part];
    }
    softmax_denormals_restore(saved);
    return guarded;
}

int softmax_cpu_supports(const char* isa) {
    if (strcmp(isa, "scalar") == 0) return 1;
#if SOFTMAX_X86_64 && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(isa, "avx512f") == 0) return __builtin_cpu_supports("avx512f");
#endif
    return 0;
}

/* ---- error of the exp approximations against libm's double exp ---- */

#define SCAN_CHUNK 4096

static float float_from_bits(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

static void scan_record(ulp_stats_t* s, double ulp, float x) {
    s->sum_ulp += ulp;
    s->count += 1;
    if (ulp > s->max_ulp) s->max_ulp = ulp, s->worst_input = x;
}

/* Fills xs with bit patterns from *next on; returns how many. */
static size_t scan_fill(float* xs, uint64_t* next, uint64_t last, uint32_t stride) {
    size_t k = 0;
    for (; k < SCAN_CHUNK && *next <= last; k++, *next += stride) xs[k] = float_from_bits((uint32_t)*next);
    return k;
}

ulp_stats_t softmax_expminus_ulp_scan(vexpminus_fn kernel, uint32_t first, uint32_t last, uint32_t stride) {
    ulp_stats_t s = {0.0, 0.0, 0, 0.0f};
    float xs[SCAN_CHUNK], ys[SCAN_CHUNK];
    uint64_t next = first;
    for (size_t k; (k = scan_fill(xs, &next, last, stride)) != 0;) {
        kernel(k, xs, ys);
        for (size_t i = 0; i < k; i++) {
            const double ref = exp((double)xs[i]);
            if (ref < (double)FLT_MIN) continue; /* outside the normal range */
            const double ulp = ldexp(1.0, ilogb(ref) - 23);
            scan_record(&s, fabs((double)ys[i] - ref) / ulp, xs[i]);
        }
    }
    return s;
}

ulp_stats_t softmax_extexp_ulp_scan(vextexp_fn kernel, uint32_t first, uint32_t last, uint32_t stride) {
    /* ln2 as a double-double, so x - k*ln2 is exact to ~1e-30 for |k| < 2^22. */
    const double ln2_hi = 0x1.62e42fefa39efp-1, ln2_lo = 0x1.abc9e3b39803fp-56;
    ulp_stats_t s = {0.0, 0.0, 0, 0.0f};
    float xs[SCAN_CHUNK], ms[SCAN_CHUNK], es[SCAN_CHUNK];
    uint64_t next = first;
    for (size_t k; (k = scan_fill(xs, &next, last, stride)) != 0;) {
        kernel(k, xs, ms, es);
        for (size_t i = 0; i < k; i++) {
            const double x = (double)xs[i];
            const double kk = nearbyint(x / ln2_hi);
            const double r = fma(-kk, ln2_lo, fma(-kk, ln2_hi, x));
            int ref_e;
            const double ref_m = frexp(exp(r), &ref_e); /* e^x = ref_m * 2^(ref_e + kk), ref_m in [0.5, 1) */
            const double ours = ldexp((double)ms[i], (int)((double)es[i] - kk) - ref_e);
            scan_record(&s, fabs(ours - ref_m) * 0x1p24, xs[i]);
        }
    }
    return s;
}
