"""The hashing progress bar the commands draw on stderr, only when it is a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


@contextmanager
def hashing_bar(stderr: Console) -> Iterator[Callable[[int, int], None] | None]:
    """A callback `(files done, files in all)` that draws the bar, or None when stderr is not
    a terminal (nothing to draw on)."""
    if not stderr.is_terminal:
        yield None
        return
    columns = (TextColumn("hashing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("hash", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
