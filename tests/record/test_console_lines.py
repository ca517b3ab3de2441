"""The console without a terminal (cron, systemd, a pipe): one line per item, a summary now and then, no step lines."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from runner.events import ItemFinished, ItemStarted, ItemStatus, LoopStarted, RunFinished, RunStatus
from runner.record import ConsoleSink
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TWENTY = """\
name: Vingt dossiers
steps:
  - data.read_csv: {path: demandes.csv}
    save: demandes
  - for_each: "{{ demandes }}"
    as: demande
    key: demande.reference
    collect: {Numéro: "{{ numero }}"}
    steps:
      - data.set: {value: "{{ demande.reference }}"}
        save: lue
      - data.set: {value: "{{ lue | replace('REF', 'DOS') }}"}
        save: brouillon
      - data.set: {value: "DOS-2026-{{ '%06d' | format(demande.rang | int + 35) }}"}
        save: numero
      - data.set: {value: "{{ numero }} saisi"}
"""
ITEM_LINE = re.compile(r"^\d\d:\d\d:\d\d \[(\d+)/20\] (REF-2026-\d{4}) ✓ (DOS-2026-\d{6}) \(\d+\.\d s\)$")


def run_piped(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`robo run` as cron runs it: stdout and stderr are pipes, not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", "run", "vingt.yaml", "--logs", str(folder / "logs"), *args],
        cwd=folder,
        capture_output=True,  # both pipes: no terminal, as under cron or systemd
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "ROBO_STORE_URL": f"sqlite:///{folder / 'runs.db'}"},
        check=False,
    )


def twenty_items(folder: Path) -> Path:
    (folder / "vingt.yaml").write_text(TWENTY, encoding="utf-8")
    rows = "".join(f"REF-2026-{n:04d};{n}\n" for n in range(1, 21))
    (folder / "demandes.csv").write_text("reference;rang\n" + rows, encoding="utf-8")
    return folder


def test_a_piped_twenty_item_run_prints_twenty_item_lines_and_a_summary_not_its_step_lines(
    tmp_path: Path,
) -> None:
    result = run_piped(twenty_items(tmp_path))

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    items = [match for line in lines if (match := ITEM_LINE.match(line))]
    assert [int(match[1]) for match in items] == list(range(1, 21))
    assert items[6][2] == "REF-2026-0007" and items[6][3] == "DOS-2026-000042"
    [summary] = [line for line in lines if " run succeeded in " in line]
    assert "20 items done" in summary
    assert not [line for line in lines if "data.set" in line or ("] (" in line and not ITEM_LINE.match(line))]
    # what is left: the run's start, the loop, the summary and where its report is; no step of the 1 + 20 × 4
    assert len(lines) < 30, result.stderr
    assert not [
        line for line in lines[:-3] if str(tmp_path) in line
    ]  # no absolute path in the lines of the run


def test_verbose_adds_a_line_for_each_step(tmp_path: Path) -> None:
    result = run_piped(twenty_items(tmp_path), "--verbose")

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len([line for line in lines if ITEM_LINE.match(line)]) == 20
    steps = [line for line in lines if re.search(r" ✓ .*\[REF-2026-\d{4}\] \(", line)]
    assert len(steps) == 20 * 4


def test_a_long_item_gets_a_summary_line_while_it_runs() -> None:
    stream = io.StringIO()
    console = ConsoleSink(stream, live=False, heartbeat=0.2)
    console.handle(LoopStarted(run_id="r", loop="steps[1]", name="Saisie", total=3))
    console.handle(ItemStarted(run_id="r", loop="steps[1]", key="REF-1", index=0))
    console.handle(
        ItemFinished(run_id="r", loop="steps[1]", key="REF-1", index=0, status=ItemStatus.DONE, duration=4.0)
    )
    console.handle(ItemStarted(run_id="r", loop="steps[1]", key="REF-2", index=1))

    summary = wait_until(
        lambda: [line for line in stream.getvalue().splitlines() if "REF-2 running for" in line]
    )

    assert summary[0].endswith("1/3 done, 0 failed, time left 8.0 s"), summary
    console.handle(
        ItemFinished(run_id="r", loop="steps[1]", key="REF-2", index=1, status=ItemStatus.DONE, duration=0.5)
    )
    console.handle(RunFinished(run_id="r", status=RunStatus.SUCCEEDED, duration=5.0))
    console.close()
    assert stream.getvalue().splitlines()[-1].endswith("run succeeded in 5.0 s (0 steps)")


def test_a_failed_item_says_why_on_its_line() -> None:
    stream = io.StringIO()
    console = ConsoleSink(stream, live=False)
    console.handle(LoopStarted(run_id="r", loop="steps[1]", name="Saisie", total=2))
    console.handle(
        ItemFinished(
            run_id="r",
            loop="steps[1]",
            key="REF-9",
            index=0,
            status=ItemStatus.FAILED_BUSINESS,
            duration=1.25,
            error="dossier inconnu",
        )
    )
    console.close()
    assert (
        stream.getvalue()
        .rstrip()
        .endswith("[1/2] REF-9 ✗ failed: the data was refused: dossier inconnu (1.2 s)")
    )


def test_an_item_a_fleet_worker_did_names_the_worker() -> None:
    stream = io.StringIO()
    console = ConsoleSink(stream, live=False)
    console.handle(LoopStarted(run_id="r", loop="steps[1]", name="Saisie", total=1))
    console.handle(
        ItemFinished(
            run_id="r",
            loop="steps[1]",
            key="REF-1",
            index=0,
            status=ItemStatus.DONE,
            duration=0.5,
            worker="bot-compta-2",
        )
    )
    console.close()
    assert re.search(r"\[1/1\] REF-1 ✓ \(0\.5 s\) — bot-compta-2$", stream.getvalue(), re.M)


def test_on_a_terminal_the_bar_shows_done_total_failures_and_a_labelled_time_left() -> None:
    stream = io.StringIO()
    console = ConsoleSink(stream, live=True)
    console.handle(LoopStarted(run_id="r", loop="steps[1]", name="Saisie", total=4))
    for index, status in enumerate([ItemStatus.DONE, ItemStatus.FAILED_APPLICATION]):
        console.handle(ItemStarted(run_id="r", loop="steps[1]", key=f"REF-{index}", index=index))
        console.handle(
            ItemFinished(
                run_id="r", loop="steps[1]", key=f"REF-{index}", index=index, status=status, duration=1.0
            )
        )
    console.handle(RunFinished(run_id="r", status=RunStatus.COMPLETED_WITH_ERRORS, duration=2.0))
    console.close()

    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())
    [bar] = [line for line in shown.splitlines() if "Saisie" in line][-1:]
    assert re.search(r"Saisie .*2/4 +1 failed +time left", bar), bar
    assert "REF-1 ✗ failed: " in shown  # a failure is said above the bar, as it happens
    assert "REF-0" not in shown  # a done item moves the bar, it prints no line


# An item a killed session left in progress, which the resumed loop no longer has: left to check.
LEFT_BEHIND = ItemFinished(
    run_id="r",
    loop="steps[1]",
    key="REF-7",
    index=6,
    status=ItemStatus.TO_CHECK,
    duration=0.0,
    error="check REF-7",
)


def test_an_item_a_resumed_loop_no_longer_has_is_told_without_counting_among_its_items() -> None:
    stream = io.StringIO()
    console = ConsoleSink(stream, live=False)
    console.handle(LoopStarted(run_id="r", loop="steps[1]", name="Saisie", total=2, keys=["REF-1", "REF-2"]))
    for index, key in enumerate(["REF-1", "REF-2"]):
        console.handle(ItemStarted(run_id="r", loop="steps[1]", key=key, index=index))
        console.handle(
            ItemFinished(
                run_id="r", loop="steps[1]", key=key, index=index, status=ItemStatus.DONE, duration=0.5
            )
        )
    console.handle(LEFT_BEHIND)
    console.close()
    lines = stream.getvalue().splitlines()
    assert lines[-3].endswith("[1/2] REF-1 ✓ (0.5 s)") and lines[-2].endswith("[2/2] REF-2 ✓ (0.5 s)"), lines
    assert "[7] REF-7" in lines[-1] and "check REF-7" in lines[-1]


def test_an_item_left_behind_by_a_loop_with_nothing_left_to_do_is_not_counted_either() -> None:
    stream = io.StringIO()
    console = ConsoleSink(stream, live=False)
    console.handle(LoopStarted(run_id="r", loop="steps[1]", name="Saisie", total=0, keys=[]))
    console.handle(LEFT_BEHIND)
    console.close()
    line = stream.getvalue().splitlines()[-1]
    assert "[7] REF-7" in line and "/0]" not in line, line
