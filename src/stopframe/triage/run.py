"""One triage run: list and hash the collection (cached), group it, check it against lists."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from stopframe.apps.matcher.sources import PartnerSource
from stopframe.errors import ConfigError
from stopframe.triage.cache import HashCache, default_cache_path
from stopframe.triage.collect import Progress, hash_collection, list_collection
from stopframe.triage.groups import group_files
from stopframe.triage.known import KnownChecker, ListSource, open_store, read_partner, store_files
from stopframe.triage.model import TriageFile, TriageResult


@dataclass(frozen=True)
class TriageOptions:
    """How to triage: worker processes, where the hash cache lives (default: the user's cache
    folder), list stores and partner lists to check against, a progress callback, and whether
    cropped copies of videos are looked for (`video_crops`: nine more hashes per frame)."""

    jobs: int = 1
    cache: Path | None = None
    stores: Sequence[Path] = ()
    partners: Sequence[PartnerSource] = ()
    progress: Progress | None = field(default=None, compare=False)
    video_crops: bool = False


def check_outside(paths: Sequence[str | Path], written: Sequence[Path]) -> None:
    """Refuse to write (cache, report) inside a folder of the collection: evidence is only read."""
    folders = [os.path.realpath(p) for p in paths if os.path.isdir(p)]
    for target in written:
        real = os.path.realpath(target)
        for folder in folders:
            if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep):
                raise ConfigError(
                    f"{target} is inside the collection folder {folder}: triage never writes "
                    "into evidence; choose a place outside it"
                )


def run_triage(paths: Sequence[str | Path], options: TriageOptions | None = None) -> TriageResult:
    """Hash, group and check the files under `paths`; see `TriageResult`."""
    options = options or TriageOptions()
    started = time.perf_counter()
    cache_path = options.cache or default_cache_path()
    check_outside(paths, [cache_path])
    with ExitStack() as stack:
        sources: list[ListSource] = [
            open_store(path, stack) for given in options.stores for path in store_files(given)
        ]
        sources += [read_partner(p) for p in options.partners]
        checker = KnownChecker(sources) if sources else None
        if checker is not None:
            stack.callback(checker.close)
        cache = stack.enter_context(HashCache(cache_path))
        files: list[TriageFile] = []
        cached = 0
        listed = list_collection(paths)
        for item, hit in hash_collection(
            listed,
            cache,
            jobs=options.jobs,
            progress=options.progress or None,
            video_crops=options.video_crops,
        ):
            files.append(item)
            cached += hit
        groups = group_files(files)
        if checker is not None:
            checker.check(files, groups)
        return TriageResult(
            files=files,
            groups=groups,
            lists=[s.name for s in sources],
            cached=cached,
            seconds=time.perf_counter() - started,
        )
