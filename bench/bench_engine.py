"""The engine's cost per step and per item, and a 100 000-item run.

Overhead per step: a run of trivial `data` actions (`ROBO_BENCH_ENGINE_ITEMS` items of 4 steps, 500 by default), in
this process, against calling the same methods directly (wall-clock and CPU time: on a busy machine only the second
means something). Scale: `robo run` of `ROBO_BENCH_SCALE_ITEMS` items of the same cheap steps (100 000 by default)
in a child process whose resident memory is sampled every 0.1 s (the peak is reported), then `robo runs report` of
that run, sampled the same way. Each child's wall-clock and CPU time include the workflow's validation and the
end-of-run report.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.table import row
from robots.data import Data
from robots.kit import RobotContext
from runner.run import RunOptions, run_workflow

ITEMS = int(os.environ.get("ROBO_BENCH_ENGINE_ITEMS", "500"))
SCALE_ITEMS = int(os.environ.get("ROBO_BENCH_SCALE_ITEMS", "100000"))
ITEM_GOAL_MS = 3.0
RUN_MEMORY_GOAL_MB = 250.0
REPORT_MEMORY_GOAL_MB = 200.0
SAMPLE_EVERY_S = 0.1
STEPS_PER_ITEM = 4  # in `loop_workflow`


def loop_workflow(items: int) -> str:
    """A loop over `items` numbers, each item 4 cheap steps (templates, a dict, a filter)."""
    return (
        "name: Boucle\nsteps:\n"
        f'  - for_each: "{{{{ range({items}) | list }}}}"\n'
        "    key: item\n"
        "    steps:\n"
        '      - data.set: {value: "{{ item }}"}\n'
        "        save: a\n"
        '      - data.set: {value: {numero: "{{ a }}", libelle: "Dossier {{ a }}"}}\n'
        "        save: b\n"
        '      - data.filter: {records: ["{{ b }}"], where: {libelle: "Dossier {{ a }}"}}\n'
        '      - data.set: {value: "{{ b.libelle | upper }}"}\n'
    )


def overhead_per_step(root: Path, items: int) -> dict[str, Any]:
    """The engine's time per step over calling the actions' methods directly, in this process."""
    workflow = root / "boucle.yaml"
    workflow.write_text(loop_workflow(items), encoding="utf-8")
    started, cpu_started = time.perf_counter(), time.process_time()
    outcome = run_workflow(workflow, RunOptions(logs_dir=root / "logs", environ={}))
    engine_time, engine_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if outcome.status != "succeeded":
        raise RuntimeError(f"the loop did not succeed: {outcome.diagnostics}")
    steps = outcome.counts["steps"]
    robot = Data(RobotContext("b", "b", root, root / "artifacts"))
    started, cpu_started = time.perf_counter(), time.process_time()
    for item in range(items):
        a = robot.set(item)
        b = robot.set({"numero": a, "libelle": f"Dossier {a}"})
        robot.filter([b], where={"libelle": f"Dossier {a}"})
        robot.set(b["libelle"].upper())
    direct_time, direct_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "steps": steps,
        "engine_s": round(engine_time, 3),
        "direct_calls_s": round(direct_time, 4),
        "overhead_per_step_ms": round((engine_time - direct_time) / steps * 1000, 3),
        "cpu_overhead_per_step_ms": round((engine_cpu - direct_cpu) / steps * 1000, 3),
    }


@dataclass(frozen=True)
class Sampled:
    """What a child process took: wall-clock and CPU seconds (user + system), peak resident memory (sampled)."""

    seconds: float
    cpu_seconds: float
    peak_mb: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sampled(command: list[str], cwd: Path) -> Sampled:
    """Run `command` (it must succeed) and measure it; its resident memory is sampled every SAMPLE_EVERY_S."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cpu_before = _children_cpu()
    started = time.perf_counter()
    with (
        tempfile.TemporaryFile() as output,
        subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, env=env) as child,
    ):
        watched = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(SAMPLE_EVERY_S)
        returncode = child.wait()
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode(errors="replace")  # the reason, if it failed
    if returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {returncode}:\n{text[-2000:]}")
    return Sampled(seconds, _children_cpu() - cpu_before, peak / 2**20)


def scale_run(root: Path, items: int) -> dict[str, Any]:
    """`robo run` of `items` cheap items, then `robo runs report` of it: time and sampled peak memory of each."""
    (root / "boucle.yaml").write_text(loop_workflow(items), encoding="utf-8")
    robo = [sys.executable, "-m", "runner.cli"]
    ran = sampled([*robo, "run", "boucle.yaml", "--logs", "logs"], root)
    run_ids = [path.name for path in (root / "logs").glob("*/*") if (path / "audit.jsonl").exists()]
    if len(run_ids) != 1:
        raise RuntimeError(f"expected one run folder, found {run_ids}")
    report = sampled([*robo, "runs", "report", run_ids[0], "--logs", "logs"], root)
    return {
        "items": items,
        "run_s": round(ran.seconds, 1),
        "run_cpu_s": round(ran.cpu_seconds, 1),
        "per_item_ms": round(ran.seconds / items * 1000, 3),
        "cpu_per_item_ms": round(ran.cpu_seconds / items * 1000, 3),
        "run_peak_rss_mb": round(ran.peak_mb, 1),
        "report_s": round(report.seconds, 1),
        "report_peak_rss_mb": round(report.peak_mb, 1),
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "overhead").mkdir()
        (root / "scale").mkdir()
        overhead = overhead_per_step(root / "overhead", ITEMS)
        scale = scale_run(root / "scale", SCALE_ITEMS)
    items = f"{scale['items']:,}".replace(",", " ")
    table = [
        row(
            "engine overhead per trivial step",
            overhead["overhead_per_step_ms"],
            "ms",
            ("<=", ITEM_GOAL_MS / STEPS_PER_ITEM),
            note=f"{ITEM_GOAL_MS:g} ms per item of {STEPS_PER_ITEM} steps",
        ),
        row(
            "engine CPU overhead per trivial step",
            overhead["cpu_overhead_per_step_ms"],
            "ms",
            ("<=", ITEM_GOAL_MS / STEPS_PER_ITEM),
            note="what load cannot inflate",
        ),
        row(f"{items}-item run of cheap steps, per item", scale["per_item_ms"], "ms", ("<=", ITEM_GOAL_MS)),
        row(
            f"{items}-item run of cheap steps, CPU per item",
            scale["cpu_per_item_ms"],
            "ms",
            ("<=", ITEM_GOAL_MS),
            note="what load cannot inflate",
        ),
        row(f"{items}-item run, robo peak RSS", scale["run_peak_rss_mb"], "MB", ("<=", RUN_MEMORY_GOAL_MB)),
        row(
            f"robo runs report of the {items}-item run, peak RSS",
            scale["report_peak_rss_mb"],
            "MB",
            ("<=", REPORT_MEMORY_GOAL_MB),
        ),
    ]
    return {**overhead, "scale": scale, "table": table}
