from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import robots
from runner.events import Event
from runner.loader import load_workflow_text
from runner.run import RunOptions, RunOutcome, run_workflow
from runner.validate import validate_document
from tests.runner.probe_robot import Probe


class EventRecorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.kind == kind]


@pytest.fixture
def probe() -> Iterator[type[Probe]]:
    robots.BUILTIN_ROBOTS["probe"] = "tests.runner.probe_robot:Probe"
    robots.robot_class.cache_clear()
    Probe.reset()
    yield Probe
    del robots.BUILTIN_ROBOTS["probe"]
    robots.robot_class.cache_clear()


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


@pytest.fixture
def run_yaml(tmp_path: Path, probe: type[Probe]) -> WorkflowRunner:
    return WorkflowRunner(tmp_path)


def problems(text: str) -> list[str]:
    """The validator's findings on a workflow text, as `line:col code: message`."""
    result = validate_document(load_workflow_text(text, "w.yaml"))
    return [f"{d.span.line}:{d.span.col} {d.code}: {d.message}" for d in result.diagnostics]
