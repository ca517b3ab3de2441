"""The console sink: what a person watching a run sees.

On a terminal, a live line with the current step and a progress bar over each `for_each` loop; elsewhere (CI,
cron, a pipe), one plain line per fact, so logs stay readable. The console is only one of a run's sinks: when
it goes away (a closed terminal, `robo run … | head`), it goes quiet and the run goes on.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
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

from robots.kit import _, format_clock, format_duration, ngettext, printable, shortened, zone_label
from runner.events import (
    ArtifactSaved,
    Event,
    ItemFinished,
    ItemStarted,
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
    item_status_text,
    run_status_text,
)
from runner.record.closed_output import is_closed_output, silence_closed_output

_STATUS_MARK: dict[str, str] = {StepStatus.SUCCEEDED: "✓", StepStatus.FAILED: "✗", StepStatus.SKIPPED: "–"}
_ITEM_MARK: dict[str, str] = {ItemStatus.DONE: "✓", ItemStatus.TO_CHECK: "⚠", ItemStatus.SKIPPED: "–"}
HEARTBEAT_SECONDS = 30.0  # without a terminal, how long a long item may run before a summary line says so


@dataclass
class _Loop:
    """What the console knows of a `for_each` loop while it runs."""

    name: str
    total: int
    keys: frozenset[str] = frozenset()
    """Its items' keys: an item it no longer has, left to check after a resume, is not counted among them."""
    finished: int = 0
    failed: int = 0
    spent: float = 0.0  # seconds of the items finished, for the time left


@dataclass
class _Running:
    """An item started and not finished yet."""

    loop: str
    key: str
    since: float = field(default_factory=time.monotonic)


