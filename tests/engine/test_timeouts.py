"""A step's timeout belongs to the action; the engine's limit on a call is a watchdog that fires after it."""

from __future__ import annotations

from typing import Any

from robots import action_spec
from robots.kit import ActionSpec
from runner.engine import (
    WATCHDOG_FACTOR,
    WATCHDOG_GRACE,
    WATCHDOG_WITHOUT_TIMEOUT,
    give_action_timeout,
    watchdog_limit,
)
from tests.probe_robot import Probe


def spec_of(robot: str, action: str) -> ActionSpec:
    spec = action_spec(robot, action)
    assert spec is not None
    return spec


class TestTheActionOwnsTheTimeout:
    def test_the_steps_timeout_is_handed_to_an_action_that_leaves_its_own_to_a_default(self) -> None:
        rendered: dict[str, Any] = {"text": "Envoyer"}
        give_action_timeout(spec_of("browser", "click"), rendered, 7.0)
        assert rendered == {"text": "Envoyer", "timeout": 7.0}

    def test_a_timeout_the_workflow_gave_the_action_is_kept(self) -> None:
        rendered: dict[str, Any] = {"text": "Envoyer", "timeout": 3}
        give_action_timeout(spec_of("browser", "click"), rendered, 7.0)
        assert rendered["timeout"] == 3

    def test_an_action_whose_timeout_has_a_default_of_its_own_keeps_it(self) -> None:
        rendered: dict[str, Any] = {"url": "http://localhost/"}
        give_action_timeout(spec_of("http", "ensure_up"), rendered, 7.0)
        assert "timeout" not in rendered

    def test_without_a_step_timeout_nothing_is_handed(self) -> None:
        rendered: dict[str, Any] = {"text": "Envoyer"}
        give_action_timeout(spec_of("browser", "click"), rendered, None)
        assert "timeout" not in rendered


class TestTheEnginesLimitIsAWatchdog:
    def test_it_fires_after_the_actions_own_timeout_with_time_to_report_it(self) -> None:
        limit = watchdog_limit(spec_of("browser", "click"), {"timeout": 20.0}, 5.0)
        assert limit == 20.0 * WATCHDOG_FACTOR + WATCHDOG_GRACE
        assert limit > 20.0 + WATCHDOG_GRACE

    def test_it_fires_after_the_step_timeout_handed_to_the_action(self) -> None:
        assert (
            watchdog_limit(spec_of("browser", "click"), {"timeout": 7.0}, 7.0)
            == 7.0 * WATCHDOG_FACTOR + WATCHDOG_GRACE
        )

    def test_an_action_without_a_timeout_is_stopped_at_the_steps_timeout(self, probe: type[Probe]) -> None:
        assert watchdog_limit(spec_of("probe", "sleep"), {"seconds": 5}, 0.2) == 0.2

    def test_an_action_without_a_timeout_in_a_step_without_one_is_stopped_at_the_watchdogs_default(
        self, probe: type[Probe]
    ) -> None:
        assert watchdog_limit(spec_of("probe", "sleep"), {"seconds": 5}, None) == WATCHDOG_WITHOUT_TIMEOUT
