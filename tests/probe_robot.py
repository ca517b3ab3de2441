"""A robot for engine tests: records its calls, fails on demand, sleeps, counts its lifecycle."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from robots.kit import (
    AccessRefused,
    ApplicationError,
    BusinessError,
    Robot,
    RobotContext,
    Seconds,
    Secret,
    action,
)

# A 1×1 PNG, so that reports can be tested with a real image.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class RereadRows:
    """Rows read again from the start at each pass, as a streamed spreadsheet is; counts its passes."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows
        self.passes = 0

    def __iter__(self) -> Iterator[Any]:
        self.passes += 1
        for row in self.rows:
            yield dict(row) if isinstance(row, dict) else row


class StreamedRows:
    """A collection read anew at each pass, that counts its passes and the rows it made."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.passes = 0
        self.made = 0

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict[str, int]]:
        self.passes += 1
        for n in range(self.count):
            self.made += 1
            yield {"n": n}


class Probe(Robot):
    """Test robot that records what it is asked to do."""

    name = "probe"
    calls: ClassVar[list[tuple[str, Any]]] = []
    created: ClassVar[int] = 0
    closed: ClassVar[int] = 0
    failures_left: ClassVar[dict[str, int]] = {}
    streams: ClassVar[list[RereadRows]] = []
    lock = threading.Lock()

    def __init__(self, context: RobotContext) -> None:
        super().__init__(context)
        with Probe.lock:
            Probe.created += 1

    @classmethod
    def reset(cls) -> None:
        cls.calls = []
        cls.created = 0
        cls.closed = 0
        cls.failures_left = {}
        cls.streams = []

    def close(self) -> None:
        """Count closings."""
        with Probe.lock:
            Probe.closed += 1

    @action
    def echo(self, value: Any) -> Any:
        """Return the value.

        Args:
            value: Anything.
        """
        with Probe.lock:
            Probe.calls.append(("echo", value))
        return value

    @action(side_effects=True)
    def write(self, value: str, count: int = 1) -> str:
        """Pretend to change something.

        Args:
            value: What to write.
            count: How many times.
        """
        with Probe.lock:
            Probe.calls.append(("write", value))
        return value * count

    @action(side_effects=True)
    def submit(self, value: str, refused: bool = False, lost: bool = False) -> str:
        """Send something out: refused (nothing changed) or lost on the way back (it may have gone through).

        Args:
            value: What to send.
            refused: Raise a business error: the other side refused it.
            lost: Raise an application error after sending: whether it went through is not known.
        """
        with Probe.lock:
            Probe.calls.append(("submit", value))
        if refused:
            raise BusinessError(f"{value} refused")
        if lost:
            raise ApplicationError(f"no answer after sending {value}")
        return value

    @action
    def flaky(self, key: str, failures: int) -> str:
        """Fail with an application error `failures` times for `key`, then succeed.

        Args:
            key: Which counter.
            failures: How many failures before success.
        """
        with Probe.lock:
            left = Probe.failures_left.setdefault(key, failures)
            Probe.calls.append(("flaky", key))
            if left > 0:
                Probe.failures_left[key] = left - 1
                raise ApplicationError(f"flaky failure for {key}")
        return "ok"

    @action
    def refuse(self, reason: str) -> None:
        """Raise a business error.

        Args:
            reason: The message.
        """
        with Probe.lock:
            Probe.calls.append(("refuse", reason))
        raise BusinessError(reason)

    @action
    def refuse_login(self, reason: str) -> None:
        """Raise the error of a refused login.

        Args:
            reason: The message.
        """
        with Probe.lock:
            Probe.calls.append(("refuse_login", reason))
        raise AccessRefused(f"the login was refused: {reason}")

    @action
    def refuse_with_screenshot(self, reason: str, hint: str | None = None) -> None:
        """Save a small PNG as the screenshot of the failure, then raise a business error.

        Args:
            reason: The message.
            hint: What to do about it.
        """
        shot = self.context.artifact_path(f"lane{self.context.lane}-refused.png")
        shot.write_bytes(TINY_PNG)
        self.context.record_artifact(shot, "screenshot", f"page when '{reason}' was refused")
        raise BusinessError(reason, hint=hint)

    @action
    def stream(self, rows: list[Any]) -> RereadRows:
        """The rows as an object read again at each pass (not a list).

        Args:
            rows: The rows.
        """
        stream = RereadRows(rows)
        Probe.streams.append(stream)
        return stream

    @action
    def crash(self) -> None:
        """Raise an unexpected Python error."""
        raise KeyError("boom")

    @action
    def sleep(self, seconds: Seconds) -> float:
        """Sleep.

        Args:
            seconds: How long.
        """
        time.sleep(seconds)
        return seconds

    @action
    def login(self, user: str, password: Secret) -> str:
        """Pretend to log in.

        Args:
            user: Who.
            password: The password.
        """
        return f"{user} logged in"

    @action
    def thread(self) -> str:
        """The name of the thread the action runs in."""
        return threading.current_thread().name

    @action(in_memory=True)
    def computed(self, crash: bool = False) -> str:
        """The name of the thread an in-memory action runs in; an unexpected error when asked.

        Args:
            crash: Raise a `KeyError`.
        """
        if crash:
            raise KeyError("boom")
        return threading.current_thread().name

    @action
    def rows(self, count: int) -> StreamedRows:
        """Rows made as they are gone through, like the records `excel.read_rows` streams from a file.

        Args:
            count: How many rows.
        """
        return StreamedRows(count)
