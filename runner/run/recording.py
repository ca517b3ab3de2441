"""What a run's events go through on their way to its sinks (audit log, run store, console…), and the robots'
contexts that make them: one place for a run and for a fleet worker's share of a run."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robots.kit import RobotContext, SharedResources
from runner.engine import Redactor, secrets_by_source
from runner.events import ArtifactSaved, Event, EventSink, LogMessage, StepStarted, clean_data
from runner.language import Workflow, url_password


class EventDispatcher:
    """Makes every event recordable once (secrets masked, broken text readable), then hands it to each sink in
    order (audit log first)."""

    def __init__(self, sinks: list[EventSink], redactor: Redactor) -> None:
        self.sinks = sinks
        self.redactor = redactor
        self._lock = threading.Lock()
        self.current_step: dict[int, StepStarted] = {}  # per lane: what an artifact saved now belongs to

    def __call__(self, event: Event) -> None:
        event = _recordable(event, self.redactor)
        with self._lock:
            if isinstance(event, StepStarted):
                self.current_step[event.lane] = event
            for sink in self.sinks:
                sink.handle(event)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def _recordable(event: Event, redactor: Redactor) -> Event:
    """The event as every sink records it: secrets masked, and text that no file, database or console can take
    (a lone surrogate from broken data) written as U+FFFD, the same in each."""
    changes = {}
    for name in event.__dataclass_fields__:
        value = getattr(event, name)
        if value is None or isinstance(value, int | float):
            continue
        cleaned = clean_data(redactor.data(value) if redactor else value)
        if cleaned is not value and cleaned != value:
            changes[name] = cleaned
    return dataclasses.replace(event, **changes) if changes else event


def run_redactor(
    secret_values: Mapping[str, str], environ: Mapping[str, str], dirs: list[Path], store_url: str | None
) -> Redactor:
    """What masks a run's secrets: the workflow's, those of the environment and secret files, the store's
    password."""
    redactor = Redactor(secret_values.values())
    for value in [*secrets_by_source(environ, dirs), url_password(store_url or "") or ""]:
        redactor.add(value)
    return redactor


def input_paths(workflow: Workflow, inputs: Mapping[str, Any]) -> tuple[Path, ...]:
    """The run's input files and folders (robots never write into them)."""
    return tuple(
        Path(inputs[name])
        for name, spec in workflow.inputs.items()
        if spec.type in ("file", "folder") and isinstance(inputs.get(name), str) and inputs[name]
    )


def run_settings(workflow: Workflow, asked: Mapping[str, Any]) -> dict[str, Any]:
    """The robots' settings: the workflow's `browser:` and `desktop:` sections, under what the run was asked."""
    settings: dict[str, Any] = dict(asked)
    for section, declared in (("browser", workflow.browser), ("desktop", workflow.desktop)):
        settings[section] = {**declared.model_dump(), **dict(asked.get(section, {}))}
    return settings


@dataclasses.dataclass(frozen=True)
class RobotContexts:
    """Makes each lane's `RobotContext`: what a robot sees of its run, its artifacts recorded as events."""

    run_id: str
    workflow: Workflow
    workflow_dir: Path
    artifacts_dir: Path
    settings: dict[str, Any]
    redactor: Redactor
    shared: SharedResources
    input_paths: tuple[Path, ...]
    records_dirs: tuple[Path, ...]
    dispatch: EventDispatcher

    def __call__(self, lane: int) -> RobotContext:
        dispatch, run_id = self.dispatch, self.run_id

        def record_artifact(artifact_path: Path, kind: str, description: str) -> None:
            step = dispatch.current_step.get(lane)
            dispatch(
                ArtifactSaved(
                    run_id=run_id,
                    path=str(artifact_path),
                    artifact=kind,
                    description=description,
                    sha256=_sha256(artifact_path),
                    step=step.step if step else None,
                    item=step.item if step else None,
                )
            )

        def log(message: str) -> None:
            dispatch(LogMessage(run_id=run_id, level="info", message=message))

        return RobotContext(
            run_id=run_id,
            workflow_name=self.workflow.name,
            workflow_dir=self.workflow_dir,
            artifacts_dir=self.artifacts_dir,
            settings=self.settings,
            lane=lane,
            record_artifact=record_artifact,
            log=log,
            redact=self.redactor.text,
            shared=self.shared,
            input_paths=self.input_paths,
            records_dirs=self.records_dirs,
        )


def _sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None
