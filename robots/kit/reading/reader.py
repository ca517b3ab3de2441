"""`DocumentReader`: documents read in a separate process, bounded in time and memory, errors made clear.

A hostile document (a PDF whose pages loop, a zip bomb, an image of a billion pixels) must neither hang a run nor
eat the machine's memory. So documents are read by a child process (`worker.py`) that is started once and reused:
its address space is bounded, and it is killed (with Tesseract if it runs) when a document takes longer than its
time limit; the next document starts a fresh one. A reading process that dies without an answer after it served
other documents is given the document again in a fresh process: what killed it may be its own history (a process grown
by earlier documents meets its bound inside a library that exits instead of raising, as OpenBLAS does); a fresh
process that dies too makes the document refused. Plain text files (.txt, .md, .csv) are read here: a bounded
number of bytes decoded is all it takes, and a process per file would cost more than the reading. Reads are one at a time (a lock), so robots of parallel lanes
may share one reader: `shared_reader(context)` gives the run's.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from robots.kit.reading.formats import TEXT_SUFFIXES, read_document
from robots.kit.reading.record import DocumentText, ReadingLimits
from robots.kit.reading.refusals import Refusal, refusal_error
from robots.kit.robot import RobotContext

_CLOSE_WAIT = 5.0


class DocumentReader:
    """Reads documents' text in a bounded child process; see the module's docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._served = 0  # documents the current reading process answered

    def read(self, path: Path, limits: ReadingLimits | None = None) -> DocumentText:
        """The text of `path`; a `BusinessError` (or `ApplicationError` for a timeout) naming it when it cannot be read."""
        limits = limits or ReadingLimits()
        try:
            if path.suffix.lower() in TEXT_SUFFIXES:  # bounded by its size alone: no process needed
                return read_document(path, limits)
            with self._lock:
                return DocumentText.from_record(self._ask(path, limits))
        except Refusal as refusal:
            raise refusal_error(refusal, path.name) from None

    def _ask(self, path: Path, limits: ReadingLimits) -> dict[str, Any]:
        started = time.monotonic()
        try:
            return self._ask_once(path, limits, limits.seconds)
        except Refusal as refusal:
            # A fresh process that died is no reason to try again (`_served`: the dead process's count, reset at
            # the next start).
            if refusal.code != "stopped" or self._served == 0:
                raise
        # In a fresh process (the one that died was stopped), within what is left of the document's time limit.
        left = limits.seconds - (time.monotonic() - started)
        if left <= 0:
            raise Refusal("timeout", {"seconds": limits.seconds})
        return self._ask_once(path, limits, left)

    def _ask_once(self, path: Path, limits: ReadingLimits, seconds: float) -> dict[str, Any]:
        request = json.dumps({"path": str(path.resolve()), "limits": limits.to_dict()}).encode() + b"\n"
        process = self._started()
        try:
            self._pipe(process.stdin).write(request)
            self._pipe(process.stdin).flush()
        except (BrokenPipeError, OSError):  # it stopped after its previous document: start another
            self._stop()
            process = self._started()
            self._pipe(process.stdin).write(request)
            self._pipe(process.stdin).flush()
        output = self._pipe(process.stdout)
        ready, _writable, _errors = select.select([output], [], [], seconds)
        if not ready:
            self._stop()
            raise Refusal("timeout", {"seconds": limits.seconds})
        line = output.readline()
        if not line:
            code = self._stop()
            raise Refusal("stopped", {"reason": f"exit code {code}"})
        self._served += 1
        reply: dict[str, Any] = json.loads(line)
        if "refusal" in reply:
            if reply["refusal"]["code"] == "memory":
                self._stop()
            raise Refusal(reply["refusal"]["code"], reply["refusal"]["details"])
        return reply["document"]  # type: ignore[no-any-return]

    @staticmethod
    def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
        assert stream is not None
        return stream

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            # One OCR thread: the machine's cores belong to the run's lanes, and threads would blur the memory bound
            # (OpenBLAS, loaded with numpy by the OCR, reserves buffers per thread: 126 MB of address space for two).
            environment = {**os.environ, "OMP_THREAD_LIMIT": "1", "OPENBLAS_NUM_THREADS": "1"}
            self._served = 0
            self._process = subprocess.Popen(
                [sys.executable, "-m", "robots.kit.reading.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,  # its own process group: killed with the Tesseract it started
            )
        return self._process

    def _stop(self) -> int | None:
        """Kill the reading process and what it started; its exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        # Not reaped yet, so its pid cannot be anyone else's: its group is killed even when it died first (a
        # Tesseract it started would be left running).
        if process.returncode is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        code = process.wait()
        for stream in (process.stdin, process.stdout):
            with suppress(OSError):
                if stream is not None:
                    stream.close()
        return code

    def close(self) -> None:
        """Stop the reading process: it ends when its input closes, or is killed after a few seconds."""
        with self._lock:
            process = self._process
            if process is None:
                return
            with suppress(OSError):
                self._pipe(process.stdin).close()
            try:
                process.wait(timeout=_CLOSE_WAIT)
            except subprocess.TimeoutExpired:
                pass
            self._stop()


def shared_reader(context: RobotContext) -> DocumentReader:
    """The run's document reader, started on first use and closed when the run ends."""
    return context.shared.get_or_create("document reader", DocumentReader, DocumentReader.close)
