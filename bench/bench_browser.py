"""Data entry into the mock intranet: `robo run` against a plain Playwright script and two peers, in one run.

Every variant runs as its own process against one mock intranet (its own process too), emptied before each run;
a run counts only if the intranet then holds each record exactly once. The compared variants run interleaved
(A B C…, then …C B A), `ROBO_BENCH_ROUNDS` rounds (2) of `ROBO_BENCH_RECORDS` records (200); each keeps its best
time and its lowest CPU (user + system of its whole process tree, Chromium included, sampled with psutil):

- the plain Playwright script (bench/plain_playwright_entry.py), field by field, the reference;
- `robo run` field by field with the default settings (light pages when headless, a new tab every 50 items), and
  with each knob turned off (`browser: {light: false}`, `browser: {recycle_every: 0}`: a knob the workflows do not
  know yet is skipped with the reason);
- `robo run` with `fill_form`, one lane and two (`parallel: 2`), and its limit: a hand-written script that fills
  this one form in one script per record (bench/plain_playwright_whole_form.py), checking nothing;
- the peers (bench/peers.py): Robot Framework with robotframework-browser and with SeleniumLibrary.

Then memory: one `robo run` with the default settings over `ROBO_BENCH_MEMORY_RECORDS` records (1 000), with
`fill_form` (the pages, not the way fields are filled, are what the browser keeps), Chromium's PSS sampled and
given per 100 items to show whether it stays flat, and the robo process's own PSS.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import peers
from bench.measure import Measurement, measure, windows
from bench.plain_playwright_entry import TEXT_FIELDS
from bench.table import Row, interleaved, row, skipped

ROOT = Path(__file__).resolve().parents[1]
RECORDS = int(os.environ.get("ROBO_BENCH_RECORDS", "200"))
ROUNDS = int(os.environ.get("ROBO_BENCH_ROUNDS", "2"))
MEMORY_RECORDS = int(os.environ.get("ROBO_BENCH_MEMORY_RECORDS", "1000"))
WINDOW = 100  # items per memory window
TOKEN_HEADER = {"X-Test-Token": "robo-test-token"}

HEADER = """
name: Banc de saisie
inputs:
  fichier: {type: file}
  intranet: {type: string}
  voies: {type: integer, default: 1}
secrets: [identifiant, mot_de_passe]
%(browser)ssteps:
  - data.read_csv: {path: "{{ inputs.fichier }}"}
    save: demandes
  - for_each: "{{ demandes }}"
    as: d
    key: d["Référence externe"]
    parallel: "{{ inputs.voies }}"
    on_error: fail
    setup:
      - browser.open: {url: "{{ inputs.intranet }}/connexion"}
      - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
      - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
      - browser.click: {role: "button:Se connecter"}
    steps:
      - browser.goto: {url: "{{ inputs.intranet }}/dossiers/nouveau"}
"""
FIELD_BY_FIELD = (
    HEADER
    + "".join(
        f"      - browser.fill: {{label: \"{label}\", value: \"{{{{ d['{label}'] or '' }}}}\", exact: true}}\n"
        for label in TEXT_FIELDS
    )
    + """      - browser.select: {label: Type de demande, option: "{{ d['Type de demande'] }}"}
      - browser.choose: {option: "{{ d['Priorité'] }}"}
      - browser.check: {label: Pièces justificatives fournies}
        when: d['Pièces justificatives fournies'] == 'Oui'
      - browser.click: {role: "button:Enregistrer"}
      - browser.read_text: {css: "#numero-dossier"}
"""
)
WHOLE_FORM = (
    HEADER
    + """      - browser.fill_form: {fields: "{{ d }}", submit: Enregistrer}
      - browser.read_text: {css: "#numero-dossier"}
