"""The console sink: what a person watching a run sees.

On a terminal, a live line with the current step and a progress bar over each `for_each` loop; elsewhere (CI,
cron, a pipe), one plain line per fact, so logs stay readable. The console is only one of a run's sinks: when
it goes away (a closed terminal, `robo run … | head`), it goes quiet and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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

from robots.kit import KIND_WORDS, _, ngettext, printable, shortened
from runner.events import (
    ArtifactSaved,
    Event,
    ItemFinished,
    ItemStatus,
    LogMessage,
    LoopStarted,
    RetryScheduled,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    is_failed,
    run_status_text,
)

_STATUS_MARK: dict[str, str] = {StepStatus.SUCCEEDED: "✓", StepStatus.FAILED: "✗", StepStatus.SKIPPED: "–"}


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
        self.closed = False  # the reader went away: nothing more is written

    def handle(self, event: Event) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                if self.live:
                    self._handle_live(event)
                else:
                    self._handle_plain(event)
            except (OSError, ValueError) as exc:  # ValueError: the stream itself was closed
                self._went_away(exc)

    # -- plain output (not a terminal) ---------------------------------------------------------------------------

    def _line(self, text: str) -> None:
        # Written straight to the stream: rich's rendering costs more than a Playwright fill on a busy machine,
        # and a plain line needs none of it.
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        # Text from data is shown escaped, and its own lines indented: it can neither move the cursor nor fake a line.
        text = printable(shortened(text)).replace("\n", "\n" + " " * (len(stamp) + 1))
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
            elif event.status == StepStatus.SKIPPED and isinstance(event.result, str):
                line += f": {event.result}"  # why, e.g. not called in a dry run
            self._line(line)
        elif isinstance(event, LoopStarted):
            self._line(
                f"↻ {event.name}: {event.total} items"
                + (f", {event.parallel} lanes" if event.parallel > 1 else "")
            )
        elif isinstance(event, ItemFinished):
            if event.status != ItemStatus.DONE:
                status = _status_words(event.status)
                if event.error:
                    line = _("item {key}: {status}: {error}").format(
                        key=event.key, status=status, error=event.error
                    )
                else:
                    line = _("item {key}: {status}").format(key=event.key, status=status)
                self._line("  " + line)
        elif isinstance(event, RetryScheduled):
            self._line(
                f"⟳ {event.name}: attempt {event.attempt}/{event.of} failed ({event.error}); retry in {event.delay:g} s"
            )
        elif isinstance(event, LogMessage):
            self._line(f"{event.level}: {event.message}")
        elif isinstance(event, ArtifactSaved):
            self._line(f"saved {event.artifact}: {event.path}")
        elif isinstance(event, RunFinished):
            self._line(_summary(event))

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
            progress.console.print(f"[bold]{_shown(event.workflow)}[/] — run {event.run_id}")
        elif isinstance(event, StepStarted):
            where = f" [dim]{_shown(event.item, lines=False)}[/]" if event.item else ""
            progress.update(self._loops["__step__"], description=f"{_shown(event.name, lines=False)}{where}")
        elif isinstance(event, LoopStarted):
            self._loops[event.loop] = progress.add_task(_shown(event.name, lines=False), total=event.total)
        elif isinstance(event, ItemFinished):
            task = self._loops.get(event.loop)
            if task is not None:
                progress.advance(task)
            if is_failed(event.status) or event.status == ItemStatus.TO_CHECK:
                progress.console.print(
                    f"[yellow]item {_shown(event.key)}[/] ({_status_words(event.status)}): "
                    f"{_shown(event.error or event.status)}"
                )
        elif isinstance(event, RetryScheduled):
            progress.console.print(
                f"[yellow]⟳ {_shown(event.name)}[/] attempt {event.attempt}/{event.of}: {_shown(event.error)}"
            )
        elif isinstance(event, LogMessage):
            style = {"warning": "yellow", "error": "red"}.get(event.level, "")
            text = _shown(event.message)
            progress.console.print(f"[{style}]{text}[/]" if style else text)
        elif isinstance(event, RunFinished):
            progress.update(self._loops["__step__"], description="done", total=1, completed=1)
            self._stop()
            colour = "green" if event.status == RunStatus.SUCCEEDED else "red"
            self.console.print(f"[{colour}]{escape(_summary(event))}[/]")

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                self._stop()
            except (OSError, ValueError) as exc:
                self._went_away(exc)

    def _went_away(self, exc: OSError | ValueError) -> None:
        if isinstance(exc, OSError) and not is_closed_output(exc):
            raise exc  # e.g. a full disk under a redirection: not the reader leaving
        self.closed = True
        self._progress = None
        silence_closed_output(self.stream)


@contextmanager
def output_may_be_closed() -> Iterator[None]:
    """What follows a run is said if someone still reads; a closed pipe changes nothing, not even the exit code."""
    try:
        yield
    except OSError as exc:
        if not is_closed_output(exc):
            raise
        silence_closed_output(sys.stdout)
        silence_closed_output(sys.stderr)


def is_closed_output(exc: BaseException) -> bool:
    """Whether writing failed because nobody reads the output any more (a closed pipe or terminal)."""
    import errno

    return isinstance(exc, ValueError) or (
        isinstance(exc, OSError) and exc.errno in (errno.EPIPE, errno.EIO, errno.ECONNRESET, errno.EBADF)
    )


def silence_closed_output(stream: IO[str]) -> None:
    """Send what is still written to `stream` (and buffered in it) to the null device.

    Without it, the interpreter's last flush of a closed stdout or stderr fails at exit and turns the process's
    exit code into 120, whatever the run's status was.
    """
    try:
        target = stream.fileno()
    except (OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, target)
    finally:
        os.close(null)


def _shown(text: str, *, lines: bool = True) -> str:
    """Text from a run, for rich: control characters escaped (see `printable`), then markup characters."""
    return escape(printable(shortened(text), lines=lines))


def _status_words(status: str) -> str:
    """`failed_workflow` → `failed: a mistake in the workflow`; other statuses as they are."""
    kind = status.removeprefix("failed_")
    if kind != status and kind in KIND_WORDS:
        return _("failed: {reason}").format(reason=_(KIND_WORDS[kind]))
    return status


def _summary(event: RunFinished) -> str:
    """The run's last line: "run completed with errors in 2.0 s (3 steps, 2 items done, 1 failed)"."""
    return _("run {status} in {seconds} s {counts}").format(
        status=run_status_text(event.status),
        seconds=f"{event.duration:.1f}",
        counts=_counts_text(event.counts),
    )


def _counts_text(counts: dict[str, int]) -> str:
    steps, done, failed, skipped, to_check, retries = (
        counts.get(key, 0)
        for key in ("steps", "items_done", "items_failed", "items_skipped", "items_to_check", "retries")
    )
    parts = [ngettext("{n} step", "{n} steps", steps).format(n=steps)]
    if done or failed or skipped:
        parts.append(ngettext("{n} item done", "{n} items done", done).format(n=done))
        if failed:
            parts.append(ngettext("{n} failed", "{n} failed", failed).format(n=failed))
        if skipped:
            parts.append(ngettext("{n} already done", "{n} already done", skipped).format(n=skipped))
    if to_check:
        parts.append(
            ngettext("{n} to check (maybe entered)", "{n} to check (maybe entered)", to_check).format(
                n=to_check
            )
        )
    if retries:
        parts.append(ngettext("{n} retry", "{n} retries", retries).format(n=retries))
    return "(" + ", ".join(parts) + ")"
