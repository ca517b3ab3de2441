"""One run, from the workflow file to the report: the composition of the stages."""

from runner.run.claims import RunRefused
from runner.run.options import NOT_STARTED, RunOptions, RunOutcome
from runner.run.session import run_workflow
from runner.run.summary import print_outcome

__all__ = [
    "NOT_STARTED",
    "RunOptions",
    "RunOutcome",
    "RunRefused",
    "print_outcome",
    "run_workflow",
]
