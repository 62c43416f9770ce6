"""False matches of robust matching at the operating point, measured on every available unrelated
picture of the benign corpus (natural photos and the astronomical stratum, where dark,
low-texture pictures come closest to each other), and that the quality gate holds on real data.

Needs the corpus ($STOPFRAME_CORPUS, else ~/.cache/stopframe/corpus; fetch it with
scripts/get-test-corpus.sh). Hashes are taken at reduced resolution and cached on disk.
"""

from __future__ import annotations

import os

import pytest

from stopframe.bench.cache import default_cache_dir
from stopframe.bench.corpus import default_corpus_dir, list_images
from stopframe.bench.false_matches import measure
from stopframe.matching.robust import MATCH_DISTANCE, SAFETY_MARGIN
from stopframe.signals.pdq_robust import MIN_QUALITY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report():
    corpus = default_corpus_dir()
    if not list_images(corpus / "images"):
        pytest.skip(
            f"benign corpus not found at {corpus}: run scripts/get-test-corpus.sh "
            "or set STOPFRAME_CORPUS"
        )
    if not list_images(corpus / "images_astro"):
        pytest.skip(
            f"corpus at {corpus} lacks images_astro/: fetch it with --astro "
            "(scripts/get-test-corpus.sh does)"
        )
    return measure(corpus, default_cache_dir(), max_side=256, workers=min(2, os.cpu_count() or 1))


def test_every_unrelated_pair_is_measured(report) -> None:
    kept = report.natural + report.astro - report.duplicates_dropped
    assert report.astro > 0 and report.natural > 0
    assert report.pairs == kept * (kept - 1)


def test_no_false_match_at_the_operating_point(report) -> None:
    assert report.false_matches == 0, report
    assert report.closest_unrelated >= MATCH_DISTANCE + SAFETY_MARGIN, report


def test_low_quality_hashes_are_gated(report) -> None:
    # the corpus holds low-quality (dark, featureless) pictures; none of the hashes robust
    # matching registered or queried is below the gate, and some pictures are left with none
    assert report.low_quality_pictures > 0
    assert report.unregistrable_pictures > 0, report
    assert report.lowest_used_quality >= MIN_QUALITY, report
