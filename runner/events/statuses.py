"""The statuses of a run and of its items, and the exit code of each run status."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """What a run is or became. Only a run that went to its end is `succeeded` or `completed_with_errors`."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    COMPLETED_WITH_ERRORS = "completed_with_errors"  # every step ran; some items failed
    FAILED = "failed"  # a step outside a loop failed: the run stopped there
    INTERRUPTED = "interrupted"  # asked to stop (signal, time limit): can be resumed
    CRASHED = "crashed"  # an unexpected error, or its process died: can be resumed


EXIT_CODES: dict[RunStatus, int] = {  # of `robo run`, by the run's final status
    RunStatus.SUCCEEDED: 0,
    RunStatus.FAILED: 1,
    RunStatus.COMPLETED_WITH_ERRORS: 3,
    RunStatus.CRASHED: 70,
    RunStatus.INTERRUPTED: 130,
}


class ItemStatus(StrEnum):
    """What became of a work item; the one list of item statuses (store, report, console, `robo runs`)."""

    PENDING = "pending"  # marked to be done again by a person (`robo runs mark KEY --redo`)
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED_BUSINESS = "failed_business"
    FAILED_APPLICATION = "failed_application"
    FAILED_WORKFLOW = "failed_workflow"  # stopped by a mistake in the workflow (a typo in a template)
    TO_CHECK = "to_check"  # failed after a change: maybe entered, so it is not done again blindly
    SKIPPED = "skipped"  # done by an earlier session of the run: its record stays as it was

    @property
    def failed(self) -> bool:
        return self.value.startswith("failed")


class ItemMark(StrEnum):
    """What a person found when checking an item (`robo runs mark RUN KEY --done|--redo`)."""

    DONE = "done"  # it is entered: never done again
    REDO = "redo"  # it is not: the next retry does it


UNFINISHED = frozenset({ItemStatus.IN_PROGRESS, ItemStatus.FAILED_APPLICATION, ItemStatus.FAILED_WORKFLOW})
"""Items a resumed run checks with `already_done` before doing them again."""


FAILED = frozenset(status for status in ItemStatus if status.failed)


def is_failed(status: str) -> bool:
    """Whether an item's recorded status is one of the failed ones (any text: stores outlive versions)."""
    return status in FAILED
