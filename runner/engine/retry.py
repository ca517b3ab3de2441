"""Retry policies, built on tenacity.

Two kinds of errors: a business error (the data is refused: a validation message, a `fail` step) is never
retried; an application error (a timeout, a missing element, a server error) is retried according to the
policy: a number of attempts, a fixed or exponential delay with optional jitter, and a maximum delay.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from robots.kit import ApplicationError
from runner.language import RetryPolicy

T = TypeVar("T")

ONCE = RetryPolicy(attempts=1)
"""The retries of a step that may enter something twice (a submit, a mail sent) when the step sets none itself: a
timeout after the server saved it would enter it again, so `defaults.retry` does not apply to it. Its item is
retried whole instead, after its `already_done` check."""


def step_policy(own: RetryPolicy | None, may_enter_twice: bool, default: RetryPolicy) -> RetryPolicy:
    """The retries of an action step: its own `retry`, else `ONCE` for an action that may enter something twice,
    else the workflow's `defaults.retry`."""
    return own or (ONCE if may_enter_twice else default)


def delay_before(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (counting from 1)."""
    base = policy.delay * (policy.backoff ** (attempt - 1))
    jitter = (rng or random).uniform(0, policy.jitter) if policy.jitter else 0.0
    return float(min(policy.max_delay, base + jitter))


def call_with_retry(
    func: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[int, float, BaseException], None] | None = None,
    sleep: Callable[[float], Any] | None = None,
) -> T:
    """Call `func`, retrying application errors per `policy`; the last error is re-raised as it was."""
    if policy.attempts <= 1:
        return func()

    def wait(state: RetryCallState) -> float:
        return delay_before(policy, state.attempt_number)

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.next_action is not None:
            error = state.outcome.exception()
            if error is not None:
                on_retry(state.attempt_number, state.next_action.sleep, error)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception_type(ApplicationError),
        before_sleep=before_sleep,
        reraise=True,
        sleep=sleep or time.sleep,
    )
    return retrying(func)
