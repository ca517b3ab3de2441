"""The statuses of a run and of its items, and the exit codes of `robo` (of each run status, and the others)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class RunStatus(StrEnum):
    """What a run is or became. Only a run that went to its end is `succeeded` or `completed_with_errors`."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    COMPLETED_WITH_ERRORS = "completed_with_errors"  # every step ran; some items failed
    FAILED = "failed"  # a step outside a loop failed: the run stopped there
    INTERRUPTED = "interrupted"  # asked to stop (signal, time limit): can be resumed
    CRASHED = "crashed"  # an unexpected error, or its process died: can be resumed


STOPPED_BEFORE_END = frozenset({RunStatus.INTERRUPTED, RunStatus.CRASHED})
"""Runs that stopped before their end: `--resume` continues them, a new run of the same inputs picks them up, the
console offers to resume them."""


def run_status_text(status: str) -> str:
    """A run's status as a person reads it, in their language: `completed_with_errors` → "completed with errors"
    (« terminé avec des erreurs »). The stored value stays the enum's; an unknown text is shown as it is."""
    from robots.kit import _  # here, not at the top: `robo --help` imports this module and no robot

    words: dict[str, str] = {
        RunStatus.RUNNING: _("running"),
        RunStatus.SUCCEEDED: _("succeeded"),
        RunStatus.COMPLETED_WITH_ERRORS: _("completed with errors"),
        RunStatus.FAILED: _("failed"),
        RunStatus.INTERRUPTED: _("interrupted"),
        RunStatus.CRASHED: _("crashed"),
    }
    return words.get(status, status)


class StepStatus(StrEnum):
    """How a step ended (`StepFinished.status`)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # its `when:` was false, or a dry run did not call it


def step_status_text(status: str) -> str:
    """A step's status as a person reads it, in their language (« réussie », « en échec », « sautée »)."""
    from robots.kit import pgettext

    words: dict[str, str] = {
        StepStatus.SUCCEEDED: pgettext("step", "succeeded"),
        StepStatus.FAILED: pgettext("step", "failed"),
        StepStatus.SKIPPED: pgettext("step", "skipped"),
    }
    return words.get(status, status)


class ExitCode(IntEnum):
    """How a `robo` command ends, for scripts and the schedule service: the one list of exit codes."""

    OK = 0
    ERROR = 1  # not done: a run failed, a workflow is invalid, no such run, a log fails verification
    USAGE = 2  # the command line is wrong: options that do not go together, an input that is not name=value
    # A run completed with errors; `robo audit verify`: an older log that cannot be proved (no key); `robo fleet
    # status`: a worker went silent or a job is stalled.
    PARTLY = 3
    SOFTWARE = 70  # an error of Rob'O itself (sysexits' EX_SOFTWARE): the run crashed
    INTERRUPTED = 130  # stopped by a signal (128 + SIGINT)


EXIT_CODES: dict[RunStatus, int] = {  # of `robo run`, by the run's final status
    RunStatus.SUCCEEDED: ExitCode.OK,
    RunStatus.FAILED: ExitCode.ERROR,
    RunStatus.COMPLETED_WITH_ERRORS: ExitCode.PARTLY,
    RunStatus.CRASHED: ExitCode.SOFTWARE,
    RunStatus.INTERRUPTED: ExitCode.INTERRUPTED,
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


def item_status_text(status: str) -> str:
    """An item's status as a person reads it, in their language: `to_check` → "to check" (« à vérifier »),
    `failed_business` → "failed: the data was refused". The stored value stays the enum's; an unknown text is
    shown as it is."""
    from robots.kit import KIND_WORDS, _, pgettext

    kind = status.removeprefix("failed_")
    if kind != status and kind in KIND_WORDS:
        return _("failed: {reason}").format(reason=_(KIND_WORDS[kind]))
    words: dict[str, str] = {
        ItemStatus.PENDING: pgettext("item", "to do again"),
        ItemStatus.IN_PROGRESS: pgettext("item", "in progress"),
        ItemStatus.DONE: pgettext("item", "done"),
        ItemStatus.TO_CHECK: pgettext("item", "to check"),
        ItemStatus.SKIPPED: pgettext("item", "already done"),
    }
    return words.get(status, status)


class ItemMark(StrEnum):
    """What a person found when checking an item (`robo runs mark RUN KEY --done|--redo`)."""

    DONE = "done"  # it is entered: never done again
    REDO = "redo"  # it is not: the next retry does it


ENDED = frozenset(ItemStatus) - {ItemStatus.PENDING, ItemStatus.IN_PROGRESS, ItemStatus.SKIPPED}
"""What an item becomes when it is done with, as a fleet worker records it (skipped is only said, never kept)."""
UNFINISHED = frozenset({ItemStatus.IN_PROGRESS, ItemStatus.FAILED_APPLICATION, ItemStatus.FAILED_WORKFLOW})
"""Items a resumed run checks with `already_done` before doing them again."""


FAILED = frozenset(status for status in ItemStatus if status.failed)


def is_failed(status: str) -> bool:
    """Whether an item's recorded status is one of the failed ones (any text: stores outlive versions)."""
    return status in FAILED
