"""A keyring backend in a JSON file, for tests only: `PYTHON_KEYRING_BACKEND=tests.keyring_backend.FileKeyring`
and `ROBO_TEST_KEYRING=<file>` in a `robo` process's environment, so tests never touch a real keyring."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

BACKEND = f"{__name__}.FileKeyring"
FILE_VARIABLE = "ROBO_TEST_KEYRING"


class FileKeyring(KeyringBackend):
    """Passwords by service and user name in the JSON file named by `ROBO_TEST_KEYRING`."""

    @properties.classproperty
    def priority(cls) -> float:
        # Never chosen on its own: only where a test names it and its file.
        if FILE_VARIABLE not in os.environ:
            raise RuntimeError(f"{FILE_VARIABLE} is not set")
        return 1.0

    @staticmethod
    def _path() -> Path:
        return Path(os.environ[FILE_VARIABLE])

    def _read(self) -> dict[str, dict[str, str]]:
        path = self._path()
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        stored = self._read()
        stored.setdefault(service, {})[username] = password
        self._path().write_text(json.dumps(stored), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        stored = self._read()
        if username not in stored.get(service, {}):
            raise PasswordDeleteError(username)
        del stored[service][username]
        self._path().write_text(json.dumps(stored), encoding="utf-8")
