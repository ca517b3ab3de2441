"""Secret values: where they come from (environment, `.env`, system keyring) and how they are kept out of logs.

A workflow names the secrets it needs under `secrets:`; values are looked up at run start, in this order:
the environment variable `ROBO_SECRET_<NAME>` (upper case), the environment variable `<NAME>`, a `.env` file
beside the workflow or in the current folder, then the system keyring (service "robo"). Every value found, with
its URL-encoded and base64 forms, is registered with the run's `Redactor`.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from runner.errors import ConfigurationError

KEYRING_SERVICE = "robo"
MASK = "***"
_MIN_SECRET_LENGTH = 3


class Redactor:
    """Replaces every registered secret value (and its encoded forms) with `***` in text and data."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        if not isinstance(value, str) or len(value) < _MIN_SECRET_LENGTH:
            return
        forms = {
            value,
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote_plus(value),
            base64.b64encode(value.encode()).decode(),
            base64.urlsafe_b64encode(value.encode()).decode(),
            base64.b64encode(value.encode()).decode().rstrip("="),
        }
        with self._lock:
            self._forms |= {form for form in forms if len(form) >= _MIN_SECRET_LENGTH}
            ordered = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(form) for form in ordered))

    def __bool__(self) -> bool:
        return bool(self._forms)

    def text(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def data(self, value: Any) -> Any:
        """Redact strings anywhere inside plain data (mappings, lists, tuples)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.data(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value


def _read_dotenv(paths: Iterable[Path]) -> dict[str, str]:
    from dotenv import dotenv_values

    values: dict[str, str] = {}
    for path in paths:
        if path.is_file():
            for key, value in dotenv_values(path).items():
                if value is not None:
                    values.setdefault(key, value)
    return values


def _from_keyring(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, name)
    except (KeyringError, RuntimeError, OSError):
        return None
    return value if isinstance(value, str) else None


def resolve_secrets(
    names: Iterable[str],
    *,
    search_dirs: Iterable[Path] = (),
    environ: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> dict[str, str]:
    """Find a value for every named secret; raises `ConfigurationError` listing every one that is missing."""
    environ = os.environ if environ is None else environ
    wanted = list(names)
    if not wanted:
        return {}
    dotenv = _read_dotenv(Path(d) / ".env" for d in search_dirs)
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in wanted:
        value = environ.get(f"ROBO_SECRET_{name.upper()}") or environ.get(name) or dotenv.get(name)
        if value is None and use_keyring:
            value = _from_keyring(name)
        if value is None:
            missing.append(name)
        else:
            found[name] = value
    if missing:
        raise ConfigurationError(
            f"missing secret{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            hint="set "
            + ", ".join(f"ROBO_SECRET_{n.upper()}" for n in missing)
            + " in the environment, add them to a .env file beside the workflow, or run 'robo secrets set NAME'",
        )
    return found


def store_in_keyring(name: str, value: str) -> None:
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, name, value)
    except (KeyringError, RuntimeError) as exc:
        raise ConfigurationError(
            f"cannot store the secret '{name}' in the system keyring: {exc}",
            hint="on a server without a keyring, use ROBO_SECRET_<NAME> environment variables or a .env file",
        ) from None
