from .claims import RunRefused
from .display import VIRTUAL_SCREEN, virtual_display
from .folders import LOGS_FOLDER, logs_beside
from .options import NOT_STARTED, RunOptions, RunOutcome, StartedRun
from .project import PROJECT_FILE, Project, find_project_file, load_project
from .recording import EventDispatcher, RobotContexts, input_paths, run_redactor, run_settings
from .session import run_workflow
from .summary import print_outcome

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
