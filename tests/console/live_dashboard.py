"""`robo dashboard` started as its own process on 127.0.0.1 over a logs folder, with an operator and a viewer
created beforehand by `robo users add … --password-stdin`; and an HTTP client that logs in through the form."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.running import ROOT
from tests.waiting import wait_until

OPERATOR = ("odile", "operatrice-2026!")
VIEWER = ("victor", "lecteur-2026!!")
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def robo(*args: str, environ: Mapping[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        cwd=ROOT,
        env={**environ, "PYTHONPATH": str(ROOT)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass(frozen=True)
class Dashboard:
    """A running `robo dashboard`: its address, logs folder and the environment its processes run with."""

    url: str
    logs: Path
    environ: Mapping[str, str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)

    @contextmanager
    def logged_in(self, user: tuple[str, str]) -> Iterator[httpx.Client]:
        """A client with the session of `user`, logged in through the login form (CSRF token included)."""
        with self.client() as client:
            token = csrf_of(client.get("/login").text)
            answer = client.post(
                "/login",
                data={"username": user[0], "password": user[1], "csrf_token": token, "next": "/runs"},
            )
            assert answer.status_code == 303, (answer.status_code, answer.text[:500])
            yield client


def csrf_of(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found is not None, f"no CSRF field in the page: {html[:300]}"
    return found.group(1)


@contextmanager
def running_dashboard(
    logs: Path, environ: Mapping[str, str], workflows: Path | None = None
) -> Iterator[Dashboard]:
    """Users added, then `robo dashboard` serving `logs` until the block ends (stopped, then killed if need be)."""
    for (name, password), role in ((OPERATOR, "operator"), (VIEWER, "viewer")):
        added = robo(
            "users", "add", name, "--role", role, "--password-stdin", "--logs", str(logs),
            environ=environ, stdin=password + "\n",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    port = free_port()
    command = [sys.executable, "-m", "runner.cli", "dashboard", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--logs", str(logs)]
    if workflows is not None:
        command += ["--workflows", str(workflows)]
    errors = (logs.parent / f"dashboard-{port}.err").open("wb")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=errors,
        start_new_session=True,
    )
    dashboard = Dashboard(f"http://127.0.0.1:{port}", logs, environ)

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(
                f"robo dashboard stopped: {(logs.parent / f'dashboard-{port}.err').read_text()}"
            )
        try:
            return httpx.get(f"{dashboard.url}/healthz", timeout=2).text == "ok"
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, timeout=60, interval=0.1)
        yield dashboard
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=30)
        errors.close()
