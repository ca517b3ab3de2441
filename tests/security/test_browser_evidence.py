"""Browser evidence of a failure never shows a secret: screenshots, HTML dumps, traces and artifact names.

A real `robo` process fills a secret with awkward characters into a *text* field of the mock intranet's case
form (not a password field), then fails twice: once inside a browser action (the form is refused, and the page
comes back with the secret in the field's `value`), once after it (a `fail` step, which keeps the item's
trace). The loop's item key is built from the secret. Every file the run leaves is then searched for the
secret and its escaped forms, and the screenshot's pixels are checked where the page shows the secret.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markupsafe
import pytest

from robots.browser import LAUNCH_ARGS, find_browser
from tests.e2e.conftest import ROOT, SECRETS
from tests.mock_intranet.server import MockIntranet

pytestmark = pytest.mark.slow

SECRET = 'Sp&ci"al<Q> é\\z+@/!9'
MASK_RGB = (255, 0, 255)  # Playwright's mask colour, #FF00FF
WORKFLOW = """\
name: Preuves sans secret
inputs:
  intranet: {type: string}
secrets: [identifiant, mot_de_passe, code]
browser:
  timeout: 10
steps:
  - name: Ouvrir la connexion
    browser.open: {url: "{{ inputs.intranet }}/connexion"}
  - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
  - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
  - browser.click: {role: "button:Se connecter"}
  - name: Saisir
    for_each: [1, 2]
    as: n
    key: secrets.code ~ "-" ~ n
    steps:
      - browser.goto: {url: "{{ inputs.intranet }}/dossiers/nouveau"}
      - name: Saisir le nom
        browser.fill: {label: Nom du demandeur, value: "{{ secrets.code }}"}
      - if: n == 1
        then:
          - name: Enregistrer
            browser.click: {role: "button:Enregistrer", error_when: {css: ".resume-erreurs"}}
        else:
          - name: Saisir les observations
            browser.fill: {label: Observations, value: "{{ secrets.code }}"}
          - browser.screenshot: {file: "saisie-{{ secrets.code }}.png"}
          - fail: "la demande {{ n }} est refusée"
