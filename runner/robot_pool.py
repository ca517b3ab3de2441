"""The robots of one run or one parallel lane: created on first use, each in a thread of its own, closed at the end.

Every robot runs its actions in its own worker thread. That gives each step a real timeout (the engine stops
waiting, records an application error, and the robot is replaced), and keeps robots whose library is bound to
one thread (Playwright's sync API) on that thread for their whole life.
"""

from __future__ import annotations

import concurrent.futures as futures
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from robots import ActionSpec, Robot, RobotContext, robot_class
from robots.base import refused_name
from runner.errors import ApplicationError, RoboError, StepTimeout


@dataclass
class _Slot:
    robot: Robot
    worker: futures.ThreadPoolExecutor


class RobotPool:
    """The robots of one lane; not shared between lanes."""

    def __init__(self, make_context: Callable[[], RobotContext], lane: int = 0) -> None:
        self._make_context = make_context
        self.lane = lane
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()

    def _slot(self, name: str) -> _Slot:
        with self._lock:
            slot = self._slots.get(name)
            if slot is None:
                cls = robot_class(name)
                worker = futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"robot-{name}-{self.lane}"
                )
                try:
                    robot = worker.submit(cls, self._make_context()).result()
                except BaseException:
                    worker.shutdown(wait=False)
                    raise
                slot = self._slots[name] = _Slot(robot, worker)
            return slot

    def call(self, robot: str, spec: ActionSpec, params: Mapping[str, Any], timeout: float | None) -> Any:
        """Run one action in its robot's thread; a `StepTimeout` when it takes longer than `timeout` seconds."""
        slot = self._slot(robot)
        method = getattr(slot.robot, spec.method_name)
        future = slot.worker.submit(method, **params)
        try:
            return future.result(timeout=timeout)
        except futures.TimeoutError:
            self._discard(robot, slot)
            raise StepTimeout(
                f"{spec.qualified_name} did not finish within {timeout:g} s",
                hint="raise the step's 'timeout:' if the system is just slow",
            ) from None
        except RoboError:
            raise
        except Exception as exc:
            refused = refused_name(exc, spec.qualified_name)
            if refused is not None:
                raise refused from exc
            raise ApplicationError(
                f"{spec.qualified_name} failed unexpectedly: {type(exc).__name__}: {exc}",
                cause=[f"{type(exc).__module__}.{type(exc).__name__}"],
            ) from exc

    def notify(self, hook: str, *args: Any, timeout: float = 60.0) -> None:
        """Call a lifecycle hook (`item_started`, `item_finished`) on every robot created so far."""
        with self._lock:
            slots = list(self._slots.values())
        for slot in slots:
            try:
                slot.worker.submit(getattr(slot.robot, hook), *args).result(timeout=timeout)
            except Exception as exc:
                slot.robot.context.log(f"{slot.robot.name}.{hook} failed: {exc}")

    def robot(self, name: str) -> Robot | None:
        slot = self._slots.get(name)
        return slot.robot if slot else None

    def _discard(self, name: str, slot: _Slot) -> None:
        """Forget a robot whose action hung; its thread is left to end (or be killed with the process)."""
        with self._lock:
            if self._slots.get(name) is slot:
                del self._slots[name]
        slot.worker.submit(_close_quietly, slot.robot)
        slot.worker.shutdown(wait=False)

    def close(self, timeout: float = 30.0) -> list[str]:
        """Close every robot, each in its own thread; returns the problems met (never raises)."""
        problems: list[str] = []
        with self._lock:
            slots, self._slots = dict(self._slots), {}
        for name, slot in slots.items():
            try:
                slot.worker.submit(slot.robot.close).result(timeout=timeout)
            except futures.TimeoutError:
                problems.append(f"the {name} robot did not close within {timeout:g} s")
            except Exception as exc:
                problems.append(f"closing the {name} robot failed: {exc}")
            finally:
                slot.worker.shutdown(wait=False)
        return problems


def _close_quietly(robot: Robot) -> None:
    try:
        robot.close()
    except Exception:  # the robot already failed; closing it is best effort
        return
