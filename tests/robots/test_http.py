"""The `http` robot, against a real HTTP server on 127.0.0.1 started for each test."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from robots.http import Http
from robots.kit import ApplicationError, BusinessError, ConfigurationError, RobotContext
from tests.robots import locales

PAYLOAD = bytes(range(256)) * 1200 + b"fin"
RELEASE_SLOW = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass

    def answer(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def answer_json(self, data: Any, status: int = 200) -> None:
        self.answer(status, json.dumps(data).encode(), "application/json; charset=utf-8")

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/json":
            self.answer_json({"nom": "Élodie", "dossiers": [1, 2]})
        elif path == "/problem":
            self.answer(200, b'{"a": 1}', "application/problem+json")
        elif path == "/bad-json":
            self.answer(200, b"<html>oops</html>", "application/json")
        elif path == "/text":
            self.answer(200, "bonjour à tous".encode(), "text/plain; charset=utf-8")
        elif path == "/echo":
            self.answer_json(
                {"query": parse_qs(query), "headers": {k.lower(): v for k, v in self.headers.items()}}
            )
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            self.answer(status, b"x" * 150 + b"\n\n" + b"y" * 150, "text/plain")
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/json")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/fichiers/rapport%20final.pdf":
            self.answer(200, PAYLOAD, "application/pdf")
        elif path == "/export":
            disposition = "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.csv"
            self.answer(200, b"a;b\n1;2\n", "text/csv", Content_Disposition=disposition)
        elif path == "/sneaky":
            self.answer(
                200, b"x", "text/plain", Content_Disposition='attachment; filename="../../etc/passwd"'
            )
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/autre-export":
            disposition = "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.csv"
            self.answer(200, b"a;b\n3;4\n", "text/csv", Content_Disposition=disposition)
        elif path == "/slow":
            RELEASE_SLOW.wait(timeout=10)
            self.answer(200, b"late", "text/plain")
        else:
            self.answer(404, b"no such page", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        if self.path == "/create":
            self.answer_json({"content_type": self.headers.get("Content-Type"), "body": body}, status=201)
        else:
            self.answer(422, b"champ siret invalide", "text/plain")


@pytest.fixture
def server() -> Iterator[str]:
    RELEASE_SLOW.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = False  # so server_close() waits for every handler thread
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    RELEASE_SLOW.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


@pytest.fixture
def http(robot_context: RobotContext) -> Iterator[Http]:
    robot = Http(robot_context)
    yield robot
    robot.close()


class TestActionSpecs:
    def test_declares_its_actions_each_returning_a_value(self) -> None:
        specs = Http.action_specs()
        assert set(specs) == {"get", "post", "download", "ensure_up"}
        for spec in specs.values():
            assert spec.returns

    def test_an_impossible_status_is_refused_before_the_run(self) -> None:
        spec = Http.action_specs()["get"]
        assert spec.check_value("expect_status", [200, 99]) is not None
        assert spec.check_value("expect_status", [200, 404]) is None

    def test_only_post_and_download_have_side_effects(self) -> None:
        assert {name for name, spec in Http.action_specs().items() if spec.side_effects} == {
            "post",
            "download",
        }


class TestClient:
    def test_is_created_on_first_use_and_closed_with_the_robot(self, http: Http, server: str) -> None:
        assert http._client is None
        http.get(f"{server}/text")
        client = http._client
        assert client is not None
        http.close()
        assert client.is_closed
        assert http._client is None

    def test_one_client_serves_every_call(self, http: Http, server: str) -> None:
        http.get(f"{server}/text")
        client = http._client
        http.get(f"{server}/json")
        assert http._client is client


class TestGet:
    def test_parses_a_json_answer(self, http: Http, server: str) -> None:
        result = http.get(f"{server}/json")
        assert result["status"] == 200
        assert result["json"] == {"nom": "Élodie", "dossiers": [1, 2]}
        assert result["headers"]["content-type"] == "application/json; charset=utf-8"
        assert result["url"] == f"{server}/json"

    def test_parses_json_variants_such_as_problem_json(self, http: Http, server: str) -> None:
        assert http.get(f"{server}/problem")["json"] == {"a": 1}

    def test_text_answers_have_no_json(self, http: Http, server: str) -> None:
        result = http.get(f"{server}/text")
        assert result["text"] == "bonjour à tous"
        assert result["json"] is None

    def test_an_answer_that_claims_json_but_is_not_is_an_application_error(
        self, http: Http, server: str
    ) -> None:
        with pytest.raises(ApplicationError, match="claims to be JSON but is not"):
            http.get(f"{server}/bad-json")

    def test_sends_query_parameters_and_headers(self, http: Http, server: str) -> None:
        result = http.get(f"{server}/echo", params={"siret": "123", "page": 2}, headers={"X-Agent": "robo"})
        assert result["json"]["query"] == {"siret": ["123"], "page": ["2"]}
        assert result["json"]["headers"]["x-agent"] == "robo"

    def test_follows_redirects(self, http: Http, server: str) -> None:
        result = http.get(f"{server}/redirect")
        assert result["url"] == f"{server}/json"
        assert result["json"]["nom"] == "Élodie"

    def test_a_redirect_loop_is_an_application_error_that_says_so(self, http: Http, server: str) -> None:
        with pytest.raises(ApplicationError, match=r"GET .*/loop: more than 20 redirects"):
            http.get(f"{server}/loop")

    def test_an_accepted_status_is_returned_not_raised(self, http: Http, server: str) -> None:
        assert http.get(f"{server}/status/404", expect_status=[200, 404])["status"] == 404


class TestErrors:
    def test_a_closed_port_is_an_application_error_naming_the_url(
        self, http: Http, closed_port_url: str
    ) -> None:
        with pytest.raises(ApplicationError) as caught:
            http.get(closed_port_url)
        assert str(caught.value) == f"GET {closed_port_url}: the connection was refused"
        assert caught.value.hint == "is the server running? check the address and port"

    def test_an_unknown_server_name_is_an_application_error(self, http: Http) -> None:
        with pytest.raises(
            ApplicationError, match=r"GET http://intranet\.invalid/: the server name"
        ) as caught:
            http.get("http://intranet.invalid/", timeout=5)
        assert caught.value.hint == "is the server running? check the address and port"

    def test_a_timeout_is_an_application_error(self, http: Http, server: str) -> None:
        with pytest.raises(
            ApplicationError,
            match=r"GET .*/slow: waited 0\.[2-9] s for the whole answer in vain \(timeout: 0\.2 s\)",
        ):
            http.get(f"{server}/slow", timeout=0.2)

    def test_a_server_error_is_an_application_error_with_the_start_of_the_body(
        self, http: Http, server: str
    ) -> None:
        with pytest.raises(ApplicationError) as caught:
            http.get(f"{server}/status/500")
        assert (
            str(caught.value)
            == f"GET {server}/status/500 answered 500 Internal Server Error: {'x' * 150} {'y' * 49}"
        )

    @pytest.mark.parametrize("status", [408, 429, 503])
    def test_overload_statuses_are_application_errors(self, http: Http, server: str, status: int) -> None:
        with pytest.raises(ApplicationError, match=f"answered {status}"):
            http.get(f"{server}/status/{status}")

    def test_not_found_is_a_business_error(self, http: Http, server: str) -> None:
        with pytest.raises(
            BusinessError, match=r"GET .*/nowhere answered 404 Not Found: no such page"
        ) as caught:
            http.get(f"{server}/nowhere")
        assert caught.value.hint is not None
        assert "check the address" in caught.value.hint

    def test_a_refused_post_is_a_business_error(self, http: Http, server: str) -> None:
        with pytest.raises(BusinessError, match="answered 422 Unprocessable Entity: champ siret invalide"):
            http.post(f"{server}/refuse", body={"siret": "x"})

    def test_a_status_outside_expect_status_is_a_business_error(self, http: Http, server: str) -> None:
        with pytest.raises(BusinessError, match="answered 200 OK") as caught:
            http.get(f"{server}/text", expect_status=201)
        assert caught.value.hint == "the step accepts only 201"

    def test_a_server_error_stays_an_application_error_when_expect_status_is_given(
        self, http: Http, server: str
    ) -> None:
        with pytest.raises(ApplicationError):
            http.get(f"{server}/status/502", expect_status=[200, 404])

    @pytest.mark.parametrize("url", ["ftp://example.org/x", "intranet/api"])
    def test_an_address_that_is_not_http_is_a_configuration_error(self, http: Http, url: str) -> None:
        with pytest.raises(ConfigurationError, match="not a web address"):
            http.get(url)


class TestPost:
    def test_sends_a_json_body(self, http: Http, server: str) -> None:
        result = http.post(f"{server}/create", body={"nom": "Zoë"}, expect_status=201)
        assert result["status"] == 201
        assert result["json"]["content_type"] == "application/json"
        assert json.loads(result["json"]["body"]) == {"nom": "Zoë"}

    def test_sends_a_form(self, http: Http, server: str) -> None:
        result = http.post(f"{server}/create", form={"nom": "Zoë", "n": 2})
        assert result["json"]["content_type"] == "application/x-www-form-urlencoded"
        assert parse_qs(result["json"]["body"]) == {"nom": ["Zoë"], "n": ["2"]}

    def test_body_and_form_together_are_refused_before_sending(self, http: Http) -> None:
        with pytest.raises(ConfigurationError, match="not both"):
            http.post("http://127.0.0.1:9/x", body={"a": 1}, form={"a": "1"})


class TestDownload:
    def test_saves_the_file_byte_for_byte_into_the_artifacts(
        self, http: Http, server: str, tmp_path: Path, artifacts: list[Any]
    ) -> None:
        url = f"{server}/fichiers/rapport%20final.pdf"
        result = http.download(url)
        saved = tmp_path / "artifacts" / "rapport_final.pdf"
        assert result == {
            "path": str(saved.resolve()),
            "size": len(PAYLOAD),
            "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
            "content_type": "application/pdf",
        }
        assert saved.read_bytes() == PAYLOAD
        assert artifacts == [(saved, "download", url)]

    def test_a_second_download_of_the_same_name_does_not_overwrite_the_first(
        self, http: Http, server: str
    ) -> None:
        first = http.download(f"{server}/export")
        second = http.download(f"{server}/export")
        assert first is not None and second is not None
        assert Path(first["path"]).name == "résumé.csv"
        assert Path(second["path"]).name == "résumé-2.csv"

    def test_saves_to_a_given_path_relative_to_the_workflow(
        self, http: Http, server: str, tmp_path: Path
    ) -> None:
        result = http.download(f"{server}/export", to="entrees/export.csv")
        assert result is not None
        assert result["path"] == str((tmp_path / "entrees" / "export.csv").resolve())
        assert (tmp_path / "entrees" / "export.csv").read_text(encoding="utf-8") == "a;b\n1;2\n"
        assert [p.name for p in (tmp_path / "entrees").iterdir()] == ["export.csv"]

    def test_a_folder_keeps_the_servers_file_name(self, http: Http, server: str, tmp_path: Path) -> None:
        result = http.download(f"{server}/export", to="entrees/")
        assert result is not None
        assert result["path"] == str((tmp_path / "entrees" / "résumé.csv").resolve())

    def test_a_server_cannot_choose_the_folder(self, http: Http, server: str, tmp_path: Path) -> None:
        result = http.download(f"{server}/sneaky", to="entrees/")
        assert result is not None
        assert result["path"] == str((tmp_path / "entrees" / "passwd").resolve())

    def test_a_different_file_at_the_given_path_is_kept_by_default(
        self, http: Http, server: str, tmp_path: Path, artifacts: list[Any]
    ) -> None:
        (tmp_path / "entrees").mkdir()
        (tmp_path / "entrees" / "export.csv").write_text("mine")
        with pytest.raises(BusinessError, match=r"export\.csv already exists") as caught:
            http.download(f"{server}/export", to="entrees/export.csv")
        assert caught.value.hint is not None and "on_conflict: rename" in caught.value.hint
        assert [p.name for p in (tmp_path / "entrees").iterdir()] == ["export.csv"]
        assert (tmp_path / "entrees" / "export.csv").read_text() == "mine"
        assert artifacts == []

    def test_the_same_file_downloaded_again_changes_nothing(
        self, http: Http, server: str, tmp_path: Path, logs: list[str]
    ) -> None:
        first = http.download(f"{server}/export", to="entrees/")
        second = http.download(f"{server}/export", to="entrees/")
        assert first == second
        assert [p.name for p in (tmp_path / "entrees").iterdir()] == ["résumé.csv"]
        assert "already there with the same content" in logs[-1]

    def test_on_conflict_rename_keeps_both(self, http: Http, server: str, tmp_path: Path) -> None:
        http.download(f"{server}/export", to="entrees/")
        result = http.download(f"{server}/autre-export", to="entrees/", on_conflict="rename")
        assert result is not None
        assert Path(result["path"]).name == "résumé (2).csv"
        assert (tmp_path / "entrees" / "résumé.csv").read_bytes() == b"a;b\n1;2\n"
        assert Path(result["path"]).read_bytes() == b"a;b\n3;4\n"

    def test_on_conflict_skip_identical_finds_a_numbered_version(
        self, http: Http, server: str, tmp_path: Path
    ) -> None:
        http.download(f"{server}/export", to="entrees/")
        second = http.download(f"{server}/autre-export", to="entrees/", on_conflict="skip_identical")
        again = http.download(f"{server}/autre-export", to="entrees/", on_conflict="skip_identical")
        assert second is not None and again is not None
        assert Path(second["path"]).name == Path(again["path"]).name == "résumé (2).csv"
        assert sorted(p.name for p in (tmp_path / "entrees").iterdir()) == ["résumé (2).csv", "résumé.csv"]

    def test_on_conflict_skip_keeps_the_file_there_and_returns_nothing(
        self, http: Http, server: str, tmp_path: Path
    ) -> None:
        http.download(f"{server}/export", to="entrees/")
        assert http.download(f"{server}/autre-export", to="entrees/", on_conflict="skip") is None
        assert [p.name for p in (tmp_path / "entrees").iterdir()] == ["résumé.csv"]
        assert (tmp_path / "entrees" / "résumé.csv").read_bytes() == b"a;b\n1;2\n"

    def test_on_conflict_overwrite_puts_the_old_file_in_the_trash(
        self, http: Http, server: str, tmp_path: Path
    ) -> None:
        http.download(f"{server}/export", to="entrees/")
        http.download(f"{server}/autre-export", to="entrees/", on_conflict="overwrite")
        assert (tmp_path / "entrees" / "résumé.csv").read_bytes() == b"a;b\n3;4\n"
        trashed = list((tmp_path / "entrees" / ".robo-trash").rglob("*.csv"))
        assert [p.read_bytes() for p in trashed] == [b"a;b\n1;2\n"]

    def test_a_failed_download_leaves_no_file_and_records_nothing(
        self, http: Http, server: str, tmp_path: Path, artifacts: list[Any]
    ) -> None:
        (tmp_path / "entrees").mkdir()
        with pytest.raises(BusinessError, match="answered 404"):
            http.download(f"{server}/missing.pdf", to="entrees/x.pdf")
        with pytest.raises(ApplicationError, match=r"waited 0\.[2-9] s .*\(timeout: 0\.2 s\)"):
            http.download(f"{server}/slow", to="entrees/x.pdf", timeout=0.2)
        assert list((tmp_path / "entrees").iterdir()) == []
        assert artifacts == []


class TestEnsureUp:
    def test_returns_the_status_when_the_service_answers(self, http: Http, server: str) -> None:
        result = http.ensure_up(f"{server}/text")
        assert result["status"] == 200
        assert result["url"] == f"{server}/text"
        assert result["seconds"] >= 0

    def test_a_client_error_still_means_up(self, http: Http, server: str) -> None:
        assert http.ensure_up(f"{server}/status/401")["status"] == 401

    def test_a_server_error_is_an_application_error(self, http: Http, server: str) -> None:
        with pytest.raises(ApplicationError, match="answered 503 Service Unavailable"):
            http.ensure_up(f"{server}/status/503")

    def test_an_unexpected_status_is_an_application_error(self, http: Http, server: str) -> None:
        with pytest.raises(ApplicationError, match="answered 404"):
            http.ensure_up(f"{server}/nowhere", expect_status=200)

    def test_a_closed_port_is_an_application_error(self, http: Http, closed_port_url: str) -> None:
        with pytest.raises(ApplicationError, match="the connection was refused"):
            http.ensure_up(closed_port_url)


spoken = locales.spoken


class TestInFrenchAndEnglish:
    """What a person reads of the http robot, under `LANG=fr_FR.UTF-8` in French and under `LANG=C` in English."""

    def test_an_address_the_server_does_not_know(self, http: Http, server: str, spoken: str) -> None:
        with pytest.raises(BusinessError) as caught:
            http.get(f"{server}/status/404")
        start = f"GET {server}/status/404"
        assert (caught.value.message, caught.value.hint) == {
            "fr": (
                f"{start} a répondu 404 Not Found : {'x' * 150} {'y' * 49}",
                "vérifiez l'adresse : le serveur ne connaît rien à cet endroit",
            ),
            "en": (
                f"{start} answered 404 Not Found: {'x' * 150} {'y' * 49}",
                "check the address: the server knows nothing there",
            ),
        }[spoken]

    def test_a_status_the_step_does_not_accept(self, http: Http, server: str, spoken: str) -> None:
        with pytest.raises(BusinessError) as caught:
            http.get(f"{server}/json", expect_status=[201, 204])
        assert (
            caught.value.hint
            == {
                "fr": "l'étape n'accepte que 201 ou 204",
                "en": "the step accepts only 201 or 204",
            }[spoken]
        )

    def test_a_refused_connection(self, http: Http, closed_port_url: str, spoken: str) -> None:
        with pytest.raises(ApplicationError) as caught:
            http.get(closed_port_url)
        assert (caught.value.message, caught.value.hint) == {
            "fr": (
                f"GET {closed_port_url} : la connexion a été refusée",
                "le serveur est-il démarré ? vérifiez l'adresse et le port",
            ),
            "en": (
                f"GET {closed_port_url}: the connection was refused",
                "is the server running? check the address and port",
            ),
        }[spoken]

    def test_a_timeout_in_the_language_and_its_numbers(self, http: Http, server: str, spoken: str) -> None:
        with pytest.raises(ApplicationError) as caught:
            http.get(f"{server}/slow", timeout=0.2)
        assert re.fullmatch(
            {
                "fr": rf"GET {server}/slow : 0,[2-9] s d'attente de la réponse complète, en vain \(délai : 0,2 s\)",
                "en": rf"GET {server}/slow: waited 0\.[2-9] s for the whole answer in vain \(timeout: 0\.2 s\)",
            }[spoken],
            caught.value.message,
        ), caught.value.message
