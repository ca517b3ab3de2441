"""The mailbox-to-folder workflow end to end: Dovecot, the mock intranet's GED, real `robo` processes, SIGKILL.

`workflows/courrier_vers_dossiers.yaml` reads the service's mailbox, saves each mail's attachments, reads
them (OCR for the scan), finds the case reference, files them under the case's folder, uploads them to the case's
documents page and moves the mail to « Classé » (or « À vérifier »). Whatever the interruptions, each attachment
is filed and uploaded exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from hashlib import sha256
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner.events import ExitCode
from runner.record import RunStore
from tests.e2e.conftest import ROOT, SECRETS, WORKFLOWS
from tests.e2e.courrier_entrant import IncomingMail, deliver_courrier
from tests.mock_intranet.http_agent import IntranetAgent
from tests.mock_intranet.server import MockIntranet
from tests.robots import imap_server
from tests.robots.imap_server import ImapAccount
from tests.test_mock_intranet._cases import VALID_CASE
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

dovecot = imap_server.dovecot
imap_account = imap_server.imap_account

WORKFLOW = WORKFLOWS / "courrier_vers_dossiers.yaml"
CLASSE = "Class&AOk-"  # "Classé" in IMAP's modified UTF-7
A_VERIFIER = '"&AMA- v&AOk-rifier"'  # "À vérifier", quoted for imaplib (a space)


class Scene:
    """Three cases in the intranet, the service's mail in the mailbox, and what the run left everywhere."""

    def __init__(
        self, intranet: MockIntranet, agent: IntranetAgent, account: ImapAccount, tmp_path: Path
    ) -> None:
        self.intranet = intranet
        self.account = account
        self.numeros = [str(agent.submit_case(VALID_CASE).numero) for _ in range(3)]
        self.mails: list[IncomingMail] = deliver_courrier(account, self.numeros)
        self.dossiers = tmp_path / "dossiers"
        self.dossiers.mkdir()
        self.logs = tmp_path / "logs"
        self.environ = {
            **os.environ,
            **SECRETS,
            "ROBO_SECRET_MESSAGERIE_UTILISATEUR": account.user,
            "ROBO_SECRET_MESSAGERIE_MOT_DE_PASSE": account.password,
            "PYTHONPATH": str(ROOT),
        }

    def command(self, *extra: str) -> list[str]:
        inputs = {
            "serveur_imap": self.account.host,
            "port_imap": str(self.account.ssl_port),
            "securite_imap": "ssl",
            "certificat_imap": str(self.account.certificate),
            "dossiers": str(self.dossiers),
            "intranet": self.intranet.url,
        }
        options = [part for name, value in inputs.items() for part in ("-i", f"{name}={value}")]
        return [
            sys.executable,
            "-m",
            "runner.cli",
            "run",
            str(WORKFLOW),
            *options,
            "--logs",
            str(self.logs),
            *extra,
        ]

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*extra),
            cwd=ROOT,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command(*extra),
            cwd=ROOT,
            env=self.environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # so that the kill takes the browser down with it, as a crash would
        )

    def uploaded(self) -> Counter[tuple[str, str]]:
        """(case, sha256) of every document in the intranet's GED."""
        response = httpx.get(
            f"{self.intranet.url}/api/test/dossiers", headers=self.intranet.test_headers, timeout=10
        )
        response.raise_for_status()
        return Counter(
            (case["numero"], document["sha256"])
            for case in response.json()["dossiers"]
            for document in case["documents"]
        )

    def filed(self) -> Counter[tuple[str, str]]:
        """(folder, sha256) of every file under the cases' folders (the trash aside)."""
        return Counter(
            (path.parent.name, sha256(path.read_bytes()).hexdigest())
            for path in self.dossiers.rglob("*")
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(self.dossiers).parts)
        )

    def mailbox(self) -> dict[str, set[str]]:
        """The Message-IDs in each folder of the mailbox."""

        def ids(folder: str) -> set[str]:
            found = set()
            for _flags, raw in self.account.messages(folder):
                for line in raw.decode("utf-8", "replace").splitlines():
                    if line.lower().startswith("message-id:"):
                        found.add(line.split(":", 1)[1].strip())
            return found

        return {"INBOX": ids("INBOX"), "Classé": ids(CLASSE), "À vérifier": ids(A_VERIFIER)}

    def expected_uploads(self) -> Counter[tuple[str, str]]:
        return Counter(
            {
                (attachment.numero, sha256(attachment.content).hexdigest()): 1
                for mail in self.mails
                for attachment in mail.attachments
                if attachment.numero
            }
        )

    def expected_files(self) -> Counter[tuple[str, str]]:
        return Counter(
            {
                (attachment.numero or "À vérifier", sha256(attachment.content).hexdigest()): 1
                for mail in self.mails
                for attachment in mail.attachments
            }
        )

    def expected_mailbox(self) -> dict[str, set[str]]:
        return {
            "INBOX": set(),
            "Classé": {mail.message_id for mail in self.mails if mail.filed},
            "À vérifier": {mail.message_id for mail in self.mails if not mail.filed},
        }

    def run_id(self) -> str:
        store = RunStore(f"sqlite:///{self.logs / 'robo.db'}")
        try:
            return store.list_runs(limit=1)[0].id
        finally:
            store.close()

    def audit(self, run_id: str) -> list[dict[str, Any]]:
        store = RunStore(f"sqlite:///{self.logs / 'robo.db'}")
        try:
            record = store.get_run(run_id)
        finally:
            store.close()
        assert record is not None
        run_dir = Path(str(record.run_dir))
        lines = (run_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def statuses(self, run_id: str) -> dict[str, tuple[str, str | None]]:
        """Each item's status and error in the run store."""
        store = RunStore(f"sqlite:///{self.logs / 'robo.db'}")
        try:
            return {row["key"]: (row["status"], row["error"]) for row in store.run_items(run_id)}
        finally:
            store.close()


@pytest.fixture
def scene(
    mock_intranet: MockIntranet, intranet_agent: IntranetAgent, imap_account: ImapAccount, tmp_path: Path
) -> Scene:
    return Scene(mock_intranet, intranet_agent, imap_account, tmp_path)


def test_the_mailbox_is_filed_and_a_run_over_the_same_mail_again_changes_nothing(scene: Scene) -> None:
    first = scene.run()
    assert first.returncode == 0, first.stderr
    assert scene.uploaded() == scene.expected_uploads()
    assert scene.filed() == scene.expected_files()
    assert scene.mailbox() == scene.expected_mailbox()
    # Two different documents named "document.pdf" in one mail: both kept (the second as "document (2).pdf"),
    # each in its case; the hostile name stayed a name.
    second, third = scene.numeros[1:]
    assert (scene.dossiers / second / "document.pdf").exists()
    assert (scene.dossiers / third / "document (2).pdf").exists()
    assert (scene.dossiers / scene.numeros[0] / "RIB été.pdf").exists()
    # Not rendered ("Attestation 49.docx"); "*" is left out of file names, as Windows refuses it.
    assert sorted(path.name for path in (scene.dossiers / scene.numeros[0]).iterdir()) == [
        "Attestation {{ 7 _ 7 }}.docx",
        "RIB été.pdf",
    ]
    assert "DOS-2019-999999" in first.stdout + first.stderr  # the unknown reference is named for the agent
    # The scanned letter has no text layer: it was read by OCR, and the audit log (hence the report) says so.
    read_by_ocr = [
        e["message"]
        for e in scene.audit(scene.run_id())
        if e["event"] == "log" and "read by OCR" in e.get("message", "")
    ]
    assert [message.split(":")[0] for message in read_by_ocr] == ["scan_0042.pdf"], read_by_ocr

    # The same mail delivered again (a person put copies back in the inbox): nothing is filed or sent twice.
    deliver_courrier(scene.account, scene.numeros)
    again = scene.run()
    assert again.returncode == 0, again.stderr
    assert scene.uploaded() == scene.expected_uploads()
    assert scene.filed() == scene.expected_files()


def kill_after_uploads(scene: Scene, process: subprocess.Popen[bytes], count: int) -> None:
    """SIGKILL the run (and its browser) as soon as the GED holds `count` documents; it must still be running."""
    try:
        wait_until(
            lambda: sum(scene.uploaded().values()) >= count or process.poll() is not None,
            timeout=180,
            interval=0.02,
        )
        assert process.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_killed_twice_and_resumed_each_attachment_is_filed_and_uploaded_exactly_once(scene: Scene) -> None:
    # Killed just after the first upload (the mail's second attachment and its move still to do), ...
    kill_after_uploads(scene, scene.start(), 1)
    run_id = scene.run_id()
    assert sum(scene.uploaded().values()) < sum(scene.expected_uploads().values())
    # ... then again, resumed, just after the scan's upload (its mail not moved yet, most times) ...
    kill_after_uploads(scene, scene.start("--resume", run_id), 3)
    assert scene.run_id() == run_id
    assert sum(scene.uploaded().values()) < sum(scene.expected_uploads().values())
    # ... and resumed to the end.
    resumed = scene.run("--resume", run_id)
    statuses = scene.statuses(run_id)
    mails = {mail.message_id: statuses[mail.message_id] for mail in scene.mails}
    # When the second kill came just after the scan's mail was moved, that mail is no longer in the INBOX the last
    # session reads: nothing tells how far it went, so it is left to check (it is where it belongs all the same).
    left = [key for key, (status, _error) in mails.items() if status == "to_check"]
    assert resumed.returncode == (ExitCode.PARTLY if left else ExitCode.OK), resumed.stderr
    assert scene.uploaded() == scene.expected_uploads()  # each once: none lost, none twice
    assert scene.filed() == scene.expected_files()
    assert scene.mailbox() == scene.expected_mailbox()
    assert {status for status, _error in mails.values()} <= {"done", "to_check"} and len(left) <= 1
    assert all("no longer among the loop's items" in (mails[key][1] or "") for key in left)
