"""The Ray runner on a two-node local cluster (`ray.cluster_utils.Cluster`): the same rows as the
local pool. Starting two nodes takes long on a two-core machine, so this runs only with
STOPFRAME_SCAN_RAY_CLUSTER=1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scan_corpus import scan_options

from stopframe.scan import read_rows, run_scan

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'stopframe[ray]')")
pytestmark = pytest.mark.skipif(
    os.environ.get("STOPFRAME_SCAN_RAY_CLUSTER") != "1",
    reason="set STOPFRAME_SCAN_RAY_CLUSTER=1 to start a two-node local Ray cluster",
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from ray.cluster_utils import Cluster

    nodes = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    nodes.add_node(num_cpus=1)
    ray.init(address=nodes.address, log_to_driver=False)
    yield nodes
    ray.shutdown()
    nodes.shutdown()


def test_two_nodes_give_the_rows_of_the_local_pool(
    cluster: Any, tmp_path: Path, corpus: list[Path], store: Path, expected: list[dict[str, Any]]
) -> None:
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    summary = run_scan([corpus[0].parent.parent], tmp_path, scan_options(store, ray="auto", jobs=2))
    assert summary.complete
    assert read_rows(tmp_path).to_pylist() == expected
