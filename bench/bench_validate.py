"""`robo validate` on a 200-step workflow: time, and its ratio to parsing the YAML alone."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from runner.loader import load_workflow_file
from runner.validate import validate_file

STEPS = 200


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
    return {
        "steps": STEPS,
        "yaml_parse_s": round(parse, 4),
        "validate_s": round(full, 4),
        "validate_over_parse": round(full / parse, 2),
        "target": "well under 1 s",
    }
