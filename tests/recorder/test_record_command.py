"""`robo record` as a person runs it: Ctrl+C in the terminal still writes the file (atomically), valid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from robots.kit import ConfigurationError
from runner.recorder import recording_address
from tests.mock_intranet.server import MockIntranet
from tests.recorder.recording import ROOT, robo

pytestmark = pytest.mark.slow


class TestRecordCommand:
    def test_ctrl_c_in_the_terminal_writes_what_was_recorded_and_the_file_validates(
        self, mock_intranet: MockIntranet, tmp_path: Path
    ) -> None:
        output = tmp_path / "interrompu.yaml"
        command = [
            sys.executable,
            "-m",
            "runner.cli",
            "record",
            f"{mock_intranet.url}/connexion",
            "-o",
            str(output),
        ]
        with subprocess.Popen(
            [*command, "--headless"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as process:
            assert process.stderr is not None
            said = []
            for line in process.stderr:
                said.append(line)
                if line.startswith("Recording:"):
                    break
            os.killpg(process.pid, signal.SIGINT)  # as a terminal does: to robo, its driver and its browser
            _rest, errors = process.communicate(timeout=120)
        assert process.returncode == 0, "".join(said) + errors
        assert "Interrupted" in errors
        text = output.read_text(encoding="utf-8")
        assert f'browser.open: {{url: "{mock_intranet.url}/connexion"}}' in text
        assert not [p for p in tmp_path.iterdir() if p != output], "no temporary file is left beside it"
        checked = robo("validate", str(output))
        assert checked.returncode == 0, checked.stdout + checked.stderr

    def test_a_data_file_that_does_not_exist_is_a_clear_error_before_any_browser(
        self, tmp_path: Path
    ) -> None:
        result = robo(
            "record",
            "http://127.0.0.1:9/",
            "-o",
            str(tmp_path / "x.yaml"),
            "--data",
            str(tmp_path / "absent.xlsx"),
        )
        assert result.returncode == 1
        assert "error: the data file" in result.stderr and "absent.xlsx" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "x.yaml").exists()

    def test_the_help_is_french_for_a_french_reader(self) -> None:
        result = robo("--lang", "fr", "record", "--help")
        assert result.returncode == 0, result.stderr
        assert "Enregistrer ce que vous faites dans une fenêtre de navigateur" in result.stdout
        assert "--field-by-field" in result.stdout and "--headless" not in result.stdout

    def test_an_output_that_cannot_be_written_is_refused_before_any_browser(self, tmp_path: Path) -> None:
        result = robo("record", "http://127.0.0.1:9/", "-o", str(tmp_path))  # a folder, not a file
        assert result.returncode == 1
        assert (
            "error: the workflow cannot be written to" in result.stderr and "Traceback" not in result.stderr
        )

    @pytest.mark.parametrize(
        "address", ["pas une adresse", "javascript:alert(1)", "ftp://serveur/x", "http://"]
    )
    def test_an_address_that_is_not_a_web_page_s_is_refused_before_any_browser(
        self, tmp_path: Path, address: str
    ) -> None:
        result = robo("--lang", "fr", "record", address, "-o", str(tmp_path / "x.yaml"), "--headless")
        assert result.returncode == 1
        assert f"« {address} »" in result.stderr or f"'{address}'" in result.stderr, result.stderr
        assert "adresse" in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "x.yaml").exists()

    def test_a_site_that_does_not_answer_is_a_clear_error_and_no_file(self, tmp_path: Path) -> None:
        with socket.socket() as probe:  # a port nothing listens on once it is closed
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        result = robo("record", f"127.0.0.1:{port}/connexion", "-o", str(tmp_path / "x.yaml"), "--headless")
        assert result.returncode == 1
        assert f"the page http://127.0.0.1:{port}/connexion could not be opened" in result.stderr, (
            result.stderr
        )
        assert "ERR_CONNECTION_REFUSED" in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "x.yaml").exists()


class TestAddresses:
    def test_a_bare_host_gets_http_and_web_or_file_addresses_are_kept(self) -> None:
        assert recording_address(" intranet.local/connexion ") == "http://intranet.local/connexion"
        assert recording_address("localhost:8700") == "http://localhost:8700"
        assert recording_address("https://a.gouv.fr/x?y=1") == "https://a.gouv.fr/x?y=1"
        assert recording_address("file:///tmp/page.html") == "file:///tmp/page.html"

    @pytest.mark.parametrize("address", ["", "  ", "mailto:a@b.fr", "data:text/html,x", "http://a:port/"])
    def test_anything_else_is_refused(self, address: str) -> None:
        with pytest.raises(ConfigurationError, match="is not a web address"):
            recording_address(address)
