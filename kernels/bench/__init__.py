"""Benchmark harness: interleaved timing, machine report, traffic model and
roofs, peers, results files and plots.  CLI: ``python -m kernels.bench``."""
