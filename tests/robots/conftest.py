"""What robot tests share: a robot context that records what a robot logs and the artifacts it saves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from robots.browser import Browser
from robots.kit import RobotContext

Artifact = tuple[Path, str, str]


@pytest.fixture
def logs() -> list[str]:
    """The messages the robot logged (the audit log's `log` events in a run)."""
    return []


@pytest.fixture
def artifacts() -> list[Artifact]:
    """The artifacts the robot recorded: (path, kind, description)."""
    return []


@pytest.fixture
def robot_context(tmp_path: Path, logs: list[str], artifacts: list[Artifact]) -> Iterator[RobotContext]:
    """A run context rooted in the test's folder, recording logs and artifacts; its shared resources (the
    run's document reader) closed at the end, as a run closes them."""
    context = RobotContext(
        run_id="t",
        workflow_name="t",
        workflow_dir=tmp_path,
        artifacts_dir=tmp_path / "artifacts",
        log=logs.append,
        record_artifact=lambda path, kind, description: artifacts.append((path, kind, description)),
    )
    yield context
    context.shared.close()


@pytest.fixture
def browser(robot_context: RobotContext) -> Iterator[Browser]:
    """A browser robot on that context, closed with the browser it shares."""
    robot = Browser(robot_context)
    try:
        yield robot
    finally:
        robot.close()
        robot_context.shared.close()
