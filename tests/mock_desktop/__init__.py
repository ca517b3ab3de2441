"""A legacy desktop client (Tk) that Rob'O's desktop robot is tested against, and the tests' X display.

Start it from a shell with `python -m tests.mock_desktop --db FILE.sqlite [--display :N]`, or in pytest through
the fixtures of `tests.mock_desktop.fixtures` (one Xvfb per session, a fresh client per test).
"""

from .case_store import CaseStore, StoredCase, case_number, read_cases
from .client import (
    ERROR_TITLE,
    FORM_TITLE,
    FOUND_TITLE,
    LOGIN_BUTTON_POSITION,
    LOGIN_ERROR_TITLE,
    LOGIN_TITLE,
    NOT_FOUND_TITLE,
    SAVED_MESSAGE,
    SAVED_TITLE,
    SEARCH_TITLE,
    TEXT_FIELDS,
    TYPE_LABEL,
    VALIDER_POSITION,
)
from .entry_rules import EntryRefused, NewCase, check_entry
from .xdotool import Geometry, Xdotool

__all__ = [
    "ERROR_TITLE",
    "FORM_TITLE",
    "FOUND_TITLE",
    "LOGIN_BUTTON_POSITION",
    "LOGIN_ERROR_TITLE",
    "LOGIN_TITLE",
    "NOT_FOUND_TITLE",
    "SAVED_MESSAGE",
    "SAVED_TITLE",
    "SEARCH_TITLE",
    "TEXT_FIELDS",
    "TYPE_LABEL",
    "VALIDER_POSITION",
    "CaseStore",
    "EntryRefused",
    "Geometry",
    "NewCase",
    "StoredCase",
    "Xdotool",
    "case_number",
    "check_entry",
    "read_cases",
]
