"""Secrets never reach what a run leaves (console, audit log, run store, report), whatever a workflow does to them.

Each test runs a real `robo` process on a workflow that tries one way to leak a secret, then looks for the secret
and every form derived from it with `tests/security/scanner.py`. (Screenshots, HTML dumps and traces of the
browser robot are tested with the browser.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.security.scanner import Finding, dump_store, find_in_text, find_secrets

ROOT = Path(__file__).resolve().parents[2]
SECRET = 'Sp&ci"al<Q> é\\z+@/!9'
OTHER_SECRET = "Autre-S3cret/+é"


@dataclass
class Run:
    returncode: int
    output: str
    logs: Path
    store: Path

    def findings(self, *secrets: str) -> list[Finding]:
        return find_in_text("console", self.output, secrets) + find_secrets([self.logs, self.store], secrets)


def robo(tmp_path: Path, workflow: str, env: dict[str, str], *command: str) -> Run:
    """`robo run` (or another command) on `workflow`, in a clean environment plus `env`."""
    folder = tmp_path / "flux"
    folder.mkdir(exist_ok=True)
    path = folder / "flux.yaml"
    path.write_text(workflow, encoding="utf-8")
    logs, store = tmp_path / "logs", tmp_path / "robo.db"
    base = {name: value for name, value in os.environ.items() if not name.startswith("ROBO_")}
    args = list(command) or ["run", str(path), "--logs", str(logs)]
    if not command and "ROBO_STORE_URL" not in env:
        args += ["--store", f"sqlite:///{store}"]
    if command:
        args.append(str(path))
    process = subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        cwd=tmp_path,
        env={**base, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **env},
        capture_output=True,
        timeout=180,
    )
    output = process.stdout.decode("utf-8", "replace") + process.stderr.decode("utf-8", "replace")
    return Run(process.returncode, output, logs, store)


def assert_no_leak(run: Run, *secrets: str) -> None:
    findings = run.findings(*secrets)
    assert not findings, "\n".join(str(f) for f in findings[:20])


class EchoPage(BaseHTTPRequestHandler):
    """Answers every GET with what it was asked (its path) and the page's `body`, as an intranet page showing it."""

    body = ""

    def do_GET(self) -> None:
        refused = self.path.startswith("/refuse")  # a refusal shows the page's body as it is
        answer = (self.body if refused else json.dumps({"asked": self.path, "shown": self.body})).encode()
        self.send_response(400 if refused else 200)
        self.send_header("Content-Type", "text/plain" if refused else "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[tuple[str, type[EchoPage]]]:
    handler = type("Page", (EchoPage,), {"body": ""})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


TRANSFORMS = [
    "{{ secrets.jeton }}",
    "{{ secrets.jeton | upper }}",
    "{{ secrets.jeton | lower }}",
    "{{ secrets.jeton | title }}",
    "{{ secrets.jeton | capitalize }}",
    "{{ secrets.jeton | reverse }}",
    "{{ secrets.jeton | replace('&', '+') }}",
    "{{ secrets.jeton[1:] }}",
    "{{ secrets.jeton[:-1] }}",
    "{{ secrets.jeton[::2] }}",
    "{{ secrets.jeton | list | join('.') }}",
    "{{ secrets.jeton | tojson }}",
    "{{ secrets.jeton | e }}",
    "{{ '%r' | format(secrets.jeton) }}",
    "{{ secrets.jeton | urlencode }}",
    "{{ {'cle': secrets.jeton} }}",
    "{{ [secrets.jeton, 1] }}",
    "{{ {'cle': [secrets.jeton]} | tojson }}",
    "avant {{ secrets.jeton | upper | reverse }} après",
    "{{ secrets }}",
    "{{ secrets | tojson }}",
    "{{ secrets | dictsort }}",
    "{{ secrets.jeton | list }}",
    "{{ secrets.jeton | batch(2) | list }}",
    "{{ secrets.jeton | map('upper') | join }}",
    "{{ secrets.jeton | wordwrap(6) }}",
    "{{ secrets.jeton | center(40) }}",
    "{{ secrets.jeton | truncate(16) }}",
    "{{ secrets.jeton.split('l') }}",
    "{% for c in secrets.jeton %}{{ c }}.{% endfor %}",
]


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def test_transformed_forms_of_a_secret_are_masked(tmp_path: Path) -> None:
    logs = "\n".join(f"  - log: {_quoted(template)}" for template in TRANSFORMS)
    workflow = f"""
name: formes
secrets: [jeton]
steps:
{logs}
  - set:
      derive: "{{{{ secrets.jeton | upper }}}}"
      liste: "{{{{ [secrets.jeton] }}}}"
  - log: "{{{{ derive | reverse }}}} {{{{ derive[2:] }}}} {{{{ liste }}}} {{{{ liste | tojson }}}}"
  - set:
      rien: "{{{{ derive | lower | replace('z', 'Z') }}}}"
"""
    run = robo(tmp_path, workflow, {"ROBO_SECRET_JETON": SECRET})
    assert run.returncode == 0, run.output
    assert run.output.count("info:") >= len(TRANSFORMS) and run.output.count("***") >= len(TRANSFORMS)
    assert_no_leak(run, SECRET)


def test_an_error_quoting_a_secret_masks_it(tmp_path: Path) -> None:
    workflow = """
name: erreur
secrets: [jeton]
steps:
  - try:
      - log: "{{ secrets.jeton | to_date }}"
    on_error:
      - log: "{{ error.message }}"
  - log: "{{ secrets.jeton[2:] | number_fr }}"
"""
    run = robo(tmp_path, workflow, {"ROBO_SECRET_JETON": SECRET})
    assert run.returncode != 0
    assert "in an expression that uses a secret" in run.output
    assert_no_leak(run, SECRET)


def test_a_secret_in_an_http_address_is_masked_as_httpx_encodes_it(
    tmp_path: Path, echo_server: tuple[str, type[EchoPage]]
) -> None:
    url, _ = echo_server
    workflow = f"""
name: adresse
secrets: [jeton]
steps:
  - http.get:
      url: "{url}/dossiers/{{{{ secrets.jeton }}}}/pieces?jeton={{{{ secrets.jeton }}}}"
      params: {{autre: "{{{{ secrets.jeton }}}}"}}
    save: page
  - log: "{{{{ page.url }}}} {{{{ page.text }}}} {{{{ page.json }}}}"
"""
    run = robo(tmp_path, workflow, {"ROBO_SECRET_JETON": SECRET})
    assert run.returncode == 0, run.output
    assert "127.0.0.1" in run.output and "***" in run.output  # the address was logged, masked
    assert_no_leak(run, SECRET)


def test_a_long_result_cut_for_the_records_never_keeps_part_of_a_secret(tmp_path: Path) -> None:
    (tmp_path / "flux").mkdir()
    texts = [
        "y" * 390 + SECRET + "z" * 100
    ] * 6  # the records keep 400 characters of each: a cut in the secret
    (tmp_path / "flux" / "pages.json").write_text(json.dumps(texts), encoding="utf-8")
    workflow = """
name: long
secrets: [jeton]
steps:
  - data.read_json: {path: pages.json}
"""
    run = robo(tmp_path, workflow, {"ROBO_SECRET_JETON": SECRET})
    assert run.returncode == 0, run.output
    assert_no_leak(run, SECRET)
    assert not find_secrets([run.logs, run.store], [SECRET[:8]])


def test_an_http_refusal_quoted_in_an_error_never_keeps_part_of_a_secret(
    tmp_path: Path, echo_server: tuple[str, type[EchoPage]]
) -> None:
    url, page = echo_server
    page.body = (
        "y" * 190 + SECRET + " fin"
    )  # the error quotes 200 characters of the page: a cut in the secret
    workflow = f"""
name: refus
secrets: [jeton]
steps:
  - http.get: {{url: "{url}/refuse"}}
"""
    run = robo(tmp_path, workflow, {"ROBO_SECRET_JETON": SECRET})
    assert run.returncode != 0
    assert "answered 400" in run.output
    assert_no_leak(run, SECRET)
    assert not find_secrets([run.logs, run.store], [SECRET[:8]])
    assert not find_in_text("console", run.output, [SECRET[:8]])


ENV_CREDENTIALS = {
    "ROBO_SECRET_AUTRE": OTHER_SECRET,
    "ROBO_SMTP_PASSWORD": SECRET,
    "ROBO_STORE_URL_BACKUP": f"postgresql://robo:{OTHER_SECRET.replace('/', '%2F')}@127.0.0.1:1/robo",
}


def test_templates_see_no_credential_in_env(tmp_path: Path) -> None:
    workflow = """
name: environnement
vars:
  noms: [ROBO_SMTP_PASSWORD, ROBO_SECRET_AUTRE]  # names from data: validation cannot know them
steps:
  - log: "{{ env }}"
  - log: "{{ env | tojson }}"
  - log: "{{ env.get(vars.noms[0], 'absent') }} {{ env.get(vars.noms[1], 'absent') }}"
  - log: "{{ env.items() | list }}"
"""
    run = robo(tmp_path, workflow, ENV_CREDENTIALS)
    assert run.returncode == 0, run.output
    assert "absent absent" in run.output
    assert_no_leak(run, SECRET, OTHER_SECRET)


def test_the_password_of_the_run_store_never_shows(tmp_path: Path, postgres_url: str) -> None:
    quoted = urllib.parse.quote(SECRET, safe="")
    store = postgres_url.replace("://robo@", f"://robo:{quoted}@")  # the test server trusts any password
    assert store != postgres_url
    workflow = """
name: magasin
vars:
  nom: ROBO_STORE_URL
steps:
  - log: "{{ env }}"
  - log: "{{ env.get(vars.nom, 'absent') }}"
  - log: "{{ run }}"
"""
    run = robo(tmp_path, workflow, {"ROBO_STORE_URL": store})
    assert run.returncode == 0, run.output
    assert "info: absent" in run.output
    assert_no_leak(run, SECRET)
    stored = dump_store(postgres_url)
    assert "magasin" in stored
    assert not find_in_text("run store", stored, [SECRET])


def test_validate_says_to_declare_a_secret_read_from_env(tmp_path: Path) -> None:
    workflow = """
name: environnement
steps:
  - log: "{{ env.HOME }}"
  - log: "{{ env.ROBO_SECRET_JETON }}"
  - log: "{{ env['ROBO_SMTP_PASSWORD'] }}"
"""
    run = robo(tmp_path, workflow, ENV_CREDENTIALS, "validate")
    assert run.returncode == 1, run.output
    assert "flux.yaml:5:10: error[secret-in-env]" in run.output
    assert "flux.yaml:6:10: error[secret-in-env]" in run.output
    assert "declare it under `secrets:`" in run.output
    assert ":4:" not in run.output


def test_values_secret_by_their_source_are_masked_though_undeclared(
    tmp_path: Path, echo_server: tuple[str, type[EchoPage]]
) -> None:
    url, page = echo_server
    dotenv_secret = "Dotenv<sécret>&9"
    password_in_vars = "MotDePasse/Vars+1"
    store_password = "St0re<pass>word"
    page.body = " | ".join([SECRET, OTHER_SECRET, dotenv_secret, password_in_vars, store_password])
    (tmp_path / "flux").mkdir()
    (tmp_path / "flux" / ".env").write_text(
        f"ROBO_SECRET_DOTENV='{dotenv_secret}'\nAUTRE=visible\n", encoding="utf-8"
    )
    workflow = f"""
name: sources
vars:
  mot: "{password_in_vars}"
steps:
  - try:
      - email.read: {{host: 127.0.0.1, port: 1, user: robo, password: "{{{{ vars.mot }}}}", security: none, timeout: 2}}
        retry: {{attempts: 1}}
    on_error:
      - log: "pas de courrier"
  - http.get: {{url: "{url}/page"}}
    save: page
  - log: "{{{{ page.text }}}}"
"""
    env = {
        "ROBO_SECRET_AUTRE": OTHER_SECRET,
        "ROBO_SMTP_PASSWORD": SECRET,
        "ROBO_BROKER_URL": f"postgresql://robo:{store_password.replace('<', '%3C').replace('>', '%3E')}@127.0.0.1:1/x",
    }
    run = robo(tmp_path, workflow, env)
    assert run.returncode == 0, run.output
    assert run.output.count("***") >= 5  # the page was logged, each secret masked
    assert_no_leak(run, SECRET, OTHER_SECRET, dotenv_secret, password_in_vars, store_password)


def test_a_secret_too_short_to_mask_is_refused_at_start(tmp_path: Path) -> None:
    workflow = """
name: court
secrets: [code]
steps:
  - log: "code {{ secrets.code }}"
"""
    run = robo(tmp_path, workflow, {"ROBO_SECRET_CODE": "q#"})
    assert run.returncode == 1, run.output
    assert "secret 'code' is too short" in run.output
    assert "q#" not in run.output
    assert not run.logs.exists() or not find_secrets(run.logs, ["code q#"])
