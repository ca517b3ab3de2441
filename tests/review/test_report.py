"""The HTML report of a run: what a service agent reads the next morning, built from the store and the audit log."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from runner.record import RunStore, default_store_url
from runner.review import REPORT_NAME, write_report
from runner.run import RunOutcome
from tests.probe_robot import TINY_PNG
from tests.running import WorkflowRunner

MIXED = """
name: Saisie mixte
steps:
  - log: "début de la saisie"
  - for_each:
      - {ref: A-1, nom: Dupont}
      - {ref: A-2, nom: "<script>alert(1)</script>"}
      - {ref: A-3, nom: Martin}
      - {ref: A-4, nom: Bernard}
      - {ref: A-5, nom: Petit}
    as: d
    key: d.ref
    collect: {numero: "{{ numero }}"}
    steps:
      - name: Saisir le dossier
        probe.echo: {value: "DOS-{{ d.ref }}"}
        save: numero
      - name: Envoyer le formulaire
        probe.refuse_with_screenshot: {reason: "SIRET invalide pour {{ d.nom }}", hint: corrigez le SIRET}
        when: d.ref == 'A-2'
      - name: Attendre le serveur
        probe.flaky: {key: "{{ d.ref }}", failures: 5}
        when: d.ref == 'A-4'
"""


class TagChecker(HTMLParser):
    """Fails on an unbalanced structure; collects the text and the images."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read_report(outcome: RunOutcome) -> tuple[str, TagChecker]:
    assert outcome.report is not None and outcome.run_dir is not None
    assert outcome.report == outcome.run_dir / REPORT_NAME
    html = outcome.report.read_text(encoding="utf-8")
    checker = TagChecker()
    checker.feed(html)
    assert checker.open == []
    return html, checker


def text_of(checker: TagChecker) -> str:
    return re.sub(r"\s+", " ", " ".join(checker.text))


class TestWhatTheReportSays:
    @pytest.fixture
    def mixed(self, run_yaml: WorkflowRunner) -> tuple[RunOutcome, str, TagChecker]:
        outcome, _ = run_yaml(MIXED)
        assert outcome.status == "completed_with_errors"
        html, checker = read_report(outcome)
        return outcome, html, checker

    def test_the_headline_counts_what_was_done(self, mixed: tuple[RunOutcome, str, TagChecker]) -> None:
        _, _, checker = mixed
        text = text_of(checker)
        assert "Completed with errors" in text
        assert "3 of 5 items done; 2 need attention" in text

    def test_each_failed_item_is_explained_with_its_place_and_screenshot(
        self, mixed: tuple[RunOutcome, str, TagChecker]
    ) -> None:
        _, _, checker = mixed
        text = text_of(checker)
        assert "item A-2" in text and "SIRET invalide pour <script>alert(1)</script>" in text
        assert "corrigez le SIRET" in text
        assert "The data was refused" in text
        assert "Envoyer le formulaire" in text and "workflow1.yaml:19" in text
        assert "item A-4" in text and "flaky failure for A-4" in text
        assert "A page or a system did not behave as expected" in text
        png = "data:image/png;base64," + base64.b64encode(TINY_PNG).decode()
        assert checker.images == [png]

    def test_data_from_the_run_is_escaped(self, mixed: tuple[RunOutcome, str, TagChecker]) -> None:
        _, html, _ = mixed
        assert html.count("<script>") == 1  # the report's own filter script, and no other
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_items_show_what_each_produced(self, mixed: tuple[RunOutcome, str, TagChecker]) -> None:
        _, html, checker = mixed
        assert "<th>numero</th>" in html
        text = text_of(checker)
        for ref in ("A-1", "A-3", "A-5"):
            assert f"DOS-{ref}" in text
        # failed items first, so the reader sees them without scrolling
        assert text.index("refused (data)") < text.index("DOS-A-1")

    def test_messages_timing_files_and_audit(self, mixed: tuple[RunOutcome, str, TagChecker]) -> None:
        _, html, checker = mixed
        text = text_of(checker)
        assert "début de la saisie" in text
        assert "Where the time went" in text and "Saisir le dossier" in text
        assert 'href="artifacts/lane0-refused.png"' in html
        assert re.search(r"Audit log intact: \d+ records, hash chain unbroken", text)


