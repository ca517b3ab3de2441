"""What every benchmark shares: the row of the final table, the machine it ran on, and the interleaved schedule.

A benchmark's `run()` returns a dict; its `"table"` key holds `Row`s, one per figure of a goal (or a figure worth
showing without one). `python -m bench` gathers them into one table, printed last and written to the results JSON
with the machine, the load averages and the share of the CPU the hypervisor took.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import psutil

Comparison = Literal[">=", "<="]


class Row(TypedDict):
    """One figure: what was measured, in which unit, the goal it is held to ("" when none) and whether it is met.

    `met` is None when there is no goal or no measure (a skipped variant: `note` says why). `load` is the 1-minute
    load average at the start and the end of the measurements the figure comes from (their lowest and highest).
    """

    figure: str
    measured: float | None
    unit: str
    goal: str
    met: bool | None
    load: NotRequired[list[float]]
    note: NotRequired[str]


def row(
    figure: str,
    measured: float | None,
    unit: str,
    goal: tuple[Comparison, float] | None = None,
    *,
    load: Sequence[float] = (),
    note: str = "",
) -> Row:
    """A row of the table, `met` derived from the goal: ('>=', 1.0) means at least 1.0."""
    met: bool | None = None
    if goal is not None and measured is not None:
        comparison, bound = goal
        met = measured >= bound if comparison == ">=" else measured <= bound
    result = Row(
        figure=figure,
        measured=None if measured is None else round(measured, 3),
        unit=unit,
        goal="" if goal is None else f"{goal[0]} {goal[1]:g}",
        met=met,
    )
    if load:
        result["load"] = [round(min(load), 2), round(max(load), 2)]
    if note:
        result["note"] = note
    return result


def skipped(figure: str, unit: str, goal: tuple[Comparison, float] | None, reason: str) -> Row:
    """The row of a figure that could not be measured here, and why."""
    return row(figure, None, unit, goal, note=f"skipped: {reason}")


def interleaved(names: Sequence[str], rounds: int) -> list[str]:
    """The variants in the order they run: A B C, C B A, A B C… (no variant always runs first, or after another).

    Noise on a shared machine drifts over minutes; running the compared variants in turns, every other round
    reversed, spreads it over all of them instead of favouring the one that ran while the machine was quiet.
    """
    return [name for number in range(rounds) for name in (names if number % 2 == 0 else names[::-1])]


def load_average() -> float:
    """The 1-minute load average now."""
    return round(os.getloadavg()[0], 2)


def cpu_clock() -> tuple[float, float]:
    """The machine's CPU seconds so far, over all its cores: (taken by the hypervisor, in all).

    On a virtual machine, the hypervisor gives the cores to other machines for part of the time ("steal"):
    then the same work takes longer, and its CPU time grows too (caches shared with the neighbours).
    """
    times = psutil.cpu_times()
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)  # counted in `user` already
    return getattr(times, "steal", 0.0), sum(times) - guest


def stolen_share(start: tuple[float, float], end: tuple[float, float]) -> float:
    """The share (0 to 1) of the machine's CPU time the hypervisor took between two `cpu_clock()` readings."""
    elapsed = end[1] - start[1]
    return round(max(0.0, end[0] - start[0]) / elapsed, 3) if elapsed > 0 else 0.0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _browser() -> dict[str, str]:
    """The binary every browser variant launches (the headless shell when installed) and its version: runs before
    and after a change of binary are not compared by mistake."""
    from robots.browser import find_browser

    try:
        path = str(find_browser(headless=True))
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except Exception as error:  # no browser is a fact to record, not a failure of the table
        return {"chromium": f"unavailable ({error})", "browser": "unavailable"}
    return {"chromium": done.stdout.strip() or done.stderr.strip()[-200:], "browser": path}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        **_browser(),
        "chromedriver": shutil.which("chromedriver") or "absent",
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as an aligned text table (a skipped figure shows its reason)."""
    header = ["figure", "measured", "unit", "goal", "met", "load 1 min"]
    lines = []
    for item in rows:
        met = item.get("met")
        load = item.get("load")
        lines.append(
            [
                str(item["figure"]),
                _cell(item.get("measured")),
                str(item.get("unit", "")),
                str(item.get("goal", "")) or "—",
                "—" if met is None else ("yes" if met else "NO"),
                "—" if not load else "–".join(f"{value:g}" for value in load),
            ]
        )
        if item.get("note"):
            lines.append([f"  ({item['note']})", "", "", "", "", ""])
    widths = [max(len(line[column]) for line in [header, *lines]) for column in range(len(header))]
    # A note spans the whole line: it is not counted in the first column's width.
    widths[0] = max(len(line[0]) for line in [header, *lines] if not line[0].startswith("  ("))

    def format_line(line: list[str]) -> str:
        if line[0].startswith("  ("):
            return line[0]
        return "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([format_line(header), rule, *(format_line(line) for line in lines)])
