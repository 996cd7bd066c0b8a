# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Thin Cython bridge to the C kernels: the kernel table, the softmax driver,
one caller per kernel family, and the exp error scans.

Nothing here checks ISAs or arguments: `kernels.api` does that before calling
in.  Every call releases the GIL for all of its work and runs with denormals
flushed, like the driver (whose OpenMP threads flush their own).
"""

from libc.stdint cimport uint32_t, uint64_t
cimport numpy as cnp

cnp.import_array()


cdef extern from "kernels.h" nogil:
    ctypedef struct extexp_sum_t:
        double mantissa
        double exponent

    ctypedef struct online_sum_t:
        float max
        double sum

    ctypedef float (*rmax_fn)(size_t, const float*)
    ctypedef double (*rsum_fn)(size_t, const float*)
    ctypedef double (*raddexpminusmax_fn)(size_t, const float*, float)
    ctypedef double (*raddstoreexpminusmax_fn)(size_t, const float*, float*, float)
    ctypedef void (*vscaleexpminusmax_fn)(size_t, const float*, float*, float, float)
    ctypedef void (*vscale_fn)(size_t, const float*, float*, float)
    ctypedef void (*vsub_fn)(size_t, const float*, float*, float, float)
    ctypedef void (*vcopy_fn)(size_t, const float*, float*)
    ctypedef void (*vfill_fn)(size_t, float*, float)
    ctypedef extexp_sum_t (*raddextexp_fn)(size_t, const float*)
    ctypedef extexp_sum_t (*raddextexp_guarded_fn)(size_t, const float*, float)
    ctypedef void (*vscaleextexp_fn)(size_t, const float*, float*, float, float)
    ctypedef void (*vscaleextexp_guarded_fn)(size_t, const float*, float*, float, float, float)
    ctypedef online_sum_t (*raddexponline_fn)(size_t, const float*)
    ctypedef void (*vexpminus_fn)(size_t, const float*, float*)
    ctypedef void (*vextexp_fn)(size_t, const float*, float*, float*)
    ctypedef void (*col_rmax_fn)(size_t, size_t, size_t, const float*, float*)
    ctypedef void (*col_raddexpminusmax_fn)(size_t, size_t, size_t, const float*, const float*, double*)
    ctypedef void (*col_raddstoreexpminusmax_fn)(size_t, size_t, size_t, const float*, float*, const float*, double*)
    ctypedef void (*col_vscaleexpminusmax_fn)(size_t, size_t, size_t, const float*, float*, const float*, const float*)
    ctypedef void (*col_vscale_fn)(size_t, size_t, size_t, const float*, float*, const float*)
    ctypedef void (*col_raddextexp_fn)(size_t, size_t, size_t, const float*, double*, float*)
    ctypedef void (*col_vscaleextexp_fn)(size_t, size_t, size_t, const float*, float*, const float*, const float*)
    ctypedef void (*col_raddexponline_fn)(size_t, size_t, size_t, const float*, float*, double*)
    ctypedef void (*col_vsub_fn)(size_t, size_t, size_t, const float*, float*, const float*, const float*)

    ctypedef struct kernel_entry_t:
        const char* name
        void (*fn)()

    const kernel_entry_t softmax_kernel_table[]
    const size_t softmax_kernel_count

    ctypedef struct softmax_plan_t:
        int algorithm
        int threads
        size_t min_elements_per_thread
        size_t min_split_chunk
        rmax_fn rmax
        raddexpminusmax_fn raddexpminusmax
        vscaleexpminusmax_fn vscaleexpminusmax
        raddstoreexpminusmax_fn raddstoreexpminusmax
        vscale_fn vscale
        raddextexp_fn raddextexp
        vscaleextexp_fn vscaleextexp
        raddextexp_guarded_fn raddextexp_guarded
        vscaleextexp_guarded_fn vscaleextexp_guarded
        raddexponline_fn raddexponline
        col_rmax_fn col_rmax
        col_raddexpminusmax_fn col_raddexpminusmax
        col_vscaleexpminusmax_fn col_vscaleexpminusmax
        col_raddstoreexpminusmax_fn col_raddstoreexpminusmax
        col_vscale_fn col_vscale
        col_raddextexp_fn col_raddextexp
        col_vscaleextexp_fn col_vscaleextexp
        col_raddexponline_fn col_raddexponline
        int log_softmax
        vsub_fn vsub
        col_vsub_fn col_vsub

    ctypedef struct softmax_schedule_t:
        int threads
        int mode

    size_t softmax_rows(const softmax_plan_t* plan, size_t rows, size_t n, const float* x, float* y)
    size_t softmax_strided(const softmax_plan_t* plan, size_t outer, size_t n, size_t inner,
                           const float* x, float* y)
    softmax_schedule_t softmax_schedule(const softmax_plan_t* plan, size_t outer, size_t n, size_t inner)
    int softmax_openmp()
    const size_t SOFTMAX_NO_MEMORY
    const int SOFTMAX_MAX_THREADS
    const int SOFTMAX_COLUMN_BLOCK
    unsigned softmax_denormals_off()
    void softmax_denormals_restore(unsigned saved)
    int softmax_cpu_supports(const char* isa)

    ctypedef struct ulp_stats_t:
        double max_ulp
        double sum_ulp
        uint64_t count
        float worst_input

    ulp_stats_t softmax_expminus_ulp_scan(vexpminus_fn kernel, uint32_t first, uint32_t last, uint32_t stride)
    ulp_stats_t softmax_extexp_ulp_scan(vextexp_fn kernel, uint32_t first, uint32_t last, uint32_t stride)


cdef dict _index = {softmax_kernel_table[i].name.decode(): i for i in range(softmax_kernel_count)}

ALGORITHM_CODES = {
    "three-pass-recompute": 0,
    "three-pass-reload": 1,
    "two-pass": 2,
    "online": 3,
}


def kernel_names():
    """Names of every compiled kernel, in table order."""
    return list(_index)


def cpu_supports(str isa):
    return bool(softmax_cpu_supports(isa.encode()))


def openmp():
    """True when the driver was compiled with OpenMP (threads > 1 possible)."""
    return bool(softmax_openmp())


MAX_THREADS = SOFTMAX_MAX_THREADS
COLUMN_BLOCK = SOFTMAX_COLUMN_BLOCK  # lanes one column-kernel call covers
SCHEDULE_MODES = ("one thread", "spread rows", "split rows", "spread columns")


cdef void* _fn(str name) except NULL:
    try:
        return <void*>softmax_kernel_table[<size_t>_index[name]].fn
    except KeyError:
        raise KeyError(f"kernel {name!r} is not compiled into this build") from None


cdef class Plan:
    """A softmax algorithm bound to concrete kernels (names per pass slot,
    column kernels included) and a thread policy: at most `threads` threads,
    one per min_elements_per_thread elements at most, rows split only into
    chunks of min_split_chunk elements or more (see softmax_schedule).
    log_softmax=True: the same algorithm's log_softmax (its kernels are
    registry.LOG_ALGORITHM_PASSES')."""

    cdef softmax_plan_t plan
    cdef readonly dict kernels
    cdef public size_t last_guarded_rows

    def __init__(self, str algorithm, dict kernels, int threads=1, size_t min_elements_per_thread=0,
                 size_t min_split_chunk=0, bint log_softmax=False):
        self.kernels = dict(kernels)
        self.plan.algorithm = ALGORITHM_CODES[algorithm]
        self.plan.log_softmax = log_softmax
        self.plan.threads = threads
        self.plan.min_elements_per_thread = min_elements_per_thread
        self.plan.min_split_chunk = min_split_chunk
        for slot, name in kernels.items():
            self._set(slot, _fn(name))

    @property
    def threads(self):
        return self.plan.threads

    @property
    def min_elements_per_thread(self):
        return self.plan.min_elements_per_thread

    @property
    def min_split_chunk(self):
        return self.plan.min_split_chunk

    @property
    def log_softmax(self):
        return bool(self.plan.log_softmax)

    cdef _set(self, str slot, void* fn):
        if slot == "rmax": self.plan.rmax = <rmax_fn>fn
        elif slot == "raddexpminusmax": self.plan.raddexpminusmax = <raddexpminusmax_fn>fn
        elif slot == "vscaleexpminusmax": self.plan.vscaleexpminusmax = <vscaleexpminusmax_fn>fn
        elif slot == "raddstoreexpminusmax": self.plan.raddstoreexpminusmax = <raddstoreexpminusmax_fn>fn
        elif slot == "vscale": self.plan.vscale = <vscale_fn>fn
        elif slot == "raddextexp": self.plan.raddextexp = <raddextexp_fn>fn
        elif slot == "vscaleextexp": self.plan.vscaleextexp = <vscaleextexp_fn>fn
        elif slot == "raddextexp_guarded": self.plan.raddextexp_guarded = <raddextexp_guarded_fn>fn
        elif slot == "vscaleextexp_guarded": self.plan.vscaleextexp_guarded = <vscaleextexp_guarded_fn>fn
        elif slot == "raddexponline": self.plan.raddexponline = <raddexponline_fn>fn
        elif slot == "col_rmax": self.plan.col_rmax = <col_rmax_fn>fn
        elif slot == "col_raddexpminusmax": self.plan.col_raddexpminusmax = <col_raddexpminusmax_fn>fn
        elif slot == "col_vscaleexpminusmax": self.plan.col_vscaleexpminusmax = <col_vscaleexpminusmax_fn>fn
        elif slot == "col_raddstoreexpminusmax":
            self.plan.col_raddstoreexpminusmax = <col_raddstoreexpminusmax_fn>fn
        elif slot == "col_vscale": self.plan.col_vscale = <col_vscale_fn>fn
        elif slot == "col_raddextexp": self.plan.col_raddextexp = <col_raddextexp_fn>fn
        elif slot == "col_vscaleextexp": self.plan.col_vscaleextexp = <col_vscaleextexp_fn>fn
        elif slot == "col_raddexponline": self.plan.col_raddexponline = <col_raddexponline_fn>fn
        elif slot == "vsub": self.plan.vsub = <vsub_fn>fn
        elif slot == "col_vsub": self.plan.col_vsub = <col_vsub_fn>fn
        else: raise ValueError(f"no plan slot {slot!r}")

    def schedule(self, size_t outer, size_t n, size_t inner=1):
        """(threads, mode) a call over an (outer, n, inner) array runs with
        (softmax along the middle axis; inner == 1: outer rows of n)."""
        cdef softmax_schedule_t s = softmax_schedule(&self.plan, outer, n, inner)
        return s.threads, SCHEDULE_MODES[s.mode]

    def call_fast(self, object x, object out, int axis):
        """Softmax of x along axis (0 <= axis < x.ndim) into out (or a new
        array) when both are plain aligned C-contiguous native float32 arrays
        of one shape that are the same memory or do not overlap; None
        otherwise, leaving x and out untouched for the caller's full checks.
        Skips memoryviews: small calls spend more time acquiring them than
        computing."""
        return self._call_fast(x, out, axis)

    cdef object _call_fast(self, object x, object out, int axis):
        cdef cnp.ndarray xa, ya
        cdef int ndim, dim
        cdef size_t outer = 1, inner = 1, nbytes
        cdef char* xp
        cdef char* yp
        if type(x) is not cnp.ndarray:
            return None
        xa = <cnp.ndarray>x
        ndim = cnp.PyArray_NDIM(xa)
        if not (0 <= axis < ndim and _plain_float32(xa)):
            return None
        if out is None:
            ya = _new_output(xa)
        else:
            if type(out) is not cnp.ndarray:
                return None
            ya = <cnp.ndarray>out
            if not (cnp.PyArray_NDIM(ya) == ndim and _plain_float32(ya)
                    and cnp.PyArray_ISWRITEABLE(ya)):
                return None
            for dim in range(ndim):
                if cnp.PyArray_DIM(ya, dim) != cnp.PyArray_DIM(xa, dim):
                    return None
            xp = <char*>cnp.PyArray_DATA(xa)
            yp = <char*>cnp.PyArray_DATA(ya)
            nbytes = <size_t>cnp.PyArray_NBYTES(xa)
            if xp != yp and xp < yp + nbytes and yp < xp + nbytes:
                return None
        for dim in range(axis):
            outer *= <size_t>cnp.PyArray_DIM(xa, dim)
        for dim in range(axis + 1, ndim):
            inner *= <size_t>cnp.PyArray_DIM(xa, dim)
        self.last_guarded_rows = self._run(<const float*>cnp.PyArray_DATA(xa), <float*>cnp.PyArray_DATA(ya),
                                           outer, <size_t>cnp.PyArray_DIM(xa, axis), inner)
        return ya

    cdef size_t _run(self, const float* x, float* y, size_t outer, size_t n, size_t inner) except? 0:
        cdef size_t guarded
        with nogil:
            guarded = softmax_strided(&self.plan, outer, n, inner, x, y)
        if guarded == SOFTMAX_NO_MEMORY:
            raise MemoryError("no memory for a copy of one column (the guarded path of a non-last axis)")
        return guarded

    def run(self, const float[::1] x, float[::1] y, size_t outer, size_t n, size_t inner=1):
        """Softmax along the middle axis of the flat C-order (outer, n, inner)
        arrays x into y (y may be x).  Returns the number of rows (columns)
        that took a guarded path."""
        self.last_guarded_rows = 0
        if <size_t>x.shape[0] != outer * n * inner or y.shape[0] != x.shape[0]:
            raise ValueError("x and y must both hold outer * n * inner elements")
        if x.shape[0]:
            self.last_guarded_rows = self._run(&x[0], &y[0], outer, n, inner)
        return self.last_guarded_rows


