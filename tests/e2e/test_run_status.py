"""A run's status tells the truth and the `robo` process behaves: signals, closed pipes, bad data, hung steps.

Each test drives a real `robo run` process and reads what it left behind (run store, audit log, report).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runner.record import RunRecord, RunStore
from tests.e2e.conftest import ROOT
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


class Desk:
    """A small HTTP service the workflows talk to; it counts what each item entered and can hold a request.

    - `/enter/<key>?delai=S`: counts an entry of `key` (and leaves a marker file), then answers after S seconds;
    - `/gate`: answers once the test opens the gate;
    - `/trickle`: an answer that never ends, one byte at a time (a server that hangs a client).
    """

    def __init__(self, markers: Path) -> None:
        self.markers = markers
        markers.mkdir(parents=True, exist_ok=True)
        self.entries: Counter[str] = Counter()
        self.gate = threading.Event()
        self.closing = threading.Event()
        desk = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path.startswith("/enter/"):
                    key = path.removeprefix("/enter/")
                    desk.entries[key] += 1
                    (desk.markers / key).write_text("entered", encoding="utf-8")
                    delay = float(dict(p.split("=") for p in query.split("&") if p).get("delai", 0))
                    desk.closing.wait(delay)
                    self._answer({"entered": key})
                elif path == "/gate":
                    desk.gate.wait(60)
                    self._answer({"open": True})
                elif path == "/trickle":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    while not desk.closing.wait(0.3):
                        try:
                            self.wfile.write(b".")
                            self.wfile.flush()
                        except OSError:
                            return
                else:
                    self.send_error(404)

            def _answer(self, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.closing.set()
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    service = Desk(tmp_path / "entered")
    yield service
    service.close()


class Robo:
    """Starts `robo` processes in a project folder; kills whatever a failed test leaves running."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.logs = project / "logs"
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, shell_prefix: str = "", **popen: Any) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "runner.cli", *args]
        if shell_prefix:  # e.g. "umask 027;": the process's own environment, as systemd would set it
            command = ["sh", "-c", f'{shell_prefix} exec "$@"', "sh", *command]
        popen.setdefault("stdout", subprocess.DEVNULL)
        with (self.project / f"stderr-{len(self.started)}.txt").open("wb") as errors:
            popen.setdefault("stderr", errors)
            process = subprocess.Popen(
                command,
                cwd=self.project,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                start_new_session=True,
                **popen,
            )
        self.started.append(process)
        return process

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runner.cli", *args, "--logs", str(self.logs)],
            cwd=self.project,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def store(self) -> RunStore:
        return RunStore(f"sqlite:///{self.logs / 'robo.db'}")

    def only_run(self) -> tuple[RunRecord, list[dict[str, Any]]]:
        store = self.store()
        try:
            [record] = store.list_runs()
            return record, store.run_items(record.id)
        finally:
            store.close()

    def latest(self) -> RunRecord | None:
        if not (self.logs / "robo.db").exists():
            return None
        store = self.store()
        try:
            records = store.list_runs(limit=1)
        finally:
            store.close()
        return records[0] if records else None

    def audit_records(self, record: RunRecord) -> list[dict[str, Any]]:
        path = Path(record.run_dir or "") / "audit.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def kill_all(self) -> None:
        for process in self.started:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=30)


@pytest.fixture
def robo(tmp_path: Path) -> Iterator[Robo]:
    runner = Robo(tmp_path)
    yield runner
    runner.kill_all()


def write(project: Path, name: str, text: str) -> Path:
    path = project / name
    path.write_text(text, encoding="utf-8")
    return path


FIVE_ITEMS = """
name: Cinq dossiers
inputs:
  desk: {type: string}
  entered: {type: string}
  delai: {type: string, default: "0"}
steps:
  - for_each: "{{ range(5) | list }}"
    as: n
    key: n
    already_done:
      - files.list: {folder: "{{ inputs.entered }}", pattern: "{{ n }}*"}
    steps:
      - http.get: {url: "{{ inputs.desk }}/enter/{{ n }}?delai={{ inputs.delai if n == 1 else 0 }}", timeout: 300}
"""


