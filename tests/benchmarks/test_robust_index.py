"""benchmarks/robust_index.py: its synthetic sets keep the real sets' distances, and a tiny run
prints every row of the table and finds every near copy."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from stopframe.index.synthetic import HashModel
from stopframe.matching.rows import split_rows
from stopframe.signals.pdq import hamming_matrix

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "robust_index.py"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("robust_index_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_synthetic_sets_keep_the_real_distances(bench: ModuleType) -> None:
    shapes = bench.real_shapes(bench.shape_pictures(None, 0), seed=0)
    reg = bench.registered_sets(40, shapes, seed=0, model=HashModel.fit())
    source, entry, row = split_rows(reg.ids)
    assert (source == bench.ROBUST_SOURCE).all()
    assert np.array_equal(np.bincount(entry, minlength=40), shapes.reg_sizes[reg.shape])
    queries, plain = bench.make_queries(reg, shapes, 20, seed=0, model=HashModel.fit())
    for q in range(len(queries)):
        i = int(queries.target[q])
        if i < 0:
            continue
        p = int(reg.shape[i])
        mine = reg.codes[entry == i]
        real_reg = shapes.reg[shapes.reg_start[p] : shapes.reg_start[p + 1]]
        real_query = shapes.query[shapes.query_start[p] : shapes.query_start[p + 1]]
        assert np.array_equal(row[entry == i], np.arange(real_reg.shape[0]))
        assert np.array_equal(hamming_matrix(mine, mine), hamming_matrix(real_reg, real_reg))
        codes, _ = queries.pictures(q, q + 1)
        assert np.array_equal(hamming_matrix(codes, mine), hamming_matrix(real_query, real_reg))
        assert hamming_matrix(codes, mine).min() == shapes.distance[p]
        assert np.array_equal(plain.codes[q], reg.bases[i] ^ shapes.pdq_query[p])
    assert (queries.target >= 0).sum() == 10


def test_tiny_run_prints_every_row_and_finds_every_near_copy(bench: ModuleType) -> None:
    text = bench.main(
        [
            "--pictures", "300", "--queries", "24", "--batch", "10", "--single-queries", "4",
            "--repeats", "1", "--corpus-pictures", "0",
        ]
    )  # fmt: skip
    for kind in ("pdq_robust", "pdq"):
        for segment in ("compact", "tables"):
            assert f"| {kind} | {segment} | 300 |" in text
    for segment in ("compact", "tables"):
        assert f"pdq_robust {segment}: near copies found 12/12 (must be all)" in text
        assert f"goal <= 1 KB (1,024 bytes) per registered picture, {segment}:" in text
        assert f"goal <= 5 ms per query picture batched on one core, {segment}:" in text
        assert f"{segment}: pdq_robust / pdq = " in text
