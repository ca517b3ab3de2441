"""A robot, what it sees of the run (its context), and the resources robots of one run share."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from robots.kit.actions import ActionSpec, T
from robots.kit.errors import ConfigurationError
from robots.kit.files import missing_file
from robots.kit.i18n import _
from robots.kit.paths import outside_error, path_outside


class SharedResources:
    """Things the robots of one run share across parallel lanes (one browser for N lanes), closed at its end."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._items: dict[str, Any] = {}
        self._closers: list[tuple[str, Callable[[Any], None]]] = []

    def get_or_create(self, key: str, create: Callable[[], T], close: Callable[[T], None]) -> T:
        """The resource under `key`, created on first use; `close` is called on it when the run ends."""
        with self._lock:
            if key not in self._items:
                self._items[key] = create()
                self._closers.append((key, close))
            return self._items[key]  # type: ignore[no-any-return]

    def close(self) -> list[str]:
        """Close everything, newest first; returns the problems met (never raises)."""
        problems = []
        with self._lock:
            closers, self._closers = self._closers, []
            items, self._items = self._items, {}
        for key, close in reversed(closers):
            try:
                close(items[key])
            except Exception as exc:
                problems.append(_("closing {resource} failed: {reason}").format(resource=key, reason=exc))
        return problems


@dataclass
class RobotContext:
    """What a robot may know of the run it serves; passed to the robot when it is created."""

    run_id: str
    workflow_name: str
    workflow_dir: Path
    artifacts_dir: Path
    settings: Mapping[str, Any] = field(default_factory=dict)
    lane: int = 0
    record_artifact: Callable[[Path, str, str], None] = lambda path, kind, description: None
    log: Callable[[str], None] = lambda message: None
    redact: Callable[[str], str] = lambda text: text
    shared: SharedResources = field(default_factory=SharedResources)
    input_paths: tuple[Path, ...] = ()
    """The files and folders given as the run's inputs of type `file` or `folder`."""
    records_dirs: tuple[Path, ...] = ()
    """Where runs keep their records (the logs folder: audit logs, the SQLite run store), out of data's reach."""
    data_values: Container[str] = frozenset()
    """The texts a template built from data in the parameters of the action being called (none when its step
    says `allow_outside: true`); see `refuse_outside`."""

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        """Where a path built from data may lead.

        The workflow's folder, the run's artifacts, and the files and folders given as inputs (a file: that file only).
        """
        return (self.workflow_dir, self.artifacts_dir, *self.input_paths)

    def path_outside(self, value: str) -> str | None:
        """Why `value`, a path built from data, may not be used (None: it stays in `allowed_roots`).

        The run's own folder and `records_dirs` are barred even when they lie inside the workflow's folder.
        """
        barred = (*self.records_dirs, self.artifacts_dir.parent)
        return path_outside(value, self.workflow_dir, self.allowed_roots, barred=barred)

    def refuse_outside(self, action: str, parameter: str, value: str, built_from: str | None = None) -> None:
        """Refuse a path found inside a structured parameter (a form's file field) that leads out, if data built it.

        The same rule as the engine's for `ConfinedPath` parameters: outside `allowed_roots`, a business error.
        `built_from` is the parameter's text the robot made `value` from (a filing rule's destination template).
        """
        if (value if built_from is None else built_from) in self.data_values:
            reason = self.path_outside(value)
            if reason is not None:
                raise outside_error(action, parameter, value, reason)

    def resolve_path(self, value: str | Path) -> Path:
        """A path from a workflow, relative to the workflow file's folder unless absolute."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.workflow_dir / path)

    def input_file(self, value: str | Path, what: str | None = None) -> Path:
        """The file a step reads, resolved like `resolve_path`; a `ConfigurationError` when it is not there.

        The error says "`what` not found: PATH" (`what` as the caller translated it, "file" by default); its hint tells a folder from a file, or names the closest file
        beside it ("did you mean …?").
        """
        path = self.resolve_path(value)
        if not path.is_file():
            raise missing_file(path, what)
        return path

    def artifact_path(self, name: str) -> Path:
        """A fresh path under the run's artifacts folder (created on demand); a secret in `name` is masked."""
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.\-]+", "_", self.redact(name)).strip("_") or "artifact"
        candidate = self.artifacts_dir / safe
        stem, suffix, counter = candidate.stem, candidate.suffix, 1
        while candidate.exists():
            counter += 1
            candidate = self.artifacts_dir / f"{stem}-{counter}{suffix}"
        return candidate


class Robot:
    """Base class of robots: a named set of actions with a lifecycle inside one run (or one parallel lane).

    A robot is created on first use, keeps its state between steps and is closed when the run ends, whatever
    happens. Subclasses set `name` and a docstring, decorate their actions with `@action`, and override
    `close()` when they hold resources.
    """

    name: ClassVar[str] = ""
    thread_bound: ClassVar[bool] = False
    """True when every call must come from the thread that created the robot (e.g. Playwright's sync API)."""
    one_screen: ClassVar[bool] = False
    """True when the robot drives the machine's one screen, mouse and keyboard (the desktop robot): lanes of a
    parallel loop would type into each other's windows, so validation refuses it in a loop with `parallel`."""
    reads_its_own_changes: ClassVar[bool] = False
    """True when actions read what the robot's changing actions left (a page after a click or a submit): in a
    dry run, where changes are skipped, its actions that follow a skipped one in the same item are not checked."""

    def __init__(self, context: RobotContext) -> None:
        self.context = context

    def close(self) -> None:
        """Release what the robot holds (a browser, an open workbook); called once at the end of the run."""

    def item_started(self, key: str) -> None:
        """Called when a `for_each` item starts in this robot's lane (e.g. to start a trace chunk)."""

    def item_finished(self, key: str, ok: bool) -> None:
        """Called when a `for_each` item ends in this robot's lane, `ok` telling whether it succeeded."""

    @classmethod
    def action_specs(cls) -> dict[str, ActionSpec]:
        """The robot's actions by name (computed once per class)."""
        cached: dict[str, ActionSpec] | None = cls.__dict__.get("_action_specs")
        if cached is not None:
            return cached
        specs: dict[str, ActionSpec] = {}
        for klass in reversed(cls.__mro__):
            for attribute in vars(klass).values():
                spec = getattr(attribute, "__robo_action__", None)
                if isinstance(spec, ActionSpec):
                    spec.robot = cls.name
                    specs[spec.name] = spec
        cls._action_specs = dict(sorted(specs.items()))  # type: ignore[attr-defined]
        return cls._action_specs  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def unavailable(cls) -> ConfigurationError | None:
        """Why the robot cannot work on this machine as it is (no display for the desktop robot), else None.

        Checked when a workflow that uses the robot is validated, so that a run fails before it starts.
        """
        return None

    @classmethod
    def summary(cls) -> str:
        """The first line of the robot's docstring."""
        return (inspect.getdoc(cls) or "").splitlines()[0] if cls.__doc__ else ""
