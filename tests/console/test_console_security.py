"""The console's promises of safety, checked over HTTP against `robo dashboard` running as its own process over a
store filled by real runs: no page or file without logging in (every route of the route table), CSRF refused,
path-traversal attempts refused, `<script>` from workflows and data shown as text in a real browser, the login
rate limit, and the operators' audit log written and its tampering detected."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from runner.console import PAGES
from runner.console.access import SESSION_COOKIE, verify_operators_log
from runner.record import AUDIT_KEY_VARIABLE
from tests.console.intranet_runs import HOSTILE_CELL, HOSTILE_NAME
from tests.console.live_dashboard import OPERATOR, VIEWER, csrf_of, running_dashboard
from tests.console.world import HEIGHT, WIDTH, World, screenshot

pytestmark = pytest.mark.slow
SECRET_TEXT = f"TOP-SECRET-{uuid.uuid4().hex}"


def screenshot_file(world: World) -> str:
    """A failed item's screenshot, as a path relative to the logs folder (what `/artifacts/…` takes)."""
    run_dir = world.store.failed.run_dir
    assert run_dir is not None
    [first, *_] = sorted(path for path in (run_dir / "artifacts").glob("*.png") if not path.is_symlink())
    return first.relative_to(world.store.logs).as_posix()


def concrete(path: str, world: World) -> str:
    """A route's path with real values in its parameters (a real run, a real file)."""
    values = {
        "run_id": world.store.failed.run_id or "",
        "format": "csv",
        "path": screenshot_file(world),
        "name": "saisie",
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda match: values.get(match.group(1), "x"), path)


def protected_routes() -> list[tuple[str, str]]:
    routes = []
    for page in PAGES:
        if page.role is None:
            continue
        routes += [(method, page.path) for method in page.methods]
    return routes