class ConsoleSink:
    """Shows a run's progress; `live=None` picks the live display only when the output is a terminal.

    Without a terminal, one line per item and a summary line every `heartbeat` seconds while an item runs long;
    each step's line only when `verbose`.
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        live: bool | None = None,
        verbose: bool = False,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        stream = stream or sys.stderr
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.console = Console(file=stream, highlight=False, soft_wrap=True, force_terminal=self.live or None)
        self.verbose = verbose
        self.heartbeat = heartbeat
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._loops: dict[str, _Loop] = {}
        self._tasks: dict[str, Any] = {}
        self._running: dict[tuple[str, str], _Running] = {}
        self._last_line = time.monotonic()
        self._folders = [
            Path.cwd()
        ]  # where paths are shown from: the workflow's folder once known, then here
        self._stopping = threading.Event()
        self._ticker: threading.Thread | None = None
        self.closed = False  # the reader went away: nothing more is written

    def handle(self, event: Event) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                self._follow(event)
                if self.live:
                    self._handle_live(event)
                else:
                    self._handle_plain(event)
            except (OSError, ValueError) as exc:  # ValueError: the stream itself was closed
                self._went_away(exc)

    def _follow(self, event: Event) -> None:
        """Keep the loops' counts and the running items, which both displays read."""
        if isinstance(event, RunStarted) and event.workflow_file:
            self._folders.insert(0, Path(event.workflow_file).parent)
        elif isinstance(event, LoopStarted):
            self._loops[event.loop] = _Loop(event.name, event.total, frozenset(event.keys))
        elif isinstance(event, ItemStarted):
            self._running[(event.loop, event.key)] = _Running(event.loop, event.key)
            if not self.live and self._ticker is None and self.heartbeat > 0:
                self._ticker = threading.Thread(target=self._tick, name="console-heartbeat", daemon=True)
                self._ticker.start()
        elif isinstance(event, ItemFinished):
            self._running.pop((event.loop, event.key), None)
            loop = self._counted(event)
            if loop is not None:
                loop.finished += 1
                loop.spent += event.duration
                if is_failed(event.status):
                    loop.failed += 1

    # -- plain output (not a terminal) ---------------------------------------------------------------------------

    def _line(self, text: str) -> None:
        # Written straight to the stream: rich's rendering costs more than a Playwright fill on a busy machine,
        # and a plain line needs none of it.
        stamp = format_clock(time.time())
        # Text from data is shown escaped, and its own lines indented: it can neither move the cursor nor fake a line.
        text = printable(shortened(text)).replace("\n", "\n" + " " * (len(stamp) + 1))
        self.stream.write(f"{stamp} {text}\n")
        self.stream.flush()
        self._last_line = time.monotonic()

    def _handle_plain(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            if event.dry_run:
                self._line(
                    _("run {run_id} of '{workflow}' started (dry run; times in {zone})").format(
                        run_id=event.run_id, workflow=event.workflow, zone=zone_label()
                    )
                )
            else:
                self._line(
                    _("run {run_id} of '{workflow}' started (times in {zone})").format(
                        run_id=event.run_id, workflow=event.workflow, zone=zone_label()
                    )
                )
        elif isinstance(event, StepFinished):
            # An item's failure is told by its item line; a step failing outside any item stops the run: told.
            if self.verbose or (event.status == StepStatus.FAILED and not event.item):
                self._line(_step_line(event))
        elif isinstance(event, LoopStarted):
            self._line(_loop_line(event))
        elif isinstance(event, ItemFinished):
            self._line(self._item_line(event))
        elif isinstance(event, RetryScheduled):
            self._line(
                _("⟳ {step}: attempt {attempt}/{of} failed ({error}); retry in {delay}").format(
                    step=event.name,
                    attempt=event.attempt,
                    of=event.of,
                    error=event.error,
                    delay=format_duration(event.delay),
                )
            )
        elif isinstance(event, LogMessage):
            self._line(
                _("{level}: {message}").format(
                    level=_level_text(event.level), message=self._for_people(event.message)
                )
            )
        elif isinstance(event, ArtifactSaved):
            if self.verbose:  # the report lists them; a path is no news to someone watching
                self._line(
                    _("saved {artifact}: {file}").format(artifact=event.artifact, file=Path(event.path).name)
                )
        elif isinstance(event, RunFinished):
            self._stop_ticker()
            self._line(_run_line(event))

    def _item_line(self, event: ItemFinished) -> str:
        """`[7/20] REF-2026-0007 ✓ DOS-2026-000042 (0.5 s)`: where the loop is, the item, what it gave; and, for an
        item a fleet's worker did, which one (`— bot-2`)."""
        line = self._item_text(event)
        if event.worker is None:
            return line
        return _("{line} — {worker}").format(line=line, worker=event.worker)

    def _counted(self, event: ItemFinished) -> _Loop | None:
        """The loop `event`'s item is one of, if it is (not one a resumed loop left to check, no longer listed)."""
        loop = self._loops.get(event.loop)
        if loop is None or not (event.key in loop.keys or (not loop.keys and loop.total > 0)):
            return None
        return loop

    def _item_text(self, event: ItemFinished) -> str:
        loop = self._counted(event)
        position = (
            _("[{done}/{total}]").format(done=loop.finished, total=loop.total)
            if loop is not None and loop.total > 0
            else _("[{done}]").format(done=event.index + 1)
        )
        mark = _ITEM_MARK.get(event.status, "✗")
        duration = format_duration(event.duration)
        if is_failed(event.status) or event.status == ItemStatus.TO_CHECK:
            return _("{position} {key} {mark} {status}: {error} ({duration})").format(
                position=position,
                key=event.key,
                mark=mark,
                status=item_status_text(event.status),
                error=event.error or "",
                duration=duration,
            )
        if event.status == ItemStatus.SKIPPED:
            return _("{position} {key} {mark} already done").format(
                position=position, key=event.key, mark=mark
            )
        gave = _gave(event.outcome)
        if gave:
            return _("{position} {key} {mark} {outcome} ({duration})").format(
                position=position, key=event.key, mark=mark, outcome=gave, duration=duration
            )
        return _("{position} {key} {mark} ({duration})").format(
            position=position, key=event.key, mark=mark, duration=duration
        )

    def _tick(self) -> None:
        """Every `heartbeat` seconds with nothing said while an item runs, a line that says where the run is."""
        while not self._stopping.wait(self.heartbeat / 4):
            with self._lock:
                if self.closed:
                    return
                now = time.monotonic()
                if not self._running or now - self._last_line < self.heartbeat:
                    continue
                try:
                    self._line(self._summary_line(now))
                except (OSError, ValueError) as exc:
                    self._went_away(exc)
                    return

    def _summary_line(self, now: float) -> str:
        oldest = min(self._running.values(), key=lambda running: running.since)
        loop = self._loops.get(oldest.loop)
        if loop is None or loop.total <= 0:
            return _("… {key} running for {elapsed}").format(
                key=oldest.key, elapsed=format_duration(now - oldest.since)
            )
        left = _time_left(loop)
        return _("… {key} running for {elapsed}; {done}/{total} done, {failed}, time left {left}").format(
            key=oldest.key,
            elapsed=format_duration(now - oldest.since),
            done=loop.finished,
            total=loop.total,
            failed=ngettext("{count} failed", "{count} failed", loop.failed).format(count=loop.failed),
            left=left,
        )

    def _stop_ticker(self) -> None:
        self._stopping.set()

    # -- live output (a terminal) --------------------------------------------------------------------------------

    def _ensure_progress(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]}", style="red"),
                TextColumn("{task.fields[left]}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._tasks["__step__"] = self._progress.add_task("", total=None, failed="", left="")
        return self._progress

    def _handle_live(self, event: Event) -> None:
        progress = self._ensure_progress()
        if isinstance(event, RunStarted):
            progress.console.print(
                _("[bold]{workflow}[/] — run {run_id}").format(
                    workflow=_shown(event.workflow), run_id=event.run_id
                )
            )
        elif isinstance(event, StepStarted):
            where = f" [dim]{_shown(event.item, lines=False)}[/]" if event.item else ""
            progress.update(self._tasks["__step__"], description=f"{_shown(event.name, lines=False)}{where}")
        elif isinstance(event, StepFinished):
            if self.verbose:
                progress.console.print(_shown(_step_line(event)))
        elif isinstance(event, LoopStarted):
            self._tasks[event.loop] = progress.add_task(
                _shown(event.name, lines=False), total=event.total, failed="", left=_("time left")
            )
        elif isinstance(event, ItemFinished):
            task = self._tasks.get(event.loop)
            loop = self._counted(event)
            if task is not None and loop is not None:
                failed = ngettext("{count} failed", "{count} failed", loop.failed).format(count=loop.failed)
                progress.update(task, advance=1, failed=failed if loop.failed else "")
            if is_failed(event.status) or event.status == ItemStatus.TO_CHECK:
                progress.console.print(f"[yellow]{_shown(self._item_line(event))}[/]")
            elif self.verbose:
                progress.console.print(_shown(self._item_line(event)))
        elif isinstance(event, RetryScheduled):
            progress.console.print(
                _("[yellow]⟳ {step}[/] attempt {attempt}/{of}: {error}").format(
                    step=_shown(event.name), attempt=event.attempt, of=event.of, error=_shown(event.error)
                )
            )
        elif isinstance(event, LogMessage):
            style = {"warning": "yellow", "error": "red"}.get(event.level, "")
            text = _shown(self._for_people(event.message))
            progress.console.print(f"[{style}]{text}[/]" if style else text)
        elif isinstance(event, RunFinished):
            progress.update(self._tasks["__step__"], description=_("done"), total=1, completed=1)
            self._stop()
            colour = "green" if event.status == RunStatus.SUCCEEDED else "red"
            self.console.print(f"[{colour}]{escape(_run_line(event))}[/]")

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        with self._lock:
            self._stop_ticker()
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

    def _for_people(self, message: str) -> str:
        """A robot's message without what only the audit log needs: no digest, no absolute path.

        The audit log keeps the message whole; a person watching reads a path from the workflow's folder.
        """
        message = _DIGEST.sub("", message)
        return _ABSOLUTE_PATH.sub(lambda match: self._shown_path(match[0]), message)

    def _shown_path(self, text: str) -> str:
        path = Path(text)
        for folder in self._folders:
            if path.is_relative_to(folder) and path != folder:
                return str(path.relative_to(folder))
        return f"…/{path.name}" if path.name else text


_DIGEST = re.compile(r",? sha256 [0-9a-f]{64}")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/[^\s,;()'\"]+")


def _shown(text: str, *, lines: bool = True) -> str:
    """Text from a run, for rich: control characters escaped (see `printable`), then markup characters."""
    return escape(printable(shortened(text), lines=lines))


def _step_line(event: StepFinished) -> str:
    mark = _STATUS_MARK.get(event.status, event.status)
    duration = format_duration(event.duration)
    if event.item:
        line = _("{mark} {step} [{item}] ({duration})").format(
            mark=mark, step=event.name, item=event.item, duration=duration
        )
    else:
        line = _("{mark} {step} ({duration})").format(mark=mark, step=event.name, duration=duration)
    if event.error:
        return _("{line}: {error}").format(line=line, error=event.error.get("message"))
    if event.status == StepStatus.SKIPPED and isinstance(event.result, str):
        return _("{line}: {reason}").format(
            line=line, reason=event.result
        )  # why, e.g. not called in a dry run
    return line


def _loop_line(event: LoopStarted) -> str:
    if event.parallel > 1:
        return ngettext(
            "↻ {loop}: {total} item, {lanes} lanes", "↻ {loop}: {total} items, {lanes} lanes", event.total
        ).format(loop=event.name, total=event.total, lanes=event.parallel)
    return ngettext("↻ {loop}: {total} item", "↻ {loop}: {total} items", event.total).format(
        loop=event.name, total=event.total
    )


def _run_line(event: RunFinished) -> str:
    """The run's last line: "run completed with errors in 2.0 s (3 steps, 2 items done, 1 failed)"."""
    return _("run {status} in {duration} {counts}").format(
        status=run_status_text(event.status),
        duration=format_duration(event.duration),
        counts=_counts_text(event.counts),
    )


def _gave(outcome: dict[str, Any] | None) -> str:
    """What an item gave, from its loop's `collect` (e.g. the number of the record it made)."""
    if not outcome:
        return ""
    shown = [
        str(value)
        for name, value in outcome.items()
        if name not in ("key", "status", "error") and value not in (None, "")
    ]
    return " ".join(shown)


def _time_left(loop: _Loop) -> str:
    """The loop's time left, from the mean duration of its finished items; unknown before the first one."""
    if loop.finished == 0:
        return _("unknown")
    return format_duration(loop.spent / loop.finished * max(loop.total - loop.finished, 0))


def _level_text(level: str) -> str:
    """A log message's level as a person reads it (`warning` → « attention »); an unknown one as it is."""
    words = {"debug": _("debug"), "info": _("info"), "warning": _("warning"), "error": _("error")}
    return words.get(level, level)


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