class TestRunsThatStop:
    def test_a_run_stopped_by_a_step_names_it(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml(
            "name: Arrêt\nsteps:\n  - name: Refuser\n    probe.refuse: {reason: dossier incomplet}\n"
            "  - probe.echo: {value: jamais}\n"
        )
        assert outcome.status == "failed"
        _, checker = read_report(outcome)
        text = text_of(checker)
        assert "The run stopped at step 'Refuser': dossier incomplet" in text

    def test_a_step_that_failed_but_was_handled_is_listed_as_such(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml(
            "name: Suite\nsteps:\n  - name: Tenter\n    probe.refuse: {reason: pas grave}\n"
            "    on_error: continue\n  - probe.echo: {value: ensuite}\n"
        )
        assert outcome.status == "succeeded"
        _, checker = read_report(outcome)
        text = text_of(checker)
        assert "Every step succeeded." in text
        assert "step 'Tenter' — handled, the run went on" in text and "pas grave" in text


class TestRegenerating:
    def test_a_tampered_audit_log_shows_in_a_report_written_again(
        self, run_yaml: WorkflowRunner, tmp_path: Path
    ) -> None:
        outcome, _ = run_yaml(MIXED)
        assert outcome.run_dir is not None and outcome.run_id is not None
        audit = outcome.run_dir / "audit.jsonl"
        lines = audit.read_bytes().splitlines(keepends=True)
        lines[3] = lines[3].replace(b'"at":"2', b'"at":"1', 1)
        audit.write_bytes(b"".join(lines))
        store = RunStore(default_store_url(tmp_path / "logs"))
        try:
            elsewhere = write_report(store, outcome.run_id, tmp_path / "copie" / "rapport.html")
        finally:
            store.close()
        checker = TagChecker()
        checker.feed(elsewhere.read_text(encoding="utf-8"))
        assert "The audit log was changed after it was written: line 4" in text_of(checker)
        assert not list((tmp_path / "copie").glob(".report-*"))  # written through a temporary file

    def test_an_older_unkeyed_audit_log_is_shown_as_such_not_as_intact(
        self, run_yaml: WorkflowRunner, tmp_path: Path, audit_key_file: Path
    ) -> None:
        import hashlib
        import json
        import os
        import time

        outcome, _ = run_yaml(MIXED)
        assert outcome.run_dir is not None and outcome.run_id is not None
        audit = outcome.run_dir / "audit.jsonl"
        previous, lines = "0" * 64, []
        for line in audit.read_bytes().splitlines():  # written again as Rob'O wrote logs before the key
            record = json.loads(line)
            record.pop("mac", None)
            record["prev"] = previous
            body = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
            previous = hashlib.sha256(body).hexdigest()
            lines.append(body[:-1] + b',"hash":"' + previous.encode() + b'"}\n')
        audit.write_bytes(b"".join(lines))
        (outcome.run_dir / "audit.seal").unlink(missing_ok=True)
        if audit_key_file.exists():  # the key was made after this run, on the upgrade
            os.utime(audit_key_file, (time.time() + 60, time.time() + 60))
        store = RunStore(default_store_url(tmp_path / "logs"))
        try:
            store.set_last_hash(outcome.run_id, previous)
            written = write_report(store, outcome.run_id, tmp_path / "copie" / "rapport.html")
        finally:
            store.close()
        checker = TagChecker()
        checker.feed(written.read_text(encoding="utf-8"))
        assert "Audit log unkeyed (older format)" in text_of(checker)
        assert "Audit log intact" not in text_of(checker)

    def test_an_unknown_run_is_a_lookup_error(self, tmp_path: Path) -> None:
        store = RunStore(default_store_url(tmp_path / "logs"))
        try:
            with pytest.raises(LookupError, match="no run 'absent'"):
                write_report(store, "absent")
        finally:
            store.close()


class TestOnePass:
    def test_the_audit_log_is_opened_and_read_once_for_its_facts_and_its_check(
        self, run_yaml: WorkflowRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import builtins
        import io

        outcome, _ = run_yaml(MIXED)
        assert outcome.run_id is not None
        opened: list[str] = []
        real_open = io.open

        def counting_open(file: object, *args: object, **kwargs: object) -> object:
            if isinstance(file, str | Path) and Path(file).name == "audit.jsonl":
                opened.append(str(file))
            return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(io, "open", counting_open)
        monkeypatch.setattr(builtins, "open", counting_open)
        store = RunStore(default_store_url(tmp_path / "logs"))
        try:
            written = write_report(store, outcome.run_id, tmp_path / "copie" / "rapport.html")
        finally:
            store.close()
        assert len(opened) == 1
        checker = TagChecker()
        checker.feed(written.read_text(encoding="utf-8"))
        text = text_of(checker)
        assert re.search(r"Audit log intact: \d+ records", text)  # checked in that same pass
        assert "Where the time went" in text and "début de la saisie" in text


class TestWhoDidEachItem:
    """A distributed loop's items name the fleet's worker that did each; a run without a fleet shows no such column."""

    def test_each_item_of_a_run_done_by_workers_names_its_worker(self, tmp_path: Path) -> None:
        from tests.fleet.recorded import record_fleet_run

        done_by = {"A-1": "bot-1", "A-2": "poste-<b>2</b>", "A-3": "bot-1"}
        with RunStore(default_store_url(tmp_path / "logs")) as store:
            record_fleet_run(store, "20261201-flotte", tmp_path / "logs" / "run", done_by)
            written = write_report(store, "20261201-flotte", tmp_path / "rapport.html")
        html = written.read_text(encoding="utf-8")
        checker = TagChecker()
        checker.feed(html)
        assert checker.open == []
        assert "<th>Worker</th>" in html
        rows = re.findall(r'<td class="key">([^<]+)</td>\s*<td><span[^>]*>[^<]*</span></td>\s*'
                          r'<td class="worker">([^<]*)</td>', html)  # fmt: skip
        assert rows == [("A-1", "bot-1"), ("A-2", "poste-&lt;b&gt;2&lt;/b&gt;"), ("A-3", "bot-1")]
        assert "<b>2</b>" not in html  # a worker's name is text, never markup

    def test_a_run_without_a_fleet_has_no_worker_column(
        self, mixed_outcome: tuple[RunOutcome, str, TagChecker]
    ) -> None:
        _, html, _ = mixed_outcome
        assert "<th>Worker</th>" not in html and 'class="worker' not in html

    @pytest.fixture
    def mixed_outcome(self, run_yaml: WorkflowRunner) -> tuple[RunOutcome, str, TagChecker]:
        outcome, _ = run_yaml(MIXED)
        html, checker = read_report(outcome)
        return outcome, html, checker