"""
# What a page shows of the secret, where: fields whose value holds it, elements whose own text holds it.
PLACES_SCRIPT = """
(secrets) => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height]; };
  const boxes = [];
  for (const el of document.querySelectorAll('*')) {
    const value = (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) ? el.value : '';
    const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.data).join('');
    if (secrets.some((s) => value.includes(s) || own.includes(s))) boxes.push(box(el));
  }
  return {
    boxes, clear: box(document.querySelector('#prenom')),
    width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
  };
}
"""


def secret_forms(value: str) -> dict[str, str]:
    """The secret as files may hold it: plain, and HTML-, JSON- and URL-escaped."""
    forms = {
        "plain": value,
        "html": html.escape(value),
        "html text": html.escape(value, quote=False),
        "html attribute": value.replace("&", "&amp;").replace('"', "&quot;"),
        "markupsafe": str(markupsafe.escape(value)),
        "json": json.dumps(value, ensure_ascii=False)[1:-1],
        "json ascii": json.dumps(value)[1:-1],
        "json in json": json.dumps(json.dumps(value)[1:-1])[1:-1],
        "url": urllib.parse.quote(value, safe=""),
        "url form": urllib.parse.quote_plus(value),
        "url path": urllib.parse.quote(value),
    }
    return {name: form for name, form in forms.items() if form}


def leaks(text: str) -> list[str]:
    return [name for name, form in secret_forms(SECRET).items() if form in text]


@dataclass
class Run:
    result: subprocess.CompletedProcess[str]
    logs: Path

    @property
    def artifacts(self) -> list[Path]:
        return sorted(p for p in self.logs.rglob("artifacts/*") if p.is_file())

    def artifact(self, suffix: str) -> list[Path]:
        return [p for p in self.artifacts if p.name.endswith(suffix)]


@pytest.fixture(scope="module")
def run(mock_intranet_server: MockIntranet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    mock_intranet_server.reset()
    folder = tmp_path_factory.mktemp("evidence")
    workflow = folder / "preuves.yaml"
    workflow.write_text(WORKFLOW, encoding="utf-8")
    logs = folder / "logs"
    intranet = f"intranet={mock_intranet_server.url}"
    result = subprocess.run(
        [sys.executable, "-m", "runner.cli", "run", str(workflow), "-i", intranet, "--logs", str(logs)],
        cwd=ROOT,
        env={**os.environ, **SECRETS, "ROBO_SECRET_CODE": SECRET, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    done = Run(result, logs)
    # Both items failed, each leaving its evidence (the first: a screenshot, the page's HTML and a trace).
    assert result.returncode != 0, result.stdout
    assert done.artifact("failure.png") and done.artifact("failure.html")
    assert len(done.artifact(".zip")) == 2, [p.name for p in done.artifacts]
    yield done
    mock_intranet_server.reset()


def reference_places(intranet: MockIntranet, *, refused: bool) -> dict[str, Any]:
    """Where the form shows a secret, measured in a browser of our own brought to the same page.

    Refused: the name field filled and the form sent back by the server with its value; otherwise the name and
    observations fields filled, as the robot left them before its `browser.screenshot`.
    """
    from playwright.sync_api import sync_playwright

    account = SECRETS["ROBO_SECRET_IDENTIFIANT"], SECRETS["ROBO_SECRET_MOT_DE_PASSE"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(find_browser()), args=list(LAUNCH_ARGS))
        try:
            page = browser.new_context(locale="fr-FR").new_page()
            page.goto(f"{intranet.url}/connexion")
            page.get_by_label("Identifiant").fill(account[0])
            page.get_by_label("Mot de passe").fill(account[1])
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_load_state("load")
            page.goto(f"{intranet.url}/dossiers/nouveau")
            page.get_by_label("Nom du demandeur").fill(SECRET)
            if refused:
                page.get_by_role("button", name="Enregistrer").click()
                page.wait_for_load_state("load")
                page.locator(".resume-erreurs").wait_for(state="visible")
            else:
                page.get_by_label("Observations").fill(SECRET)
            places: dict[str, Any] = page.evaluate(PLACES_SCRIPT, [SECRET, account[0]])
            return places
        finally:
            browser.close()


def test_the_failure_screenshot_masks_the_text_field_holding_the_secret(
    run: Run, mock_intranet_server: MockIntranet
) -> None:
    places = reference_places(mock_intranet_server, refused=True)
    # The secret in the name field, the account's identifier (a secret too) in the page's header.
    assert len(places["boxes"]) == 2, places
    [shot] = run.artifact("failure.png")
    assert_masked(shot, places)


def test_a_screenshot_step_masks_the_text_field_and_text_area_holding_the_secret(
    run: Run, mock_intranet_server: MockIntranet
) -> None:
    places = reference_places(mock_intranet_server, refused=False)
    assert len(places["boxes"]) == 3, places  # name, observations, the header's identifier
    [shot] = [p for p in run.artifact(".png") if not p.name.endswith("failure.png")]
    assert_masked(shot, places)


def assert_masked(shot: Path, places: dict[str, Any]) -> None:
    from PIL import Image

    with Image.open(shot) as opened:
        image = opened.convert("RGB")
    assert image.size == (places["width"], places["height"])
    for box in places["boxes"]:
        unmasked = [point for point in inside(box) if image.getpixel(point) != MASK_RGB]
        assert not unmasked, f"a secret shows at {box}: {unmasked[:5]}"
    # What shows no secret stays readable: the empty first-name field is not masked.
    assert any(image.getpixel(point) != MASK_RGB for point in inside(places["clear"]))


def inside(box: list[float]) -> list[tuple[int, int]]:
    """The pixels of a box, one in from its edges (where antialiasing may blend)."""
    left, top, width, height = box
    x0, y0, x1, y1 = round(left) + 1, round(top) + 1, int(left + width) - 1, int(top + height) - 1
    assert x1 > x0 and y1 > y0
    return [(x, y) for x in range(x0, x1) for y in range(y0, y1)]


def test_the_html_dump_holds_no_form_of_the_secret(run: Run) -> None:
    [dump] = run.artifact("failure.html")
    text = dump.read_text(encoding="utf-8")
    assert 'id="nom"' in text  # the refused form is what was saved
    assert leaks(text) == []
    assert leaks(html.unescape(text)) == []


def test_no_trace_member_holds_any_form_of_the_secret(run: Run) -> None:
    traces = run.artifact(".zip")
    assert traces
    found: dict[str, list[str]] = {}
    fills = 0
    for trace in traces:
        with zipfile.ZipFile(trace) as archive:
            for name in archive.namelist():
                text = archive.read(name).decode("utf-8", errors="replace")
                fills += text.count('"method":"fill"')
                problems = leaks(text) + leaks(html.unescape(text))
                if problems:
                    found[f"{trace.name}!{name}"] = problems
    assert fills >= 2  # the fill of the secret is recorded, with its value masked
    assert found == {}


def test_no_artifact_is_named_after_an_item_key(run: Run) -> None:
    names = [p.name for p in run.artifacts]
    assert names
    for n in (1, 2):
        key = f"{SECRET}-{n}"
        slug = re.sub(r"[^\w.\-]+", "_", key).strip("_")
        assert not [name for name in names if key in name or slug in name or "Sp_ci" in name], names


class TestTraceRedaction:
    """A trace's members are rewritten whatever escaping hides the secret in them (no browser needed)."""

    def members(self) -> dict[str, str]:
        entities = "".join(f"&#{ord(c)};" if c in '&"<>' else c for c in SECRET)
        return {
            "trace.trace": "\n".join(
                [
                    json.dumps({"type": "before", "method": "fill", "params": {"value": SECRET}}),
                    json.dumps({"type": "log", "message": f"fill({json.dumps(SECRET)})"}, ensure_ascii=False),
                    json.dumps({"type": "after", "result": {"value": {"s": SECRET}}}, ensure_ascii=False),
                ]
            ),
            "resources/page.html": (
                f'<html><body><input value="{entities}"><p title="{html.escape(json.dumps(SECRET))}">x</p>'
                f'<a href="/q?n={urllib.parse.quote(SECRET, safe="")}&amp;p=2">lien</a>'
                f"<script>const v = {json.dumps(SECRET)};</script><!-- {html.escape(SECRET)} --></body></html>"
            ),
            "resources/body.txt": f"nom={urllib.parse.quote_plus(SECRET)}&x=1",
            "trace.stacks": '{"files":["a.py"],"stacks":[]}',
        }

    def test_every_escaped_form_is_masked_and_the_rest_kept(self, tmp_path: Path) -> None:
        from robots.browser import redact_zip
        from runner.engine import Redactor

        trace = tmp_path / "trace.zip"
        members = self.members()
        with zipfile.ZipFile(trace, "w") as archive:
            for name, text in members.items():
                archive.writestr(name, text)
        assert leaks(html.unescape(members["resources/page.html"]))  # the secret is there, escaped

        redact_zip(trace, Redactor([SECRET]).text)

        with zipfile.ZipFile(trace) as archive:
            redacted = {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
        assert set(redacted) == set(members)
        for name, text in redacted.items():
            assert leaks(text) == [], name
            assert leaks(html.unescape(text)) == [], name
        lines = [json.loads(line) for line in redacted["trace.trace"].splitlines()]
        assert lines[0] == {"type": "before", "method": "fill", "params": {"value": "***"}}
        assert redacted["trace.stacks"] == members["trace.stacks"]
        assert "&amp;p=2" in redacted["resources/page.html"] and "lien" in redacted["resources/page.html"]
