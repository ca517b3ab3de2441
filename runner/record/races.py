"""One retry for the races of processes sharing a database, built on tenacity.

Two processes opening a new database together (a run and `robo runs`, two schedule services) meet two races, and
only these are retried: SQLite's "database is locked" (answered at once, without its busy timeout, to a journal mode
change or a lock upgrade that meets another connection doing the same) and "already exists" (a table or an index
the other process created between our look and our CREATE). Every other error is raised at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError, ProgrammingError
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

T = TypeVar("T")

RACE_MESSAGES = ("database is locked", "already exists")
RACE_PATIENCE = 30.0  # seconds: as long as SQLite's busy timeout, the wait a store open already accepts


def is_race(error: BaseException) -> bool:
    """Whether `error` is one of the two races: SQLite's "database is locked", or a table or index that "already
    exists" (SQLite's OperationalError, PostgreSQL's ProgrammingError), raised by sqlite3 or wrapped by SQLAlchemy."""
    if isinstance(error, OperationalError | ProgrammingError):
        message = str(error.orig)
    elif isinstance(error, sqlite3.OperationalError):
        message = str(error)
    else:
        return False
    return any(race in message.lower() for race in RACE_MESSAGES)


def retry_on_race(action: Callable[[], T], *, patience: float = RACE_PATIENCE) -> T:
    """`action()`, called again after a short random wait while it loses one of the races, for `patience` seconds
    at most; then (or for any other error) the error is raised as it was."""
    retrying = Retrying(
        retry=retry_if_exception(is_race),
        wait=wait_random_exponential(multiplier=0.02, max=0.5),
        stop=stop_after_delay(patience),
        reraise=True,
    )
    return retrying(action)
