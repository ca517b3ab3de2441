"""One run, from the workflow file to the report: the composition of the stages."""

from runner.run.claims import RunRefused
from runner.run.display import VIRTUAL_SCREEN, virtual_display
from runner.run.folders import LOGS_FOLDER, logs_beside
from runner.run.options import NOT_STARTED, RunOptions, RunOutcome, StartedRun
from runner.run.project import PROJECT_FILE, Project, find_project_file, load_project
from runner.run.recording import EventDispatcher, RobotContexts, input_paths, run_redactor, run_settings
from runner.run.session import run_workflow
from runner.run.summary import print_outcome

__all__ = [
    "LOGS_FOLDER",
    "NOT_STARTED",
    "PROJECT_FILE",
    "VIRTUAL_SCREEN",
    "EventDispatcher",
    "Project",
    "RobotContexts",
    "RunOptions",
    "RunOutcome",
    "RunRefused",
    "StartedRun",
    "find_project_file",
    "input_paths",
    "load_project",
    "logs_beside",
    "print_outcome",
    "run_redactor",
    "run_settings",
    "run_workflow",
    "virtual_display",
]