class TestTwoInterrupts:
    def test_a_second_sigint_cancels_the_current_step_and_the_run_resumes_without_entering_twice(
        self, robo: Robo, desk: Desk
    ) -> None:
        write(robo.project, "cinq.yaml", FIVE_ITEMS)
        args = [
            "cinq.yaml",
            "-i",
            f"desk={desk.url}",
            "-i",
            f"entered={desk.markers}",
            "--logs",
            str(robo.logs),
        ]
        process = robo.start("run", *args, "-i", "delai=600")
        wait_until(lambda: desk.entries["1"] == 1, timeout=60)  # item 1's step hangs on the desk
        process.send_signal(signal.SIGINT)
        record = wait_until(robo.latest, timeout=30)

        def stop_noted() -> bool:
            return any("stop" in (r.get("message") or "") for r in robo.audit_records(record))

        wait_until(stop_noted, timeout=30)
        assert process.poll() is None, "the first SIGINT waits for the current step"
        second = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert time.monotonic() - second < 20, "the second SIGINT must not wait for the hung step"

        record, items = robo.only_run()
        assert record.status == "interrupted"
        assert {item["key"]: item["status"] for item in items} == {"0": "done", "1": "in_progress"}
        assert robo.run("audit", "verify", record.id).returncode == 0
        report = (Path(record.run_dir or "") / "report.html").read_text(encoding="utf-8")
        assert "Interrupted" in report

        resumed = robo.run("run", *args[:-2], "--resume", record.id)
        assert resumed.returncode == 0, resumed.stderr
        record, items = robo.only_run()
        assert record.status == "succeeded"
        assert {item["key"]: item["status"] for item in items} == {str(n): "done" for n in range(5)}
        assert desk.entries == Counter({str(n): 1 for n in range(5)}), "an item was entered twice"
        assert robo.run("audit", "verify", record.id).returncode == 0


THREE_PAGES = """
name: Trois pages
inputs:
  desk: {type: string}
steps:
  - for_each: [0, 1, 2]
    as: n
    key: n
    setup:
      - browser.open: {url: "{{ inputs.desk }}/enter/ouverture"}
    steps:
      - browser.goto: {url: "{{ inputs.desk }}/enter/{{ n }}?delai={{ 3 if n == 1 else 0 }}", timeout: 60}
"""


class TestCtrlCInATerminal:
    def test_a_ctrl_c_sent_to_the_whole_process_group_lets_the_browser_finish_the_current_step(
        self, robo: Robo, desk: Desk
    ) -> None:
        # A terminal sends Ctrl+C to every process of its foreground group: the browser must not be among them,
        # or it dies under the step that the first Ctrl+C promises to let finish.
        write(robo.project, "pages.yaml", THREE_PAGES)
        process = robo.start("run", "pages.yaml", "-i", f"desk={desk.url}", "--logs", str(robo.logs))
        wait_until(lambda: desk.entries["1"] == 1, timeout=120)  # item 1's page takes 3 s to answer
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 130

        record, items = robo.only_run()
        assert record.status == "interrupted"
        assert {item["key"]: item["status"] for item in items} == {"0": "done", "1": "done"}
        assert desk.entries["2"] == 0


class TestUnexpectedErrors:
    def test_a_macro_calling_itself_without_end_fails_its_items_clearly_and_the_run_ends(
        self, robo: Robo
    ) -> None:
        # Once a crash (RecursionError escaping into the run, exit 70: the crash path itself is covered in
        # tests/run/test_run.py); the template limits now stop the rendering where Python would.
        write(
            robo.project,
            "recursion.yaml",
            """
name: Récursion
steps:
  - for_each: [1, 2]
    steps:
      - log: "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
""",
        )
        result = robo.run("run", "recursion.yaml")
        assert result.returncode == 3, result.stderr
        assert "Traceback" not in result.stderr
        assert "call themselves too deeply" in result.stderr
        record, items = robo.only_run()
        assert record.status == "completed_with_errors"
        assert [item["status"] for item in items] == ["failed_business", "failed_business"]
        assert robo.run("audit", "verify", record.id).returncode == 0
        report = (Path(record.run_dir or "") / "report.html").read_text(encoding="utf-8")
        assert "Crashed" not in report and "too deeply" in report


NAMES = """
name: Noms
inputs:
  noms: {type: list}
steps:
  - for_each: "{{ inputs.noms }}"
    as: nom
    steps:
      - log: "bonjour {{ nom }}"
"""

ROWS = """
name: Lignes
inputs:
  fichier: {type: file}
steps:
  - data.read_json: {path: "{{ inputs.fichier }}"}
    save: lignes
  - for_each: "{{ lignes }}"
    as: ligne
    key: ligne.ref
    steps:
      - data.write_json: {data: "{{ ligne }}", path: "{{ run.artifacts }}/{{ ligne.ref }}.json"}
"""


