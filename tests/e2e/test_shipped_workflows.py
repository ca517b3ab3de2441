"""Every workflow shipped in `workflows/` passes `robo validate` and a real `robo run --dry-run`.

A dry run reads what is there (spreadsheets, folders, pages) and calls no action that changes anything: it must
go to the end on the sample data, quickly (never waiting for a page that a skipped submit would have shown),
and leave the intranet, the mail server and the input files as they were.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from robots import action_spec
from runner.record import RunStore
from tests.e2e.conftest import ROOT, SECRETS, WORKFLOWS
from tests.mock_desktop.fixtures import DisplayInfo
from tests.mock_intranet.server import MockIntranet
from tests.robots import imap_server
from tests.robots.imap_server import ImapAccount
from tests.running import robo_process

pytestmark = pytest.mark.slow
SHIPPED = sorted(WORKFLOWS.glob("*.yaml"))
# What each shipped workflow needs besides its defaults (the sample data in workflows/data).
ENVIRONMENT = {**SECRETS, "ROBO_SECRET_SMTP_MOT_DE_PASSE": "pas-utilisé-en-essai"}
NEEDS_INTRANET = {"saisie_dossiers.yaml"}
# A mailbox workflow reads the test IMAP server's mailbox (empty: a dry run has nothing to save or move there).
NEEDS_MAILBOX = {"courrier_vers_dossiers.yaml"}
# A desktop workflow is valid only where there is a screen (error[robot-unavailable] otherwise): the examples run
# on the user's own screen, so they do not say `display: virtual`; here they get the session's Xvfb.
NEEDS_DISPLAY = {"saisie_bureau.yaml"}

dovecot = imap_server.dovecot
imap_account = imap_server.imap_account


def robo(
    *args: str, cwd: Path = ROOT, timeout: float = 300, secrets: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **ENVIRONMENT, **(secrets or {}), "PYTHONPATH": str(ROOT)},
        check=False,
    )


def _audit(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_every_shipped_workflow_is_valid(xvfb_display: DisplayInfo) -> None:
    result = robo("validate", *(str(path) for path in SHIPPED))
    assert result.returncode == 0, result.stderr
    assert len(SHIPPED) >= 3
    assert {path.name for path in SHIPPED} >= NEEDS_DISPLAY


@pytest.mark.parametrize("name", sorted(NEEDS_DISPLAY))
def test_a_shipped_desktop_workflow_without_a_display_says_how_to_run_it(name: str) -> None:
    result = robo_process("validate", str(WORKFLOWS / name), cwd=ROOT, without=["DISPLAY"])
    assert result.returncode != 0
    assert (
        "error[robot-unavailable]: no X display: set DISPLAY or run under Xvfb; see README" in result.stderr
    )
    assert "robo run --virtual-display" in result.stderr


@pytest.mark.parametrize("workflow", SHIPPED, ids=[path.name for path in SHIPPED])
def test_a_dry_run_goes_to_the_end_quickly_and_changes_nothing(
    workflow: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    logs = tmp_path / "logs"
    inputs: list[str] = []
    intranet: MockIntranet | None = None
    if workflow.name in NEEDS_INTRANET:
        intranet = request.getfixturevalue("mock_intranet")
        inputs = ["--input", f"intranet={intranet.url}"]
    secrets: dict[str, str] = {}
    mailbox_before: list[tuple[bytes, bytes]] = []
    account: ImapAccount | None = None
    if workflow.name in NEEDS_MAILBOX:
        account = request.getfixturevalue("imap_account")
        (tmp_path / "dossiers").mkdir()
        mailbox = {
            "serveur_imap": account.host,
            "port_imap": str(account.ssl_port),
            "securite_imap": "ssl",
            "certificat_imap": str(account.certificate),
            "dossiers": str(tmp_path / "dossiers"),
        }
        inputs += [part for name, value in mailbox.items() for part in ("--input", f"{name}={value}")]
        secrets = {
            "ROBO_SECRET_MESSAGERIE_UTILISATEUR": account.user,
            "ROBO_SECRET_MESSAGERIE_MOT_DE_PASSE": account.password,
        }
        mailbox_before = account.messages("INBOX")
    if workflow.name in NEEDS_DISPLAY:
        request.getfixturevalue("xvfb_display")  # a dry run starts no application: the screen stays empty
    data_before = _folder_state(WORKFLOWS / "data")

    result = robo("run", str(workflow), "--dry-run", "--logs", str(logs), *inputs, secrets=secrets)

    assert result.returncode == 0, result.stderr[-3000:]
    store = RunStore(f"sqlite:///{logs / 'robo.db'}")
    try:
        [record] = store.list_runs()
    finally:
        store.close()
    assert (record.status, record.dry_run) == ("succeeded", True)
    events = _audit(Path(str(record.run_dir)))
    started_events = {(e["step"], e["item"]): e for e in events if e["event"] == "step_started"}
    finished = [e for e in events if e["event"] == "step_finished"]
    changing = []
    for event in finished:
        start = started_events.get((event["step"], event["item"]))
        if start is None:  # a step whose `when` was false
            continue
        action = start["action"]
        spec = action_spec(*action.split(".", 1)) if "." in action else None
        if spec is not None and spec.side_effects:
            changing.append(action)
            assert (event["status"], event["result"]) == ("skipped", "dry run: not called"), event
        assert event["status"] != "failed", event
    assert changing, "each shipped workflow changes something: its dry run must skip it"
    assert not [e for e in events if e["event"] == "retry_scheduled"]

    # Nothing changed: the sample data, the run's own folder (only the report and the audit log), the intranet.
    assert _folder_state(WORKFLOWS / "data") == data_before
    artifacts = Path(str(record.run_dir)) / "artifacts"
    assert not artifacts.exists() or [p for p in artifacts.rglob("*") if p.is_file()] == []
    if intranet is not None:
        response = httpx.get(f"{intranet.url}/api/test/dossiers", headers=intranet.test_headers, timeout=10)
        assert response.json()["counts"]["total"] == 0
        # what a skipped submit would have shown (the case number) is not waited for
        not_checked = [e for e in finished if str(e["result"]).startswith("not checked in a dry run")]
        assert len(not_checked) >= 3
    if account is not None:  # no mailbox folder created, no mail moved, nothing filed
        assert account.messages("INBOX") == mailbox_before
        client = account.client()
        try:
            _status, folders = client.list()
        finally:
            client.logout()
        assert not [folder for folder in folders if isinstance(folder, bytes) and b"Class" in folder], folders
        assert list((tmp_path / "dossiers").rglob("*")) == []

    # A dry run says so wherever the run is shown.
    listed = robo("runs", "list", "--logs", str(logs))
    assert "succeeded (dry run)" in " ".join(listed.stdout.split()), listed.stdout
    shown = robo("runs", "show", record.id, "--logs", str(logs))
    assert "status: succeeded (dry run)" in shown.stdout
    report = (Path(str(record.run_dir)) / "report.html").read_text(encoding="utf-8")
    assert "Succeeded (dry run)" in report and "A dry run: the steps that change something" in report
