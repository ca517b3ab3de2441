"""The console attacked from outside, as someone without an account (or with a stolen cookie, or a hostile page in a
browser) would: each test is one attack, and fails on a console that lets it through. The Must-show security tests
(no page without login, CSRF, path traversal, escaping, rate limit, operators' log) are in
test_console_security.py and test_wiring.py; these are the tricks around them."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx
import pytest
from argon2 import PasswordHasher
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import inspect
from starlette.applications import Starlette
from starlette.types import Message

from runner.console import PAGES
from runner.console.access import (
    SESSION_COOKIE,
    AccessSettings,
    ListenRefused,
    UserStore,
    check_listen,
    operators_log_path,
)
from runner.console.routes import create_app
from runner.record import RunStore, default_store_url
from tests.console.conftest import (
    PASSWORD,
    Filled,
    TestClient,
    add_users,
    console_app,
    csrf_of,
    log_in,
    log_out,
)
from tests.running import WorkflowRunner

# ---------------------------------------------------------------------------------------------------------------
# Raw requests: httpx cleans a URL (`/a/../b` becomes `/b`) before sending it; uvicorn does not, so an attacker's
# path reaches the app as typed (percent-decoded once). These requests go to the app as uvicorn would pass them.


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    chunks_read: int = 0

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name.lower()), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Raw:
    """A request as the server passes it to the app: the path as typed, any method, any header."""

    method: str
    raw_path: str
    headers: Sequence[tuple[str, str]] = ()
    body_chunks: Sequence[bytes] = ()
    client: tuple[str, int] = ("127.0.0.1", 50000)
    query: str = ""
    read: list[int] = field(default_factory=list)

    def send_to(self, app: Starlette) -> Answer:
        return asyncio.run(self._send(app))

    async def _send(self, app: Starlette) -> Answer:
        from urllib.parse import unquote

        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": unquote(self.raw_path),
            "raw_path": self.raw_path.encode(),
            "root_path": "",
            "query_string": self.query.encode(),
            "headers": [(key.lower().encode(), value.encode("latin-1")) for key, value in self.headers],
            "client": self.client,
            "server": ("127.0.0.1", 8050),
        }
        chunks = list(self.body_chunks) or [b""]
        answer = Answer(0, [], b"")

        async def receive() -> Message:
            if answer.chunks_read < len(chunks):
                answer.chunks_read += 1
                return {
                    "type": "http.request",
                    "body": chunks[answer.chunks_read - 1],
                    "more_body": answer.chunks_read < len(chunks),
                }
            await asyncio.sleep(3600)  # the client waits for the answer
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.headers = [(k.decode().lower(), v.decode("latin-1")) for k, v in message["headers"]]
            elif message["type"] == "http.response.body":
                answer.body += message.get("body", b"")

        await app(scope, receive, send)
        return answer


def cookie_of(client: TestClient) -> str:
    value = client.cookies.get(SESSION_COOKIE)
    assert value
    return str(value)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[TestClient, RunStore, UserStore, Path]]:
    """A console with users (viewer valerie, operator oscar, admin adele) over an empty store; nobody logged in."""
    logs = tmp_path / "logs"
    with RunStore(default_store_url(logs)) as store:
        users = add_users(store)
        with TestClient(console_app(store, logs, users), follow_redirects=False) as client:
            yield client, store, users, logs


def closed_to(answer: Answer) -> bool:
    """The answer a visitor who is not logged in may get: to the login page, 401, 403, 404 or 405 — no page."""
    if answer.status == 303:
        return (answer.header("location") or "").startswith("/login")
    return answer.status in (401, 403, 404, 405)


# ---------------------------------------------------------------------------------------------------------------
class TestPathTricks:
    """A path written another way must not reach a page without logging in."""

    @pytest.mark.parametrize(
        "path",
        [
            "//runs",
            "/runs/",
            "/RUNS",
            "/Runs",
            "/runs.",
            "/runs%2F",
            "/runs;x",
            "/./runs",
            "/runs/.",
            "/static/../runs",
            "/static/%2e%2e/runs",
            "/static/..%2fruns",
            "/static/%2e%2e%2f%2e%2e%2frunner%2fconsole%2faccess%2fsecret.py",
            "/static/../../../etc/passwd",
            "/login/../runs",
            "/login/..%2Fruns",
            "/healthz/../metrics",
            "/healthz%2F..%2Fmetrics",
            "/metrics/",
            "//metrics",
            "/login%00/../runs",
            "/export/runs.csv/",
            "/export/runs.CSV",
            "/export/runs.csv%00.css",
            "/static//../runs",
            "/%2e/runs",
        ],
    )
    def test_a_path_written_otherwise_is_closed(self, console: Any, path: str) -> None:
        client, *_ = console
        app = client.app
        answer = Raw("GET", path).send_to(app)
        assert closed_to(answer), (path, answer.status, answer.text[:200])
        assert "robo_runs" not in answer.text and "root:" not in answer.text and "secret" not in answer.text

    @pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "get", "PROPFIND", "CONNECT", "DEBUG"])
    def test_another_method_opens_nothing(self, console: Any, method: str) -> None:
        client, *_ = console
        for path in ("/runs", "/metrics", "/export/runs.csv"):
            answer = Raw(method, path).send_to(client.app)
            assert closed_to(answer), (method, path, answer.status)
            assert not answer.body or b"robo_" not in answer.body


# ---------------------------------------------------------------------------------------------------------------
class TestStolenOrStaleSessions:
    def test_a_cookie_copied_before_logging_out_is_worth_nothing_after(self, console: Any) -> None:
        client, *_ = console
        assert log_in(client, "oscar").status_code == 303
        stolen = cookie_of(client)
        log_out(client)
        with TestClient(client.app, follow_redirects=False, cookies={SESSION_COOKIE: stolen}) as thief:
            assert thief.get("/runs").status_code == 303

    def test_changing_the_password_ends_the_sessions_opened_with_the_old_one(self, console: Any) -> None:
        client, _, users, _ = console
        assert log_in(client, "oscar").status_code == 303
        assert client.get("/runs").status_code == 200
        users.set_password("oscar", "a brand new password")
        assert client.get("/runs").status_code == 303

    def test_a_name_given_again_to_someone_else_does_not_inherit_old_sessions(self, console: Any) -> None:
        client, _, users, _ = console
        assert log_in(client, "adele").status_code == 303
        old_cookie = cookie_of(client)
        users.remove("adele")
        users.add("adele", users.get("valerie").role, "another person's password")
        with TestClient(client.app, follow_redirects=False, cookies={SESSION_COOKIE: old_cookie}) as old:
            assert old.get("/runs").status_code == 303

    def test_a_new_login_still_works_after_the_password_changed(self, console: Any) -> None:
        client, _, users, _ = console
        users.set_password("oscar", "a brand new password")
        assert log_in(client, "oscar", "a brand new password").status_code == 303
        assert client.get("/runs").status_code == 200

    def test_the_anonymous_token_opens_no_form_after_logging_in(self, console: Any) -> None:
        client, *_ = console
        anonymous = csrf_of(client)
        assert log_in(client, "valerie").status_code == 303
        answer = client.post("/logout", data={"csrf_token": anonymous})
        assert answer.status_code == 403
        assert client.get("/runs").status_code == 200  # still logged in: the forged logout did nothing

    @pytest.mark.parametrize(
        "guess", ["secret", "", "changeme", "robo", "robo-console", "dev", "0" * 32, "console-secret"]
    )
    def test_a_cookie_signed_with_a_guessed_secret_is_nobody(self, console: Any, guess: str) -> None:
        client, *_ = console
        forged = URLSafeTimedSerializer(guess, salt="robo-console-session").dumps(
            {"user": "adele", "csrf": "x" * 43, "seal": ""}
        )
        with TestClient(client.app, follow_redirects=False, cookies={SESSION_COOKIE: forged}) as forger:
            assert forger.get("/runs").status_code == 303
            assert forger.get("/metrics").status_code == 303


# ---------------------------------------------------------------------------------------------------------------
OPEN_REDIRECTS = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "https://evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "%2F%2Fevil.example",
    "/%09/evil.example",
    "\x00//evil.example",
    "/\u3000/evil.example",
    "/\u2028/evil.example",
    "data:text/html,<script>alert(1)</script>",
]


class TestOpenRedirect:
    @pytest.mark.parametrize("target", OPEN_REDIRECTS)
    def test_after_logging_in_the_browser_stays_on_the_console(self, console: Any, target: str) -> None:
        client, *_ = console
        answer = log_in(client, "valerie", next_path=target)
        assert answer.status_code == 303
        assert stays_here(answer.headers["location"]), (target, answer.headers["location"])
        log_out(client)

    @pytest.mark.parametrize("target", OPEN_REDIRECTS[:8])
    def test_the_login_page_does_not_carry_a_foreign_next(self, console: Any, target: str) -> None:
        client, *_ = console
        page = client.get("/login", params={"next": target})
        found = re.search(r'name="next" value="([^"]*)"', page.text)
        assert found and stays_here(found.group(1).replace("&#34;", '"')), (target, found)

    def test_a_host_header_does_not_send_the_browser_elsewhere(self, console: Any) -> None:
        client, *_ = console
        assert log_in(client, "valerie").status_code == 303
        answer = client.get("/", headers={"host": "evil.example"})
        assert answer.status_code in (303, 307)
        assert "evil.example" not in answer.headers["location"]


def stays_here(location: str) -> bool:
    """A Location a browser resolves on this site: a path (one `/`, not `//` nor `/\\`), no scheme, no space."""
    return (
        location.startswith("/")
        and not location.startswith(("//", "/\\", "/%5C", "/%5c"))
        and not any(char.isspace() or ord(char) < 32 for char in location)
    )


# ---------------------------------------------------------------------------------------------------------------
class TestThrottle:
    def test_forwarded_for_headers_from_a_stranger_do_not_reset_the_count(self, console: Any) -> None:
        client, *_ = console
        token = csrf_of(client)
        for attempt in range(20):
            answer = client.post(
                "/login",
                data={
                    "username": f"name{attempt}",
                    "password": "wrong password",
                    "csrf_token": token,
                    "next": "/",
                },
                headers={"x-forwarded-for": f"203.0.113.{attempt}", "x-real-ip": f"198.51.100.{attempt}"},
            )
            assert answer.status_code == 401
        answer = client.post(
            "/login",
            data={"username": "valerie", "password": PASSWORD, "csrf_token": token, "next": "/"},
            headers={"x-forwarded-for": "192.0.2.99", "forwarded": "for=192.0.2.99"},
        )
        assert answer.status_code == 429

    def test_wrong_passwords_sent_all_at_once_are_limited_too(self, console: Any) -> None:
        client, *_ = console
        token = csrf_of(client)
        cookie = cookie_of(client)

        async def attack() -> list[int]:
            transport = httpx.ASGITransport(app=client.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", cookies={SESSION_COOKIE: cookie}
            ) as browser:
                data = {"username": "oscar", "password": "wrong password", "csrf_token": token, "next": "/"}
                answers = await asyncio.gather(*(browser.post("/login", data=data) for _ in range(30)))
            return [answer.status_code for answer in answers]

        statuses = asyncio.run(attack())
        assert statuses.count(401) <= 10, statuses  # 10 guesses for a name, however fast they come
        assert set(statuses) <= {401, 429}

    def test_an_unknown_name_costs_one_password_check_as_a_known_one(self, tmp_path: Path) -> None:
        checks: list[str] = []

        class Counting(PasswordHasher):
            def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
                checks.append(str(password))
                return super().verify(hash, password)

        logs = tmp_path / "logs"
        with RunStore(default_store_url(logs)) as store:
            users = UserStore(store.engine, hasher=Counting(time_cost=1, memory_cost=1024, parallelism=1))
            users.add("oscar", users_role("operator"), PASSWORD)
            with TestClient(console_app(store, logs, users), follow_redirects=False) as client:
                for name in ("oscar", "nobody", "<script>", "x" * 300, "Oscar"):
                    before = len(checks)
                    assert log_in(client, name, "wrong password").status_code == 401
                    assert len(checks) - before == 1, name


def users_role(word: str) -> Any:
    from runner.console.access import parse_role

    return parse_role(word)


# ---------------------------------------------------------------------------------------------------------------
class TestQueryStrings:
    @pytest.mark.parametrize(
        "query",
        [
            "page=-1",
            "page=0",
            f"page={10**12}",
            "page=" + "9" * 5000,
            "page=%C2%B2",  # ² : a digit for str.isdigit, not for int()
            "page=%D9%A3",  # ٣ : an Arabic-Indic three
            "page=1e3",
            "page=%00",
            "since=9999-12-31&until=9999-12-31",
            "until=9999-12-31",
            "since=0001-01-01",
            "since=2026-02-30",
            "status=" + "x" * 20000,
            "workflow=%00&item=%00",
            "item=" + "%F0%9F%92%A5" * 2000,
            "trigger[]=retry&trigger=retry&trigger=scheduled",
        ],
    )
    def test_a_hostile_query_string_gives_a_page(self, console: Any, query: str) -> None:
        client, *_ = console
        assert log_in(client, "valerie").status_code == 303
        for path in ("/runs", "/export/runs.csv", "/export/runs.json", "/items"):
            answer = Raw(
                "GET", path, query=query, headers=[("cookie", f"{SESSION_COOKIE}={cookie_of(client)}")]
            )
            got = answer.send_to(client.app)
            assert got.status == 200, (path, query, got.status, got.text[:300])


class TestErrors:
    def test_a_broken_store_gives_a_plain_answer_without_a_traceback(self, console: Any) -> None:
        client, store, *_ = console
        assert log_in(client, "valerie").status_code == 303
        with store.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE items RENAME TO items_gone")
        with TestClient(
            client.app, follow_redirects=False, raise_server_exceptions=False, cookies=client.cookies
        ) as hurt:
            answer = hurt.get("/items")
        assert answer.status_code == 500
        for leak in ("Traceback", "sqlalchemy", "sqlite3", "items_gone", 'File "', "SELECT"):
            assert leak not in answer.text, leak
        assert answer.headers.get("content-security-policy"), answer.headers
        assert answer.headers.get("x-content-type-options") == "nosniff"
        assert "error" in answer.text.lower()


# ---------------------------------------------------------------------------------------------------------------
class TestMetricsToken:
    TOKEN = "a-scraper-token-" + "k" * 32

    def test_the_token_opens_nothing_from_a_query_string_or_another_scheme(self, tmp_path: Path) -> None:
        logs = tmp_path / "logs"
        with RunStore(default_store_url(logs)) as store:
            users = add_users(store)
            app = console_app(store, logs, users, settings=AccessSettings(metrics_token=self.TOKEN))
            with TestClient(app, follow_redirects=False) as client:
                for params in ({"token": self.TOKEN}, {"access_token": self.TOKEN}, {"bearer": self.TOKEN}):
                    assert client.get("/metrics", params=params).status_code == 303
                for header in (
                    f"Basic {self.TOKEN}",
                    self.TOKEN,
                    f"Bearer {self.TOKEN[:-1]}",
                    f"Bearer  x{self.TOKEN}",
                ):
                    assert client.get("/metrics", headers={"authorization": header}).status_code == 303
                right = {"authorization": f"Bearer {self.TOKEN}"}
                assert client.get("/metrics", headers=right).status_code == 200
                assert client.get("/metrics/", headers=right).status_code != 200
                assert client.post("/metrics", headers=right).status_code in (401, 403, 405)


# ---------------------------------------------------------------------------------------------------------------
class TestNoUsersLocalConsole:
    """With no user, the console trusts the loopback address; a web page the user visits must not borrow that
    trust by rebinding its own host name to 127.0.0.1 (DNS rebinding)."""

    @pytest.mark.parametrize(
        "host", ["evil.example", "evil.example:8050", "127.0.0.1.evil.example", "localhost.evil.example", ""]
    )
    def test_a_foreign_host_name_is_refused(self, tmp_path: Path, host: str) -> None:
        logs = tmp_path / "logs"
        with RunStore(default_store_url(logs)) as store:
            app = create_app(store, logs)
            answer = Raw("GET", "/runs", headers=[("host", host)] if host else []).send_to(app)
            assert answer.status in (400, 403, 421), (host, answer.status)
            assert b"<table" not in answer.body

    @pytest.mark.parametrize(
        "host", ["127.0.0.1:8050", "localhost:8050", "[::1]:8050", "localhost", "127.0.0.1"]
    )
    def test_a_loopback_host_name_is_served(self, tmp_path: Path, host: str) -> None:
        logs = tmp_path / "logs"
        with RunStore(default_store_url(logs)) as store:
            answer = Raw("GET", "/runs", headers=[("host", host)]).send_to(create_app(store, logs))
            assert answer.status == 200, (host, answer.status)


# ---------------------------------------------------------------------------------------------------------------
class TestBeforeLogin:
    def test_an_anonymous_upload_is_refused_before_it_is_read(self, console: Any) -> None:
        client, *_ = console
        megabyte = b"x" * (1 << 20)
        for path in ("/logout", "/runs", "/nowhere"):
            answer = Raw("POST", path, body_chunks=[megabyte] * 16).send_to(client.app)
            assert answer.status in (401, 405), (path, answer.status)
            assert answer.chunks_read <= 1, (path, answer.chunks_read)

    def test_pages_and_files_are_kept_by_no_cache(self, console: Any) -> None:
        client, *_ = console
        assert client.get("/login").headers["cache-control"] == "no-store"
        assert log_in(client, "valerie").status_code == 303
        for path in ("/runs", "/items", "/schedules", "/export/runs.csv", "/metrics"):
            assert client.get(path).headers.get("cache-control") == "no-store", path
        assert "no-store" not in client.get("/static/console.css").headers.get("cache-control", "")


# ---------------------------------------------------------------------------------------------------------------
TRAP = """
name: Piège
steps:
  - for_each:
      - {ref: "=cmd|' /C calc'!A0", nom: refuser}
      - {ref: "@SUM(1+1)", nom: "+33 1 23"}
      - {ref: "-2+3", nom: b}
      - {ref: "</script><script>alert('json')</script>", nom: c}
    as: d
    key: d.ref
    steps:
      - name: "<img src=x onerror=alert('étape')>"
        probe.echo: {value: "{{ d.nom }}"}
      - name: Refuser
        probe.refuse_with_screenshot: {reason: "<script>alert('erreur')</script> & <b>{{ d.nom }}</b>"}
        when: d.nom == 'refuser'
