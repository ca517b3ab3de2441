"""The browser recorder (`robo record`): what a person does in a Chromium window, as a readable workflow.

`Recorder` (session.py) hears the pages and checks each element's locator; `build_workflow` (document.py) turns
the actions into workflow text (steps.py: one step per action, forms folded; data.py: values of a spreadsheet's
first row as its columns, in a loop), validated by `runner.language` before `RecordedWorkflow.write`.
"""

from runner.recorder.command import Drive, RecordingRequest, record, recording_address, run_recording
from runner.recorder.data import ITEM_NAME, Replacement, Sheet, read_sheet
from runner.recorder.document import RecordedWorkflow, build_workflow, schema_reference
from runner.recorder.session import Recorder
from runner.recorder.steps import FOLD_AT_LEAST, Action, secret_name

__all__ = [
    "FOLD_AT_LEAST",
    "ITEM_NAME",
    "Action",
    "Drive",
    "RecordedWorkflow",
    "Recorder",
    "RecordingRequest",
    "Replacement",
    "Sheet",
    "build_workflow",
    "read_sheet",
    "record",
    "recording_address",
    "run_recording",
    "schema_reference",
    "secret_name",
]
