"""Login rate limiting: too many wrong passwords for one name, or from one address, lock logins out for a while,
even with the right password."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoginThrottle:
    """Failures kept per user name and per address over `window` seconds; at `per_user` (or `per_address`)
    failures, logins for that name (or from that address) are refused for `lockout` seconds. In memory, per
    dashboard process.

    An attempt counts from the moment it is `admit`ted, before its password is checked: attempts sent all at once
    cannot all pass before the first ones are found wrong. `failed` then confirms it; `succeeded` takes it back.
    """

    per_user: int = 10
    per_address: int = 20
    window: float = 900.0
    lockout: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, user: str, address: str | None) -> float:
        """The seconds to wait before a login for `user` from `address` may be tried (0: it may, and counts)."""
        now = self.clock()
        keys = _keys(user, address)
        with self._lock:
            waits = []
            for key in keys:
                failures = self._recent(key, now)
                until = self._locked_until.get(key, 0.0)
                if until > now:
                    waits.append(until - now)
                elif len(failures) >= self._limit(key):  # as many attempts already being checked
                    waits.append(failures[0] + self.window - now)
            if waits:
                return max(waits)
            if len(self._failures) > 100_000:  # a flood of made-up names must not fill the memory
                self._failures.clear()
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
        return 0.0

    def failed(self, user: str, address: str | None) -> None:
        """The admitted attempt was wrong: at the limit, the name (or the address) is locked out."""
        now = self.clock()
        with self._lock:
            for key in _keys(user, address):
                if len(self._recent(key, now)) >= self._limit(key):
                    self._locked_until[key] = now + self.lockout
                    self._failures.pop(key, None)

    def succeeded(self, user: str, address: str | None) -> None:
        """The admitted attempt was right: the name's failures are forgotten, the address's attempt taken back."""
        with self._lock:
            self._failures.pop(f"user:{user.casefold()}", None)
            failures = self._failures.get(f"address:{address}") if address else None
            if failures:
                failures.pop()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] < now - self.window:
            failures.popleft()
        return failures

    def _limit(self, key: str) -> int:
        return self.per_user if key.startswith("user:") else self.per_address


def _keys(user: str, address: str | None) -> list[str]:
    return [f"user:{user.casefold()}", *([f"address:{address}"] if address else [])]
