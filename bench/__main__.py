"""Run the benchmarks: `python -m bench` runs all, `python -m bench startup validate` some of them."""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

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
    summary = {}
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        assert module.__doc__ is not None
        print(f"\n== {name}: {module.__doc__.strip().splitlines()[0]}")
        started = time.perf_counter()
        result = module.run()
        result["wall_seconds"] = round(time.perf_counter() - started, 2)
        summary[name] = result
        for key, value in result.items():
            print(f"   {key}: {value}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"bench-{stamp}.json").write_text(
        json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"
    )
    print(f"\nresults written to {RESULTS / f'bench-{stamp}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
