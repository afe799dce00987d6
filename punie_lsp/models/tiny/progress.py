"""A rich progress display for punie-tiny's install (the CLI command and the first-use install share it)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING

from punie_lsp.models.tiny.install import InstallProgress, ProgressCallback

if TYPE_CHECKING:
    from rich.progress import TaskID

__all__ = ("progress_amount", "rich_progress")


def progress_amount(event: InstallProgress) -> str:
    """The amount done, in the stage's unit (`120/253 MB`, `40/236 tensors`), or `""`."""
    if event.stage == "assemble":
        return f"{event.completed / 1e6:.0f}/{event.total / 1e6:.0f} MB"
    if event.stage == "weights":
        return f"{event.completed}/{event.total} tensors"
    return ""


@contextlib.contextmanager
def rich_progress(*, transient: bool = False) -> Generator[ProgressCallback]:
    """Render install progress on stderr, one bar per stage; yields the callback to pass to the installer.

    Args:
        transient: remove the bars when done.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<36}"),
        BarColumn(),
        TextColumn("{task.fields[amount]:>16}"),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=transient,
    ) as progress:

        def callback(event: InstallProgress) -> None:
            total = max(event.total, 1)
            if event.stage not in tasks:
                tasks[event.stage] = progress.add_task(event.description, total=total, amount="")
            progress.update(
                tasks[event.stage], completed=event.completed, total=total, amount=progress_amount(event)
            )

        yield callback
