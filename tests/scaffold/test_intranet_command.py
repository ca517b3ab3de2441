"""`robo intranet`: the training intranet and mail server in the foreground, what to type to use them, a clean stop
on Ctrl+C; a clear error when they cannot start (ports taken, no source tree, no screen for the desktop client)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML

from robots.kit import ConfigurationError
from runner.scaffold import TEMPLATES, serve_desktop, serve_intranet
from tests.mock_intranet.accounts import DEFAULT_ACCOUNT, DEFAULT_SMTP_ACCOUNT
from tests.running import ROOT, robo_process

BANNER_END = "ROBO_SECRET_SMTP_MOT_DE_PASSE="


class Started:
    """A `robo intranet` process and what it said until its banner's last line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runner.cli", "--lang", "fr", "intranet", *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.lines: list[str] = []
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(f"  {BANNER_END}"):
                break
        self.banner = "\n".join(self.lines)

    def value(self, pattern: str) -> str:
        found = re.search(pattern, self.banner)
        assert found is not None, self.banner
        return found[1]

    def interrupt(self) -> tuple[int, str, str]:
        """Ctrl+C, as in the terminal; its exit status and what it said afterwards."""
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, err

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def started() -> Iterator[list[Started]]:
    processes: list[Started] = []
    yield processes
    for process in processes:
        process.close()


class TestServing:
    def test_it_says_where_and_how_then_stops_cleanly_on_ctrl_c(self, started: list[Started]) -> None:
        intranet = Started("--port", "0", "--mail-port", "0")
        started.append(intranet)
        assert "Intranet d'entraînement démarré (Ctrl+C pour l'arrêter)" in intranet.banner
        url = intranet.value(r"adresse : (http://127\.0\.0\.1:\d+)")
        assert httpx.get(f"{url}/api/test/health", timeout=10).json() == {"status": "ok"}
        assert f"compte : {DEFAULT_ACCOUNT.username} / {DEFAULT_ACCOUNT.password}" in intranet.banner
        mail_port = int(
            intranet.value(r"serveur de courriel \(SMTP\) : 127\.0\.0\.1, port (\d+), sécurité none")
        )
        with socket.create_connection(("127.0.0.1", mail_port), timeout=10) as connection:
            assert connection.recv(3) == b"220"
        assert f"  ROBO_SECRET_IDENTIFIANT={DEFAULT_ACCOUNT.username}" in intranet.lines
        assert f"  ROBO_SECRET_MOT_DE_PASSE={DEFAULT_ACCOUNT.password}" in intranet.lines
        assert f"  {BANNER_END}{DEFAULT_SMTP_ACCOUNT.password}" in intranet.lines
        data = Path(intranet.value(r"données : (\S+) \(effacées à l'arrêt"))
        assert data.is_dir()

        code, out, err = intranet.interrupt()

        assert code == 0, err
        assert "Intranet d'entraînement arrêté." in out
        assert "Traceback" not in err
        assert not data.exists(), "the temporary data folder is removed"

    def test_its_data_folder_is_kept_when_given(self, started: list[Started], tmp_path: Path) -> None:
        data = tmp_path / "données intranet"
        intranet = Started("--port", "0", "--mail-port", "0", "--data", str(data))
        started.append(intranet)
        assert f"données : {data} (gardées)" in intranet.banner
        code, _out, err = intranet.interrupt()
        assert code == 0, err
        assert any(data.iterdir())

    def test_every_secret_the_templates_declare_is_given(self, started: list[Started]) -> None:
        intranet = Started("--port", "0", "--mail-port", "0")
        started.append(intranet)
        declared = set()
        for template in TEMPLATES.values():
            text = (template.folder() / template.workflow).read_text(encoding="utf-8")
            declared.update(YAML(typ="safe", pure=True).load(text).get("secrets", []))
        given = {line.strip().split("=", 1)[0] for line in intranet.lines if "ROBO_SECRET_" in line}
        assert given == {f"ROBO_SECRET_{name.upper()}" for name in declared}


class TestRefusals:
    def test_a_port_in_use_is_said_with_what_to_do(self) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = robo_process(
                "--lang", "fr", "intranet", "--port", str(port), "--mail-port", "0", cwd=ROOT
            )
        assert result.returncode == 1
        assert f"l'intranet d'entraînement ne peut pas écouter sur 127.0.0.1, port {port}" in result.stderr
        assert "un autre robo intranet tourne-t-il ?" in result.stderr
        assert "Traceback" not in result.stderr

    def test_without_the_source_tree_it_says_where_the_training_systems_are(self, tmp_path: Path) -> None:
        said: list[str] = []
        with pytest.raises(ConfigurationError) as refused:
            serve_intranet(said.append, port=0, mail_port=0, root=tmp_path)
        assert "tests/mock_intranet" in refused.value.message
        assert refused.value.hint is not None
        assert "pip install -e" in refused.value.hint
        with pytest.raises(ConfigurationError, match="tests/mock_desktop"):
            serve_desktop(said.append, data=tmp_path, root=tmp_path)
        assert said == []

    def test_the_desktop_client_without_a_screen_says_how_to_run_it(self, tmp_path: Path) -> None:
        result = robo_process(
            "--lang", "fr", "intranet", "--bureau", "--data", str(tmp_path), cwd=ROOT, without=["DISPLAY"]
        )
        assert result.returncode == 1
        assert "l'application de bureau d'entraînement ne peut pas ouvrir sa fenêtre" in result.stderr
        assert "--virtual-display" in result.stderr
        assert "Traceback" not in result.stderr
