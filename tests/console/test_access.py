"""The console's access control on a tiny Starlette app that uses it the way `robo dashboard` does: the gate with
a route table, the login routes, the login throttle and the operators' log (the console itself: test_wiring)."""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from itsdangerous import TimestampSigner
from sqlalchemy import Engine, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from runner.console.access import (
    PUBLIC,
    SESSION_COOKIE,
    AccessGate,
    AccessSettings,
    ListenRefused,
    LoginThrottle,
    OperatorsLog,
    Role,
    UserError,
    UserStore,
    check_listen,
    client_address,
    csrf_field,
    current_user,
    log_in,
    log_out,
    login_page,
    operators_log_path,
    verify_operators_log,
)
from runner.record import AuditLogRefused, AuditState, open_engine, users

with warnings.catch_warnings():  # starlette asks for httpx2, which the suite does not need
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FAST = PasswordHasher(
    time_cost=1, memory_cost=1024, parallelism=1
)  # the tests' hashes: quick, still argon2id
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'robo.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def user_store(engine: Engine) -> UserStore:
    store = UserStore(engine, hasher=FAST)
    store.add("valerie", Role.VIEWER, PASSWORD)
    store.add("oscar", Role.OPERATOR, PASSWORD)
    return store


class Console:
    """The tiny app, its clock, throttle and operators' log, and a client that logs in."""

    def __init__(
        self, user_store: UserStore, logs: Path, settings: AccessSettings, client: tuple[str, int]
    ) -> None:
        self.clock = Clock()
        self.throttle = LoginThrottle(clock=self.clock)
        self.log = OperatorsLog(logs, fsync=False)

        async def home(request: Request) -> Response:
            user = current_user(request)
            assert user is not None
            return PlainTextResponse(f"hello {user.name}")

        async def form(request: Request) -> Response:
            return HTMLResponse(f'<form method="post" action="/act">{csrf_field(request)}</form>')

        async def act(request: Request) -> Response:
            user = current_user(request)
            assert user is not None
            self.log.record(user.name, "retry", client_address(request), run="r-1")
            return PlainTextResponse("done")

        roles = {"/": Role.VIEWER, "/form": Role.VIEWER, "/act": Role.OPERATOR, "/login": PUBLIC}
        roles["/logout"] = Role.VIEWER

        def needed_for(scope: Scope) -> Role | None:
            return roles.get(scope["path"], Role.ADMIN)

        app = Starlette(
            routes=[
                Route("/", home),
                Route("/form", form),
                Route("/act", act, methods=["POST"]),
                Route("/login", login_page, methods=["GET"]),
                Route("/login", log_in, methods=["POST"]),
                Route("/logout", log_out, methods=["POST"]),
            ],
            middleware=[
                Middleware(
                    AccessGate,
                    needed_for=needed_for,
                    users=user_store,
                    settings=settings,
                    throttle=self.throttle,
                    log=self.log,
                )
            ],
        )
        self.client = TestClient(app, follow_redirects=False, client=client)

    def token(self, path: str = "/login") -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        data = {"username": name, "password": password, "next": "/", "csrf_token": self.token()}
        answer = self.client.post("/login", data=data)
        assert isinstance(answer, httpx.Response)
        return answer


@pytest.fixture
def console(user_store: UserStore, tmp_path: Path) -> Console:
    return Console(user_store, tmp_path / "logs", AccessSettings(), ("192.0.2.10", 50000))


