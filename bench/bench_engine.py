"""Engine overhead per step: a 2 000-step run of trivial actions, against calling the same methods directly."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from robots.data import Data
from robots.kit import RobotContext
from runner.run import RunOptions, run_workflow

ITEMS = 500


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        workflow = root / "boucle.yaml"
        workflow.write_text(
            "name: Boucle\nsteps:\n"
            f'  - for_each: "{{{{ range({ITEMS}) | list }}}}"\n'
            "    key: item\n"
            "    steps:\n"
            '      - data.set: {value: "{{ item }}"}\n'
            "        save: a\n"
            '      - data.set: {value: {numero: "{{ a }}", libelle: "Dossier {{ a }}"}}\n'
            "        save: b\n"
            '      - data.filter: {records: ["{{ b }}"], where: {libelle: "Dossier {{ a }}"}}\n'
            '      - data.set: {value: "{{ b.libelle | upper }}"}\n',
            encoding="utf-8",
        )
        started = time.perf_counter()
        outcome = run_workflow(workflow, RunOptions(logs_dir=root / "logs", environ={}))
        engine_time = time.perf_counter() - started
        assert outcome.status == "succeeded", outcome.diagnostics
        steps = outcome.counts["steps"]

        robot = Data(RobotContext("b", "b", root, root / "artifacts"))
        started = time.perf_counter()
        for item in range(ITEMS):
            a = robot.set(item)
            b = robot.set({"numero": a, "libelle": f"Dossier {a}"})
            robot.filter([b], where={"libelle": f"Dossier {a}"})
            robot.set(b["libelle"].upper())
        direct_time = time.perf_counter() - started
    per_step_ms = (engine_time - direct_time) / steps * 1000
    return {
        "steps": steps,
        "engine_s": round(engine_time, 3),
        "direct_calls_s": round(direct_time, 4),
        "overhead_per_step_ms": round(per_step_ms, 3),
        "overhead_vs_one_playwright_fill": f"{per_step_ms / 15:.1%} of a 15 ms fill",
        "target": "a few ms per step at most (with audit log, run store and templating)",
    }
