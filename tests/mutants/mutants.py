"""The deliberate bugs of the mutation run (see run.py): each one replaces one
snippet of one file, and names the test files that should catch it (fastest
first; the run stops at the first failures) and the ISA it needs to run.

The first six are the bugs of issue 14 that the suite used to miss or catch
only by luck.  tests/test_mutants.py checks in the default run that every
snippet still occurs exactly once, so the list cannot silently go stale.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    isa: str | None = None  # the mutated code runs only on CPUs with this ISA
    what: str = ""


KERNEL_TESTS = ("tests/test_kernels.py", "tests/test_softmax.py")
BENCH_TESTS = ("tests/test_bench.py",)

MUTANTS = [
    # ---- issue 14's six
    Mutant("raddextexp-drops-last-tail-element", "kernels/csrc/templates/raddextexp.h",
           "    if (n != 0) {\n        /* Lanes past the end add 0 at the running exponent. */\n"
           "        const vmask tail = v_first(n);",
           "    if (n > 1) {\n        /* Lanes past the end add 0 at the running exponent. */\n"
           "        const vmask tail = v_first(n - 1);",
           KERNEL_TESTS, what="the ExtExp sum forgets the last element of the tail"),
    Mutant("exp-c4-off-by-0.1-percent", "kernels/csrc/exp_constants.h",
           "#define EXP_C4 0x1.573A1Ap-5f", "#define EXP_C4 (0x1.573A1Ap-5f * 1.001f)",
           ("tests/test_softmax.py", "tests/test_accuracy.py", "tests/test_kernels.py"),
           what="one polynomial coefficient 0.1 % off: exp error about 5 ULP"),
    Mutant("guarded-path-always-shifts-by-the-max", "kernels/csrc/driver.c",
           "return fabsf(max) <= EXTEXP_SHIFT_THRESHOLD ? 0.0f : max;",
           "return max;",
           ("tests/test_softmax.py",), what="x - max rounded in float32 on every guarded row"),
    Mutant("guard-v-max-operands-swapped", "kernels/csrc/isa_helpers.h",
           "return v_max(v_set1(-EXTEXP_MAX_ABS_INPUT), x); }",
           "return v_max(x, v_set1(-EXTEXP_MAX_ABS_INPUT)); }",
           KERNEL_TESTS, what="NaN inputs of the guarded sum are clamped away instead of propagating"),
    Mutant("avx512-v-first-off-by-one", "kernels/csrc/isa_avx512f.h",
           "return (vmask)((1u << count) - 1u);", "return (vmask)((1u << (count - 1)) - 1u);",
           KERNEL_TESTS, isa="avx512f", what="every AVX-512 tail misses its last lane"),
    Mutant("timer-skips-every-call-after-the-first", "kernels/_core.pyx",
           "                values += _run(task, n, xp[(first + i) % nx], y)",
           "                if i == 0:\n                    values += _run(task, n, xp[(first + i) % nx], y)",
           BENCH_TESTS, what="the C timer times empty iterations"),
    # ---- kernels
    Mutant("extexp-pass-2-unclamped", "kernels/csrc/isa_helpers.h",
           "v_extexp_times_with(spec, v_extexp_argument(x), scale_m, &e)", "v_extexp_times_with(spec, x, scale_m, &e)",
           ("tests/test_exp_family.py",),
           what="the paper's pass 2 evaluates ExtExp below -2^16: NaN where the tuner mixes exponentials"),
    Mutant("folded-pass-2-flushes-nothing", "kernels/csrc/exp_family.h",
           "v_not_less(biased, v_sub(magic, v_set1(126.0f)))", "v_not_less(biased, biased)",
           ("tests/test_exp_family.py",),
           what="pass 2 builds 2^(m + scale_e) below the normal range: its bits wrap into garbage"),
    Mutant("avx2-v-first-off-by-one", "kernels/csrc/isa_avx2.h",
           "_mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lane)",
           "_mm256_cmpgt_epi32(_mm256_set1_epi32((int)count - 1), lane)",
           KERNEL_TESTS, isa="avx2", what="every AVX2 tail misses its last lane"),
    Mutant("scalar-add-ldexp-ignores-the-exponent", "kernels/csrc/isa_scalar.h",
           "return fmaf(p, v_pow2_nonpositive(d), acc); }", "return acc + p; }",
           KERNEL_TESTS, what="scalar ExtExp sums add terms without aligning their exponents"),
    Mutant("rmax-drops-an-accumulator", "kernels/csrc/templates/rmax.h",
           "SOFTMAX_UNROLL for (int k = 1; k < ACC; k++) acc[0]", "SOFTMAX_UNROLL for (int k = 2; k < ACC; k++) acc[0]",
           KERNEL_TESTS, what="the max ignores a quarter of the row"),
    Mutant("online-sum-not-rescaled", "kernels/csrc/isa_helpers.h",
           "        *run_d = vd_mul(*run_d, v_expminus_with(spec, v_sub(*run_m, new_m)));\n", "",
           KERNEL_TESTS, what="the online sum keeps old terms at the old maximum's scale"),
    Mutant("streaming-head-not-stored", "kernels/csrc/templates/map_body.h",
           "        v_store_first(y, MAP(v_load_first(x, m)), m);\n", "",
           KERNEL_TESTS, what="streaming kernels skip the elements before the aligned bulk"),
    Mutant("guarded-scale-ignores-scale-e", "kernels/csrc/templates/vscaleextexp.h",
           "void KERNEL_NAME(size_t n, const float* x, float* y, float shift, float scale_m, float scale_e) {\n",
           "void KERNEL_NAME(size_t n, const float* x, float* y, float shift, float scale_m, float scale_e) {\n"
           "    scale_e = 0.0f;\n",
           KERNEL_TESTS, what="the guarded pass 2 drops the sum's exponent"),
    # ---- driver
    Mutant("two-pass-skips-the-safe-exponent-check", "kernels/csrc/driver.c",
           " && fabs(sum.exponent) <= EXTEXP_SAFE_EXPONENT", "",
           ("tests/test_softmax.py",), what="huge inputs stay on the fast path beyond ExtExp's accurate range"),
    Mutant("driver-drops-the-last-row", "kernels/csrc/driver.c",
           "for (size_t r = 0; r < rows; r++) guarded", "for (size_t r = 0; r + 1 < rows; r++) guarded",
           ("tests/test_softmax.py",), what="multi-row calls leave the last row unwritten"),
    Mutant("log-softmax-subtraction-drops-the-low-part", "kernels/csrc/templates/vsub.h",
           "#define MAP(v) v_sub(v_sub((v), vhi), vlo)", "#define MAP(v) v_sub((v), vhi)",
           ("tests/test_log_softmax.py",),
           what="log_softmax subtracts log(normaliser) rounded to one float: 5e-4 off near 1e4"),
    # ---- timer and benchmark checks
    Mutant("timer-writes-no-sentinel", "kernels/_core.pyx",
           "                if writes:\n                    y[0] = sentinel\n                    y[n - 1] = sentinel\n",
           "", BENCH_TESTS, what="a skipped call leaves the previous, correct output"),
    Mutant("python-runner-writes-no-sentinel", "kernels/bench/timing.py",
           "            if into:\n                y[0] = y[-1] = np.nan\n", "",
           BENCH_TESTS, what="a lazy peer after numpy finds numpy's output in the shared buffer"),
    Mutant("in-place-scale-by-one", "kernels/bench/sweep.py",
           "        return -1.0, 0.0\n    if family == \"vfill\":", "        return 1.0, 0.0\n    if family == \"vfill\":",
           BENCH_TESTS, what="in-place scaling by 1: a skipped call looks like a done one"),
    Mutant("softmax-check-only-sums", "kernels/bench/sweep.py",
           "    sampled = got[ref.index].astype(np.float64)\n",
           "    sampled = ref.values\n",
           BENCH_TESTS, what="the peers' check only asks that the output sums to 1 (a uniform 1/n passes)"),
    Mutant("peers-paired-with-c-timed-kernels", "kernels/bench/analysis.py",
           "partners.update({peer: api_partner(peer, base, isa) for peer in peer_cases(summary)})",
           "partners.update({peer: base_case for peer in peer_cases(summary)})",
           BENCH_TESTS, what="speedups over peers measured against kernels timed in C, without call overhead"),
    Mutant("scipy-imported-on-every-call", "kernels/bench/peers.py",
           "    return Peer(\"scipy\", _version(\"scipy\"), allocating=functools.partial(getattr(scipy.special, op), axis=-1))",
           "    def import_and_call(x):\n        from scipy import special\n\n        return getattr(special, op)(x, axis=-1)\n\n"
           "    return Peer(\"scipy\", _version(\"scipy\"), allocating=import_and_call)",
           BENCH_TESTS, what="the scipy peer pays an import statement per call"),
    # ---- tuner
    Mutant("tuner-stores-the-winner-unconfirmed", "kernels/bench/tune.py",
           "    pair = {\"default\": plans[\"default\"], candidate: plans[candidate]}\n",
           "    return Choice(candidate, plans[candidate], candidate, None, first, {})\n"
           "    pair = {\"default\": plans[\"default\"], candidate: plans[candidate]}\n",
           BENCH_TESTS, what="no re-measurement before storing"),
    Mutant("tuner-ignores-the-noise", "kernels/bench/evidence.py",
           "return max(MIN_GAIN, 1.0 + NOISE_FACTOR * self.noise)",
           "return MIN_GAIN",
           BENCH_TESTS, what="gains below the A/A pair's drift count"),
    Mutant("tuner-llc-class-tuned-in-l2", "kernels/bench/tune.py",
           "return {\"in-l2\": [in_l2], \"in-llc\": [in_llc], \"out-of-cache\": [out_of_cache]}",
           "return {\"in-l2\": [in_l2], \"in-llc\": [in_l2], \"out-of-cache\": [out_of_cache]}",
           BENCH_TESTS, what="the last-level-cache class tuned at an L2 size"),
    Mutant("size-classes-without-l2", "kernels/tuning.py",
           "    if n <= in_l2_row_limit():\n        return \"in-l2\"\n",
           "",
           BENCH_TESTS, what="rows in L2 get the last-level-cache choice"),
    Mutant("tuner-without-the-marginal-band", "kernels/bench/evidence.py",
           "return self.median > self.threshold * (1.0 + MARGINAL_BAND)",
           "return self.median > self.threshold",
           BENCH_TESTS, what="a gain just above the threshold is stored as a clear decision"),
    Mutant("contract-exp-ignores-its-claim", "kernels/tuning.py",
           "return exp if exp in keeping(family, rtol) else None",
           "return exp",
           ("tests/test_contracts_api.py",), what="a stored exponential too coarse for the contract runs"),
    # ---- log_softmax
    Mutant("log-softmax-auto-follows-softmax-map", "kernels/logsoftmax.py",
           "return api.resolve(x, axis, algorithm, isa, threads, contracts.check_rtol(rtol), OPERATION)",
           "return api.resolve(x, axis, algorithm, isa, threads, contracts.check_rtol(rtol))",
           ("tests/test_dispatch.py",), what="log_softmax's auto runs softmax's choice"),
]
