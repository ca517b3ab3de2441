"""Schedule service: idle memory with 100 schedules, and the delay from a due time to its run's start."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from runner.record import RunStore
from runner.schedule import ScheduleDatabase, parse_fire_key

SCHEDULES = 100
FIRES = 30
# Once a year, with calendars and windows, so that none fires while memory is measured.
IDLE = """\
name: Tâche {number}
schedule:
  - name: annuelle
    cron: "{minute} 3 1 1 *"
    skip: [jours_feries]
    between: ["02:00", "04:00"]
    jitter: 30
steps:
  - log: "tâche {number}"
"""
BUSY = """\
name: Relevé {number}
schedule:
  - every: {every}
steps:
  - log: "relevé {number} dû à {{{{ env.ROBO_SCHEDULED_FOR }}}}"
"""


def _serve(root: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = root / "service.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner.cli",
                "schedule",
                "serve",
                str(root / "workflows"),
                "--logs",
                str(root / "logs"),
                "--poll",
                "3",
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while " INFO ready: " not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the service did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.05)
    return process, log


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _idle_memory() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "workflows").mkdir()
        for number in range(SCHEDULES):
            (root / "workflows" / f"tache_{number:03d}.yaml").write_text(
                IDLE.format(number=number, minute=number % 60), encoding="utf-8"
            )
        started = time.perf_counter()
        process, _log = _serve(root)
        ready = time.perf_counter() - started
        service = psutil.Process(process.pid)
        time.sleep(3)
        cpu_before, idle_started = service.cpu_times(), time.perf_counter()
        time.sleep(6)  # rounds of polling the folder, requests and heartbeats
        cpu_after, idle_time = service.cpu_times(), time.perf_counter() - idle_started
        memory = service.memory_full_info()
        _stop(process)
    return {
        "schedules": SCHEDULES,
        "start_to_ready_s": round(ready, 2),
        "idle_rss_mb": round(memory.rss / 2**20, 1),
        "idle_pss_mb": round(getattr(memory, "pss", memory.rss) / 2**20, 1),
        "idle_uss_mb": round(memory.uss / 2**20, 1),
        "idle_cpu_percent": round(
            100 * (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / idle_time, 2
        ),
    }


def _fire_delays() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "workflows").mkdir()
        for number, every in enumerate((2, 3, 5)):
            (root / "workflows" / f"releve_{number}.yaml").write_text(
                BUSY.format(number=number, every=every), encoding="utf-8"
            )
        process, _log = _serve(root)
        url = f"sqlite:///{(root / 'logs' / 'robo.db').resolve()}"
        db = ScheduleDatabase(url)
        deadline = time.monotonic() + FIRES * 3
        while len([row for row in db.fires() if row["finished_at"] and row["run_id"]]) < FIRES:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        _stop(process)
        fires = [row for row in db.fires() if row["run_id"]]
        skipped = len([row for row in db.fires() if row["status"].startswith("skipped")])
        db.close()
        store = RunStore(url)
        runs = {run.id: run for run in store.list_runs(limit=10_000)}
        store.close()
    spawn = [row["started_at"] - parse_fire_key(row["fire_time"]).timestamp() for row in fires]
    engine = [
        _epoch(runs[row["run_id"]].started_at) - parse_fire_key(row["fire_time"]).timestamp()
        for row in fires
        if row["run_id"] in runs
    ]
    return {
        "fires_measured": len(fires),
        "fires_refused_overlap": skipped,
        "due_to_process_start_ms_median": round(statistics.median(spawn) * 1000, 1),
        "due_to_process_start_ms_max": round(max(spawn) * 1000, 1),
        "due_to_run_started_ms_median": round(statistics.median(engine) * 1000, 1),
        "due_to_run_started_ms_max": round(max(engine) * 1000, 1),
    }


def _epoch(text: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(text).timestamp()


def run() -> dict[str, Any]:
    result = _idle_memory()
    result.update(_fire_delays())
    result["cpus"] = os.cpu_count()
    result["note"] = (
        "process start = the `robo run` child is forked and exec'd; run started = its engine's RunStarted, "
        "after Python's start-up and the workflow's validation"
    )
    result["target"] = "idle service under 100 MB PSS; runs start within 100 ms of their due time"
    return result
