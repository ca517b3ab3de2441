"""`robo validate` on a 200-step workflow, on 1x, 10x and 100x that many steps, on 10 000 to 40 000 vars, and on
hostile one-line templates.

Reported: the time of a 200-step file and its ratio to parsing the YAML alone; the CPU time per step of the 10x
and 100x files over the 1x file's (linear: about 1; the sizes are `ROBO_BENCH_VALIDATE_SCALES`, "1,10,100" by
default); the ratio of validating 40 000 vars to 10 000 (linear: about 4); the worst CPU time and peak memory
allocated by validating each hostile template.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.table import row
from runner.language import load_workflow_file, validate_file

STEPS = 200
SCALES = tuple(int(scale) for scale in os.environ.get("ROBO_BENCH_VALIDATE_SCALES", "1,10,100").split(","))
LINEAR_GOAL = 1.5  # the largest file's CPU time per step over the smallest's


def workflow_text(steps: int) -> str:
    lines = [
        "name: Gros workflow",
        "inputs:",
        "  fichier: {type: string, default: dossiers.csv}",
        "vars:",
        "  service: RH",
        "steps:",
        '  - data.read_csv: {path: "{{ inputs.fichier }}"}',
        "    save: lignes",
    ]
    for index in range(steps - 3):
        kind = index % 4
        if kind == 0:
            lines += [
                f"  - name: Étape {index}",
                f'    data.set: {{value: "{{{{ vars.service }}}}-{index}"}}',
                f"    save: v{index}",
            ]
        elif kind == 1:
            lines += [f'  - log: "valeur {{{{ v{index - 1} | upper }}}}"', "    when: lignes | length > 0"]
        elif kind == 2:
            lines += [
                '  - data.filter: {records: "{{ lignes }}", where: {service: RH}}',
                f"    save: f{index}",
            ]
        else:
            lines += [f'  - set: {{compteur{index}: "{{{{ f{index - 1} | length }}}}"}}']
    lines += [
        '  - for_each: "{{ lignes }}"',
        "    as: ligne",
        "    steps:",
        "      - log: \"{{ ligne.nom | default('?') }}\"",
        "  - log: fin",
    ]
    return "\n".join(lines) + "\n"


def _median(func: Any, repeats: int = 9) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gros.yaml"
        path.write_text(workflow_text(STEPS), encoding="utf-8")
        first = validate_file(path)
        assert first.ok, [d.message for d in first.diagnostics]
        parse = _median(lambda: load_workflow_file(path))
        full = _median(lambda: validate_file(path))
    scaling = run_scaling()
    bounds = run_bounds()
    smallest, largest = SCALES[0], SCALES[-1]
    ratio = scaling[f"per_step_{largest}x_over_{smallest}x"]
    table = [
        row(f"validate a {STEPS}-step workflow", full, "s", ("<=", 1.0)),
        row(
            f"validation CPU per step, {largest}x steps over {smallest}x",
            ratio,
            "×",
            ("<=", LINEAR_GOAL),
            note="linear in the file's size",
        ),
        row(
            "validate 40 000 vars over 10 000",
            bounds["vars_40000_over_10000"],
            "×",
            ("<=", 6),
            note="linear: about 4",
        ),
    ]
    return {
        "steps": STEPS,
        "yaml_parse_s": round(parse, 4),
        "validate_s": round(full, 4),
        "validate_over_parse": round(full / parse, 2),
        "target": "well under 1 s",
        **scaling,
        **bounds,
        "table": table,
    }


def run_scaling() -> dict[str, Any]:
    """CPU seconds per step of validating STEPS times each of SCALES, and the ratios to the smallest."""
    per_step: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for scale in SCALES:
            path = Path(folder) / f"gros{scale}.yaml"
            path.write_text(workflow_text(STEPS * scale), encoding="utf-8")
            started = time.process_time()
            result = validate_file(path)
            per_step[scale] = (time.process_time() - started) / (STEPS * scale)
            assert result.ok, [d.message for d in result.diagnostics[:3]]
    smallest = SCALES[0]
    results: dict[str, Any] = {f"per_step_{scale}x_ms": round(per_step[scale] * 1000, 4) for scale in SCALES}
    for scale in SCALES[1:]:
        results[f"per_step_{scale}x_over_{smallest}x"] = round(per_step[scale] / per_step[smallest], 2)
    return results


# -- Validation stays linear in the file's size, and cheap on hostile templates ---------------------------------

VARS_SIZES = (10_000, 20_000, 40_000)
HOSTILE = (  # the one-line templates of issue #11 that once cost gigabytes or never ended
    "{{ 'ab' * 400000000 }}",
    "{{ '%999999999d' | format(1) }}",
    "{{ range(10**9) | list }}",
    "{{ 'x' | center(10**9) }}",
    "{{ 'a' * 10**9 }}",
    "{{ [1] * 10**9 }}",
    "{{ 10 ** (10 ** 10) }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
)


def vars_workflow_text(count: int) -> str:
    """A workflow with `count` variables, every other one a template that reads the one before."""
    lines = ["name: Beaucoup de variables", "vars:"]
    for index in range(count):
        if index % 2:
            lines.append(f'  v{index}: "valeur {index} {{{{ vars.v{index - 1} }}}}"')
        else:
            lines.append(f"  v{index}: {index}")
    lines += ["steps:", '  - log: "{{ vars.v1 }}"']
    return "\n".join(lines) + "\n"


def _validated_in_process(path: Path) -> float:
    started = time.perf_counter()
    result = validate_file(path)
    elapsed = time.perf_counter() - started
    assert result.ok, [d.message for d in result.diagnostics[:3]]
    return elapsed


def _validated_hostile(path: Path) -> tuple[float, int]:
    """CPU seconds and peak memory allocated (bytes, by tracemalloc) of validating PATH in this process."""
    tracemalloc.start()
    started = time.process_time()
    try:
        validate_file(path)
        return time.process_time() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_bounds() -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        times = {}
        for count in VARS_SIZES:
            path = Path(folder) / f"vars{count}.yaml"
            path.write_text(vars_workflow_text(count), encoding="utf-8")
            times[count] = _validated_in_process(path)
            results[f"vars_{count}_s"] = round(times[count], 2)
        smallest, largest = VARS_SIZES[0], VARS_SIZES[-1]
        results[f"vars_{largest}_over_{smallest}"] = round(times[largest] / times[smallest], 2)
        results["vars_target"] = f"about {largest // smallest} (linear)"
        worst_cpu, worst_memory = 0.0, 0
        for index, template in enumerate(HOSTILE):
            path = Path(folder) / f"hostile{index}.yaml"
            path.write_text(f"name: Hostile\nsteps:\n  - log: {json.dumps(template)}\n", encoding="utf-8")
            cpu, memory = _validated_hostile(path)
            worst_cpu, worst_memory = max(worst_cpu, cpu), max(worst_memory, memory)
        results["hostile_templates"] = len(HOSTILE)
        results["hostile_worst_cpu_s"] = round(worst_cpu, 2)
        results["hostile_worst_peak_mb"] = round(worst_memory / 2**20, 1)
        results["hostile_target"] = (
            "each at most 1 s and 200 MB (the tests check whole `robo validate` processes)"
        )
    return results