class TestNothingWithoutLogin:
    def test_only_the_login_and_the_health_check_are_public(self) -> None:
        """A route made public by mistake would leave the list below: the public ones are named here."""
        public = {(method, page.path) for page in PAGES if page.role is None for method in page.methods}
        assert public == {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login")}
        assert len(protected_routes()) >= 9  # the pages, exports, artifacts, metrics, logout, and the actions

    def test_the_static_files_hold_nothing_from_the_store(self, console_world: World) -> None:
        with console_world.dashboard.client() as anonymous:
            style = anonymous.get("/static/console.css")
        assert style.status_code == 200 and "REF-2026" not in style.text

    @pytest.mark.parametrize(("method", "path"), protected_routes())
    def test_no_route_answers_before_logging_in(self, console_world: World, method: str, path: str) -> None:
        url = concrete(path, console_world)
        with console_world.dashboard.client() as anonymous:
            answer = anonymous.request(method, url)
        if method == "GET":
            assert answer.status_code == 303, (url, answer.status_code)
            assert urlsplit(answer.headers["location"]).path == "/login"
        else:
            assert answer.status_code in (401, 403), (url, answer.status_code)
        assert answer.content[:4] != b"\x89PNG"
        for secret in (console_world.store.failed.run_id or "", "REF-2026", "Saisie des dossiers"):
            assert secret not in answer.text

    @pytest.mark.parametrize("path", [path for method, path in protected_routes() if method == "GET"])
    def test_the_same_route_answers_once_logged_in(self, console_world: World, path: str) -> None:
        """The paths above are real: logged in, each page answers (so the refusals are not 404s in disguise)."""
        with console_world.dashboard.logged_in(VIEWER) as viewer:
            answer = viewer.get(concrete(path, console_world), follow_redirects=True)
        assert answer.status_code == 200, (path, answer.status_code)

    def test_a_forged_session_cookie_is_nobody(self, console_world: World) -> None:
        with console_world.dashboard.client() as forger:
            forger.cookies.set(SESSION_COOKIE, '{"user": "odile", "role": "admin"}')
            answer = forger.get(f"/runs/{console_world.store.failed.run_id}")
        assert answer.status_code == 303
        assert "REF-2026" not in answer.text


class TestCsrf:
    def test_a_form_without_its_token_is_refused(self, console_world: World) -> None:
        with console_world.dashboard.logged_in(OPERATOR) as operator:
            missing = operator.post("/logout", data={})
            forged = operator.post("/logout", data={"csrf_token": "forged-" + "x" * 40})
            assert missing.status_code == 403 and forged.status_code == 403
            assert operator.get("/runs").status_code == 200  # still logged in: the logout was not done
            token = csrf_of(operator.get("/runs").text)
            assert operator.post("/logout", data={"csrf_token": token}).status_code == 303
            assert operator.get("/runs").status_code == 303  # now logged out

    def test_another_sessions_token_is_refused(self, console_world: World) -> None:
        dashboard = console_world.dashboard
        with dashboard.logged_in(VIEWER) as viewer, dashboard.logged_in(OPERATOR) as operator:
            theirs = csrf_of(viewer.get("/runs").text)
            answer = operator.post(
                f"/runs/{console_world.store.failed.run_id}/retry", data={"csrf_token": theirs}
            )
            assert answer.status_code == 403
            assert operator.get("/runs").status_code == 200

    def test_a_login_form_posted_from_elsewhere_is_refused(self, console_world: World) -> None:
        with console_world.dashboard.client() as stranger:
            answer = stranger.post("/login", data={"username": OPERATOR[0], "password": OPERATOR[1]})
        assert answer.status_code == 403
        assert SESSION_COOKIE not in answer.cookies or "odile" not in answer.text


def raw_get(url: str, target: str, cookie: str | None = None) -> tuple[int, bytes]:
    """`GET target` sent byte for byte (no client normalises `..` or re-encodes anything); status and body."""
    parts = urlsplit(url)
    headers = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
    if cookie:
        headers += f"Cookie: {SESSION_COOKIE}={cookie}\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as connection:
        connection.sendall(headers.encode("latin-1") + b"\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def traversals(world: World) -> list[str]:
    secret = world.store.logs.parent / "secret.txt"
    run = world.store.failed.run_dir
    assert run is not None
    run_path = run.relative_to(world.store.logs).as_posix()
    depth = "../" * (len(run.relative_to(world.store.logs).parts) + 1)
    return [
        "../secret.txt",
        f"{run_path}/{depth}secret.txt",
        f"{run_path}/artifacts/{depth}../secret.txt",
        "..%2fsecret.txt",
        "..%2Fsecret.txt",
        "%2e%2e/secret.txt",
        "%2e%2e%2fsecret.txt",
        "%252e%252e%252fsecret.txt",
        "..%252fsecret.txt",
        f"{run_path}/" + "%2e%2e/" * 3 + "secret.txt",
        f"{run_path}/" + "..%2f" * 3 + "secret.txt",
        "..\\secret.txt",
        "..%5csecret.txt",
        "%2e%2e%5csecret.txt",
        f"{run_path}\\..\\..\\..\\secret.txt".replace("/", "\\"),
        "/" + quote(str(secret)),
        quote(str(secret), safe=""),
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "C:%5cWindows%5cwin.ini",
        "file:%2f%2f%2fetc%2fpasswd",
        f"{run_path}/report.html%00.png",
        "..%00/secret.txt",
        ".%2e/secret.txt",
        "%c0%ae%c0%ae/secret.txt",
        "%u002e%u002e/secret.txt",
        "....//secret.txt",
        "link-out/secret.txt",
        "link-file.txt",
        f"{run_path}/artifacts/evil.png",
        ".console-secret",
    ]


@pytest.fixture(scope="module")
def trap(console_world: World) -> World:
    """A secret beside the logs folder, and symbolic links inside it that lead to it."""
    logs = console_world.store.logs
    outside = logs.parent / "outside"
    outside.mkdir(exist_ok=True)
    for folder in (logs.parent, outside):
        (folder / "secret.txt").write_text(SECRET_TEXT, encoding="utf-8")
    for link, target in (
        (logs / "link-out", outside),
        (logs / "link-file.txt", outside / "secret.txt"),
        (console_world.store.failed.run_dir / "artifacts" / "evil.png", outside / "secret.txt"),  # type: ignore[operator]
    ):
        if not link.is_symlink():
            os.symlink(target, link)
    return console_world


class TestTraversal:
    def test_there_are_more_than_twenty_attempts(self, trap: World) -> None:
        assert len(set(traversals(trap))) >= 20

    def test_every_attempt_out_of_the_logs_folder_is_refused(self, trap: World) -> None:
        with trap.dashboard.logged_in(VIEWER) as viewer:
            cookie = viewer.cookies[SESSION_COOKIE]
        served = []
        for attempt in traversals(trap):
            status, body = raw_get(trap.dashboard.url, "/artifacts/" + attempt, cookie)
            if status not in (400, 403, 404) or SECRET_TEXT.encode() in body or b"root:" in body:
                served.append((attempt, status, body[:80]))
        assert served == []

    def test_a_file_inside_is_served_to_the_same_session(self, trap: World) -> None:
        """The refusals above are not a broken route: the same session gets a real screenshot."""
        with trap.dashboard.logged_in(VIEWER) as viewer:
            cookie = viewer.cookies[SESSION_COOKIE]
        status, body = raw_get(trap.dashboard.url, "/artifacts/" + screenshot_file(trap), cookie)
        assert status == 200 and body.startswith(b"\x89PNG")

    def test_the_run_store_itself_is_not_a_file_to_download(self, trap: World) -> None:
        with trap.dashboard.logged_in(VIEWER) as viewer:
            answers = [viewer.get(f"/artifacts/{name}") for name in ("robo.db", "operators/audit.jsonl")]
        assert [answer.status_code for answer in answers] == [404, 404]


class TestEscaping:
    def test_a_script_in_a_workflow_name_and_a_cell_is_shown_as_text(
        self, console_browser: Any, console_world: World
    ) -> None:
        dialogs: list[str] = []
        context = console_browser.new_context(
            viewport={"width": WIDTH, "height": HEIGHT}, base_url=console_world.dashboard.url
        )
        try:
            page = context.new_page()

            def on_dialog(dialog: Any) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto("/login")
            page.get_by_label("User name").fill(VIEWER[0])
            page.get_by_label("Password").fill(VIEWER[1])
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(re.compile(r"/runs"))
            assert page.get_by_role("cell", name=HOSTILE_NAME, exact=True).first.is_visible()
            page.goto(f"/runs/{console_world.store.hostile.run_id}")
            assert page.get_by_role("heading", name=HOSTILE_NAME, exact=True).is_visible()
            assert page.get_by_text(HOSTILE_CELL, exact=True).is_visible()
            assert page.locator("script:not([src])").count() == 0
            assert page.evaluate("document.querySelectorAll('script').length") == len(
                page.locator("script[src^='/static/']").all()
            )
            screenshot(page, "run-hostile")
        finally:
            context.close()
        assert dialogs == []

    def test_the_script_travels_escaped_in_the_html(self, console_world: World) -> None:
        with console_world.dashboard.logged_in(VIEWER) as viewer:
            html = viewer.get(f"/runs/{console_world.store.hostile.run_id}").text
        assert "<script>alert(" not in html
        assert "&lt;script&gt;alert(" in html


@pytest.fixture(scope="module")
def lonely_dashboard(tmp_path_factory: pytest.TempPathFactory, console_world: World) -> Iterator[Any]:
    """A dashboard of its own (same users, empty store) for the rate limit: locking its address out must not lock
    the other tests' dashboard out."""
    logs = tmp_path_factory.mktemp("rate-limit") / "logs"
    with running_dashboard(logs, console_world.dashboard.environ) as dashboard:
        yield dashboard


class TestLoginRateLimit:
    def test_ten_wrong_passwords_lock_the_name_out_even_with_the_right_one(
        self, lonely_dashboard: Any
    ) -> None:
        statuses = []
        with lonely_dashboard.client() as guesser:
            for attempt in range(10):
                token = csrf_of(guesser.get("/login").text)
                wrong = {"username": OPERATOR[0], "password": f"guess-{attempt}", "csrf_token": token}
                statuses.append(guesser.post("/login", data=wrong).status_code)
            token = csrf_of(guesser.get("/login").text)
            right = {"username": OPERATOR[0], "password": OPERATOR[1], "csrf_token": token}
            locked = guesser.post("/login", data=right)
        assert statuses == [401] * 10
        assert locked.status_code == 429
        assert "too many failed logins" in locked.text
        assert SESSION_COOKIE not in locked.cookies or "odile" not in locked.text
        with lonely_dashboard.logged_in(VIEWER) as viewer:  # another name from the same address still may
            assert viewer.get("/runs").status_code == 200


def records_of(logs: Path) -> list[dict[str, Any]]:
    path = logs / "operators" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def mentions(record: dict[str, Any], *words: str) -> bool:
    text = json.dumps(record, ensure_ascii=False)
    return all(word in text for word in words)


class TestOperatorsLog:
    def test_an_action_is_logged_and_tampering_with_the_log_is_detected(
        self, console_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        dashboard = console_world.dashboard
        monkeypatch.setenv(AUDIT_KEY_VARIABLE, str(console_world.audit_key))  # the dashboard's key
        run, key = console_world.store.to_check, console_world.store.to_check_keys[-1]
        with dashboard.logged_in(OPERATOR) as operator:
            token = csrf_of(operator.get(f"/runs/{run.run_id}").text)
            answer = operator.post(
                "/items/mark",
                data={"csrf_token": token, "run_id": run.run_id, "key": key, "outcome": "redo",
                      "comment": "pas trouvé dans l'intranet"},
            )  # fmt: skip
        assert answer.status_code == 303, answer.text[:300]
        records = records_of(console_world.store.logs)
        assert any(mentions(r, OPERATOR[0], "mark", key, "127.0.0.1") for r in records), records[-3:]
        assert verify_operators_log(console_world.store.logs).intact

        copy = tmp_path / "logs"
        shutil.copytree(console_world.store.logs / "operators", copy / "operators")
        assert verify_operators_log(copy).intact
        log = copy / "operators" / "audit.jsonl"
        lines = log.read_text(encoding="utf-8").splitlines()
        index = next(i for i, line in enumerate(lines) if key in line and "mark" in line)
        lines[index] = lines[index].replace(OPERATOR[0], VIEWER[0])  # who did it, rewritten
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        verdict = verify_operators_log(copy)
        assert not verdict.intact

        shutil.rmtree(copy)
        shutil.copytree(console_world.store.logs / "operators", copy / "operators")
        lines = log.read_text(encoding="utf-8").splitlines()
        log.write_text("\n".join(lines[:index] + lines[index + 1 :]) + "\n", encoding="utf-8")
        assert not verify_operators_log(copy).intact  # a record removed

    def test_logging_in_is_in_the_operators_log(self, console_world: World) -> None:
        with console_world.dashboard.logged_in(OPERATOR):
            pass
        assert any(mentions(r, OPERATOR[0], "login") for r in records_of(console_world.store.logs))