# ---- the calls kernels.softmax remembers ----
# A call whose shape and arguments match a remembered one runs its plan with
# no Python in between: no tuple is built, hashed or compared (on small
# arrays that costs as much as the softmax).  Arguments match only when they
# are exactly an int / str / None equal to the remembered ones (True, 1.0 or
# numpy integers take the Python path, which checks them).

cdef enum:
    REMEMBERED_CALLS = 8
    REMEMBERED_MAX_NDIM = 8


cdef class _RememberedCall:
    cdef Plan plan
    cdef int dim  # the non-negative axis
    cdef int ndim
    cdef cnp.npy_intp shape[REMEMBERED_MAX_NDIM]
    cdef object axis, algorithm, isa, threads  # the arguments as given


cdef list _remembered = [None] * REMEMBERED_CALLS
cdef int _next_slot = 0


def remember_call(tuple shape, object axis, object algorithm, object isa, object threads, Plan plan, int dim):
    """Remembers that softmax(x of this shape, axis=axis, algorithm=algorithm,
    isa=isa, threads=threads) runs plan along dim (the oldest of
    REMEMBERED_CALLS is forgotten); arguments of other types are not remembered."""
    global _next_slot
    cdef _RememberedCall entry
    cdef int i
    if (len(shape) > REMEMBERED_MAX_NDIM or type(axis) is not int or type(algorithm) is not str
            or not (isa is None or type(isa) is str) or not (threads is None or type(threads) is int)):
        return
    entry = _RememberedCall()
    entry.plan, entry.dim, entry.ndim = plan, dim, len(shape)
    for i in range(entry.ndim):
        entry.shape[i] = shape[i]
    entry.axis, entry.algorithm, entry.isa, entry.threads = axis, algorithm, isa, threads
    _remembered[_next_slot] = entry
    _next_slot = (_next_slot + 1) % REMEMBERED_CALLS


