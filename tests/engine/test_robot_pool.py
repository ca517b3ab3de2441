"""The robot pool: each robot in a thread of its own, waits that end on a timeout or a cancel, nothing left behind;
how an error that a robot did not expect is classified."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from robots import action_spec
from robots.kit import ApplicationError, RobotContext, StepTimeout
from runner.engine import Cancellation, RobotPool, StepCancelled
from tests.probe_robot import Probe
from tests.running import WorkflowRunner


def pool(tmp_path: Path, cancellation: Cancellation | None = None) -> RobotPool:
    def context() -> RobotContext:
        return RobotContext(
            run_id="t", workflow_name="t", workflow_dir=tmp_path, artifacts_dir=tmp_path / "a"
        )

    return RobotPool(context, cancellation=cancellation)


class TestCancel:
    def test_a_cancel_ends_the_wait_for_a_hung_action_at_once_and_abandons_its_robot(
        self, tmp_path: Path, probe: type[Probe]
    ) -> None:
        cancellation = Cancellation()
        robots = pool(tmp_path, cancellation)
        spec = action_spec("probe", "sleep")
        assert spec is not None
        threading.Timer(0.2, cancellation.cancel).start()  # from another thread, as the signal watcher does
        started = time.monotonic()
        with pytest.raises(StepCancelled):
            robots.call("probe", spec, {"seconds": 600}, timeout=None)
        assert time.monotonic() - started < 10
        assert robots.robot("probe") is None  # abandoned: a later step would get a new one
        assert robots.close() == []

    def test_after_a_cancel_no_new_wait_begins(self, tmp_path: Path, probe: type[Probe]) -> None:
        cancellation = Cancellation()
        robots = pool(tmp_path, cancellation)
        spec = action_spec("probe", "sleep")
        assert spec is not None
        cancellation.cancel()
        with pytest.raises(StepCancelled):
            robots.call("probe", spec, {"seconds": 600}, timeout=None)


class TestAbandonedWork:
    def test_a_timed_out_action_is_left_to_a_daemon_thread(self, tmp_path: Path, probe: type[Probe]) -> None:
        robots = pool(tmp_path)
        spec = action_spec("probe", "sleep")
        assert spec is not None
        with pytest.raises(StepTimeout):
            robots.call("probe", spec, {"seconds": 600}, timeout=0.2)
        hung = [t for t in threading.enumerate() if t.name.startswith("robot-probe-")]
        assert hung and all(t.daemon for t in hung)  # cannot keep the process alive at exit


class TestUnexpectedErrors:
    def test_a_file_name_from_the_data_that_no_file_system_accepts_is_refused_data_not_retried(
        self, run_yaml: WorkflowRunner, tmp_path: Path
    ) -> None:
        (tmp_path / "modele.txt").write_text("modèle", encoding="utf-8")
        rows = [
            {"ref": "A", "nom": "Dupont"},
            {"ref": "B", "nom": "Du\u0000pont"},
            {"ref": "C", "nom": "x" * 300},
        ]
        (tmp_path / "dossiers.json").write_text(json.dumps(rows), encoding="utf-8")
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - data.read_json: {path: dossiers.json}
    save: dossiers
  - for_each: "{{ dossiers }}"
    as: dossier
    key: dossier.ref
    retry: {attempts: 3, delay: 0}
    steps:
      - files.copy: {source: modele.txt, target: "sortie/{{ dossier.nom }}.txt"}
        retry: {attempts: 3, delay: 0}
"""
        )
        assert outcome.status == "completed_with_errors"
        finished = {e.key: e for e in recorder.of("item_finished")}
        assert {key: e.status for key, e in finished.items()} == {
            "A": "done",
            "B": "failed_business",
            "C": "failed_business",
        }
        assert recorder.of("retry_scheduled") == []
        assert "files.copy: the path in 'target' is refused, it holds a NUL character" in (
            finished["B"].error or ""
        )
        assert "files.copy: the path in 'target' is refused, a name in it is longer than 255 bytes" in (
            finished["C"].error or ""
        )
        assert sorted(p.name for p in (tmp_path / "sortie").iterdir()) == ["Dupont.txt"]


class TestInMemoryActions:
    """An action that only computes in memory is called in the engine's thread, with no hand-over."""

    def test_an_in_memory_action_runs_in_the_callers_thread_the_others_in_the_robots(
        self, tmp_path: Path, probe: type[Probe]
    ) -> None:
        robots = pool(tmp_path)
        computed, thread = action_spec("probe", "computed"), action_spec("probe", "thread")
        assert computed is not None and thread is not None and computed.in_memory and not thread.in_memory
        assert robots.call("probe", computed, {}, timeout=5) == threading.current_thread().name
        assert robots.call("probe", thread, {}, timeout=5) == "robot-probe-0"
        assert robots.close() == []

    def test_an_unexpected_error_of_an_in_memory_action_is_an_application_error(
        self, tmp_path: Path, probe: type[Probe]
    ) -> None:
        robots = pool(tmp_path)
        spec = action_spec("probe", "computed")
        assert spec is not None
        with pytest.raises(ApplicationError, match=r"probe.computed failed unexpectedly: KeyError: 'boom'"):
            robots.call("probe", spec, {"crash": True}, timeout=5)
        assert robots.close() == []

    def test_a_changing_action_is_never_in_memory(self) -> None:
        from robots.kit import Robot, action

        class Writer(Robot):
            name = "writer"

            @action(side_effects=True, in_memory=True)
            def send(self) -> None:
                """Send."""

        assert not Writer.action_specs()["send"].in_memory

    def test_the_data_robots_computations_are_in_memory_its_files_are_not(self) -> None:
        specs = {name: action_spec("data", name) for name in ("set", "filter", "read_csv", "write_json")}
        assert {name: spec.in_memory for name, spec in specs.items() if spec} == {
            "set": True,
            "filter": True,
            "read_csv": False,
            "write_json": False,
        }


class TestItemHooks:
    def test_hooks_go_to_the_robots_that_have_them_only(self, tmp_path: Path, probe: type[Probe]) -> None:
        from robots.kit import Robot

        calls: list[str] = []

        class Hooked(Probe):
            name = "probe"

            def item_started(self, key: str) -> None:
                calls.append(threading.current_thread().name)

        robots = pool(tmp_path)
        spec = action_spec("probe", "thread")
        assert spec is not None
        robots.call("probe", spec, {}, timeout=5)
        robots.notify("item_started", "A")  # Probe has no hook: nothing is sent to its thread
        assert calls == []
        robot = robots.robot("probe")
        assert robot is not None and type(robot).item_started is Robot.item_started
        robot.__class__ = Hooked
        robots.notify("item_started", "B")
        assert calls == ["robot-probe-0"]
        assert robots.close() == []
