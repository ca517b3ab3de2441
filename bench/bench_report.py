"""The report of a 100 000-item run (`ROBO_BENCH_REPORT_ITEMS`): peak memory while it is built (≤ 200 MB), and time to open it in Chromium (≤ 3 s).

The run is written as a real run leaves it, without the engine's cost of running 100 000 items: its events go
through the real audit log (keyed, hash-chained and sealed; 2 steps per item, 1 item in 50 refused with the same
error, 1 in 500 failing otherwise), and its items into the real run store in one bulk insert. The report is then
built in a child process (so its peak resident memory, `ru_maxrss`, is its own, interpreter and libraries
included; tracemalloc is not used: its own bookkeeping would double what it measures) and opened in Debian's Chromium at 1 280 × 900.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.table import row

ITEMS = int(os.environ.get("ROBO_BENCH_REPORT_ITEMS", "100000"))
MEMORY_LIMIT_MB = 200
OPEN_LIMIT_S = 3.0
LOOP = "steps[0]"


def _item_events(run_id: str, index: int, key: str) -> tuple[list[Any], dict[str, Any]]:
    from runner.events import ItemFinished, ItemStarted, StepFinished, StepStarted

    events: list[Any] = [ItemStarted(run_id=run_id, loop=LOOP, key=key, index=index)]
    outcome = {"numero": f"DOS-{index:06d}"}
    status, error, failure = "done", None, None
    if index % 50 == 7:
        status, error = "failed_business", f"SIRET invalide pour {key}"
        failure = {"kind": "business", "message": error, "hint": "corrigez le SIRET"}
    elif index % 500 == 13:
        status, error = "failed_application", "le serveur n'a pas répondu à temps"
        failure = {"kind": "application", "message": error}
    for number, (name, action) in enumerate([("Saisir", "browser.fill"), ("Envoyer", "browser.click")]):
        step = f"{LOOP}.steps[{number}]"
        params = {"label": "Numéro", "value": outcome["numero"], "mot_de_passe": "***"}
        events.append(
            StepStarted(
                run_id=run_id,
                step=step,
                name=name,
                action=action,
                file="saisie.yaml",
                line=10 + number,
                col=9,
                item=key,
                params=params,
            )
        )
        failed = failure is not None and number == 1
        events.append(
            StepFinished(
                run_id=run_id,
                step=step,
                name=name,
                status="failed" if failed else "succeeded",
                duration=0.05,
                item=key,
                error=failure if failed else None,
            )
        )
    events.append(
        ItemFinished(
            run_id=run_id,
            loop=LOOP,
            key=key,
            index=index,
            status=status,
            duration=0.1,
            error=error,
            outcome=outcome,
        )
    )
    row = {
        "run_id": run_id,
        "loop": LOOP,
        "key": key,
        "position": index,
        "status": status,
        "duration": 0.1,
        "error": error,
        "outcome": outcome,
        "effects": [],
    }
    return events, row


def make_run(root: Path) -> tuple[str, str]:
    """A finished 100 000-item run in `root`: its store URL and its id."""
    from sqlalchemy import insert

    from runner.events import LoopStarted, RunFinished, RunStarted
    from runner.record import AUDIT_LOG_NAME, AuditLog, RunStore, default_store_url, items

    run_id = "20260101-000000-bench0"
    run_dir = root / "logs" / "saisie" / run_id
    url = default_store_url(root / "logs")
    store = RunStore(url)
    audit = AuditLog(run_dir / AUDIT_LOG_NAME, fsync=False)
    try:
        started = RunStarted(
            run_id=run_id, workflow="Saisie", workflow_file=str(root / "saisie.yaml"), inputs={}
        )
        store.record_run_started(started, run_dir)
        audit.handle(started)
        keys = [f"REF-2026-{index:06d}" for index in range(ITEMS)]
        audit.handle(LoopStarted(run_id=run_id, loop=LOOP, name="Dossiers", total=ITEMS, keys=keys))
        rows = []
        for index, key in enumerate(keys):
            events, row = _item_events(run_id, index, key)
            for event in events:
                audit.handle(event)
            rows.append(row)
            if len(rows) == 10_000:
                with store.begin() as connection:
                    connection.execute(insert(items), rows)
                rows = []
        finished = RunFinished(
            run_id=run_id, status="completed_with_errors", duration=10_000.0, counts={"steps": 2 * ITEMS}
        )
        audit.handle(finished)
        audit.close()
        store.record_run_finished(finished, audit.last_hash)
    finally:
        store.close()
    return url, run_id


CHILD = """
import json, resource, sys, time
from runner.record import RunStore
from runner.review import write_report
store = RunStore(sys.argv[1])
started = time.perf_counter()
path = write_report(store, sys.argv[2])
seconds = time.perf_counter() - started
store.close()
print(json.dumps({"path": str(path), "seconds": seconds,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def build_report(url: str, run_id: str) -> dict[str, Any]:
    """Build the report in a child process; its path, time and peak memory."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, run_id], capture_output=True, text=True, check=True, timeout=1200
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def open_in_chromium(report: Path) -> float:
    """Seconds from navigation to the load event of the report in headless Chromium at 1 280 × 900."""
    from playwright.sync_api import sync_playwright

    from robots.browser import find_browser

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(find_browser()), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto(report.as_uri(), wait_until="load", timeout=60_000)
            seconds = time.perf_counter() - started
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280, width
        finally:
            browser.close()
    return seconds


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        url, run_id = make_run(root)
        made = time.perf_counter() - started
        log = root / "logs" / "saisie" / run_id / "audit.jsonl"
        log_mb = log.stat().st_size / 2**20
        built = build_report(url, run_id)
        report = Path(built["path"])
        opened = open_in_chromium(report)
        peak_mb = built["maxrss_kb"] / 1024
        return {
            "items": ITEMS,
            "run_written_s": round(made, 1),
            "audit_log_mb": round(log_mb, 1),
            "report_mb": round(report.stat().st_size / 2**20, 2),
            "build_s": round(built["seconds"], 2),
            "build_peak_rss_mb": round(peak_mb, 1),
            "memory_vs_limit": f"{peak_mb / MEMORY_LIMIT_MB:.0%} of {MEMORY_LIMIT_MB} MB",
            "open_in_chromium_s": round(opened, 2),
            "open_vs_limit": f"{opened / OPEN_LIMIT_S:.0%} of {OPEN_LIMIT_S:.0f} s",
            "table": [
                row(
                    f"report of a written {ITEMS:,}".replace(",", " ") + "-item run, build peak RSS",
                    peak_mb,
                    "MB",
                    ("<=", MEMORY_LIMIT_MB),
                ),
                row("that report opened in Chromium", opened, "s", ("<=", OPEN_LIMIT_S)),
            ],
        }
