"""The robots of one run or one parallel lane: created on first use, each in a thread of its own, closed at the end.

Every robot runs its actions in its own worker thread. That gives the engine a real watchdog (`timeouts.py`: it
stops waiting, records an application error, and the robot is replaced), lets a run be cancelled in the middle of a
step (the second Ctrl+C: the wait ends at once and the robot is abandoned), and keeps robots whose library is
bound to one thread (Playwright's sync API) on that thread for their whole life. Worker threads are daemon
threads: a step abandoned after a timeout or a cancel cannot keep the process alive once the run has ended.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Container, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from robots import robot_class
from robots.kit import (
    ActionSpec,
    ApplicationError,
    RoboError,
    Robot,
    RobotContext,
    StepTimeout,
    _,
    format_number,
    refused_name,
)

CLOSE_AFTER_CANCEL = 5.0  # seconds each robot has to close once the run was cancelled


class StepCancelled(Exception):
    """The run was cancelled while a robot worked: the wait was abandoned, and the robot with it."""


class Cancellation:
    """A request to abandon the steps in progress at once; every wait for a robot ends when it comes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requested = False
        self._waiters: set[threading.Event] = set()

    def cancel(self) -> None:
        with self._lock:
            self._requested = True
            waiters = list(self._waiters)
        for waiter in waiters:
            waiter.set()

    def is_set(self) -> bool:
        return self._requested

    def wait(self, future: Future[Any], timeout: float | None) -> bool:
        """Whether `future` finished within `timeout` seconds; `StepCancelled` when a cancel came first."""
        wake = threading.Event()
        future.add_done_callback(lambda _future: wake.set())
        with self._lock:
            if self._requested and not future.done():
                raise StepCancelled()
            self._waiters.add(wake)
        try:
            wake.wait(timeout)
        finally:
            with self._lock:
                self._waiters.discard(wake)
        if future.done():
            return True
        if self._requested:
            raise StepCancelled()
        return False


