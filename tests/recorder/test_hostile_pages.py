"""Pages that make naming an element hard: labels with quotes, new lines, `{{ }}` and YAML's own signs, an element
with no name at all, two identical buttons. The recorder writes a workflow that validates and finds, on replay,
exactly the elements the person used: a unique locator, or a CSS selector, never an ambiguous one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from runner.language import load_workflow_text
from runner.recorder import RecordingRequest
from tests.recorder.recording import record_as_person, robo

pytestmark = pytest.mark.slow

HOSTILE_LABEL = 'Nom "complet" : l\'{{ agent }} # [x] - *{% raw %}'
PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Page piégée</title></head>
<body>
<form action="/recu" method="get">
  <label for="a">Nom "complet" : l'{{ agent }} # [x] - *{% raw %}</label> <input id="a" name="a">
  <label for="b">Première ligne
  seconde ligne: &amp; {{ x }}</label> <textarea id="b" name="b"></textarea>
  <input type="hidden" id="journal" name="journal" value="">
  <table>
    <tr><td>Ligne A</td><td><button type="button" onclick="journal.value += 'A;'">Supprimer</button></td></tr>
    <tr><td>Ligne B</td><td><button type="button" onclick="journal.value += 'B;'">Supprimer</button></td></tr>
  </table>
  <div><button type="button" class="sans-nom" onclick="journal.value += 'sans-nom;'"></button></div>
  <button type="submit">Envoyer</button>
</form>
</body></html>
"""


class HostileSite:
    """A page served on 127.0.0.1 that keeps every form it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/recu":
                    site.received.append(dict(parse_qsl(parts.query, keep_blank_values=True)))
                    body = "<!doctype html><html><body><p id='recu'>Reçu</p></body></html>"
                else:
                    body = PAGE
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HostileSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def hostile_site() -> Iterator[HostileSite]:
    with HostileSite() as site:
        yield site


def steps_of(text: str) -> list[dict[str, Any]]:
    data = load_workflow_text(text).data
    steps: list[dict[str, Any]] = data["steps"]
    return steps


class TestHostilePages:
    def test_hard_names_are_written_literally_and_identical_buttons_get_a_unique_selector(
        self, hostile_site: HostileSite, tmp_path: Path
    ) -> None:
        output = tmp_path / "piege.yaml"

        async def person(page: Any) -> None:
            await page.locator("#a").click()
            await page.keyboard.type('Dupont "Jean" {{ 7*7 }}: # oui')
            await page.locator("#b").click()
            await page.keyboard.type("ligne 1\nligne 2 - [x]")
            await page.get_by_role("button", name="Supprimer").nth(1).click()
            await page.locator("button.sans-nom").click()
            await page.get_by_role("button", name="Envoyer").click()
            await page.locator("#recu").wait_for()

        workflow, said = record_as_person(RecordingRequest(hostile_site.url, output, headless=True), person)

        assert workflow.valid, workflow.diagnostics
        steps = steps_of(workflow.text)
        fills = [s["browser.fill"] for s in steps if "browser.fill" in s]
        assert fills[0]["value"] == '{% raw %}Dupont "Jean" {{ 7*7 }}: # oui{% endraw %}'
        assert "{{" in fills[0]["label"] and "endraw" in fills[0]["label"], "a label holding {{ }} is escaped"
        assert fills[1]["value"] == "ligne 1\nligne 2 - [x]"
        clicks = [s["browser.click"] for s in steps if "browser.click" in s]
        assert len(clicks) == 3, said
        delete, nameless, send = clicks
        assert list(delete) == ["css"], "two buttons 'Supprimer': neither their role nor their text is unique"
        assert list(nameless) == ["css"]
        assert send == {"role": "button:Envoyer"}
        [recorded] = hostile_site.received
        assert recorded["journal"] == "B;sans-nom;"

        replay = robo("run", str(output), "--logs", str(tmp_path / "logs"))
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert hostile_site.received[1] == recorded
