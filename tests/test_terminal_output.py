"""What `robo` prints from a run's data cannot drive the terminal, and error excerpts keep a readable width."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from robots.kit import Span, printable
from runner.events import ItemFinished, LogMessage, RetryScheduled, StepStarted
from runner.language import EXCERPT_WIDTH, Diagnostic, render_text
from runner.record import ConsoleSink
from tests.test_cli import robo

# Erases the line, prints a fake green success, sets the window title; then a C1 CSI and a carriage return.
HOSTILE = "\x1b[2K\x1b[32m✓ run succeeded\x1b]0;pwned\x07 \x9b31m\rfin"
CONTROL_BYTES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

WORKFLOW = """\
name: Cellules
steps:
  - data.read_csv: {path: cellules.csv}
    save: lignes
  - for_each: "{{ lignes }}"
    as: ligne
    key: ligne.reference
    steps:
      - log: "lu : {{ ligne.reference }}"
      - fail: "refusé : {{ ligne.reference }}"
"""


def test_a_run_prints_control_sequences_from_data_escaped(tmp_path: Path) -> None:
    (tmp_path / "cellules.yaml").write_text(WORKFLOW, encoding="utf-8")
    with (tmp_path / "cellules.csv").open("w", encoding="utf-8", newline="") as handle:
        handle.write(f'reference;nom\n"{HOSTILE}";Martin\n')

    result = robo("run", "cellules.yaml", cwd=tmp_path)

    printed = result.stdout + result.stderr
    assert "refusé" in printed  # the run did fail on the item, and said so
    assert CONTROL_BYTES.findall(printed) == []
    assert "\x1b" not in printed and "\x07" not in printed
    shown = printable(HOSTILE, lines=False)
    assert f"lu : {shown}" in printed  # the log message, escaped: a reader still sees what was there
    assert f"item {shown}" in printed  # the item key
    assert f"refusé : {shown}" in printed  # the error

    (run,) = json.loads(robo("runs", "list", "--format", "json", cwd=tmp_path).stdout)
    assert run["workflow"] == "Cellules"
    for command in (["runs", "list"], ["runs", "show", run["id"]]):
        shown_later = robo(*command, cwd=tmp_path, env={"COLUMNS": "400"})
        assert shown_later.returncode == 0, shown_later.stderr
        printed = shown_later.stdout + shown_later.stderr
        assert CONTROL_BYTES.findall(printed) == []
        if command[1] == "show":
            assert "]0;pwned" in printed  # the item key and the error, escaped


def test_the_live_display_escapes_names_keys_messages_and_errors() -> None:
    stream = io.StringIO()
    sink = ConsoleSink(stream, live=True)
    sink.handle(
        StepStarted(
            run_id="r1",
            step="s1",
            name=f"étape {HOSTILE}",
            action="log",
            file="w.yaml",
            line=3,
            col=5,
            item=HOSTILE,
        )
    )
    sink.handle(LogMessage(run_id="r1", step="s1", message=f"lu : {HOSTILE}", level="info"))
    sink.handle(
        RetryScheduled(run_id="r1", step="s1", name=HOSTILE, attempt=1, of=3, delay=1.0, error=HOSTILE)
    )
    sink.handle(
        ItemFinished(
            run_id="r1",
            loop="l1",
            key=HOSTILE,
            index=0,
            status="failed_business",
            duration=0.1,
            error=f"refusé : {HOSTILE}",
        )
    )
    sink.close()
    printed = stream.getvalue()
    assert "refusé : " in printed
    assert "]0;pwned" in printed  # shown, not obeyed
    assert "\x07" not in printed
    assert "\x9b" not in printed
    assert "\rfin" not in printed  # rich moves the cursor with CR itself, never where data put one
    # rich colours its own markup with CSI sequences; none may come from the data
    assert "\x1b[2K\x1b[32m✓" not in printed and "\x1b]" not in printed


def test_a_plain_log_message_cannot_fake_a_line_of_its_own() -> None:
    stream = io.StringIO()
    sink = ConsoleSink(stream, live=False)
    sink.handle(
        LogMessage(run_id="r1", step="s1", message="lu\n12:00:00 run succeeded in 0.1 s", level="info")
    )
    first, second = stream.getvalue().splitlines()
    assert first.endswith("info: lu")
    assert second.startswith(" ") and second.strip() == "12:00:00 run succeeded in 0.1 s"


def test_validate_cuts_a_huge_line_around_the_caret(tmp_path: Path) -> None:
    line = '  - {log: "' + "a" * 100_000 + '", bogus: 1}'
    (tmp_path / "long.yaml").write_text(f"name: t\nsteps:\n{line}\n", encoding="utf-8")

    result = robo("validate", "long.yaml", cwd=tmp_path)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert max(len(text) for text in lines) < EXCERPT_WIDTH + 40
    (excerpt,) = [text for text in lines if text.startswith("   3 | ")]
    caret = lines[lines.index(excerpt) + 1]
    assert caret.index("^") == excerpt.index("bogus")
    assert caret.count("^") == len("bogus")


def test_the_caret_stays_under_its_character_after_escapes_and_cuts() -> None:
    line = "\x1b[2K" * 10 + "x" * 500 + "\tcible" + "y" * 500
    column = line.index("cible") + 1
    diagnostic = Diagnostic(Span("w.yaml", 2, column, column + 5), "unknown-key", "no key 'cible'")
    text = render_text(diagnostic, ["steps:", line])
    excerpt, caret = text.splitlines()[2:4]
    assert caret.index("^") == excerpt.index("cible")
    assert caret.count("^") == 5
    assert "\x1b" not in text and "\t" not in text
    assert len(excerpt) < EXCERPT_WIDTH + 20
