"""Vocabulary-parallel softmax: the logits of each row sharded across processes.

A tensor-parallel LM head leaves each process with a slice of the vocabulary
(a shard of every row's logits).  The softmax needs one number per row from
all shards, the normaliser, and there are two ways to get it:

* two collectives, as tensor-parallel libraries usually do: an all_reduce MAX
  of the row maxima, then an all_reduce SUM of sum(exp(x - max)) (three-pass
  reloading on each shard, with the library's pass kernels);
* one collective: each shard's sum of exponentials as the two-pass algorithm's
  (mantissa, exponent) pair, which needs no maximum; the pairs form a monoid
  (`merge_pairs`), so an all_gather of two numbers per row and a local merge
  give every process the whole row's sum (two-pass on each shard).

`run` starts `world` processes on this machine with torch.multiprocessing
(spawn) and torch.distributed's gloo backend on the loopback interface
(127.0.0.1 and a free port: nothing leaves the machine), runs both paths on
the same logits, and returns both outputs with their per-step times.  The
worker lives here, in an importable module, because spawn pickles the
function by reference (a notebook's functions cannot be pickled).
"""

from __future__ import annotations

import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import api, build

ONE = "one collective (all_gather of (m, n) pairs)"
TWO = "two collectives (all_reduce max, then sum)"
PATHS = (ONE, TWO)
KEYS = {ONE: "one", TWO: "two"}  # file keys
# ExtExp is accurate for |x| <= 2^16 (kernels/csrc/exp_constants.h); logits are far smaller.
MAX_ABS_LOGIT = 2.0**15


# ----------------------------------------------------------------- the monoid


def merge_pairs(pairs: np.ndarray) -> np.ndarray:
    """Merges (mantissa, exponent) sums of exponentials over axis 0.

    pairs[k, r] = (m, e) means sum_k = m * 2^e for row r.  The merge brings
    every term to the largest exponent, an exact power-of-two scaling, and
    adds the mantissas: associative, with (0, -inf) as its identity, so the
    shards may be merged in any grouping (the order only changes rounding)."""
    pairs = np.asarray(pairs, np.float64)
    exponent = pairs[..., 1].max(axis=0)
    mantissa = np.sum(pairs[..., 0] * np.exp2(pairs[..., 1] - exponent), axis=0)
    return np.stack([mantissa, exponent], axis=-1)


def log_of_pairs(pairs: np.ndarray) -> np.ndarray:
    """log(m * 2^e) of each pair: the log-sum-exp the pair stands for."""
    pairs = np.asarray(pairs, np.float64)
    return np.log(pairs[..., 0]) + pairs[..., 1] * np.log(2.0)


def shard_bounds(vocab: int, world: int) -> list[tuple[int, int]]:
    """[lo, hi) of each process's slice of the vocabulary (as even as possible)."""
    cuts = [vocab * rank // world for rank in range(world + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


# ------------------------------------------------------------- on one shard


class ShardKernels:
    """The library's pass kernels (tuned for this machine) for rows of n elements."""

    def __init__(self, n: int, isa: str | None = None):
        isa = api.resolve_isa(isa)
        core = build.load()
        two_pass = api.tuned_plan("two-pass", isa, n).variants
        reload = api.tuned_plan("three-pass-reload", isa, n).variants
        self.raddextexp = two_pass["raddextexp"].name
        self.vscaleextexp = two_pass["vscaleextexp"].name
        self.rmax = reload["rmax"].name
        self.raddstoreexpminusmax = reload["raddstoreexpminusmax"].name
        self.vscale = reload["vscale"].name
        self.core = core

    def pairs(self, x: np.ndarray) -> np.ndarray:
        """Each row's sum of e^x as a (mantissa, exponent) pair (pass 1 of two-pass)."""
        return np.array([self.core.raddextexp(self.raddextexp, row) for row in x], np.float64).reshape(-1, 2)

    def scale_by_pairs(self, x: np.ndarray, y: np.ndarray, sums: np.ndarray) -> None:
        """y = e^x / sum, the sum a (mantissa, exponent) pair (pass 2 of two-pass)."""
        for row, out, (mantissa, exponent) in zip(x, y, sums):
            self.core.vscaleextexp(self.vscaleextexp, row, out, 1.0 / mantissa, -exponent)

    def maxima(self, x: np.ndarray) -> np.ndarray:
        return np.array([self.core.rmax(self.rmax, row) for row in x], np.float32)

    def store_exp_minus(self, x: np.ndarray, y: np.ndarray, maxima: np.ndarray) -> np.ndarray:
        """y = e^(x - max) per row; returns each row's sum (pass 2 of three-pass reloading)."""
        return np.array([self.core.raddstoreexpminusmax(self.raddstoreexpminusmax, row, out, m)
                         for row, out, m in zip(x, y, maxima)], np.float64)

    def scale(self, y: np.ndarray, sums: np.ndarray) -> None:
        """y /= sum per row, in place (pass 3 of three-pass reloading)."""
        for out, total in zip(y, sums):
            self.core.vscale(self.vscale, out, out, 1.0 / total)


def check_logits(x: np.ndarray) -> None:
    """The fast paths only: finite logits of moderate size (kernels.softmax guards the rest)."""
    if not np.isfinite(x).all() or np.abs(x).max(initial=0.0) > MAX_ABS_LOGIT:
        raise ValueError(f"vocab-parallel softmax takes finite logits with |x| <= {MAX_ABS_LOGIT:g}")


def softmax_one_collective(x: np.ndarray, kernels: ShardKernels, world: int) -> tuple[np.ndarray, int]:
    """Softmax of the local shard x (rows x shard) with ONE collective: all_gather
    of each row's (mantissa, exponent) pair, merged locally in rank order.
    Returns the shard's output and the nanoseconds spent in the collective."""
    import torch
    import torch.distributed as dist

    local = torch.from_numpy(kernels.pairs(x))
    gathered = [torch.empty_like(local) for _ in range(world)]
    start = time.perf_counter_ns()
    dist.all_gather(gathered, local)
    waited = time.perf_counter_ns() - start
    sums = merge_pairs(np.stack([g.numpy() for g in gathered]))
    y = np.empty_like(x)
    kernels.scale_by_pairs(x, y, sums)
    return y, waited


def softmax_two_collectives(x: np.ndarray, kernels: ShardKernels) -> tuple[np.ndarray, int]:
    """The usual way, with TWO collectives: all_reduce MAX of the row maxima,
    then all_reduce SUM of each shard's sum of e^(x - max).
    Returns the shard's output and the nanoseconds spent in the collectives."""
    import torch
    import torch.distributed as dist

    maxima = torch.from_numpy(kernels.maxima(x))
    start = time.perf_counter_ns()
    dist.all_reduce(maxima, op=dist.ReduceOp.MAX)
    waited = time.perf_counter_ns() - start
    y = np.empty_like(x)
    sums = torch.from_numpy(kernels.store_exp_minus(x, y, maxima.numpy()))
    start = time.perf_counter_ns()
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)
    waited += time.perf_counter_ns() - start
    kernels.scale(y, sums.numpy())
    return y, waited


