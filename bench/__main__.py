"""Run the benchmarks: `python -m bench` runs all, `python -m bench startup validate` some of them.

Ends with one table: every benchmark's `"table"` rows (bench/table.py), the machine, the load average and the CPU
time the hypervisor took (steal).
A benchmark that fails is said, its traceback printed, and the others still run; its row says it failed.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.table import Row, cpu_clock, load_average, machine, render, row, stolen_share

BENCHMARKS = [
    "startup",
    "validate",
    "engine",
    "browser",
    "thirdparty",
    "excel",
    "scheduler",
    "secrets",
    "report",
    "desktop",
    "documents",
    "console",
    "fleet",
]
RESULTS = Path(__file__).parent / "results"


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(BENCHMARKS)}", file=sys.stderr
        )
        return 2
    RESULTS.mkdir(exist_ok=True)
    # The runs benchmarked sign their audit logs with a throwaway key, not the machine's.
    os.environ.setdefault(
        "ROBO_AUDIT_KEY_FILE", str(Path(tempfile.mkdtemp(prefix="robo-bench-")) / "audit.key")
    )
    summary: dict[str, Any] = {"machine": machine(), "load_average_at_start": load_average()}
    clock = cpu_clock()
    rows: list[Row] = []
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        assert module.__doc__ is not None
        print(f"\n== {name}: {module.__doc__.strip().splitlines()[0]}", flush=True)
        started = time.perf_counter()
        try:
            result = module.run()
        except Exception as error:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
            result = {"failed": f"{type(error).__name__}: {error}"[:2000]}
            rows.append(row(f"{name}: benchmark failed", None, "", note=str(error).splitlines()[0][:200]))
        result["wall_seconds"] = round(time.perf_counter() - started, 2)
        summary[name] = result
        rows.extend(result.get("table", []))
        for key, value in result.items():
            if key != "table":
                print(f"   {key}: {value}")
    summary["load_average_at_end"] = load_average()
    summary["cpu_stolen"] = stolen_share(clock, cpu_clock())
    summary["table"] = rows
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    described = ", ".join(f"{key} {value}" for key, value in summary["machine"].items())
    print(f"\n== table ({described})")
    print(
        f"   load average (1 min): {summary['load_average_at_start']} at start, {summary['load_average_at_end']} at end;"
        f" CPU time taken by the hypervisor (steal): {summary['cpu_stolen']:.0%}"
    )
    print(render(rows))
    print(f"\nresults written to {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
