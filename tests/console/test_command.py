"""`robo dashboard` as a person starts it: on the loopback address it serves; elsewhere, with no users, it refuses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.running import ROOT, robo_process
from tests.waiting import wait_until


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_dashboard_refuses_a_public_address_with_no_users(tmp_path: Path) -> None:
    done = robo_process("dashboard", "--host", "0.0.0.0", "--logs", str(tmp_path / "logs"), cwd=tmp_path)
    assert done.returncode == 1
    assert "will not listen on 0.0.0.0: no user is configured" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_dashboard_serves_this_machine(tmp_path: Path) -> None:
    port = _free_port()
    process = _start_dashboard(tmp_path, port)
    try:

        def answer(path: str) -> httpx.Response | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
            except httpx.TransportError:
                return None

        health = wait_until(lambda: answer("/healthz"), timeout=30)
        assert health.text == "ok"
        runs = answer("/runs")
        assert runs is not None and runs.status_code == 200  # no user: this machine reads without a login
        assert "default-src 'none'" in runs.headers["content-security-policy"]
    finally:
        _stop(process)


def _start_dashboard(tmp_path: Path, port: int, *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "dashboard",
            "--port",
            str(port),
            "--logs",
            str(tmp_path / "logs"),
            *options,
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def test_with_users_the_dashboard_asks_for_a_login_that_outlives_a_restart(tmp_path: Path) -> None:
    added = subprocess.run(
        [sys.executable, "-m", "runner.cli", "users", "add", "oscar", "--role", "operator", "--password-stdin",
         "--logs", str(tmp_path / "logs")],
        cwd=tmp_path, input="mot de passe très long\n", capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, follow_redirects=False, timeout=5) as client:

        def healthy() -> bool:
            try:
                return client.get("/healthz").text == "ok"
            except httpx.TransportError:
                return False

        process = _start_dashboard(tmp_path, port)
        try:
            wait_until(healthy, timeout=30)
            sent = client.get("/runs")
            assert sent.headers["location"] == "/login?next=%2Fruns"
            fresh = httpx.get(f"{base}/login").headers["set-cookie"]
            assert "HttpOnly" in fresh and "; Secure" not in fresh
            token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
            answer = client.post(
                "/login",
                data={
                    "username": "oscar",
                    "password": "mot de passe très long",
                    "next": "/runs",
                    "csrf_token": token,
                },
            )
            assert answer.status_code == 303 and answer.headers["location"] == "/runs"
            assert "oscar" in client.get("/runs").text
        finally:
            _stop(process)
        secret = tmp_path / "logs" / ".console-secret"
        assert secret.stat().st_mode & 0o777 == 0o600
        process = _start_dashboard(tmp_path, port, "--secure-cookies")
        try:
            wait_until(healthy, timeout=30)
            assert client.get("/runs").status_code == 200  # the same session, after the restart
            assert "; Secure" in httpx.get(f"{base}/login").headers["set-cookie"]
        finally:
            _stop(process)
