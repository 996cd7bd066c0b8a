"""python -m kernels.bench {sweep,shapes,report,tune,tune-agreement,exp,adversarial,log-softmax}."""

from __future__ import annotations

import argparse
import sys

from .. import registry
from .arguments import choice_list, parse_size, parse_sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kernels.bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sweep = sub.add_parser("sweep", help="measure every algorithm, pass, bandwidth kernel and peer across sizes")
    sweep.add_argument("--sizes", type=parse_sizes, help="e.g. 1K..64M or 1024,32768 (default: 1K..2^26, x1.5 steps)")
    sweep.add_argument("--algorithms", type=choice_list(registry.ALGORITHMS))
    sweep.add_argument("--isas", type=choice_list(registry.ISAS))
    sweep.add_argument("--variants", choices=("tuned", "default", "all"), default="tuned")
    sweep.add_argument("--reps", type=int, help="interleaved rounds per size (default 11, quick 5)")
    sweep.add_argument("--cache", choices=("warm", "cold", "both"), default="warm",
                       help="buffer mode of the tuned protocol (default warm)")
    sweep.add_argument("--protocol", choices=("tuned", "paper", "both"), default="tuned",
                       help="tuned (default): tuned kernels, streaming stores where they win, U(-10, 10), --cache "
                            "buffers; paper: the paper's benchmark protocol (plain stores, U(-1000, 1000), input "
                            "touched untimed before each call, outputs rotated cold), at 1K, 3K, 10K ... 30M "
                            "(quick: 1K ... 3M; --sizes sets the sizes of both protocols, e.g. 1000,300000000)")
    sweep.add_argument("--threads", type=int, default=1, help="threads for peers that use them (torch)")
    sweep.add_argument("--no-peers", action="store_true")
    sweep.add_argument("--no-passes", action="store_true")
    sweep.add_argument("--no-accuracy", action="store_true")
    sweep.add_argument("--quick", action="store_true", help="a few sizes and rounds: under a minute")
    sweep.add_argument("--out", help="results folder (default: results/ or $SOFTMAX_RESULTS)")
    sweep.add_argument("--no-progress", action="store_true")

    shapes = sub.add_parser("shapes", help="kernels.softmax vs torch, ONNX Runtime, numpy, scipy on a rows x n grid")
    shapes.add_argument("--rows", type=parse_sizes, help="rows per shape (default 1,8,64,512,4096,16384)")
    shapes.add_argument("--ns", type=parse_sizes, help="row lengths (default 128,512,2048,8192,32000,128256,256000)")
    shapes.add_argument("--long", dest="long_ns", type=lambda t: [] if t == "none" else parse_sizes(t),
                        help="single rows measured too when --rows has 1 (default 2^26,2^28; 'none')")
    shapes.add_argument("--reps", type=int, help="interleaved rounds per shape (default 7, quick 3)")
    shapes.add_argument("--max-bytes", type=parse_size, help="skip shapes whose input is larger (default 2G)")
    shapes.add_argument("--algorithms", type=choice_list(("auto", *registry.ALGORITHMS)),
                        help="kernels.softmax algorithms (default: auto and every explicit one)")
    shapes.add_argument("--peers", type=lambda t: [p.strip() for p in t.split(",") if p.strip()],
                        help="comma list of peer labels (default: all; unknown or missing ones are skipped)")
    shapes.add_argument("--quick", action="store_true", help="a tiny grid and 3 rounds: seconds")
    shapes.add_argument("--out", help="results folder (default: results/ or $SOFTMAX_RESULTS)")
    shapes.add_argument("--report", nargs="+", metavar="FOLDER", help="print the report of saved grids, measure nothing")
    shapes.add_argument("--no-progress", action="store_true")

    report = sub.add_parser("report", help="print the report of the latest (or a given) sweep or shape grid")
    report.add_argument("run", nargs="?", help="a results/<machine>/<run> folder (default: the latest sweep)")
    report.add_argument("--root", help="results folder to search (default: results/ or $SOFTMAX_RESULTS)")

    tune = sub.add_parser("tune", help="find and store the best variants, thread policy and auto map for this machine")
    tune.add_argument("--isas", type=choice_list(registry.ISAS))
    tune.add_argument("--algorithms", type=choice_list(registry.ALGORITHMS))
    tune.add_argument("--reps", type=int, default=7)
    tune.add_argument("--quick", action="store_true")
    tune.add_argument("--dry-run", action="store_true", help="measure and print, store nothing")
    tune.add_argument("--if-missing", action="store_true", help="tune only what this CPU has not stored yet")
    tune.add_argument("--dispatch-only", action="store_true", help="only the thread policy and auto's decision map")

    from . import adversarial, agreement, log_softmax

    adversarial.build_parser(sub)
    agreement.build_parser(sub)
    log_softmax.build_parser(sub)
    exp = sub.add_parser("exp", help="every exponential: ULP, softmax error, speed, contracts (see kernels.bench.expfamily)")
    exp.add_argument("--isas", type=choice_list(registry.ISAS))
    exp.add_argument("--exps", type=choice_list(list(registry.EXPS)))
    exp.add_argument("--parts", type=choice_list(("ulp", "speed", "contracts", "accuracy")),
                     help="default: all, in that order (contracts needs speed, measured now or in --into)")
    exp.add_argument("--stride", type=int, help="ULP scans visit every stride-th float (default 1: exhaustive)")
    exp.add_argument("--reps", type=int, default=11)
    exp.add_argument("--quick", action="store_true", help="sampled scans, small sizes, few rounds")
    exp.add_argument("--into", help="add the parts measured to this earlier results folder")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "reps", None) is not None and args.reps < 1:
        parser.error("--reps must be at least 1")
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "report":
        return _report(args)
    if args.command == "adversarial":
        from . import adversarial

        return adversarial.main(args)
    if args.command == "log-softmax":
        from . import log_softmax

        return log_softmax.main(args)
    if args.command == "tune-agreement":
        from . import agreement

        return agreement.main(args)
    if args.command == "shapes":
        from . import shapes

        return shapes.main(args)
    if args.command == "exp":
        from . import expfamily

        return expfamily.main(args)
    return _tune(args)


