"""Progress of a batch on a terminal (rich): files and bytes done, rate, time left.

Quiet when stderr is not a terminal, and for a single file; messages printed through it do
not garble the bar.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .runner import FileOutcome, FileTask


class BatchProgress:
    def __init__(self, err: TextIO, tasks: list[FileTask]) -> None:
        self.err = err
        self.progress = None
        self.task_id = None
        if len(tasks) > 1 and err.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.files_total = len(tasks)
            self.files_done = 0
            self.progress = Progress(
                TextColumn("[bold]genotel"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
                DownloadColumn(binary_units=True), TransferSpeedColumn(), TimeRemainingColumn(),
                console=Console(file=err), transient=True,
            )  # fmt: skip
            self.task_id = self.progress.add_task("files", total=sum(task.size for task in tasks))

    def __enter__(self) -> BatchProgress:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self.progress is not None:
            self.progress.stop()

    def advance(self, outcome: FileOutcome) -> None:
        if self.progress is not None and self.task_id is not None:
            self.progress.advance(self.task_id, outcome.task.size)

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.err)