class _Worker:
    """One daemon thread running a robot's calls in order."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[
            tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None
        ]
        self._calls = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._calls.put((future, function, args, kwargs))
        return future

    def stop(self) -> None:
        """End the thread once the calls already submitted are done (without waiting for them)."""
        self._calls.put(None)

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            future, function, args, kwargs = call
            if future.set_running_or_notify_cancel():
                try:
                    result = function(*args, **kwargs)
                except BaseException as exc:  # carried to the waiting thread, which decides
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del call, future, function, args, kwargs


@dataclass
class _Slot:
    robot: Robot
    worker: _Worker


class RobotPool:
    """The robots of one lane; not shared between lanes."""

    def __init__(
        self,
        make_context: Callable[[], RobotContext],
        lane: int = 0,
        cancellation: Cancellation | None = None,
    ) -> None:
        self._make_context = make_context
        self.lane = lane
        self._cancellation = cancellation or Cancellation()
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()

    def _slot(self, name: str) -> _Slot:
        with self._lock:
            slot = self._slots.get(name)
            if slot is None:
                cls = robot_class(name)
                worker = _Worker(f"robot-{name}-{self.lane}")
                try:
                    created = worker.submit(cls, self._make_context())
                    self._cancellation.wait(created, None)
                    robot = created.result()
                except BaseException:
                    worker.stop()
                    raise
                slot = self._slots[name] = _Slot(robot, worker)
            return slot

    def call(
        self,
        robot: str,
        spec: ActionSpec,
        params: Mapping[str, Any],
        timeout: float | None,
        data_values: Container[str] = frozenset(),
    ) -> Any:
        """Run one action in its robot's thread (an `in_memory` one in this thread); a `StepTimeout` when it takes
        longer than `timeout` seconds.

        `timeout` is the engine's watchdog (`timeouts.watchdog_limit`), not the action's own timeout: an action
        that takes one stops itself first, with a message saying what it waited for.

        `data_values` are the texts of `params` a template built from data (see `RobotContext.refuse_outside`).
        """
        slot = self._slot(robot)
        slot.robot.context.data_values = data_values
        method = getattr(slot.robot, spec.method_name)
        # nothing to wait for, cancel or keep on its thread
        if spec.in_memory and not slot.robot.thread_bound:
            try:
                return method(**params)
            except RoboError:
                raise
            except Exception as exc:
                raise _action_error(spec, exc) from exc
        future = slot.worker.submit(method, **params)
        try:
            finished = self._cancellation.wait(future, timeout)
        except StepCancelled:
            self._discard(robot, slot)
            raise
        if not finished:
            self._discard(robot, slot)
            raise StepTimeout(
                _("{action} did not finish within {seconds} s").format(
                    action=spec.qualified_name, seconds=format_number(timeout or 0)
                ),
                hint=_("raise the step's 'timeout:' if the system is just slow"),
            )
        try:
            return future.result()
        except RoboError:
            raise
        except Exception as exc:
            raise _action_error(spec, exc) from exc

    def notify(self, hook: str, *args: Any, timeout: float = 60.0) -> None:
        """Call a lifecycle hook (`item_started`, `item_finished`) on every robot created so far."""
        with self._lock:
            slots = [slot for slot in self._slots.values() if _overrides(slot.robot, hook)]
        for slot in slots:
            future = slot.worker.submit(getattr(slot.robot, hook), *args)
            try:
                if self._cancellation.wait(future, timeout):
                    future.result()
                else:
                    slot.robot.context.log(
                        _("{action} did not finish within {seconds} s").format(
                            action=f"{slot.robot.name}.{hook}", seconds=format_number(timeout)
                        )
                    )
            except StepCancelled:
                raise
            except Exception as exc:
                slot.robot.context.log(
                    _("{action} failed: {error}").format(action=f"{slot.robot.name}.{hook}", error=exc)
                )

    def robot(self, name: str) -> Robot | None:
        slot = self._slots.get(name)
        return slot.robot if slot else None

    def _discard(self, name: str, slot: _Slot) -> None:
        """Forget a robot whose action hung or was cancelled; its thread is left to end, or to end with the process."""
        with self._lock:
            if self._slots.get(name) is slot:
                del self._slots[name]
        slot.worker.submit(_close_quietly, slot.robot)
        slot.worker.stop()

    def close(self, timeout: float = 30.0) -> list[str]:
        """Close every robot, each in its own thread; returns the problems met (never raises)."""
        problems: list[str] = []
        with self._lock:
            slots, self._slots = dict(self._slots), {}
        if self._cancellation.is_set():  # idle robots still get a moment to close (a browser, a workbook)
            timeout = min(timeout, CLOSE_AFTER_CANCEL)
        for name, slot in slots.items():
            closing = slot.worker.submit(slot.robot.close)
            try:
                closing.result(timeout=timeout)
            except TimeoutError:
                problems.append(
                    _("the {robot} robot did not close within {seconds} s").format(
                        robot=name, seconds=format_number(timeout)
                    )
                )
            except Exception as exc:
                problems.append(_("closing the {robot} robot failed: {error}").format(robot=name, error=exc))
            finally:
                slot.worker.stop()
        return problems


def _action_error(spec: ActionSpec, exc: Exception) -> RoboError:
    """What the engine records of an exception (not a `RoboError`) an action raised: a refused name, or an
    unexpected failure as an application error."""
    refused = refused_name(exc, spec.qualified_name)
    if refused is not None:
        return refused
    return ApplicationError(
        _("{action} failed unexpectedly: {error}").format(
            action=spec.qualified_name, error=f"{type(exc).__name__}: {exc}"
        ),
        cause=[f"{type(exc).__module__}.{type(exc).__name__}"],
    )


def _overrides(robot: Robot, hook: str) -> bool:
    """Whether the robot does something at `hook` (the base class does nothing: no call, no thread hand-over)."""
    return getattr(type(robot), hook) is not getattr(Robot, hook)


def _close_quietly(robot: Robot) -> None:
    try:
        robot.close()
    except Exception:  # the robot already failed; closing it is best effort
        return
