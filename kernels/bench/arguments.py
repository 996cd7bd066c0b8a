"""Command-line argument types and groups shared by the benchmark commands
(kernels.bench.cli and the row benchmarks it runs)."""

from __future__ import annotations

import argparse
import re

SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMG]?)$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """'1024', '4K', '64M', '2^20' -> elements."""
    text = text.strip()
    if text.startswith("2^") and text[2:].isdigit():
        return 1 << int(text[2:])
    m = SIZE_RE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 4096, 64K, 2^20)")
    value = float(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(2).upper()]
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"not a whole number of elements: {text!r}")
    return int(value)


def parse_sizes(text: str) -> list[int]:
    """A comma list of sizes, or LO..HI for powers of two between them."""
    if ".." in text:
        lo, hi = (parse_size(t) for t in text.split("..", 1))
        if lo > hi:
            raise argparse.ArgumentTypeError(f"empty size range {text!r}")
        sizes, n = [], 1
        while n <= hi:
            if n >= lo:
                sizes.append(n)
            n *= 2
        return sizes
    return [parse_size(t) for t in text.split(",") if t.strip()]


def add_row_arguments(parser, default_sizes: str, sizes_help: str) -> None:
    """--sizes, --reps and --quick of a benchmark over single rows (adversarial, log-softmax)."""
    parser.add_argument("--sizes", type=parse_sizes, default=default_sizes, help=sizes_help)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few rounds (tests)")


def row_settings(args, target_ms: float = 20.0) -> tuple[list[int], int, float]:
    """(sizes, rounds, ms per timed batch) from add_row_arguments' arguments."""
    if args.quick:
        return [1000, 4099], 2, 0.2
    return args.sizes, args.reps, target_ms


def choice_list(choices):
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(bad)}; choose from {', '.join(choices)}")
        return items

    return parse