class TestDataThatCannotBeEncoded:
    def test_a_lone_surrogate_in_a_list_input_fails_its_item_not_the_run(self, robo: Robo) -> None:
        write(robo.project, "noms.yaml", NAMES)
        result = robo.run("run", "noms.yaml", "-i", 'noms=["Ana", "\\ud800", "Zoé"]')
        assert result.returncode == 3, result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        record, items = robo.only_run()
        assert record.status == "completed_with_errors"
        assert sorted(item["status"] for item in items) == ["done", "done", "failed_business"]
        [failed] = [item for item in items if item["status"] == "failed_business"]
        assert "cannot be encoded" in failed["error"] and "log" in failed["error"]
        assert robo.run("audit", "verify", record.id).returncode == 0

    def test_a_lone_surrogate_in_a_json_file_fails_its_item_with_the_place_named(self, robo: Robo) -> None:
        write(robo.project, "lignes.yaml", ROWS)
        (robo.project / "lignes.json").write_text(
            '[{"ref": "A1", "nom": "Ana"}, {"ref": "B2", "nom": "Bo\\ud800b"}, {"ref": "C3", "nom": "Zoé"}]',
            encoding="utf-8",
        )
        result = robo.run("run", "lignes.yaml", "-i", "fichier=lignes.json")
        assert result.returncode == 3, result.stderr
        record, items = robo.only_run()
        assert record.status == "completed_with_errors"
        assert {item["key"]: item["status"] for item in items} == {
            "A1": "done",
            "B2": "failed_business",
            "C3": "done",
        }
        [failed] = [item for item in items if item["key"] == "B2"]
        assert "data.nom" in failed["error"] and "cannot be encoded" in failed["error"]
        assert robo.run("audit", "verify", record.id).returncode == 0
        artifacts = Path(record.run_dir or "") / "artifacts"
        assert sorted(p.name for p in artifacts.iterdir()) == ["A1.json", "C3.json"]


class TestClosedConsole:
    def test_a_closed_pipe_does_not_stop_the_run(self, robo: Robo, desk: Desk) -> None:
        write(
            robo.project,
            "tuyau.yaml",
            """
name: Tuyau
inputs:
  desk: {type: string}
steps:
  - http.get: {url: "{{ inputs.desk }}/gate", timeout: 120}
  - for_each: "{{ range(30) | list }}"
    as: n
    key: n
    steps:
      - log: "dossier {{ n }} : une ligne que personne ne lit plus"
""",
        )
        process = robo.start(
            "run",
            "tuyau.yaml",
            "-i",
            f"desk={desk.url}",
            "--logs",
            str(robo.logs),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert process.stdout is not None
        first = process.stdout.readline()  # like `| head -1`
        assert b"started" in first
        process.stdout.close()
        desk.gate.set()
        assert process.wait(timeout=120) == 0
        record, items = robo.only_run()
        assert record.status == "succeeded"
        assert len(items) == 30 and {item["status"] for item in items} == {"done"}
        assert robo.run("audit", "verify", record.id).returncode == 0


class TestHungStep:
    def test_the_process_exits_when_the_run_ends_although_a_step_hangs(self, robo: Robo, desk: Desk) -> None:
        write(
            robo.project,
            "lent.yaml",
            """
name: Serveur lent
inputs:
  desk: {type: string}
steps:
  - http.get: {url: "{{ inputs.desk }}/trickle", timeout: 1}
    timeout: 1
    on_error: continue
  - log: fini
""",
        )
        process = robo.start("run", "lent.yaml", "-i", f"desk={desk.url}", "--logs", str(robo.logs))

        def finished() -> RunRecord | None:
            record = robo.latest()
            return record if record is not None and record.finished_at else None

        record = wait_until(finished, timeout=120)
        assert record.status == "succeeded"
        assert process.wait(timeout=10) == 0, "the process must not wait for the abandoned step"


class TestFileModes:
    @pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
    def test_run_outputs_follow_the_umask(self, robo: Robo, umask: int, mode: int) -> None:
        write(
            robo.project,
            "sortie.yaml",
            """
name: Sortie
steps:
  - data.write_csv: {records: [{a: 1}], path: "{{ run.artifacts }}/sortie.csv"}
""",
        )
        process = robo.start(
            "run", "sortie.yaml", "--logs", str(robo.logs), shell_prefix=f"umask {umask:03o};"
        )
        assert process.wait(timeout=120) == 0
        record, _ = robo.only_run()
        run_dir = Path(record.run_dir or "")
        for path in (run_dir / "report.html", run_dir / "audit.jsonl", run_dir / "artifacts" / "sortie.csv"):
            assert oct(path.stat().st_mode & 0o777) == oct(mode), path.name
