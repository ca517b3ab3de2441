"""The folders of a run: where it is recorded by default (beside its workflow), and where it may leave temporary
files (beside its workflow and inputs, and where it saved files)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.events import ArtifactSaved, Event
from runner.record import AUDIT_LOG_NAME

if TYPE_CHECKING:
    from runner.record import RunRecord

LOGS_FOLDER = "logs"


def logs_beside(workflow: Path) -> Path:
    """Where a run of `workflow` is recorded when no option, variable or robo.toml says: `<its folder>/logs`, not
    the current folder (a run started from anywhere lands with its workflow)."""
    return workflow.resolve().parent / LOGS_FOLDER


class WrittenFolders:
    """An event sink noting the folders a run saved files to, where its temporary files may be left."""

    def __init__(self) -> None:
        self.folders: set[Path] = set()

    def handle(self, event: Event) -> None:
        if isinstance(event, ArtifactSaved):
            self.folders.add(Path(event.path).parent)

    def close(self) -> None:
        pass


def leftover_folders(workflow_dir: Path, inputs: Mapping[str, Any], previous: RunRecord | None) -> set[Path]:
    """Where a run's temporary files may be: beside its workflow, its inputs, and what it wrote before."""
    folders = {workflow_dir}
    for value in inputs.values():
        if isinstance(value, str | Path) and str(value).strip():
            path = Path(value)
            if path.is_absolute() and path.is_file():
                folders.add(path.parent)
            elif path.is_absolute() and path.is_dir():
                folders.add(path)
    if previous is not None and previous.run_dir:
        folders.update(_saved_folders(Path(previous.run_dir) / AUDIT_LOG_NAME))
    return folders


def _saved_folders(audit_log: Path) -> set[Path]:
    """The folders of the files an earlier session of the run saved, from its audit log."""
    import json

    folders: set[Path] = set()
    try:
        with audit_log.open(encoding="utf-8") as lines:
            for line in lines:
                if '"artifact_saved"' in line:
                    try:
                        folders.add(Path(json.loads(line)["path"]).parent)
                    except (ValueError, KeyError, TypeError):
                        continue
    except OSError:
        pass
    return folders
