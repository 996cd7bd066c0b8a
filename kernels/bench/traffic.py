"""The memory-traffic model: what each pass of each algorithm reads and writes.

Counts are per element of the row, float32 (4 bytes). A write to a line the
pass has not read first costs an extra read when the cache allocates on write
("write-allocate", a read-for-ownership); a non-temporal ("streaming") store
avoids it; an in-place pass has read the line already, so its write costs no
extra read. Every pass is matched with the bandwidth kernel that has its
access pattern, which gives the algorithm's bandwidth roof.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import registry

FLOAT_BYTES = 4

# Access pattern of each pass family, and the bandwidth kernel that has it.
READ = "read"  # reads x only (a reduction)
READ_WRITE = "read+write"  # reads x, writes a different y
IN_PLACE = "in-place"  # reads y, writes y

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
    def bandwidth_kernel(self) -> str:
        """The bandwidth measurement whose access pattern this pass shares."""
        if self.pattern == READ:
            return "read"
        if self.pattern == IN_PLACE:
            return "in-place scale"
        return "scale (streaming)" if self.streaming else "scale"


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


def roof_ns_per_element(algorithm: str, bandwidth_ns: dict[str, float], streaming=frozenset()) -> float:
    """Roof time per element: each pass at the measured speed of the bandwidth
    kernel with its access pattern (ns per element of that kernel)."""
    return sum(bandwidth_ns[p.bandwidth_kernel] for p in passes(algorithm, streaming))


def pass_roofs(algorithm: str, bandwidth_ns: dict[str, float], streaming=frozenset()) -> dict[str, float]:
    return {p.family: bandwidth_ns[p.bandwidth_kernel] for p in passes(algorithm, streaming)}
