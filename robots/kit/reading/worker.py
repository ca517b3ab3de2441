"""The reading process: reads the documents it is asked for, one JSON line each way, under a memory limit.

Started by `DocumentReader` as `python -m robots.kit.reading.worker`. Each request names a file and its limits;
the address space is bounded before each read (Tesseract, started from here, inherits the bound), and the answer
is the document's record or a refusal (a code and plain values). What a library prints goes to stderr, never
into the answers. After a `MemoryError` the process answers, then exits: the next read starts a fresh one.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from robots.kit.reading.formats import read_document
from robots.kit.reading.record import ReadingLimits
from robots.kit.reading.refusals import Refusal


def bound_memory(megabytes: int) -> None:
    """Limit this process's address space (the soft limit, so the next request may set another)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = megabytes * 1024 * 1024
    resource.setrlimit(
        resource.RLIMIT_AS, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
    )


def answer(request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The answer to one request, and whether this process must stop after it."""
    limits = ReadingLimits(**request["limits"])
    path = Path(request["path"])
    bound_memory(limits.memory_mb)
    try:
        return {"document": read_document(path, limits).to_record()}, False
    except Refusal as refusal:
        return {"refusal": {"code": refusal.code, "details": refusal.details}}, False
    except MemoryError:
        return {"refusal": {"code": "memory", "details": {"limit": limits.memory_mb}}}, True
    except Exception as exc:  # a library's own error on a hostile file: the file is refused, not the run
        if out_of_memory(exc) or at_the_limit(limits.memory_mb):  # the limit met, whatever the library said
            return {"refusal": {"code": "memory", "details": {"limit": limits.memory_mb}}}, True
        kind = path.suffix.lstrip(".").lower()
        reason = f"{type(exc).__name__}: {exc}"[:500]
        return {"refusal": {"code": "damaged", "details": {"kind": kind, "reason": reason}}}, False


def out_of_memory(exc: BaseException) -> bool:
    """Whether an error is the memory limit met, in a library's own words.

    `ENOMEM` (an allocation, or starting Tesseract, refused), or a message that says so.
    """
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return True
    text = str(exc).lower()
    return "cannot allocate memory" in text or "out of memory" in text


def at_the_limit(megabytes: int) -> bool:
    """Whether this process's address space is (still) near its limit.

    An error a library raised then is the limit met, not a damaged file (a reading process grown by earlier
    documents): it is refused as such, and the next read starts in a fresh process.
    """
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return pages * os.sysconf("SC_PAGE_SIZE") >= 0.8 * megabytes * 1024 * 1024


def exit_with_parent() -> None:
    """Kill this process and its Tesseract when the robot's process is gone (killed in the middle of a document).

    Its input closing would only be seen after the document: a 200-page scan would go on for minutes.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.killpg(os.getpgrp(), signal.SIGKILL)  # its own group: the reader starts it in a new session

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main() -> None:
    """Answer requests from stdin until it closes."""
    exit_with_parent()
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for line in sys.stdin:
        reply, stop = answer(json.loads(line))
        answers.write(json.dumps(reply) + "\n")
        answers.flush()
        if stop:
            break


if __name__ == "__main__":
    main()