def forget_calls():
    """Forgets every remembered call."""
    for i in range(REMEMBERED_CALLS):
        _remembered[i] = None


cdef inline bint _same_argument(object given, object remembered):
    return given is remembered or (type(given) is type(remembered) and given == remembered)


def remembered_call(object x, object out, object axis, object algorithm, object isa, object threads):
    """softmax(x, axis=axis, ..., out=out) by a remembered call's plan when x's
    shape and the arguments match one and the plan's fast path takes x and
    out (`Plan.call_fast`); None otherwise, touching nothing."""
    cdef cnp.ndarray xa
    cdef _RememberedCall entry
    cdef int ndim, i, d
    if type(x) is not cnp.ndarray:
        return None
    xa = <cnp.ndarray>x
    ndim = cnp.PyArray_NDIM(xa)
    for i in range(REMEMBERED_CALLS):
        if _remembered[i] is None:
            continue
        entry = <_RememberedCall>_remembered[i]
        if entry.ndim != ndim:
            continue
        for d in range(ndim):
            if entry.shape[d] != cnp.PyArray_DIM(xa, d):
                break
        else:
            if (_same_argument(axis, entry.axis) and _same_argument(algorithm, entry.algorithm)
                    and _same_argument(isa, entry.isa) and _same_argument(threads, entry.threads)):
                return entry.plan._call_fast(xa, out, entry.dim)
    return None


