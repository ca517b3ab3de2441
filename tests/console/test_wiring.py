"""The console as `robo dashboard` serves it when the store has users: no page or file without logging in (every
route of the route table), logins, CSRF, roles per route, one Content-Security-Policy, the kept session secret and
the monitoring scraper's token."""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocketDisconnect

from robots.kit import ConfigurationError
from runner.console import CONTENT_SECURITY_POLICY, PAGES, STATIC_ROLE, Page, create_app
from runner.console.access import (
    PUBLIC,
    SECRET_FILE,
    SESSION_COOKIE,
    Role,
    access_settings,
    console_secret,
    operators_log_path,
)
from runner.record import RunStore, default_store_url
from tests.console.conftest import (
    PASSWORD,
    Filled,
    TestClient,
    console_app,
    csrf_of,
    log_in,
    log_out,
)

TOKEN = "a-scraper-token-long-enough-to-be-accepted-0123456789"


def concrete(path: str, filled: Filled, screenshot: str) -> str:
    """A route's path with real values in its parameters (a run, a listed format, a file of the logs folder)."""
    run_id = filled.hostile.run_id or ""
    return path.replace("{run_id}", run_id).replace("{format:str}", "csv").replace("{path:path}", screenshot)


def screenshot_of(filled: Filled) -> str:
    page = filled.client.get(f"/runs/{filled.hostile.run_id}")
    found = re.search(r'<img[^>]* src="http://testserver/artifacts/([^"]+)"', page.text)
    assert found, "the failed item's screenshot is on the run's page"
    return found.group(1)


class TestWithoutLogin:
    def test_no_route_of_the_table_answers_before_logging_in(self, filled: Filled) -> None:
        screenshot = screenshot_of(filled)
        assert filled.client.get(f"/artifacts/{screenshot}").status_code == 200  # logged in: served
        log_out(filled.client)
        client = filled.client
        token = csrf_of(client)  # an anonymous session's own token: CSRF passes, the login is still missing
        closed = [page for page in PAGES if page.role is not PUBLIC]
        assert {page.name for page in closed} >= {
            "runs",
            "run",
            "artifact",
            "metrics",
            "export_run",
            "logout",
        }
        for page in closed:
            path = concrete(page.path, filled, screenshot)
            for method in page.methods:
                if method == "GET":
                    answer = client.get(path)
                    assert answer.status_code == 303, path
                    assert answer.headers["location"].startswith("/login?next=%2F"), path
                else:
                    answer = client.request(method, path, data={"csrf_token": token})
                    assert answer.status_code == 401, path
                assert "PNG" not in answer.text and "Relevés" not in answer.text, path
        assert client.get("/nowhere").status_code == 303  # a path no route declares: closed too

    def test_only_login_health_and_static_files_are_public(self, filled: Filled) -> None:
        log_out(filled.client)
        public = {page.name for page in PAGES if page.role is PUBLIC}
        assert public == {"login", "log_in", "healthz"} and STATIC_ROLE is PUBLIC
        assert filled.client.get("/healthz").text == "ok"
        assert filled.client.get("/login").status_code == 200
        assert filled.client.get("/static/console.css").status_code == 200

    def test_after_logging_in_the_page_first_asked_for_opens(self, filled: Filled) -> None:
        log_out(filled.client)
        wanted = f"/runs/{filled.plain.run_id}?x=1"
        sent = filled.client.get(wanted).headers["location"]
        next_path = unquote(sent.split("next=", 1)[1])
        assert next_path == wanted
        assert log_in(filled.client, "valerie", next_path=next_path).headers["location"] == wanted


def test_a_websocket_is_closed_before_reaching_the_app(filled: Filled) -> None:
    with pytest.raises(WebSocketDisconnect) as closed, filled.client.websocket_connect("/runs"):
        pass
    assert closed.value.code == 1008


class TestLogin:
    def test_the_page_header_names_the_user_and_offers_to_log_out(self, filled: Filled) -> None:
        page = filled.client.get("/runs")
        assert page.status_code == 200
        header = page.text.split("</header>")[0]
        assert "valerie" in header and ">Log out</button>" in header
        assert re.search(r'<form method="post" action="http://testserver/logout"><input type="hidden" '
                         r'name="csrf_token" value="[^"]+">', header)  # fmt: skip

    def test_a_wrong_password_is_refused_and_leaves_the_visitor_out(self, filled: Filled) -> None:
        log_out(filled.client)
        answer = log_in(filled.client, "valerie", "wrong password!")
        assert answer.status_code == 401 and "wrong user name or password" in answer.text
        assert filled.client.get("/runs").status_code == 303

    def test_the_login_page_has_the_site_policy_only_and_its_style_sheet(self, filled: Filled) -> None:
        log_out(filled.client)
        page = filled.client.get("/login")
        assert page.headers.get_list("content-security-policy") == [CONTENT_SECURITY_POLICY]
        assert "<style" not in page.text and 'href="http://testserver/static/console.css"' in page.text
        assert 'name="username"' in page.text and ">Log in</button>" in page.text

    def test_logins_and_logouts_go_to_the_operators_log(self, filled: Filled) -> None:
        filled.log_in("oscar")
        records = operators_log_path(filled.logs).read_text(encoding="utf-8")
        assert [re.search(r'"action": ?"(\w+)"', line).group(1) for line in records.splitlines()] == [  # type: ignore[union-attr]
            "login",
            "logout",
            "login",
        ]


