"""One call that runs the robustness benchmark and writes its report files (JSON, Markdown, PNG)."""

from __future__ import annotations

import json
from pathlib import Path

from stopframe.bench.report import markdown, plot, plot_families, summarise
from stopframe.bench.runner import Config, Progress, run


def run_and_report(config: Config, out_dir: Path, progress: Progress | None = None) -> dict:
    """Run the benchmark; write robustness.json, robustness.md and two PNG plots to `out_dir`."""
    summary = summarise(run(config, progress))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "robustness.json").write_text(json.dumps(summary, indent=1))
    (out_dir / "robustness.md").write_text(markdown(summary))
    plot(summary, out_dir / "robustness-roc.png")
    plot_families(summary, out_dir / "robustness-families.png")
    return summary