"""
)
PLAIN = "plain_playwright"
WHOLE_FORM_LIMIT = "plain_playwright_whole_form"
SCRIPTS = {PLAIN: "plain_playwright_entry.py", WHOLE_FORM_LIMIT: "plain_playwright_whole_form.py"}
DEFAULT = "robo_field_by_field"
# Rob'O's variants: (workflow, lanes, browser settings; None = the defaults: no `browser:` key at all).
ROBO_VARIANTS: dict[str, tuple[str, int, str | None]] = {
    DEFAULT: (FIELD_BY_FIELD, 1, None),
    "robo_light_off": (FIELD_BY_FIELD, 1, "{light: false}"),
    "robo_recycle_0": (FIELD_BY_FIELD, 1, "{recycle_every: 0}"),
    "robo_fill_form": (WHOLE_FORM, 1, None),
    "robo_fill_form_2_lanes": (WHOLE_FORM, 2, None),
}


def check_store(url: str, expected: int) -> None:
    """Each of the `expected` records in the intranet exactly once: a run that did not is no figure."""
    cases = httpx.get(f"{url}/api/test/dossiers", headers=TOKEN_HEADER, timeout=60).json()["dossiers"]
    references = [case["reference_externe"] for case in cases]
    if len(references) != expected or len(set(references)) != expected:
        raise RuntimeError(
            f"expected {expected} distinct records, the intranet holds {len(references)} "
            f"({len(set(references))} distinct)"
        )


@contextlib.contextmanager
def serving_intranet(data_dir: Path) -> Iterator[str]:
    """The mock intranet in a process of its own, its data in `data_dir`; its address."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.mock_intranet", "serve", "--json", "--data", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield str(json.loads(server.stdout.readline())["url"])
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def reset(url: str) -> None:
    httpx.post(f"{url}/api/test/reset", headers=TOKEN_HEADER, timeout=30).raise_for_status()


def stored_count(database: Path) -> Callable[[], int]:
    """How many records the intranet holds, read from its database (cheap enough to sample every 0.25 s)."""

    def count() -> int:
        try:
            with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)) as db:
                return int(db.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0])
        except sqlite3.Error:
            return 0

    return count


def robo_command(workflow: Path, work: Path, data: Path, url: str, lanes: int) -> list[str]:
    return [
        sys.executable, "-m", "runner.cli", "run", str(workflow), "--logs", str(work / "logs"),
        "-i", f"fichier={data}", "-i", f"intranet={url}", "-i", f"voies={lanes}",
    ]  # fmt: skip