class TestCsrf:
    def test_a_post_without_the_session_token_is_refused(self, filled: Filled) -> None:
        for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}):
            answer = filled.client.post("/logout", data=data)
            assert answer.status_code == 403 and "CSRF" in answer.text
        assert filled.client.get("/runs").status_code == 200  # still logged in

    def test_the_login_form_needs_its_token_too(self, filled: Filled) -> None:
        log_out(filled.client)
        answer = filled.client.post("/login", data={"username": "valerie", "password": PASSWORD, "next": "/"})
        assert answer.status_code == 403
        assert filled.client.get("/runs").status_code == 303


async def act(request: Request) -> Response:
    return PlainTextResponse("acted")


ACTING = (*PAGES, Page("/test-act", "test_act", act, Role.OPERATOR, ("POST",)))


class TestRoles:
    @pytest.fixture
    def acting(self, filled: Filled) -> Iterator[TestClient]:
        with TestClient(
            console_app(filled.store, filled.logs, route_table=ACTING), follow_redirects=False
        ) as client:
            yield client

    def test_a_viewer_is_refused_an_operator_route_and_an_operator_is_not(self, acting: TestClient) -> None:
        assert log_in(acting, "valerie").status_code == 303
        token = csrf_of(acting, "/runs")
        refused = acting.post("/test-act", data={"csrf_token": token})
        assert refused.status_code == 403 and "operator" in refused.text and "acted" not in refused.text
        log_out(acting)
        assert log_in(acting, "oscar").status_code == 303
        assert acting.post("/test-act", data={"csrf_token": csrf_of(acting, "/runs")}).text == "acted"
        assert acting.get("/test-act").status_code == 405  # another method: the route's role, then 405

    def test_a_route_with_another_method_is_not_an_open_door(self, filled: Filled) -> None:
        assert filled.client.get("/logout").status_code == 405
        log_out(filled.client)
        assert filled.client.get("/logout").status_code == 303


