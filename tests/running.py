"""What tests of workflows share: a recorder of events, a runner of workflow texts, the validator's findings, and
`robo` run as a process the way a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from runner.events import Event
from runner.language import load_workflow_text, validate_document
from runner.run import RunOptions, RunOutcome, run_workflow


class EventRecorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.kind == kind]


class WorkflowRunner:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.count = 0

    def __call__(self, text: str, **options: Any) -> tuple[RunOutcome, EventRecorder]:
        self.count += 1
        path = self.tmp_path / f"workflow{self.count}.yaml"
        path.write_text(text, encoding="utf-8")
        recorder = EventRecorder()
        options.setdefault("logs_dir", self.tmp_path / "logs")
        options.setdefault("environ", {})
        outcome = run_workflow(path, RunOptions(extra_sinks=[recorder], **options))
        return outcome, recorder


def problems(text: str) -> list[str]:
    """The validator's findings on a workflow text, as `line:col code: message`."""
    result = validate_document(load_workflow_text(text, "w.yaml"))
    return [f"{d.span.line}:{d.span.col} {d.code}: {d.message}" for d in result.diagnostics]


ROOT = Path(__file__).resolve().parents[1]
LANGUAGE_VARIABLES = ("ROBO_LANG", "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")


def robo_process(
    *args: str,
    cwd: Path,
    without: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`python -m runner.cli ARGS` in `cwd`, with the suite's environment minus the variables named in `without`,
    plus `environ`; its output as text, whatever its exit status."""
    dropped = set(without)
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env, "PYTHONPATH": str(ROOT), **(environ or {})},
        check=False,
    )
