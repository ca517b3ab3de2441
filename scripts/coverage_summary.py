"""Branch coverage per package, summed from coverage's JSON report (`make test` writes it, then runs this).

A package is the folder of a module (`runner/engine`, `robots/browser`, `runner` for `runner/cli.py`). The percent is
coverage.py's: covered lines and branches over all lines and branches. Usage:

    python scripts/coverage_summary.py [--tests-only] [coverage.json]

`--tests-only` says the report measured the tests' own processes, not the `robo` processes they start (`make test`):
a package those processes run (the command line, the reading workers) shows less than it has, so none is flagged
under the bar there; `make coverage` measures every process and flags them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

TESTS_ONLY = (
    ", in the tests' own processes (`make coverage` measures the robo processes\nthey start too, and flags the "
    "packages under the bar)"
)
NOTE_BELOW = 80.0  # the bar: a package under it needs a note saying why


@dataclass
class Totals:
    statements: int = 0
    covered_lines: int = 0
    branches: int = 0
    covered_branches: int = 0

    def add(self, summary: dict[str, int]) -> None:
        self.statements += summary["num_statements"]
        self.covered_lines += summary["covered_lines"]
        self.branches += summary.get("num_branches", 0)
        self.covered_branches += summary.get("covered_branches", 0)

    @property
    def percent(self) -> float:
        total = self.statements + self.branches
        return 100.0 * (self.covered_lines + self.covered_branches) / total if total else 100.0


def per_package(report: dict[str, dict[str, dict[str, dict[str, int]]]]) -> dict[str, Totals]:
    packages: dict[str, Totals] = {}
    for name, data in report["files"].items():
        package = PurePosixPath(Path(name).as_posix()).parent.as_posix()
        packages.setdefault(package, Totals()).add(data["summary"])
    return dict(sorted(packages.items()))


def table(packages: dict[str, Totals], flag: bool = True) -> list[str]:
    width = max([len("package"), *map(len, packages)])
    lines = [f"{'package':<{width}}  {'lines':>6}  {'branches':>8}  {'cover':>6}", "-" * (width + 26)]
    total = Totals()
    for package, totals in packages.items():
        note = f"  (under {NOTE_BELOW:.0f} %)" if flag and totals.percent < NOTE_BELOW else ""
        lines.append(
            f"{package:<{width}}  {totals.statements:>6}  {totals.branches:>8}  {totals.percent:>5.1f}%{note}"
        )
        for field in ("statements", "covered_lines", "branches", "covered_branches"):
            setattr(total, field, getattr(total, field) + getattr(totals, field))
    lines += [
        "-" * (width + 26),
        f"{'total':<{width}}  {total.statements:>6}  {total.branches:>8}  {total.percent:>5.1f}%",
    ]
    return lines


def main(arguments: list[str]) -> int:
    tests_only = "--tests-only" in arguments
    paths = [argument for argument in arguments if argument != "--tests-only"]
    path = Path(paths[0] if paths else "coverage.json")
    if not path.exists():
        print(f"{path}: no coverage report (run pytest with --cov --cov-report=json:{path})", file=sys.stderr)
        return 1
    print("\nBranch coverage per package" + (TESTS_ONLY if tests_only else ""))
    print("\n".join(table(per_package(json.loads(path.read_text(encoding="utf-8"))), flag=not tests_only)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