class TestSecret:
    def test_a_session_outlives_a_restart(self, filled: Filled, tmp_path: Path) -> None:
        logs = tmp_path / "kept"
        first = TestClient(
            console_app(filled.store, logs, settings=access_settings(logs, environ={})),
            follow_redirects=False,
        )
        assert log_in(first, "valerie").status_code == 303
        second = TestClient(
            console_app(filled.store, logs, settings=access_settings(logs, environ={})),
            follow_redirects=False,
        )
        second.cookies.set(SESSION_COOKIE, first.cookies[SESSION_COOKIE])
        assert second.get("/runs").status_code == 200
        other = TestClient(
            console_app(
                filled.store, tmp_path / "other", settings=access_settings(tmp_path / "other", environ={})
            ),
            follow_redirects=False,
        )
        other.cookies.set(SESSION_COOKIE, first.cookies[SESSION_COOKIE])
        assert other.get("/runs").status_code == 303  # another logs folder, another secret

    def test_the_secret_file_is_made_once_readable_by_its_owner_only(self, tmp_path: Path) -> None:
        secret = console_secret(tmp_path, {})
        path = tmp_path / SECRET_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(secret) >= 32 and console_secret(tmp_path, {}) == secret
        assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE]  # no temporary file left

    def test_consoles_starting_together_share_one_secret(self, tmp_path: Path) -> None:
        found: list[str] = []
        threads = [
            threading.Thread(target=lambda: found.append(console_secret(tmp_path, {}))) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(found) == 8 and len(set(found)) == 1

    def test_the_environment_secret_wins_and_a_short_one_is_refused(self, tmp_path: Path) -> None:
        given = "s" * 40
        assert console_secret(tmp_path, {"ROBO_CONSOLE_SECRET": given}) == given
        assert not (tmp_path / SECRET_FILE).exists()
        with pytest.raises(ConfigurationError, match="too short"):
            console_secret(tmp_path, {"ROBO_CONSOLE_SECRET": "short"})

    def test_a_secret_others_can_read_or_a_damaged_one_is_refused(self, tmp_path: Path) -> None:
        console_secret(tmp_path, {})
        path = tmp_path / SECRET_FILE
        os.chmod(path, 0o644)
        with pytest.raises(ConfigurationError, match="only its owner") as refused:
            console_secret(tmp_path, {})
        assert "chmod 600" in (refused.value.hint or "")
        path.write_text("", encoding="ascii")
        os.chmod(path, 0o600)
        with pytest.raises(ConfigurationError, match="damaged"):
            console_secret(tmp_path, {})
        path.unlink()
        os.symlink(tmp_path / "elsewhere", path)
        with pytest.raises(ConfigurationError, match="only its owner"):
            console_secret(tmp_path, {})

    def test_the_secret_file_is_never_served(self, filled: Filled) -> None:
        console_secret(filled.logs, {})
        filled.log_in("adele")
        for attempt in (SECRET_FILE, f"./{SECRET_FILE}", f"x/../{SECRET_FILE}", f"%2e{SECRET_FILE[1:]}"):
            answer = filled.client.get(f"/artifacts/{attempt}")
            assert answer.status_code in (403, 404), attempt
        assert (filled.logs / SECRET_FILE).read_text().strip() not in filled.client.get("/runs").text


class TestMetricsToken:
    @pytest.fixture
    def scraped(self, filled: Filled, tmp_path: Path) -> Iterator[TestClient]:
        settings = access_settings(tmp_path, environ={"ROBO_METRICS_TOKEN": TOKEN})
        with TestClient(
            console_app(filled.store, filled.logs, settings=settings), follow_redirects=False
        ) as client:
            yield client

    def test_the_scraper_reads_metrics_with_its_token_and_nothing_else(self, scraped: TestClient) -> None:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        metrics = scraped.get("/metrics", headers=bearer)
        assert metrics.status_code == 200 and "robo_runs{" in metrics.text
        assert "set-cookie" not in metrics.headers
        assert scraped.get("/runs", headers=bearer).status_code == 303
        for wrong in (f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer ", f"Bearer {TOKEN}x"):
            assert scraped.get("/metrics", headers={"Authorization": wrong}).status_code == 303, wrong

    def test_without_a_token_metrics_needs_a_login(self, filled: Filled) -> None:
        log_out(filled.client)
        assert filled.client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 303

    def test_a_short_token_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="ROBO_METRICS_TOKEN"):
            access_settings(tmp_path, environ={"ROBO_METRICS_TOKEN": "1234"})


class TestBehindAProxy:
    def test_the_cookie_is_secure_when_the_browser_came_over_https(
        self, filled: Filled, tmp_path: Path
    ) -> None:
        settings = access_settings(tmp_path, trusted_proxies=["10.0.0.5"], environ={})
        app = console_app(filled.store, filled.logs, settings=settings)
        https = {"X-Forwarded-Proto": "https"}
        with TestClient(app, base_url="https://testserver") as direct:
            assert "; Secure" in direct.get("/login").headers["set-cookie"]
        with TestClient(app, client=("10.0.0.5", 1)) as proxied:
            assert "; Secure" in proxied.get("/login", headers=https).headers["set-cookie"]
            assert "; Secure" not in proxied.get("/healthz").headers["set-cookie"]  # the proxy says http
        with TestClient(app, client=("192.0.2.7", 1)) as stranger:
            assert "; Secure" not in stranger.get("/login", headers=https).headers["set-cookie"]

    def test_a_user_header_is_believed_from_the_trusted_proxy_only(
        self, filled: Filled, tmp_path: Path
    ) -> None:
        settings = access_settings(
            tmp_path, trusted_proxies=["10.0.0.0/24"], user_header="X-Remote-User", environ={}
        )
        app = console_app(filled.store, filled.logs, settings=settings)
        named = {"X-Remote-User": "oscar"}
        with TestClient(app, client=("10.0.0.5", 1), follow_redirects=False) as proxied:
            assert "oscar" in proxied.get("/runs", headers=named).text.split("</header>")[0]
        with TestClient(app, client=("192.0.2.7", 1), follow_redirects=False) as stranger:
            assert stranger.get("/runs", headers=named).status_code == 303
        without = access_settings(tmp_path, trusted_proxies=["10.0.0.0/24"], environ={})
        with TestClient(
            console_app(filled.store, filled.logs, settings=without),
            client=("10.0.0.5", 1),
            follow_redirects=False,
        ) as plain_proxy:
            assert plain_proxy.get("/runs", headers=named).status_code == 303  # no single sign-on asked for

    @pytest.mark.parametrize("proxy", ["not-an-address", "0.0.0.0/0", "::/0", "10.0.0.300"])
    def test_a_proxy_that_is_no_address_or_everybody_is_refused(self, tmp_path: Path, proxy: str) -> None:
        with pytest.raises(ConfigurationError, match=re.escape(proxy)):
            access_settings(tmp_path, trusted_proxies=[proxy], environ={})

    def test_a_user_header_without_a_proxy_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="trusted proxy"):
            access_settings(tmp_path, user_header="X-Remote-User", environ={})

    def test_with_no_user_a_request_forwarded_by_a_local_proxy_is_refused(self, tmp_path: Path) -> None:
        logs = tmp_path / "logs"
        with RunStore(default_store_url(logs)) as store:
            app = create_app(store, logs)
            with TestClient(app, base_url="http://localhost:8050", client=("127.0.0.1", 1)) as local:
                assert local.get("/runs").status_code == 200
                for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}):
                    assert local.get("/runs", headers=header).status_code == 403, header
