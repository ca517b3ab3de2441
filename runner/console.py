"""The console sink: what a person watching a run sees.

On a terminal, a live line with the current step and a progress bar over each `for_each` loop; elsewhere (CI,
cron, a pipe), one plain line per fact, so logs stay readable.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)

from runner.events import (
    ArtifactSaved,
    Event,
    ItemFinished,
    LogMessage,
    LoopStarted,
    RetryScheduled,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)

_STATUS_MARK = {"succeeded": "✓", "failed": "✗", "skipped": "–"}


class ConsoleSink:
    """Shows a run's progress; `live=None` picks the live display only when the output is a terminal."""

    def __init__(
        self, stream: IO[str] | None = None, *, live: bool | None = None, verbose: bool = False
    ) -> None:
        stream = stream or sys.stderr
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.console = Console(file=stream, highlight=False, soft_wrap=True, force_terminal=self.live or None)
        self.verbose = verbose
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._loops: dict[str, Any] = {}
        self._current = ""

    def handle(self, event: Event) -> None:
        with self._lock:
            if self.live:
                self._handle_live(event)
            else:
                self._handle_plain(event)

    # -- plain output (not a terminal) ---------------------------------------------------------------------------

    def _line(self, text: str) -> None:
        # Written straight to the stream: rich's rendering costs more than a Playwright fill on a busy machine,
        # and a plain line needs none of it.
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        self.stream.write(f"{stamp} {text}\n")
        self.stream.flush()

    def _handle_plain(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._line(
                f"run {event.run_id} of '{event.workflow}' started{' (dry run)' if event.dry_run else ''}"
            )
        elif isinstance(event, StepFinished):
            where = f" [{event.item}]" if event.item else ""
            mark = _STATUS_MARK.get(event.status, event.status)
            line = f"{mark} {event.name}{where} ({event.duration:.2f} s)"
            if event.error:
                line += f": {event.error.get('message')}"
            elif event.status == "skipped" and isinstance(event.result, str):
                line += f": {event.result}"  # why, e.g. not called in a dry run
            self._line(line)
        elif isinstance(event, LoopStarted):
            self._line(
                f"↻ {event.name}: {event.total} items"
                + (f", {event.parallel} lanes" if event.parallel > 1 else "")
            )
        elif isinstance(event, ItemFinished):
            if event.status != "done":
                self._line(
                    f"  item {event.key}: {event.status}" + (f": {event.error}" if event.error else "")
                )
        elif isinstance(event, RetryScheduled):
            self._line(
                f"⟳ {event.name}: attempt {event.attempt}/{event.of} failed ({event.error}); retry in {event.delay:g} s"
            )
        elif isinstance(event, LogMessage):
            self._line(f"{event.level}: {event.message}")
        elif isinstance(event, ArtifactSaved):
            self._line(f"saved {event.artifact}: {event.path}")
        elif isinstance(event, RunFinished):
            self._line(f"run {event.status} in {event.duration:.1f} s {_counts_text(event.counts)}")

    # -- live output (a terminal) --------------------------------------------------------------------------------

    def _ensure_progress(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._loops["__step__"] = self._progress.add_task("", total=None)
        return self._progress

    def _handle_live(self, event: Event) -> None:
        progress = self._ensure_progress()
        if isinstance(event, RunStarted):
            progress.console.print(f"[bold]{escape(event.workflow)}[/] — run {event.run_id}")
        elif isinstance(event, StepStarted):
            where = f" [dim]{escape(event.item)}[/]" if event.item else ""
            progress.update(self._loops["__step__"], description=f"{escape(event.name)}{where}")
        elif isinstance(event, LoopStarted):
            self._loops[event.loop] = progress.add_task(escape(event.name), total=event.total)
        elif isinstance(event, ItemFinished):
            task = self._loops.get(event.loop)
            if task is not None:
                progress.advance(task)
            if event.status.startswith("failed"):
                progress.console.print(
                    f"[yellow]item {escape(event.key)}[/]: {escape(event.error or event.status)}"
                )
        elif isinstance(event, RetryScheduled):
            progress.console.print(
                f"[yellow]⟳ {escape(event.name)}[/] attempt {event.attempt}/{event.of}: {escape(event.error)}"
            )
        elif isinstance(event, LogMessage):
            style = {"warning": "yellow", "error": "red"}.get(event.level, "")
            text = escape(event.message)
            progress.console.print(f"[{style}]{text}[/]" if style else text)
        elif isinstance(event, RunFinished):
            progress.update(self._loops["__step__"], description="done", total=1, completed=1)
            self._stop()
            colour = "green" if event.status == "succeeded" else "red"
            self.console.print(
                f"[{colour}]run {event.status}[/] in {event.duration:.1f} s {_counts_text(event.counts)}"
            )

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        with self._lock:
            self._stop()


def _counts_text(counts: dict[str, int]) -> str:
    parts = [f"{counts.get('steps', 0)} steps"]
    if counts.get("items_done") or counts.get("items_failed") or counts.get("items_skipped"):
        parts.append(f"{counts.get('items_done', 0)} items done")
        if counts.get("items_failed"):
            parts.append(f"{counts['items_failed']} failed")
        if counts.get("items_skipped"):
            parts.append(f"{counts['items_skipped']} already done")
    if counts.get("retries"):
        parts.append(f"{counts['retries']} retries")
    return "(" + ", ".join(parts) + ")"