def _sweep(args) -> int:
    from . import results
    from .sweep import PAPER_QUICK_SIZES, QUICK_SIZES, SweepConfig, run_sweep

    config = SweepConfig()
    if args.quick:
        config.sizes, config.reps, config.target_ms = list(QUICK_SIZES), 5, 1.0
        config.paper_sizes = list(PAPER_QUICK_SIZES)
        config.accuracy_sizes = [1 << 15, 1 << 18]
        config.memory_size = 1 << 20
    if args.sizes:
        config.sizes = config.paper_sizes = args.sizes
    if args.algorithms:
        config.algorithms = args.algorithms
    if args.isas:
        config.isas = args.isas
    if args.reps:
        config.reps = args.reps
    config.variants = args.variants
    config.modes = ["warm", "cold"] if args.cache == "both" else [args.cache]
    config.protocols = ["tuned", "paper"] if args.protocol == "both" else [args.protocol]
    config.threads = args.threads
    config.peers = not args.no_peers
    config.passes = not args.no_passes
    if args.no_accuracy:
        config.accuracy_sizes = []
    run = run_sweep(config, progress=not args.no_progress, log=lambda m: print(m, file=sys.stderr))
    folder = results.save(run, args.out, tag="quick" if args.quick else "")
    print(f"saved {folder}")
    return 0


def _report(args) -> int:
    from . import report, results

    folder = args.run or results.latest(args.root)
    if results.kind(folder) == "shapes":
        from . import shapes

        print(shapes.render(shapes.load(folder)))
        return 0
    print(report.render(results.load(folder)))
    return 0


def _tune(args) -> int:
    from . import tune

    return tune.main(args)
