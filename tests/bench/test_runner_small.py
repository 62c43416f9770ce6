"""The whole benchmark end to end on a tiny generated corpus: report files, every method,
deterministic figures, and a second run served from the cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from stopframe.bench.robustness import run_and_report
from stopframe.bench.runner import Config


def _corpus(root: Path) -> Path:
    rng = np.random.default_rng(5)
    for folder, count in (("images", 6), ("images_astro", 2)):
        (root / folder).mkdir(parents=True)
        for i in range(count):
            coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
            picture = Image.fromarray(coarse).resize((160, 120), Image.Resampling.BICUBIC)
            picture.save(root / folder / f"p{i}.png")
    return root


def test_small_run_writes_the_report_and_uses_the_cache(tmp_path: Path) -> None:
    config = Config(
        _corpus(tmp_path / "corpus"),
        tmp_path / "cache",
        seed=1,
        per_transform=4,
        max_side=160,
        workers=1,
        transforms=["jpeg_q50", "mirror"],
    )
    summary = run_and_report(config, tmp_path / "out")
    for name in (
        "robustness.json",
        "robustness.md",
        "robustness-roc.png",
        "robustness-families.png",
    ):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert set(summary["overall"]) == {"pdqhash", "phash8", "phash16", "pdq", "robust"}
    assert summary["corpus"]["natural_kept"] == 6 and summary["corpus"]["astro_kept"] == 2
    row = summary["transforms"]["mirror"]["robust"]
    assert row["fixed"]["recall"] == 1.0 and row["fixed"]["false_matches"] == 0
    assert summary["overall"]["robust"]["negative_pairs"] == 8 * (5 + 2)
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    again = run_and_report(config, tmp_path / "out2")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == cached
    strip = ("seconds", "methods")
    assert {k: v for k, v in again.items() if k not in strip} == json.loads(
        json.dumps({k: v for k, v in summary.items() if k not in strip})
    )
