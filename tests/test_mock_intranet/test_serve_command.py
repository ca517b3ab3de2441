"""`python -m tests.mock_intranet serve` as a subprocess: prints its URLs, stops cleanly on a signal."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _start(*options: str) -> subprocess.Popen[bytes]:
    # Unbuffered bytes, so that select() on the pipe never misses a line already read into a buffer.
    return subprocess.Popen(
        [sys.executable, "-m", "tests.mock_intranet", "serve", *options],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )


def _read_line(process: subprocess.Popen[bytes], timeout: float = 20.0) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            return process.stdout.readline().decode()
        if process.poll() is not None:
            break
    raise AssertionError(f"no output from the server (exit code {process.poll()})")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_json_then_stops_on_signal(tmp_path: Path, stop_signal: signal.Signals) -> None:
    process = _start("--json", "--data", str(tmp_path))
    try:
        info = json.loads(_read_line(process))
        assert info["test_token"] == "robo-test-token"
        assert {"username": "agent1", "password": "Motdepasse-1!", "active": True} in info["accounts"]
        assert httpx.get(f"{info['url']}/api/test/health").json() == {"status": "ok"}
        assert info["smtp_port"] > 0
        process.send_signal(stop_signal)
        _, stderr = process.communicate(timeout=15)
        assert process.returncode == 0, stderr
        assert "Intranet fictif arrêté." in stderr.decode()
        assert (tmp_path / "intranet.db").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_serve_prints_a_readable_banner(tmp_path: Path) -> None:
    process = _start("--data", str(tmp_path))
    try:
        assert _read_line(process).startswith("Intranet fictif démarré")
        assert _read_line(process).strip().startswith("Web            : http://127.0.0.1:")
        process.terminate()
        process.communicate(timeout=15)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_bad_fault_option_is_an_error_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.mock_intranet",
            "serve",
            "--failure-rate",
            "2",
            "--data",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "failure_rate must be a number between 0 and 1" in result.stderr
    assert "Traceback" not in result.stderr
