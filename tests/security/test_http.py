"""The `http` robot against hostile servers: real HTTP servers on 127.0.0.1 that redirect credentials to another
origin, trickle their answer, send 200 MB or choose a file name meant to escape or replace a file."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, cast
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from robots.http import BODY_IN_MEMORY_LIMIT, Http
from robots.kit import ApplicationError, BusinessError, RobotContext

SECRET = 'Sp&ci"al<Q> é\\z+@/!9'
TOKEN = quote(SECRET, safe="")  # header values are ASCII: the secret as a workflow would encode it
BIG = 200 * 1024 * 1024
BLOCK = bytes(range(256)) * 4096  # 1 MiB, repeated to make BIG
ROOT = Path(__file__).resolve().parents[2]
TRICKLE_SECONDS = 12  # how long the trickling server takes to send its whole answer


class HostileHandler(BaseHTTPRequestHandler):
    stop: threading.Event
    origin: str
    hits: ClassVar[list[tuple[str, str]]] = []  # (origin, path) of every request any server received

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def echo(self, body: str = "") -> None:
        seen = {
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "method": self.command,
        }
        self.answer(200, json.dumps(seen).encode(), Content_Type="application/json")

    def do_GET(self) -> None:
        HostileHandler.hits.append((self.origin, self.path))  # before answering: the client may go on at once
        asked = urlsplit(self.path)  # "/path?query", or "http://host/path?query" when asked as a proxy
        path, query = asked.path, asked.query
        args = {key: values[0] for key, values in parse_qs(query).items()}
        if path == "/echo":
            self.echo()
        elif path == "/redirect":
            self.answer(int(args.get("status", "302")), b"", Location=args["to"])
        elif path == "/trickle-body":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(TRICKLE_SECONDS * 2))
            self.end_headers()
            for _ in range(TRICKLE_SECONDS * 2):
                self.wfile.write(b"x")
                self.wfile.flush()
                if self.stop.wait(0.5):
                    return
        elif path == "/trickle-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for number in range(TRICKLE_SECONDS * 2):
                self.wfile.write(f"X-Padding-{number}: x\r\n".encode())
                self.wfile.flush()
                if self.stop.wait(0.5):
                    return
            self.wfile.write(b"Content-Length: 2\r\n\r\nok")
        elif path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            for _ in range(BIG // len(BLOCK)):
                self.wfile.write(BLOCK)
        elif path == "/named":
            disposition = args["disposition"]
            self.answer(200, args.get("body", "new").encode(), Content_Disposition=disposition)
        else:
            self.answer(404, b"no such page")

    def do_POST(self) -> None:
        HostileHandler.hits.append((self.origin, self.path))
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        path, _, query = self.path.partition("?")
        if path == "/redirect":
            args = {key: values[0] for key, values in parse_qs(query).items()}
            self.answer(int(args["status"]), b"", Location=args["to"])
        else:
            self.echo(body)


@pytest.fixture
def start_server() -> Iterator[Callable[[], str]]:
    """Starts hostile servers on 127.0.0.1, each on its own port (so each is an origin of its own)."""
    running: list[tuple[ThreadingHTTPServer, threading.Thread, threading.Event]] = []

    def start() -> str:
        stop = threading.Event()
        handler = cast("type[HostileHandler]", type("Handler", (HostileHandler,), {"stop": stop}))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        handler.origin = f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        running.append((httpd, thread, stop))
        return handler.origin

    yield start
    for httpd, thread, stop in running:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def logs() -> list[str]:
    return []


@pytest.fixture
def http(tmp_path: Path, logs: list[str]) -> Iterator[Http]:
    (tmp_path / "workflow").mkdir()
    robot = Http(
        RobotContext(
            run_id="20261130-120000-abcdef",
            workflow_name="t",
            workflow_dir=tmp_path / "workflow",
            artifacts_dir=tmp_path / "workflow" / "logs" / "artifacts",
            log=logs.append,
        )
    )
    yield robot
    robot.close()


def every_file(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


CREDENTIALS = {
    "X-Api-Key": TOKEN,
    "Authorization": f"Bearer {TOKEN}",
    "Cookie": f"session={TOKEN}",
    "X-Workflow-Header": TOKEN,
}


class TestCredentialsNeverFollowARedirectToAnotherOrigin:
    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    def test_get_sends_no_header_of_the_workflow_to_another_origin(
        self, http: Http, start_server: Callable[[], str], status: int
    ) -> None:
        first, other = start_server(), start_server()
        target = quote(f"{other}/echo", safe="")
        result = http.get(
            f"{first}/redirect?status={status}&to={target}",
            headers={**CREDENTIALS, "Accept-Language": "fr-FR", "Accept": "application/json"},
        )
        assert result["url"] == f"{other}/echo"
        seen = result["json"]["headers"]
        assert TOKEN not in json.dumps(seen)
        assert not {"x-api-key", "authorization", "cookie", "x-workflow-header"} & set(seen)
        assert seen["accept-language"] == "fr-FR"  # harmless headers still go
        assert seen["accept"] == "application/json"
        assert seen["user-agent"].startswith("RobO")
        assert seen["host"] == urlsplit(other).netloc

    def test_a_redirect_within_the_origin_keeps_the_headers(
        self, http: Http, start_server: Callable[[], str]
    ) -> None:
        first = start_server()
        result = http.get(f"{first}/redirect?to=/echo", headers=CREDENTIALS)
        seen = result["json"]["headers"]
        assert seen["x-api-key"] == TOKEN
        assert seen["authorization"] == f"Bearer {TOKEN}"

    def test_a_redirect_chain_back_to_the_first_origin_does_not_get_them_back(
        self, http: Http, start_server: Callable[[], str]
    ) -> None:
        first, other = start_server(), start_server()
        back = quote(f"{first}/echo", safe="")
        via_other = quote(f"{other}/redirect?to={back}", safe="")
        result = http.get(f"{first}/redirect?to={via_other}", headers=CREDENTIALS)
        assert result["url"] == f"{first}/echo"
        assert TOKEN not in json.dumps(result["json"]["headers"])

    @pytest.mark.parametrize("status", [307, 308])
    def test_a_post_redirected_to_another_origin_with_its_body_is_not_sent_there(
        self, http: Http, start_server: Callable[[], str], status: int
    ) -> None:
        first, other = start_server(), start_server()
        target = quote(f"{other}/echo", safe="")
        with pytest.raises(
            BusinessError, match=f"redirects the data sent to another server, {other}"
        ) as caught:
            http.post(f"{first}/redirect?status={status}&to={target}", body={"mot_de_passe": SECRET})
        assert caught.value.hint is not None
        assert [path for server, path in HostileHandler.hits if server == other] == []

    def test_a_post_redirected_with_307_within_the_origin_keeps_its_body(
        self, http: Http, start_server: Callable[[], str]
    ) -> None:
        first = start_server()
        result = http.post(f"{first}/redirect?status=307&to=/echo", body={"n": 1}, headers=CREDENTIALS)
        assert result["json"]["method"] == "POST"
        assert json.loads(result["json"]["body"]) == {"n": 1}
        assert result["json"]["headers"]["x-api-key"] == TOKEN

    def test_download_sends_no_credential_to_another_origin(
        self, http: Http, start_server: Callable[[], str], tmp_path: Path
    ) -> None:
        first, other = start_server(), start_server()
        target = quote(f"{other}/echo", safe="")
        result = http.download(f"{first}/redirect?to={target}", to="seen.json", headers=CREDENTIALS)
        assert result is not None
        assert TOKEN not in Path(result["path"]).read_text(encoding="utf-8")


class TestTimeoutIsATotalDeadline:
    @pytest.mark.parametrize("path", ["/trickle-body", "/trickle-headers"])
    def test_a_trickling_server_fails_the_step_at_the_deadline(
        self, http: Http, start_server: Callable[[], str], path: str
    ) -> None:
        url = f"{start_server()}{path}"
        started = time.monotonic()
        with pytest.raises(ApplicationError) as caught:
            http.get(url, timeout=2)
        waited = time.monotonic() - started
        assert waited < 3.5  # one byte every 0.5 s would take 12 s: the deadline is the whole exchange
        message = str(caught.value)
        assert message.startswith(f"GET {url}: waited ")
        said = float(message.removeprefix(f"GET {url}: waited ").split(" s", 1)[0])
        assert 1.9 <= said <= waited + 0.1  # the real time waited, not the setting
        assert "timeout: 2 s" in message

    def test_the_deadline_holds_through_a_proxy_from_the_environment(
        self, http: Http, start_server: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        proxy = start_server()
        for name in ("http_proxy", "no_proxy", "NO_PROXY", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy)
        started = time.monotonic()
        with pytest.raises(ApplicationError, match=r"waited \d+\.\d s .*\(timeout: 2 s\)"):
            http.get("http://intranet.example/trickle-headers", timeout=2)  # reachable only through the proxy
        assert time.monotonic() - started < 3.5
        assert [path for server, path in HostileHandler.hits if server == proxy] == [
            "http://intranet.example/trickle-headers"
        ]

    def test_a_trickling_download_fails_at_the_deadline_and_leaves_no_file(
        self, http: Http, start_server: Callable[[], str], tmp_path: Path
    ) -> None:
        url = f"{start_server()}/trickle-body"
        started = time.monotonic()
        with pytest.raises(ApplicationError, match=r"waited \d+\.\d s"):
            http.download(url, to="slow.txt", timeout=2)
        assert time.monotonic() - started < 3.5
        assert every_file(tmp_path / "workflow") == {}


class TestBigAnswersAreStreamed:
    def test_a_200_mb_answer_goes_to_a_file_and_memory_stays_low(
        self, http: Http, start_server: Callable[[], str], logs: list[str]
    ) -> None:
        url = f"{start_server()}/big"
        tracemalloc.start()
        try:
            result = http.get(url, timeout=60)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 60 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
        saved = Path(result["file"])
        assert saved.parent.name == "artifacts"
        assert result["size"] == saved.stat().st_size == BIG
        expected = hashlib.sha256()
        for _ in range(BIG // len(BLOCK)):
            expected.update(BLOCK)
        with saved.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256")
        assert digest.hexdigest() == expected.hexdigest()
        assert result["text"] is None
        assert result["json"] is None
        assert any("saved to" in line and str(saved) in line for line in logs)

    def test_a_robo_run_fetching_200_mb_stays_small(
        self, start_server: Callable[[], str], tmp_path: Path
    ) -> None:
        workflow = tmp_path / "gros.yaml"
        workflow.write_text(
            "name: Gros\nsteps:\n"
            f"  - http.get: {{url: '{start_server()}/big', timeout: 60}}\n    save: answer\n"
            "  - log: 'saved {{ answer.size }} bytes to {{ answer.file }}'\n",
            encoding="utf-8",
        )
        robo = [sys.executable, "-m", "runner.cli", "run", str(workflow), "--logs", str(tmp_path / "logs")]
        measure = (  # a parent of its own, so that the peak is robo's alone, not any child's of this process
            "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
        )
        result = subprocess.run(
            [sys.executable, "-c", measure, *robo],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        peak_mib = int(result.stdout.strip().splitlines()[-1]) / 1024
        assert peak_mib < 150, f"robo run peaked at {peak_mib:.0f} MiB for a 200 MiB answer"
        assert f"saved {BIG} bytes to " in result.stdout + result.stderr
        [saved] = (tmp_path / "logs").rglob("artifacts/http-answer.*")
        assert saved.stat().st_size == BIG

    def test_an_answer_up_to_the_limit_stays_in_memory(
        self, http: Http, start_server: Callable[[], str]
    ) -> None:
        result = http.get(f"{start_server()}/echo")
        assert result["file"] is None
        assert result["size"] == len(result["text"].encode()) < BODY_IN_MEMORY_LIMIT


HOSTILE_NAMES = {
    "dot-dot": 'attachment; filename="../../x"',
    "absolute": 'attachment; filename="/etc/passwd"',
    "encoded-dot-dot": "attachment; filename*=UTF-8''..%2F..%2Fx",
    "backslashes": 'attachment; filename="..\\\\..\\\\x"',
}
REFUSED_NAMES = {
    "only-dots": ("attachment; filename*=UTF-8''%2E%2E", "not a file name"),
    "nul": ("attachment; filename*=UTF-8''x%00.pdf", "control character"),
    "escape-sequence": ("attachment; filename*=UTF-8''%1B%5B2Kpaid.pdf", "control character"),
    "bidi-override": ("attachment; filename*=UTF-8''facture%E2%80%AEfdp.exe", "control character"),
    "overlong": (f'attachment; filename="{"a" * 300}.pdf"', "too long"),
    "hidden": ('attachment; filename=".env"', "hidden"),
}


class TestServerChosenFileNames:
    @pytest.mark.parametrize("disposition", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
    def test_a_name_with_folders_lands_in_the_folder_and_replaces_nothing(
        self, http: Http, start_server: Callable[[], str], tmp_path: Path, disposition: str
    ) -> None:
        inbox = tmp_path / "workflow" / "inbox"
        inbox.mkdir()
        (inbox / "x").write_text("mine")
        (inbox / "passwd").write_text("mine")
        url = f"{start_server()}/named?disposition={quote(disposition)}"
        with pytest.raises(BusinessError, match="already exists") as caught:
            http.download(url, to="inbox/")
        assert caught.value.hint is not None
        assert "on_conflict" in caught.value.hint
        assert every_file(tmp_path) == {"workflow/inbox/passwd": b"mine", "workflow/inbox/x": b"mine"}

    @pytest.mark.parametrize(("disposition", "reason"), REFUSED_NAMES.values(), ids=REFUSED_NAMES.keys())
    @pytest.mark.parametrize("to", ["inbox/", None])
    def test_an_unacceptable_name_is_refused_and_nothing_is_written(
        self,
        http: Http,
        start_server: Callable[[], str],
        tmp_path: Path,
        disposition: str,
        reason: str,
        to: str | None,
    ) -> None:
        (tmp_path / "workflow" / "inbox").mkdir()
        url = f"{start_server()}/named?disposition={quote(disposition)}"
        with pytest.raises(BusinessError, match=reason) as caught:
            http.download(url, to=to)
        assert "\x1b" not in str(caught.value)
        assert "\x00" not in str(caught.value)
        assert caught.value.hint is not None
        assert "`to:`" in caught.value.hint
        assert every_file(tmp_path) == {}

    def test_an_existing_file_is_never_replaced_by_default(
        self, http: Http, start_server: Callable[[], str], tmp_path: Path
    ) -> None:
        inbox = tmp_path / "workflow" / "inbox"
        inbox.mkdir()
        (inbox / "rapport.csv").write_text("mine")
        url = f"{start_server()}/named?disposition={quote('attachment; filename=rapport.csv')}&body=theirs"
        with pytest.raises(BusinessError, match=r"rapport\.csv already exists"):
            http.download(url, to="inbox/")
        assert every_file(inbox) == {"rapport.csv": b"mine"}