def invalid_reason(workflow: Path, env: dict[str, str]) -> str | None:
    """Why `robo validate` refuses the workflow (a setting not on this branch yet), or None when it is valid."""
    done = subprocess.run(
        [sys.executable, "-m", "runner.cli", "validate", str(workflow)],
        cwd=ROOT,
        env={**env, "ROBO_LANG": "en"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode == 0:
        return None
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return (lines[0] if lines else f"robo validate exited with {done.returncode}")[:300]


def summary(runs: list[Measurement], records: int) -> dict[str, Any]:
    best = min(run.seconds for run in runs)
    return {
        "seconds": round(best, 2),
        "all_seconds": [round(run.seconds, 2) for run in runs],
        "records_per_second": round(records / best, 3),
        "cpu_ms_per_record": round(min(run.cpu_seconds for run in runs) / records * 1000, 1),
        "all_cpu_seconds": [round(run.cpu_seconds, 1) for run in runs],
        "peak_browser_mb": max(run.peak_browser_mb for run in runs),
        "peak_root_process_mb": max(run.peak_root_mb for run in runs),
        "peak_process_tree_mb": max(run.peak_tree_mb for run in runs),
        "load_average": [[run.load_start, run.load_end] for run in runs],
        "cpu_stolen": [run.stolen for run in runs],
    }


def loads(results: dict[str, Any], *names: str) -> list[float]:
    return [value for name in names for pair in results[name]["load_average"] for value in pair]


def ratio_row(
    results: dict[str, Any],
    figure: str,
    top: str,
    bottom: str,
    goal: Any = None,
    key: str = "records_per_second",
) -> Row:
    """`top`'s figure over `bottom`'s, or a skipped row when either did not run."""
    for name in (top, bottom):
        if "skipped" in results.get(name, {}):
            return skipped(figure, "×", goal, f"{name}: {results[name]['skipped']}")
    measured = results[top][key] / results[bottom][key]
    return row(figure, measured, "×", goal, load=loads(results, top, bottom))


def table(results: dict[str, Any]) -> list[Row]:
    rows = [
        row(
            f"browser: plain Playwright, {RECORDS} records",
            results[PLAIN]["records_per_second"],
            "rec/s",
            load=loads(results, PLAIN),
        ),
        row(
            "browser: robo field by field (defaults)",
            results[DEFAULT]["records_per_second"],
            "rec/s",
            load=loads(results, DEFAULT),
        ),
        ratio_row(results, "browser: field by field (defaults) / plain", DEFAULT, PLAIN, (">=", 1.0)),
    ]
    cpu = ratio_row(
        results, "browser: CPU per record robo / plain", DEFAULT, PLAIN, ("<=", 1.1), "cpu_ms_per_record"
    )
    rows += [
        cpu,
        ratio_row(results, "browser: fill_form / plain", "robo_fill_form", PLAIN, (">=", 1.8)),
        ratio_row(results, "browser: its limit, hand-written whole form / plain", WHOLE_FORM_LIMIT, PLAIN),
        ratio_row(results, "browser: fill_form / hand-written whole form", "robo_fill_form", WHOLE_FORM_LIMIT),
        ratio_row(results, "browser: parallel 2 / 1 lane (fill_form)", "robo_fill_form_2_lanes", "robo_fill_form", (">=", 1.3)),
        ratio_row(results, "knob light: on (default) / off, speed", DEFAULT, "robo_light_off"),
        ratio_row(results, "knob light: on / off, CPU per record", DEFAULT, "robo_light_off", key="cpu_ms_per_record"),
        ratio_row(results, "knob recycle_every: default / 0, speed", DEFAULT, "robo_recycle_0"),
        ratio_row(results, "knob recycle_every: default / 0, Chromium peak PSS", DEFAULT, "robo_recycle_0", key="peak_browser_mb"),
    ]  # fmt: skip
    for peer, goal in ((peers.ROBOTFRAMEWORK_BROWSER, 2.0), (peers.SELENIUM_LIBRARY, 3.0)):
        rows.append(
            ratio_row(results, f"peers: field by field / {peer.title}", DEFAULT, peer.name, (">=", goal))
        )
    memory = results["memory"]
    if "skipped" in memory:
        for figure, unit, goal in MEMORY_FIGURES:
            rows.append(skipped(figure, unit, goal, memory["skipped"]))
        return rows
    load = memory["load_average"]
    per_window = memory["chromium_pss_mb_per_100_items"]
    values = (max(per_window), per_window[-1] / per_window[0], memory["robo_process_peak_mb"])
    for (figure, unit, goal), value in zip(MEMORY_FIGURES, values, strict=True):
        rows.append(row(figure, value, unit, goal, load=load))
    return rows


MEMORY_FIGURES: list[tuple[str, str, Any]] = [
    (f"memory: Chromium PSS, highest of {WINDOW}-item windows", "MB", ("<=", 600)),
    ("memory: Chromium PSS, last window / first (flat)", "×", ("<=", 1.1)),
    ("memory: robo process peak PSS", "MB", ("<=", 200)),
]


def memory_run(work: Path, url: str, env: dict[str, str]) -> dict[str, Any]:
    """The default settings over MEMORY_RECORDS records, Chromium's PSS per window of 100 items."""
    from tests.mock_intranet.sample_data import generate_cases, write_csv

    data = write_csv(generate_cases(MEMORY_RECORDS, seed=12), work / "memoire.csv")
    workflow = work / "memoire.yaml"
    workflow.write_text(WHOLE_FORM % {"browser": ""}, encoding="utf-8")
    reset(url)
    print(f"   … memory: {MEMORY_RECORDS} records, default settings, fill_form", flush=True)
    run = measure(
        robo_command(workflow, work, data, url, 1),
        env,
        ROOT,
        progress=stored_count(work / "intranet" / "intranet.db"),
    )
    check_store(url, MEMORY_RECORDS)
    per_window = windows(run.samples, WINDOW, MEMORY_RECORDS)
    print(f"   … memory: Chromium PSS per {WINDOW} items (MB): {per_window}", flush=True)
    return {
        "records": MEMORY_RECORDS,
        "seconds": round(run.seconds, 1),
        "chromium_pss_mb_per_100_items": per_window,
        "chromium_peak_mb": run.peak_browser_mb,
        "robo_process_peak_mb": run.peak_root_mb,
        "process_tree_peak_mb": run.peak_tree_mb,
        "load_average": [run.load_start, run.load_end],
    }


def run() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.mock_intranet.sample_data import generate_cases, write_csv

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        cases = generate_cases(RECORDS, seed=11)
        data = write_csv(cases, work / "demandes.csv")
        env = {
            **os.environ,
            **peers.ENVIRONMENT,
            "ROBO_SECRET_IDENTIFIANT": "agent1",
            "ROBO_SECRET_MOT_DE_PASSE": "Motdepasse-1!",
            "PYTHONPATH": str(ROOT),
        }
        results: dict[str, Any] = {"records": RECORDS, "rounds": ROUNDS}
        with serving_intranet(work / "intranet") as url:
            commands = {
                name: [sys.executable, str(ROOT / "bench" / script), url, str(data)]
                for name, script in SCRIPTS.items()
            }
            for name, (text, lanes, settings) in ROBO_VARIANTS.items():
                workflow = work / f"{name}.yaml"
                browser = f"browser: {settings}\n" if settings else ""
                workflow.write_text(text % {"browser": browser}, encoding="utf-8")
                reason = invalid_reason(workflow, env) if settings else None
                if reason:
                    results[name] = {"skipped": f"the workflow does not validate here: {reason}"}
                    print(f"   … {name}: skipped, {results[name]['skipped']}", flush=True)
                    continue
                commands[name] = robo_command(workflow, work, data, url, lanes)
            records = peers.records_file(cases, work / "records.json")
            for peer in peers.PEERS:
                home = peers.install(peer)
                if isinstance(home, str):
                    results[peer.name] = {"skipped": home}
                    print(f"   … {peer.name}: skipped, {home}", flush=True)
                    continue
                commands[peer.name] = peers.command(peer, home, work, url, records)
            runs: dict[str, list[Measurement]] = {name: [] for name in commands}
            for name in interleaved(list(commands), ROUNDS):
                reset(url)
                measured = measure(commands[name], env, ROOT)
                check_store(url, RECORDS)
                runs[name].append(measured)
                print(
                    f"   … {name}: {measured.seconds:.2f} s, CPU {measured.cpu_seconds:.1f} s, "
                    f"Chromium {measured.peak_browser_mb:.0f} MB, load {measured.load_start}→{measured.load_end}, "
                    f"stolen {measured.stolen:.0%}",
                    flush=True,
                )
            results.update({name: summary(done, RECORDS) for name, done in runs.items()})
            results["paired_field_by_field_vs_plain"] = [
                round(plain.seconds / robo.seconds, 3)
                for plain, robo in zip(runs[PLAIN], runs[DEFAULT], strict=True)
            ]
            results["paired_median"] = statistics.median(results["paired_field_by_field_vs_plain"])
            if MEMORY_RECORDS:
                results["memory"] = memory_run(work, url, env)
            else:
                results["memory"] = {"skipped": "ROBO_BENCH_MEMORY_RECORDS=0"}
    results["table"] = table(results)
    return results