"""
HOSTILE_FILES = (
    "<img src=x onerror=alert('fichier')>.png",
    'rapport "final".txt',
    "rapport\r\nSet-Cookie: pris=1.txt",
    "page #3 ? 50 pour cent.png",
)


@dataclass
class Trapped:
    client: TestClient
    store: RunStore
    logs: Path
    run_id: str


@pytest.fixture
def trapped(run_yaml: WorkflowRunner, tmp_path: Path) -> Iterator[Trapped]:
    """A real run whose step names, errors, keys and files are hostile; a viewer logged in."""
    outcome, _ = run_yaml(TRAP)
    assert outcome.run_id and outcome.run_dir
    for name in HOSTILE_FILES:
        (outcome.run_dir / name).write_bytes(b"\x89PNG\r\n\x1a\n" if name.endswith(".png") else b"texte")
    logs = tmp_path / "logs"
    with RunStore(default_store_url(logs)) as store:
        users = add_users(store)
        with TestClient(console_app(store, logs, users), follow_redirects=False) as client:
            assert log_in(client, "valerie").status_code == 303
            yield Trapped(client, store, logs, outcome.run_id)


class TestHostileRunTexts:
    def test_step_names_errors_and_file_names_are_text_on_the_run_page(self, trapped: Trapped) -> None:
        page = trapped.client.get(f"/runs/{trapped.run_id}")
        assert page.status_code == 200
        html = page.text
        for live in ("<img src=x", "<script>alert", "<b>", "onerror=alert('fichier')>"):
            assert live not in html, live
        assert "&lt;img src=x onerror=alert(" in html and "&lt;script&gt;alert(" in html
        assert "rapport &#34;final&#34;.txt" in html or "rapport &quot;final&quot;.txt" in html

    def test_a_file_name_cannot_write_a_header(self, trapped: Trapped) -> None:
        client = trapped.client
        page = client.get(f"/runs/{trapped.run_id}").text
        links = re.findall(r'href="(?:http://testserver)?(/artifacts/[^"]+)"', page)
        assert links
        for link in links:
            answer = client.get(html.unescape(link))
            if answer.status_code != 200:
                continue
            assert "pris" not in client.cookies and "pris=1" not in answer.headers.get("set-cookie", "")
            disposition = answer.headers["content-disposition"]
            assert "\r" not in disposition and "\n" not in disposition
            assert disposition.count('"') in (0, 2), disposition

    def test_every_file_listed_is_reached_from_its_link(self, trapped: Trapped) -> None:
        client = trapped.client
        page = client.get(f"/runs/{trapped.run_id}").text
        links = {
            html.unescape(link)
            for link in re.findall(r'href="(?:http://testserver)?(/artifacts/[^"]+)"', page)
        }
        reached = {link for link in links if client.get(link).status_code == 200}
        for name in HOSTILE_FILES[:2] + HOSTILE_FILES[3:]:  # (a CR/LF name is refused: a name no page gives)
            assert any(link.endswith("/" + quote(name)) for link in reached), (name, sorted(links))

    def test_exports_run_no_formula_and_no_script(self, trapped: Trapped) -> None:
        client = trapped.client
        csv_text = client.get(f"/runs/{trapped.run_id}/export.csv").text
        for cell in csv_text.replace('"', "").replace("\r\n", ",").split(","):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        exported = client.get(f"/runs/{trapped.run_id}/export.json")
        assert exported.headers["content-type"].startswith("application/json")
        assert exported.headers["content-disposition"].startswith("attachment")
        assert exported.headers["x-content-type-options"] == "nosniff"
        assert "</script><script>" in json.dumps(
            exported.json(), ensure_ascii=False
        )  # kept as data, never a page
        listed = client.get("/export/runs.json")
        assert listed.headers["content-disposition"].startswith("attachment")


# ---------------------------------------------------------------------------------------------------------------
def test_no_get_changes_anything(filled: Filled) -> None:
    """SameSite=Lax lets a GET from another site carry the cookie: no GET route may change the store or the
    operators' log (every page and export read, as an admin, with the store's rows counted before and after)."""
    filled.log_in("adele")

    def state() -> tuple[Any, ...]:
        tables = sorted(inspect(filled.store.engine).get_table_names())
        with filled.store.engine.connect() as connection:
            counts = tuple(
                (table, connection.exec_driver_sql(f'SELECT COUNT(*) FROM "{table}"').scalar())
                for table in tables
            )
        log = operators_log_path(filled.logs)
        return counts, log.read_bytes() if log.exists() else b""

    before = state()
    run_id = filled.hostile.run_id
    for page in PAGES:
        if "GET" not in page.methods or page.path in ("/login",):
            continue
        path = (
            page.path.replace("{run_id}", str(run_id))
            .replace("{format:str}", "csv")
            .replace("{path:path}", "nothing.txt")
            .replace("{name}", "nothing")
        )
        answer = filled.client.get(path)
        assert answer.status_code < 500, path
    assert state() == before


@pytest.mark.parametrize(
    "host",
    ["0", "", "::", "[::]", "0.0.0.0", "127.0.0.1.nip.io", "localhost.evil.example", "*", "::ffff:0.0.0.0"],
)
def test_with_no_user_no_way_of_writing_every_address_is_listened_on(tmp_path: Path, host: str) -> None:
    with RunStore(default_store_url(tmp_path / "logs")) as store, pytest.raises(ListenRefused):
        check_listen(host, store)


@pytest.mark.parametrize(
    "cookie",
    [
        "A" * 8000,
        "e30.AAAA.BBBB",
        "..",
        "%00",
        '"quoted"',
        "robo_session=x; robo_session=y",
    ],
)
def test_a_malformed_session_cookie_is_an_anonymous_visitor(console: Any, cookie: str) -> None:
    client, *_ = console
    answer = Raw("GET", "/runs", headers=[("cookie", f"{SESSION_COOKIE}={cookie}")]).send_to(client.app)
    assert answer.status == 303 and (answer.header("location") or "").startswith("/login")


def test_of_the_operators_folder_only_the_started_commands_output_is_served(filled: Filled) -> None:
    filled.log_in("adele")
    folder = operators_log_path(filled.logs).parent
    launches = folder / "launches"
    launches.mkdir(parents=True, exist_ok=True)
    (launches / "20261201T000000-retry-0a1b2c3d.log").write_text("D2 done", encoding="utf-8")
    (launches / "sub").mkdir(exist_ok=True)
    (launches / "sub" / "deeper.log").write_text("not a launch", encoding="utf-8")
    (launches / "link.log").symlink_to(operators_log_path(filled.logs))
    assert operators_log_path(filled.logs).is_file()  # logins were logged
    client = filled.client
    assert client.get("/artifacts/operators/launches/20261201T000000-retry-0a1b2c3d.log").text == "D2 done"
    for path in (
        "operators/audit.jsonl",
        "operators/launches/link.log",
        "operators/launches/sub/deeper.log",
        "operators/launches/%2e%2e/audit.jsonl",
        "operators/launches/..%2faudit.jsonl",
        "operators",
        "operators/launches",
    ):
        assert client.get(f"/artifacts/{path}").status_code == 404, path