cdef inline bint _plain_float32(cnp.ndarray a) noexcept:
    return (cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32 and cnp.PyArray_ISNOTSWAPPED(a)
            and cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISALIGNED(a))


# Loads of x that run ahead of pending stores to y stall when the two
# addresses agree in their low 12 bits ("4K aliasing"): with y a few cache
# lines past x modulo a page, the AVX-512 kernels slow down markedly in
# cache (the tuning chapter measures it).
# Consecutive allocations of power-of-two sizes land there, so an output
# we allocate is moved to x's offset within a page when it does.
cdef enum:
    PAGE = 4096
    ALIASING_WINDOW = 512


cdef cnp.ndarray _new_output(cnp.ndarray x):
    cdef cnp.ndarray y = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x), cnp.NPY_FLOAT32, 0)
    cdef size_t total = <size_t>cnp.PyArray_SIZE(x)
    cdef size_t gap = (<size_t>cnp.PyArray_DATA(y) - <size_t>cnp.PyArray_DATA(x)) % PAGE
    if total * 4 < PAGE or gap == 0 or gap >= ALIASING_WINDOW:
        return y
    y = None  # freed first: never two outputs alive at once
    return output_at_page_offset_of(x)


def output_at_page_offset_of(x):
    """An uninitialised float32 array of x's shape whose data starts at the
    same offset within a page as x's (at most a page of extra memory)."""
    cdef cnp.ndarray raw = cnp.PyArray_EMPTY(1, [x.size + PAGE // 4], cnp.NPY_FLOAT32, 0)
    cdef size_t shift = (<size_t>cnp.PyArray_DATA(x) - <size_t>cnp.PyArray_DATA(raw)) % PAGE // 4
    return raw[shift:shift + x.size].reshape(x.shape)


# ---- one caller per family, for tests, benchmarks and the book ----

cdef inline const float* _in(const float[::1] x) noexcept nogil:
    return &x[0] if x.shape[0] else NULL

cdef inline float* _out(float[::1] y) noexcept nogil:
    return &y[0] if y.shape[0] else NULL


def rmax(str name, const float[::1] x):
    cdef rmax_fn f = <rmax_fn>_fn(name)
    cdef float r
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        r = f(x.shape[0], _in(x))
    softmax_denormals_restore(saved)
    return r


def rsum(str name, const float[::1] x):
    cdef rsum_fn f = <rsum_fn>_fn(name)
    cdef double r
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        r = f(x.shape[0], _in(x))
    softmax_denormals_restore(saved)
    return r


def raddexpminusmax(str name, const float[::1] x, float max):
    cdef raddexpminusmax_fn f = <raddexpminusmax_fn>_fn(name)
    cdef double r
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        r = f(x.shape[0], _in(x), max)
    softmax_denormals_restore(saved)
    return r


def raddexpminusmax_x2(str name, const float[::1] x, float max):
    return raddexpminusmax(name, x, max)


def raddstoreexpminusmax(str name, const float[::1] x, float[::1] y, float max):
    cdef raddstoreexpminusmax_fn f = <raddstoreexpminusmax_fn>_fn(name)
    cdef double r
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        r = f(x.shape[0], _in(x), _out(y), max)
    softmax_denormals_restore(saved)
    return r


def vscaleexpminusmax(str name, const float[::1] x, float[::1] y, float max, float scale):
    cdef vscaleexpminusmax_fn f = <vscaleexpminusmax_fn>_fn(name)
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        f(x.shape[0], _in(x), _out(y), max, scale)
    softmax_denormals_restore(saved)


def vscale(str name, const float[::1] x, float[::1] y, float scale):
    cdef vscale_fn f = <vscale_fn>_fn(name)
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        f(x.shape[0], _in(x), _out(y), scale)
    softmax_denormals_restore(saved)


def vcopy(str name, const float[::1] x, float[::1] y):
    cdef vcopy_fn f = <vcopy_fn>_fn(name)
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        f(x.shape[0], _in(x), _out(y))
    softmax_denormals_restore(saved)


def vcopy_paced(str name, const float[::1] x, float[::1] y):
    vcopy(name, x, y)


def vfill(str name, float[::1] y, float value):
    cdef vfill_fn f = <vfill_fn>_fn(name)
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        f(y.shape[0], _out(y), value)
    softmax_denormals_restore(saved)


def vsub(str name, const float[::1] x, float[::1] y, float hi, float lo):
    cdef vsub_fn f = <vsub_fn>_fn(name)
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        f(x.shape[0], _in(x), _out(y), hi, lo)
    softmax_denormals_restore(saved)


def raddextexp(str name, const float[::1] x):
    cdef raddextexp_fn f = <raddextexp_fn>_fn(name)
    cdef extexp_sum_t r
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        r = f(x.shape[0], _in(x))
    softmax_denormals_restore(saved)
    return r.mantissa, r.exponent


def raddextexp_guarded(str name, const float[::1] x, float shift):
    cdef raddextexp_guarded_fn f = <raddextexp_guarded_fn>_fn(name)
    cdef extexp_sum_t r
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        r = f(x.shape[0], _in(x), shift)
    softmax_denormals_restore(saved)
    return r.mantissa, r.exponent


def vscaleextexp(str name, const float[::1] x, float[::1] y, float scale_m, float scale_e):
    cdef vscaleextexp_fn f = <vscaleextexp_fn>_fn(name)
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        f(x.shape[0], _in(x), _out(y), scale_m, scale_e)
    softmax_denormals_restore(saved)


def vscaleextexp_guarded(str name, const float[::1] x, float[::1] y, float shift, float scale_m, float scale_e):
    cdef vscaleextexp_guarded_fn f = <vscaleextexp_guarded_fn>_fn(name)
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        f(x.shape[0], _in(x), _out(y), shift, scale_m, scale_e)
    softmax_denormals_restore(saved)


def raddexponline(str name, const float[::1] x):
    cdef raddexponline_fn f = <raddexponline_fn>_fn(name)
    cdef online_sum_t r
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        r = f(x.shape[0], _in(x))
    softmax_denormals_restore(saved)
    return r.max, r.sum


def vexpminus(str name, const float[::1] x, float[::1] y):
    cdef vexpminus_fn f = <vexpminus_fn>_fn(name)
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        f(x.shape[0], _in(x), _out(y))
    softmax_denormals_restore(saved)


def vextexp(str name, const float[::1] x, float[::1] m, float[::1] e):
    cdef vextexp_fn f = <vextexp_fn>_fn(name)
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        f(x.shape[0], _in(x), _out(m), _out(e))
    softmax_denormals_restore(saved)


def expminus_ulp_scan(str name, uint32_t first, uint32_t last, uint32_t stride):
    """Max and mean ULP error of a vexpminus kernel over float bit patterns."""
    cdef vexpminus_fn f = <vexpminus_fn>_fn(name)
    cdef ulp_stats_t s
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        s = softmax_expminus_ulp_scan(f, first, last, stride)
    softmax_denormals_restore(saved)
    return {"max_ulp": s.max_ulp, "mean_ulp": s.sum_ulp / s.count if s.count else 0.0, "count": s.count,
            "worst_input": s.worst_input}


def extexp_ulp_scan(str name, uint32_t first, uint32_t last, uint32_t stride):
    """Max and mean ULP error of a vextexp kernel over float bit patterns."""
    cdef vextexp_fn f = <vextexp_fn>_fn(name)
    cdef ulp_stats_t s
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        s = softmax_extexp_ulp_scan(f, first, last, stride)
    softmax_denormals_restore(saved)
    return {"max_ulp": s.max_ulp, "mean_ulp": s.sum_ulp / s.count if s.count else 0.0, "count": s.count,
            "worst_input": s.worst_input}


# ---- the same scans for several kernels at once (kernels.bench.expfamily) ----
# One pass over the bit patterns, the float64 reference computed once for all
# kernels: the exhaustive scans of every exponential on every ISA take minutes
# instead of most of an hour.  Same statistics as driver.c's scans, recorded
# in the same order (tests/test_exp_family.py checks they agree).

from libc.float cimport FLT_MIN
from libc.math cimport exp, fabs, fma, frexp, ilogb, ldexp, nearbyint
from libc.stdlib cimport calloc, free as free_memory
from libc.string cimport memcpy

cdef enum:
    MANY_CHUNK = 4096

cdef double LN2_HI = 0.6931471805599453  # 0x1.62e42fefa39efp-1: ln 2 as a double-double
cdef double LN2_LO = 2.3190468138462996e-17  # 0x1.abc9e3b39803fp-56


cdef inline void _record(ulp_stats_t* s, double ulp, float x) noexcept nogil:
    s.sum_ulp += ulp
    s.count += 1
    if ulp > s.max_ulp:
        s.max_ulp = ulp
        s.worst_input = x


cdef inline double _ldexp(double m, int e) noexcept nogil:
    """ldexp without the call where 2^e is a normal double (then exact alike)."""
    cdef uint64_t bits
    cdef double scale
    if e < -1000 or e > 1000:
        return ldexp(m, e)
    bits = <uint64_t>(e + 1023) << 52
    memcpy(&scale, &bits, 8)
    return m * scale


cdef size_t _fill(float* xs, uint64_t* next, uint64_t last, uint32_t stride) noexcept nogil:
    cdef size_t k = 0
    cdef uint32_t bits
    while k < MANY_CHUNK and next[0] <= last:
        bits = <uint32_t>next[0]
        memcpy(&xs[k], &bits, 4)
        k += 1
        next[0] += stride
    return k


cdef class _ManyScan:
    """The buffers of a many-kernel scan: the kernels, a chunk of inputs, each
    kernel's `outputs` output chunks and its statistics."""

    cdef size_t k
    cdef void** fns
    cdef float* xs
    cdef float* out
    cdef ulp_stats_t* stats

    def __cinit__(self, list names, int outputs):
        cdef size_t j
        self.k = len(names)
        self.fns = <void**>calloc(self.k, sizeof(void*))
        self.xs = <float*>calloc(MANY_CHUNK, sizeof(float))
        self.out = <float*>calloc(self.k * outputs * MANY_CHUNK, sizeof(float))
        self.stats = <ulp_stats_t*>calloc(self.k, sizeof(ulp_stats_t))
        if not (self.fns and self.xs and self.out and self.stats):
            raise MemoryError()
        for j in range(self.k):
            self.fns[j] = _fn(names[j])

    def __dealloc__(self):
        free_memory(self.fns)
        free_memory(self.xs)
        free_memory(self.out)
        free_memory(self.stats)

    cdef list results(self):
        cdef size_t j
        cdef ulp_stats_t s
        cdef list out = []
        for j in range(self.k):
            s = self.stats[j]
            out.append({"max_ulp": s.max_ulp, "mean_ulp": s.sum_ulp / s.count if s.count else 0.0,
                        "count": s.count, "worst_input": s.worst_input})
        return out


def expminus_ulp_scan_many(list names, uint32_t first, uint32_t last, uint32_t stride):
    """expminus_ulp_scan of each vexpminus kernel named, in one pass."""
    cdef _ManyScan scan = _ManyScan(names, 1)
    cdef size_t count, i, j
    cdef uint64_t next = first
    cdef double ref, inverse_ulp
    cdef float* ys
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        count = _fill(scan.xs, &next, last, stride)
        while count:
            for j in range(scan.k):
                (<vexpminus_fn>scan.fns[j])(count, scan.xs, scan.out + j * MANY_CHUNK)
            for i in range(count):
                ref = exp(<double>scan.xs[i])
                if ref < <double>FLT_MIN:
                    continue  # outside the normal range
                inverse_ulp = ldexp(1.0, 23 - ilogb(ref))  # exact: dividing by the ULP
                for j in range(scan.k):
                    ys = scan.out + j * MANY_CHUNK
                    _record(&scan.stats[j], fabs(<double>ys[i] - ref) * inverse_ulp, scan.xs[i])
            count = _fill(scan.xs, &next, last, stride)
    softmax_denormals_restore(saved)
    return scan.results()


def extexp_ulp_scan_many(list names, uint32_t first, uint32_t last, uint32_t stride):
    """extexp_ulp_scan of each vextexp kernel named, in one pass."""
    cdef _ManyScan scan = _ManyScan(names, 2)
    cdef size_t count, i, j
    cdef uint64_t next = first
    cdef double x, kk, r, ref_m, ours
    cdef int ref_e
    cdef float* ms
    cdef float* es
    cdef unsigned saved = softmax_denormals_off()
    with nogil:
        count = _fill(scan.xs, &next, last, stride)
        while count:
            for j in range(scan.k):
                ms = scan.out + 2 * j * MANY_CHUNK
                (<vextexp_fn>scan.fns[j])(count, scan.xs, ms, ms + MANY_CHUNK)
            for i in range(count):
                x = <double>scan.xs[i]
                kk = nearbyint(x / LN2_HI)
                r = fma(-kk, LN2_LO, fma(-kk, LN2_HI, x))
                ref_m = frexp(exp(r), &ref_e)  # e^x = ref_m 2^(ref_e + kk), ref_m in [0.5, 1)
                for j in range(scan.k):
                    ms = scan.out + 2 * j * MANY_CHUNK
                    es = ms + MANY_CHUNK
                    ours = _ldexp(<double>ms[i], <int>(<double>es[i] - kk) - ref_e)
                    _record(&scan.stats[j], fabs(ours - ref_m) * 16777216.0, scan.xs[i])
            count = _fill(scan.xs, &next, last, stride)
    softmax_denormals_restore(saved)
    return scan.results()


# ---- timing: batches of calls measured in C, for kernels.bench ----

from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC
from libc.stdlib cimport malloc, free
from libc.math cimport NAN, INFINITY
from cython.parallel cimport prange

cdef enum TaskKind:
    TASK_PLAN, TASK_RMAX, TASK_RSUM, TASK_RADDEXPMINUSMAX, TASK_RADDSTOREEXPMINUSMAX,
    TASK_VSCALEEXPMINUSMAX, TASK_VSCALE, TASK_VCOPY, TASK_VFILL, TASK_RADDEXTEXP,
    TASK_VSCALEEXTEXP, TASK_RADDEXPONLINE, TASK_SEQUENCE

_TASK_KINDS = {
    "rmax": TASK_RMAX, "rsum": TASK_RSUM, "raddexpminusmax": TASK_RADDEXPMINUSMAX,
    "raddexpminusmax_x2": TASK_RADDEXPMINUSMAX,
    "raddstoreexpminusmax": TASK_RADDSTOREEXPMINUSMAX, "vscaleexpminusmax": TASK_VSCALEEXPMINUSMAX,
    "vscale": TASK_VSCALE, "vcopy": TASK_VCOPY, "vcopy_paced": TASK_VCOPY, "vfill": TASK_VFILL, "raddextexp": TASK_RADDEXTEXP,
    "vscaleextexp": TASK_VSCALEEXTEXP, "raddexponline": TASK_RADDEXPONLINE,
}
_SPLITTABLE_KINDS = {TASK_RMAX, TASK_RSUM, TASK_VSCALE, TASK_VCOPY, TASK_VFILL}
"""The bandwidth kernels, which a Task can run on several threads (one chunk each)."""
cdef enum:
    MAX_STEPS = 4  # kernels of a sequence task
    MAX_SPLIT = 256  # threads a split kernel task may use
    SPLIT_ALIGN = 16  # chunk boundaries fall on 64-byte lines (16 floats)
_WRITING_KINDS = {TASK_PLAN, TASK_RADDSTOREEXPMINUSMAX, TASK_VSCALEEXPMINUSMAX, TASK_VSCALE, TASK_VCOPY,
                  TASK_VFILL, TASK_VSCALEEXTEXP}


cdef inline long long _now_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000000000LL + ts.tv_nsec


cdef class Task:
    """One timed operation: a softmax plan over `rows` rows (or, with inner >
    1, over an (rows, n, inner) array along its middle axis), or one kernel
    with fixed scalar arguments a, b (max / scale / exponent, as its family
    takes).

    A bandwidth kernel (rmax, rsum, vscale, vcopy, vfill) runs on `threads`
    OpenMP threads when asked: the row is cut into one chunk per thread at
    64-byte boundaries, and the chunks' maxima (sums) are merged in order.

    A sequence (`steps`: (kernel, a, in_place) tuples, at most MAX_STEPS) runs
    its kernels one after the other on the same x and y, in place ones on y:
    the data movement of a whole softmax algorithm without its arithmetic.
    Its scalar result is the sum of the steps' results.

    `sentinel` is what time_batch writes into the first and last output
    elements before each call of a task that writes an output: NaN by default;
    a finite value for in-place tasks, whose input it then is (a kernel must
    visibly transform it, so in-place vscale needs a scale other than 1)."""

    cdef int kind
    cdef void* fn
    cdef Plan plan
    cdef size_t rows, inner
    cdef readonly float a, b
    cdef readonly bint writes
    cdef readonly float sentinel
    cdef readonly int threads
    cdef int nsteps
    cdef int step_kind[MAX_STEPS]
    cdef void* step_fn[MAX_STEPS]
    cdef float step_a[MAX_STEPS]
    cdef bint step_in_place[MAX_STEPS]

    def __init__(self, str kernel_or_algorithm, plan=None, size_t rows=1, float a=0.0, float b=0.0,
                 float sentinel=NAN, size_t inner=1, int threads=1, steps=None):
        cdef int i
        if plan is not None:
            self.kind = TASK_PLAN
            self.plan = plan
        elif steps is not None:
            if not 1 <= len(steps) <= MAX_STEPS:
                raise ValueError(f"a sequence has 1 to {MAX_STEPS} steps")
            self.kind = TASK_SEQUENCE
            self.nsteps = len(steps)
            for i, (kernel, step_a, in_place) in enumerate(steps):
                self.step_kind[i] = _TASK_KINDS[kernel.split("__")[0].removeprefix("f32_")]
                self.step_fn[i] = _fn(kernel)
                self.step_a[i] = step_a
                self.step_in_place[i] = in_place
        else:
            self.kind = _TASK_KINDS[kernel_or_algorithm.split("__")[0].removeprefix("f32_")]
            self.fn = _fn(kernel_or_algorithm)
        if threads != 1 and (self.kind not in _SPLITTABLE_KINDS or not 1 <= threads <= MAX_SPLIT):
            raise ValueError(f"{kernel_or_algorithm} cannot run on {threads} threads "
                             f"(only bandwidth kernels split, on 1 to {MAX_SPLIT})")
        self.threads = threads
        self.rows, self.inner, self.a, self.b = rows, inner, a, b
        self.writes = self.kind in _WRITING_KINDS or any(
            self.step_kind[i] in _WRITING_KINDS for i in range(self.nsteps))
        self.sentinel = sentinel


cdef double _run(Task t, size_t n, const float* x, float* y) noexcept nogil:
    """Runs the task once; returns its scalar result (0 for vector kernels)."""
    if t.threads > 1:
        return _run_split(t, n, x, y)
    return _run_one(t, n, x, y)


cdef inline size_t _split_at(size_t n, int part, int parts) noexcept nogil:
    """Start of chunk `part` of `parts`: balanced, on a 64-byte boundary (n at the end)."""
    if part >= parts:
        return n
    return (n * <size_t>part // <size_t>parts) // SPLIT_ALIGN * SPLIT_ALIGN


cdef double _run_split(Task t, size_t n, const float* x, float* y) noexcept nogil:
    """A bandwidth kernel on t.threads threads, one chunk each; maxima (rmax) or
    sums (rsum) of the chunks merged in chunk order, so results do not depend
    on which thread ran which chunk."""
    cdef int parts = t.threads, k
    cdef double partial[MAX_SPLIT]
    cdef size_t lo, hi
    cdef double result
    for k in prange(parts, num_threads=parts, schedule="static", chunksize=1):
        lo = _split_at(n, k, parts)
        hi = _split_at(n, k + 1, parts)
        if hi > lo:
            partial[k] = _run_one(t, hi - lo, x + lo, y + lo)
        else:
            partial[k] = -INFINITY if t.kind == TASK_RMAX else 0.0
    result = partial[0]
    for k in range(1, parts):
        if t.kind == TASK_RMAX:
            result = partial[k] if partial[k] > result else result
        else:
            result = result + partial[k]
    return result


cdef double _run_one(Task t, size_t n, const float* x, float* y) noexcept nogil:
    """Runs the task once on this thread."""
    cdef double total = 0.0
    cdef int i
    if t.kind == TASK_PLAN:
        return <double>softmax_strided(&t.plan.plan, t.rows, n // (t.rows * t.inner), t.inner, x, y)
    if t.kind == TASK_SEQUENCE:
        for i in range(t.nsteps):
            total += _run_kernel(t.step_kind[i], t.step_fn[i], t.step_a[i], 0.0, n,
                                 y if t.step_in_place[i] else x, y)
        return total
    return _run_kernel(t.kind, t.fn, t.a, t.b, n, x, y)


cdef double _run_kernel(int kind, void* fn, float a, float b, size_t n, const float* x, float* y) noexcept nogil:
    """One kernel call; its scalar result (0 for vector kernels)."""
    cdef extexp_sum_t e
    cdef online_sum_t o
    if kind == TASK_RMAX:
        return (<rmax_fn>fn)(n, x)
    elif kind == TASK_RSUM:
        return (<rsum_fn>fn)(n, x)
    elif kind == TASK_RADDEXPMINUSMAX:
        return (<raddexpminusmax_fn>fn)(n, x, a)
    elif kind == TASK_RADDSTOREEXPMINUSMAX:
        return (<raddstoreexpminusmax_fn>fn)(n, x, y, a)
    elif kind == TASK_VSCALEEXPMINUSMAX:
        (<vscaleexpminusmax_fn>fn)(n, x, y, a, b)
    elif kind == TASK_VSCALE:
        (<vscale_fn>fn)(n, x, y, a)
    elif kind == TASK_VCOPY:
        (<vcopy_fn>fn)(n, x, y)
    elif kind == TASK_VFILL:
        (<vfill_fn>fn)(n, y, a)
    elif kind == TASK_RADDEXTEXP:
        e = (<raddextexp_fn>fn)(n, x)
        return e.mantissa
    elif kind == TASK_VSCALEEXTEXP:
        (<vscaleextexp_fn>fn)(n, x, y, a, b)
    elif kind == TASK_RADDEXPONLINE:
        o = (<raddexponline_fn>fn)(n, x)
        return o.sum
    return 0.0


cdef double _touched = 0.0  # the touch's loads end here, so the compiler keeps them


cdef inline void _touch(const float* x, size_t n) noexcept nogil:
    """One load per 64-byte cache line of x (and its last element): brings an
    input that fits into the caches, as the paper's benchmark does before each call."""
    global _touched
    cdef double s = 0.0
    cdef size_t i
    for i in range(0, n, 16):
        s += x[i]
    _touched += s + x[n - 1]


def take_touched_sum():
    """The sum of every value time_batch's touches have loaded since the last
    call, then zero (tests: the touch is done; an earlier NaN input is forgotten)."""
    global _touched
    total, _touched = _touched, 0.0
    return total


def time_batch(Task task, list xs, list ys, size_t n, size_t calls, size_t first=0, bint touch=False):
    """Times `calls` consecutive runs of task over n floats, call i using
    xs[(first + i) % len(xs)] and ys[(first + i) % len(ys)] (rotating buffers
    keeps them cold).  touch: before each call its input is read once per
    cache line, untimed (the calls are then timed one by one).

    Returns (nanoseconds, sum of the scalar results, sum over the calls of
    y[0] + y[n-1] just after each call).  Before each call of a task that
    writes, y[0] and y[n-1] are set to task.sentinel: a call that skips its
    work leaves the sentinel there (NaN poisons the sum), however correct
    the buffer's stale contents from an earlier call are."""
    cdef size_t nx = len(xs), ny = len(ys), i
    cdef const float** xp = <const float**>malloc(nx * sizeof(float*))
    cdef float** yp = <float**>malloc(ny * sizeof(float*))
    cdef const float[::1] xv
    cdef float[::1] yv
    cdef float* y
    cdef long long start, stop, total
    cdef double values = 0.0, edges = 0.0
    cdef bint writes = task.writes
    cdef float sentinel = task.sentinel
    cdef unsigned saved
    if n == 0:
        raise ValueError("n must be positive")
    try:
        for i in range(nx):
            xv = xs[i]
            if <size_t>xv.shape[0] < n:
                raise ValueError("input buffer shorter than n")
            xp[i] = &xv[0]
        for i in range(ny):
            yv = ys[i]
            if <size_t>yv.shape[0] < n:
                raise ValueError("output buffer shorter than n")
            yp[i] = &yv[0]
        saved = softmax_denormals_off()
        with nogil:
            total = 0
            start = _now_ns()
            for i in range(calls):
                if touch:
                    _touch(xp[(first + i) % nx], n)
                    start = _now_ns()
                y = yp[(first + i) % ny]
                if writes:
                    y[0] = sentinel
                    y[n - 1] = sentinel
                values += _run(task, n, xp[(first + i) % nx], y)
                if writes:
                    edges += <double>y[0] + <double>y[n - 1]
                if touch:
                    total += _now_ns() - start
            stop = _now_ns()
        softmax_denormals_restore(saved)
        return (total if touch else stop - start), values, edges
    finally:
        free(xp)
        free(yp)


# ---- the clock, estimated (kernels.bench.expfamily) ----

def dependent_adds_ns(size_t n, double step=1.0):
    """Nanoseconds for n float64 additions, each waiting for the previous
    one: a chain whose latency in cycles is known per core, so its time gives
    the clock where the OS does not expose it.  Returns (ns, the sum)."""
    cdef double x = 0.0
    cdef size_t i
    cdef long long start, stop
    with nogil:
        start = _now_ns()
        for i in range(n // 8):
            x = x + step
            x = x + step
            x = x + step
            x = x + step
            x = x + step
            x = x + step
            x = x + step
            x = x + step
        stop = _now_ns()
    return stop - start, x
