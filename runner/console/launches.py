"""`robo` commands the console starts for an operator (a run, a retry, a resume, a schedule's fire): each its own
detached process, so that the console answers at once and a run outlives the console; what each printed goes to
a file of the logs folder."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from runner.console.access import operators_log_path

LAUNCHES_FOLDER = "launches"  # beside the operators' log: what each started process printed


@dataclass(frozen=True)
class Launch:
    """A `robo` command to start as its own process: what it does (`label`) and the file its output goes to,
    named before it starts (the operators' log names it first)."""

    label: str
    output: Path

    @classmethod
    def planned(cls, logs_dir: Path, label: str) -> Launch:
        folder = launches_folder(logs_dir)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        return cls(label, folder / f"{stamp}-{label}-{uuid.uuid4().hex[:8]}.log")

    def relative_to(self, logs_dir: Path) -> str:
        """The output file as the console's artifact links name it (relative to the logs folder)."""
        return self.output.relative_to(logs_dir).as_posix()


def launches_folder(logs_dir: Path) -> Path:
    """The folder of what the started commands printed (the run's page links each: viewers may read them)."""
    return operators_log_path(logs_dir).parent / LAUNCHES_FOLDER


def start_in_background(
    launch: Launch, arguments: list[str], logs_dir: Path, store_url: str, *, cwd: Path
) -> int:
    """`python -m runner.cli ARGUMENTS` started detached (a session of its own: stopping the console does not
    stop it), its output in `launch.output`; its process id. The run store and logs folder go through the
    environment (`ROBO_STORE_URL` may hold a password: never on a command line)."""
    output = launch.output
    output.parent.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "ROBO_LOGS": str(logs_dir), "ROBO_STORE_URL": store_url}
    with output.open("xb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "runner.cli", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=environment,
            start_new_session=True,
        )
    # Waited for by a thread of its own, so that it leaves no zombie behind while the console lasts.
    threading.Thread(target=process.wait, name=f"robo-{launch.label}-{process.pid}", daemon=True).start()
    return process.pid