class TestLogin:
    def test_no_page_is_reachable_without_logging_in(self, console: Console) -> None:
        for path in ("/", "/form", "/nowhere", "/?q=1"):
            answer = console.client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")
        token = console.token()
        assert console.client.post("/act", data={"csrf_token": token}).status_code == 401

    def test_the_right_password_opens_a_session_and_a_wrong_one_does_not(self, console: Console) -> None:
        assert console.login("valerie", "wrong password!").status_code == 401
        assert console.client.get("/").status_code == 303
        answer = console.login("valerie")
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        assert console.client.get("/").text == "hello valerie"

    def test_an_unknown_name_is_refused_as_a_wrong_password_is(self, console: Console) -> None:
        answer = console.login("nobody")
        assert answer.status_code == 401
        assert "wrong user name or password" in answer.text

    def test_logging_in_changes_the_session_and_its_token(self, console: Console) -> None:
        before = console.token()
        console.login("valerie")
        assert console.token("/form") != before

    def test_after_login_only_a_path_of_the_site_is_followed(self, console: Console) -> None:
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
            data = {
                "username": "valerie",
                "password": PASSWORD,
                "next": target,
                "csrf_token": console.token(),
            }
            assert console.client.post("/login", data=data).headers["location"] == "/", target

    def test_logout_ends_the_session(self, console: Console) -> None:
        console.login("valerie")
        assert console.client.post("/logout", data={"csrf_token": console.token("/form")}).status_code == 303
        assert console.client.get("/").status_code == 303

    def test_a_removed_user_loses_the_session_at_the_next_request(
        self, console: Console, user_store: UserStore
    ) -> None:
        console.login("valerie")
        user_store.remove("valerie")
        assert console.client.get("/").status_code == 303

    def test_the_login_page_escapes_what_was_typed(self, console: Console) -> None:
        data = {"username": "<script>x</script>", "password": "p", "next": "/", "csrf_token": console.token()}
        answer = console.client.post("/login", data=data)
        assert "<script>x" not in answer.text and "&lt;script&gt;x" in answer.text


class TestSessionCookie:
    def test_is_http_only_and_same_site_and_not_secure_by_default(self, console: Console) -> None:
        cookie = console.client.get("/login").headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie

    def test_is_secure_behind_https(self, user_store: UserStore, tmp_path: Path) -> None:
        secure = Console(user_store, tmp_path, AccessSettings(secure_cookies=True), ("192.0.2.10", 1))
        assert "; Secure" in secure.client.get("/login").headers["set-cookie"]

    def test_a_forged_cookie_is_no_session(self, console: Console) -> None:
        console.login("valerie")
        forged = console.client.cookies[SESSION_COOKIE].replace("a", "b", 1)[:-2] + "xx"
        console.client.cookies.set(SESSION_COOKIE, forged)
        assert console.client.get("/").status_code == 303

    def test_a_cookie_signed_with_another_key_is_no_session(
        self, user_store: UserStore, tmp_path: Path
    ) -> None:
        first = Console(user_store, tmp_path, AccessSettings(), ("192.0.2.10", 1))
        first.login("valerie")
        second = Console(user_store, tmp_path, AccessSettings(), ("192.0.2.10", 1))
        second.client.cookies.set(SESSION_COOKIE, first.client.cookies[SESSION_COOKIE])
        assert second.client.get("/").status_code == 303

    def test_a_session_expires(
        self, user_store: UserStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        console = Console(user_store, tmp_path, AccessSettings(session_seconds=3600), ("192.0.2.10", 1))
        real = TimestampSigner.get_timestamp
        monkeypatch.setattr(
            TimestampSigner, "get_timestamp", lambda self: real(self) - 3601
        )  # signed long ago
        console.login("valerie")
        monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
        assert console.client.get("/").status_code == 303


class TestCsrf:
    def test_an_unsafe_request_without_the_token_is_refused(self, console: Console) -> None:
        console.login("oscar")
        for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}):
            answer = console.client.post("/act", data=data)
            assert answer.status_code == 403 and "CSRF" in answer.text
        assert console.client.delete("/act").status_code == 403
        assert '"retry"' not in console.log.path.read_text()  # only the login is there

    def test_the_token_of_another_session_is_refused(self, user_store: UserStore, tmp_path: Path) -> None:
        attacker = Console(user_store, tmp_path, AccessSettings(), ("192.0.2.10", 1))
        console = Console(user_store, tmp_path, AccessSettings(), ("192.0.2.10", 1))
        console.login("oscar")
        assert console.client.post("/act", data={"csrf_token": attacker.token()}).status_code == 403

    def test_the_login_form_needs_its_token(self, console: Console) -> None:
        console.client.get("/login")
        answer = console.client.post("/login", data={"username": "valerie", "password": PASSWORD})
        assert answer.status_code == 403
        assert console.client.get("/").status_code == 303

    def test_the_form_field_or_the_header_lets_the_request_through(self, console: Console) -> None:
        console.login("oscar")
        token = console.token("/form")
        assert console.client.post("/act", data={"csrf_token": token}).text == "done"
        assert console.client.post("/act", headers={"X-CSRF-Token": token}).text == "done"

    def test_a_malformed_body_is_refused(self, console: Console) -> None:
        console.login("oscar")
        answer = console.client.post(
            "/act", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"}
        )
        assert answer.status_code == 403


