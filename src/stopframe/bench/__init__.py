"""Benchmarks: the robustness suite (transforms, metrics, competitors, plots) behind
`stopframe bench robustness` and benchmarks/robustness.py."""
