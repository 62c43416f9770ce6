"""Robustness and speed benchmarks: transform suites, metrics, plots."""