class TestRoles:
    def test_a_viewer_is_refused_an_operator_route(self, console: Console) -> None:
        console.login("valerie")
        answer = console.client.post("/act", data={"csrf_token": console.token("/form")})
        assert answer.status_code == 403
        assert "operator" in answer.text

    def test_a_changed_role_counts_at_the_next_request(self, console: Console, user_store: UserStore) -> None:
        console.login("valerie")
        user_store.set_role("valerie", Role.OPERATOR)
        assert console.client.post("/act", data={"csrf_token": console.token("/form")}).text == "done"

    def test_each_role_allows_the_ones_below(self) -> None:
        assert Role.ADMIN.allows(Role.OPERATOR) and Role.OPERATOR.allows(Role.VIEWER)
        assert not Role.VIEWER.allows(Role.OPERATOR) and not Role.OPERATOR.allows(Role.ADMIN)


class TestRateLimit:
    def test_twenty_wrong_passwords_lock_out_even_the_right_one_until_it_expires(
        self, console: Console
    ) -> None:
        for _ in range(20):
            assert console.login("oscar", "wrong password!").status_code in (401, 429)
        locked = console.login("oscar")
        assert locked.status_code == 429
        assert "too many failed logins" in locked.text
        assert console.client.get("/").status_code == 303
        console.clock.now += console.throttle.lockout + 1
        assert console.login("oscar").status_code == 303
        assert console.client.get("/").text == "hello oscar"

    def test_wrong_passwords_for_many_names_lock_the_address_out(self, console: Console) -> None:
        for number in range(20):
            console.login(f"guess{number}", "wrong password!")
        assert console.login("valerie").status_code == 429

    def test_a_name_locked_out_does_not_lock_the_other_names_out(self, console: Console) -> None:
        for _ in range(10):
            console.login("oscar", "wrong password!")
        assert console.login("oscar").status_code == 429
        assert console.login("valerie").status_code == 303

    def test_a_huge_password_is_refused_unhashed(self, console: Console) -> None:
        assert console.login("oscar", "x" * 100_000).status_code == 400


class TestProxyHeader:
    def settings(self) -> AccessSettings:
        return AccessSettings(trusted_proxies=("10.0.0.0/24",), user_header="X-Remote-User")

    def test_a_trusted_proxy_names_the_user(self, user_store: UserStore, tmp_path: Path) -> None:
        console = Console(user_store, tmp_path, self.settings(), ("10.0.0.5", 1))
        assert console.client.get("/", headers={"X-Remote-User": "oscar"}).text == "hello oscar"
        assert console.client.get("/", headers={"X-Remote-User": "stranger"}).status_code == 303

    def test_the_header_from_any_other_address_is_ignored(
        self, user_store: UserStore, tmp_path: Path
    ) -> None:
        console = Console(user_store, tmp_path, self.settings(), ("192.0.2.10", 1))
        assert console.client.get("/", headers={"X-Remote-User": "oscar"}).status_code == 303