# ------------------------------------------------------------ the processes


def free_port() -> int:
    """A TCP port nothing listens on now, on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed_step(step, world_barrier) -> tuple[np.ndarray, int, int]:
    """One step started together on every process: its output, its time on
    this process and the part of it spent in collectives (ns)."""
    world_barrier()
    start = time.perf_counter_ns()
    y, waited = step()
    return y, time.perf_counter_ns() - start, waited


def worker(rank: int, world: int, port: int, logits: np.ndarray, rounds: int, folder: str) -> None:
    """One process of `run`: its shard of every row, both paths `rounds` times
    in alternating order, its output shards and times saved in `folder`."""
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)  # one core per process, as one GPU per process in a real LM head
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        lo, hi = shard_bounds(logits.shape[-1], world)[rank]
        x = np.ascontiguousarray(logits[:, lo:hi])
        check_logits(x)
        kernels = ShardKernels(x.shape[-1])
        steps = {ONE: lambda: softmax_one_collective(x, kernels, world),
                 TWO: lambda: softmax_two_collectives(x, kernels)}
        outputs, times = {}, {(path, part): [] for path in PATHS for part in ("step", "comm")}
        for round_ in range(rounds + 1):  # round 0 warms up (connections, pages)
            for path in PATHS if round_ % 2 else PATHS[::-1]:
                outputs[path], step_ns, comm_ns = _timed_step(steps[path], dist.barrier)
                if round_:
                    times[path, "step"].append(step_ns)
                    times[path, "comm"].append(comm_ns)
        np.savez(Path(folder) / f"rank{rank}.npz", lo=lo, hi=hi, one=outputs[ONE], two=outputs[TWO],
                 **{f"{part}_{KEYS[path]}": np.array(values) for (path, part), values in times.items()})
    finally:
        dist.destroy_process_group()


def run(logits: np.ndarray, world: int = 2, rounds: int = 20) -> dict:
    """Vocab-parallel softmax of `logits` (rows x vocab, float32) on `world`
    local processes.  Returns {"outputs": {path: rows x vocab}, "times_ns":
    {path: per-round step times, the slowest process's}, "comm_ns": {path:
    per-round time in collectives, the slowest process's}}."""
    import torch.multiprocessing as mp

    logits = np.ascontiguousarray(logits, np.float32)
    if logits.ndim != 2:
        raise ValueError("logits must be rows x vocab")
    check_logits(logits)
    # gloo binds to the interface the host name resolves to unless told: keep it on loopback.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo" if Path("/sys/class/net/lo").exists() else "lo0")
    with tempfile.TemporaryDirectory(prefix="vocab-parallel-") as folder:
        mp.spawn(worker, args=(world, free_port(), logits, rounds, folder), nprocs=world, join=True)
        parts = [np.load(Path(folder) / f"rank{rank}.npz") for rank in range(world)]
        outputs = {path: np.empty_like(logits) for path in PATHS}
        for part in parts:
            outputs[ONE][:, part["lo"]:part["hi"]] = part["one"]
            outputs[TWO][:, part["lo"]:part["hi"]] = part["two"]
        slowest = {part: {path: np.max([p[f"{part}_{KEYS[path]}"] for p in parts], axis=0) for path in PATHS}
                   for part in ("step", "comm")}
    return {"outputs": outputs, "times_ns": slowest["step"], "comm_ns": slowest["comm"]}


def median_us(times_ns) -> float:
    return statistics.median(times_ns) / 1e3
