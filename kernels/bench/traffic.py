"""The memory-traffic model: what each pass of each algorithm reads and writes.

Counts are per element of the row, float32 (4 bytes). A write to a line the
pass has not read first costs an extra read when the cache allocates on write
("write-allocate", a read-for-ownership); a non-temporal ("streaming") store
avoids it; an in-place pass has read the line already, so its write costs no
extra read.  Whether plain stores pay that read is measured per CPU (`rfo`:
plain against streaming stores out of cache) and kept in the machine report.

Every pass has a traffic pattern; the pattern's roof is the fastest of the
bandwidth kernels that move the bytes the model charges for it (measured by
kernels.bench.sweep and picked by kernels.bench.analysis).  Where plain
stores pay no read for ownership, plain and streaming stores move the same
bytes, so both kinds of kernel bound both kinds of pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import registry

FLOAT_BYTES = 4

# Access patterns of the passes (the first four have roofs) and of the write-only kernels.
READ = "read"  # reads x only (a reduction)
READ_WRITE = "read+write"  # reads x, writes a different y with plain stores
READ_WRITE_STREAMING = "read+write (streaming)"  # the same with non-temporal stores
IN_PLACE = "in-place"  # reads y, writes y
WRITE = "write"  # writes y only (measures the read for ownership)
WRITE_STREAMING = "write (streaming)"
ROOF_PATTERNS = (READ, READ_WRITE, READ_WRITE_STREAMING, IN_PLACE)

RFO_THRESHOLD = 1.1
"""Plain stores pay a read for ownership on a CPU where, out of cache, both the
plain fill and the plain copy take more than this times their streaming forms.
The model's ratios with that read are 2 (fill: 8 bytes against 4) and 1.5
(copy: 12 against 8), without it 1; 1.1 is well above the spread of the best
of several rounds of one kernel (a few percent on the shared build machine)."""


def pattern_bytes(pattern: str, write_allocate: bool = True) -> int:
    """Bytes per element that a kernel with this pattern moves under the model."""
    reads = 0 if pattern in (WRITE, WRITE_STREAMING) else 1
    writes = 0 if pattern == READ else 1
    extra = writes if write_allocate and pattern in (READ_WRITE, WRITE) else 0
    return FLOAT_BYTES * (reads + writes + extra)


def bounding_patterns(pattern: str, write_allocate: bool) -> tuple[str, ...]:
    """The patterns whose kernels bound a pass of this pattern: those moving the
    bytes the model charges.  Without a read for ownership, plain and
    streaming stores move the same bytes."""
    if pattern in (READ_WRITE, READ_WRITE_STREAMING) and not write_allocate:
        return (READ_WRITE, READ_WRITE_STREAMING)
    return (pattern,)


def rfo_finding(ns_per_element: dict[str, float]) -> dict:
    """Whether plain stores pay a read for ownership, from out-of-cache times of
    the plain and streaming fill and copy ({"fill", "fill (streaming)", "copy",
    "copy (streaming)"} -> ns per element)."""
    fill = ns_per_element["fill"] / ns_per_element["fill (streaming)"]
    copy = ns_per_element["copy"] / ns_per_element["copy (streaming)"]
    return {"fill / fill (streaming)": fill, "copy / copy (streaming)": copy,
            "plain_stores_rfo": bool(min(fill, copy) > RFO_THRESHOLD), "threshold": RFO_THRESHOLD}


def write_allocate(machine_report: dict | None) -> bool:
    """The CPU's measured finding (kernels.bench.sweep.measure_bandwidth), else
    the paper's model: plain stores pay a read for ownership."""
    rfo = ((machine_report or {}).get("bandwidth") or {}).get("rfo")
    return bool(rfo["plain_stores_rfo"]) if rfo else True

PASS_PATTERN = {
    "rmax": READ,
    "raddexpminusmax": READ,
    "raddexpminusmax_x2": READ,
    "raddextexp": READ,
    "raddexponline": READ,
    "raddstoreexpminusmax": READ_WRITE,
    "vscaleexpminusmax": READ_WRITE,
    "vscaleextexp": READ_WRITE,
    "vscale": IN_PLACE,  # the reload algorithm's third pass runs in place
}


@dataclass(frozen=True)
class PassTraffic:
    family: str
    pattern: str
    reads: int  # elements read per element of the row
    writes: int  # elements written per element of the row
    streaming: bool = False

    def bytes(self, write_allocate: bool = True) -> int:
        """Bytes that cross the memory bus per element of the row."""
        extra_read = self.writes if (write_allocate and self.pattern == READ_WRITE and not self.streaming) else 0
        return FLOAT_BYTES * (self.reads + self.writes + extra_read)

    @property
    def roof_pattern(self) -> str:
        """The pattern whose roof bounds this pass."""
        return READ_WRITE_STREAMING if self.pattern == READ_WRITE and self.streaming else self.pattern


def passes(algorithm: str, streaming: frozenset[str] | set[str] = frozenset()) -> list[PassTraffic]:
    """The traffic of each pass; `streaming` names the families that use streaming stores."""
    out = []
    for family in registry.ALGORITHM_PASSES[algorithm]:
        pattern = PASS_PATTERN[family]
        writes = 0 if pattern == READ else 1
        out.append(PassTraffic(family, pattern, 1, writes, streaming=family in streaming and pattern == READ_WRITE))
    return out


def bytes_per_element(algorithm: str, write_allocate: bool = True, streaming=frozenset()) -> int:
    return sum(p.bytes(write_allocate) for p in passes(algorithm, streaming))


def accesses_per_element(algorithm: str) -> int:
    """Reads plus writes, the count Milakov & Gimelshein use."""
    return sum(p.reads + p.writes for p in passes(algorithm))


def table() -> list[dict]:
    """The traffic table of the book: one row per algorithm."""
    rows = []
    for algorithm in registry.ALGORITHMS:
        ps = passes(algorithm)
        rows.append(
            {
                "algorithm": algorithm,
                "passes": len(ps),
                "reads": sum(p.reads for p in ps),
                "writes": sum(p.writes for p in ps),
                "bytes (no write-allocate)": bytes_per_element(algorithm, write_allocate=False),
                "bytes (write-allocate)": bytes_per_element(algorithm, write_allocate=True),
                "bytes (streaming stores)": bytes_per_element(
                    algorithm, write_allocate=True, streaming=set(registry.ALGORITHM_PASSES[algorithm])
                ),
            }
        )
    return rows


def roof_ns_per_element(algorithm: str, roof_ns: dict[str, float], streaming=frozenset()) -> float:
    """Roof time per element: each pass at the roof of its pattern ({pattern: ns per element})."""
    return sum(roof_ns[p.roof_pattern] for p in passes(algorithm, streaming))


def pass_roofs(algorithm: str, roof_ns: dict[str, float], streaming=frozenset()) -> dict[str, float]:
    return {p.family: roof_ns[p.roof_pattern] for p in passes(algorithm, streaming)}