class TestOperatorsLog:
    def test_an_action_is_logged_with_who_what_when_and_from_where(
        self, console: Console, tmp_path: Path
    ) -> None:
        console.login("oscar")
        console.client.post("/act", data={"csrf_token": console.token("/form")})
        records = [
            json.loads(line) for line in operators_log_path(tmp_path / "logs").read_text().splitlines()
        ]
        assert [(r["user"], r["action"], r["address"]) for r in records] == [
            ("oscar", "login", "192.0.2.10"),
            ("oscar", "retry", "192.0.2.10"),
        ]
        assert records[1]["details"] == {"run": "r-1"} and records[1]["at"]
        assert verify_operators_log(tmp_path / "logs").state == AuditState.INTACT

    def test_tampering_is_detected_and_the_log_is_no_longer_written(self, tmp_path: Path) -> None:
        log = OperatorsLog(tmp_path, fsync=False)
        log.record("oscar", "retry", "192.0.2.10", run="r-1")
        log.record("oscar", "pause", "192.0.2.10", schedule="saisie/matin")
        path = operators_log_path(tmp_path)
        path.write_text(path.read_text().replace('"oscar"', '"valerie"', 1))
        verdict = verify_operators_log(tmp_path)
        assert verdict.state == AuditState.TAMPERED
        with pytest.raises(AuditLogRefused):
            log.record("oscar", "resume", "192.0.2.10")

    def test_a_removed_last_record_is_detected(self, tmp_path: Path) -> None:
        log = OperatorsLog(tmp_path, fsync=False)
        log.record("oscar", "retry", None)
        log.record("oscar", "mark", None, item="D-1", comment="saisi à la main")
        path = operators_log_path(tmp_path)
        path.write_text(path.read_text().splitlines(keepends=True)[0])
        assert verify_operators_log(tmp_path).state != AuditState.INTACT


class TestUsers:
    def test_passwords_are_argon2_hashes_never_the_password(
        self, engine: Engine, user_store: UserStore
    ) -> None:
        with engine.connect() as connection:
            hashes = connection.execute(select(users.c.password_hash)).scalars().all()
        assert len(hashes) == 2 and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)

    def test_a_hash_made_with_other_parameters_is_made_again_at_login(
        self, engine: Engine, user_store: UserStore
    ) -> None:
        def stored() -> str:
            with engine.connect() as connection:
                return str(
                    connection.execute(select(users.c.password_hash).where(users.c.name == "oscar")).scalar()
                )

        before = stored()
        stronger = UserStore(engine, hasher=PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
        assert stronger.authenticate("oscar", "wrong password!") is None
        assert stored() == before
        assert stronger.authenticate("oscar", PASSWORD) is not None
        assert stored() != before and "t=2" in stored()
        assert stronger.authenticate("oscar", PASSWORD) is not None

    def test_hashes_and_passwords_are_never_logged(self, user_store: UserStore, caplog: Any) -> None:
        caplog.set_level(logging.DEBUG)
        user_store.add("adele", Role.ADMIN, PASSWORD)
        user_store.authenticate("adele", PASSWORD)
        user_store.set_password("adele", PASSWORD + "!")
        with pytest.raises(UserError) as refused:
            user_store.add("adele", Role.ADMIN, PASSWORD)
        shown = caplog.text + str(refused.value) + repr(user_store.get("adele"))
        assert "$argon2" not in shown and PASSWORD not in shown

    @pytest.mark.parametrize("name", ["", "a b", "../etc", "x" * 201, "<script>", "é\n"])
    def test_a_name_that_is_not_plain_is_refused(self, user_store: UserStore, name: str) -> None:
        with pytest.raises(UserError):
            user_store.add(name, Role.VIEWER, PASSWORD)

    def test_a_short_password_is_refused(self, user_store: UserStore) -> None:
        with pytest.raises(UserError, match="too short"):
            user_store.add("adele", Role.VIEWER, "short")
        with pytest.raises(UserError, match="too short"):
            user_store.set_password("oscar", " " * 20)


class TestCheckListen:
    def test_loopback_is_always_allowed(self, engine: Engine) -> None:
        empty = UserStore(engine, hasher=FAST)
        for host in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost", "LOCALHOST"):
            check_listen(host, empty)

    def test_another_address_is_refused_without_users(self, engine: Engine) -> None:
        empty = UserStore(engine, hasher=FAST)
        for host in ("0.0.0.0", "::", "192.168.1.20", "bot-01.example.org", "127.0.0.1.nip.io"):
            with pytest.raises(ListenRefused, match="no user is configured") as refused:
                check_listen(host, empty)
            assert "robo users add" in (refused.value.hint or "")

    def test_another_address_is_allowed_once_a_user_exists(self, user_store: UserStore) -> None:
        check_listen("0.0.0.0", user_store)
