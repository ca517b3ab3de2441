"""The console sink: one sink among others; when its reader goes away, it goes quiet and the run goes on."""

from __future__ import annotations

import os

from runner.events import LogMessage, RunFinished, RunStatus
from runner.record import ConsoleSink


class TestClosedOutput:
    def test_a_closed_pipe_silences_the_console_without_an_error(self) -> None:
        read_end, write_end = os.pipe()
        os.close(read_end)  # like `robo run … | head -1` once head has its line
        with open(write_end, "w", encoding="utf-8") as stream:
            console = ConsoleSink(stream, live=False)
            console.handle(LogMessage(run_id="r", level="info", message="personne ne lit"))
            assert console.closed
            console.handle(RunFinished(run_id="r", status=RunStatus.SUCCEEDED, duration=1.0))
            console.close()
            stream.write("still writable: the null device takes it\n")
            stream.flush()
