"""One run, from the workflow file to the report: the composition of the stages."""

from runner.run.session import RunOptions, RunOutcome, RunRefused, run_workflow

__all__ = [
    "RunOptions",
    "RunOutcome",
    "RunRefused",
    "run_workflow",
]
