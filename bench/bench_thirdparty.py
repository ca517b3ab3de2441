"""Data entry into a third-party site (Django admin, in French): `robo run` with fill_form vs plain Playwright.

Both enter the same records (accents, a select, a checkbox, a date, a multi-line comment) into one Django admin
site, emptied between variants, each leaving exactly the records, each once. The workflow is written as the docs
tell a user (labels as read, straight apostrophe, no colon); the plain script uses the page's exact labels.
Reported: records per second of each and their ratio; ROBO_BENCH_ROUNDS rounds (2) interleaved, each keeping its
best time, and the load average at the start and end of each run.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.table import interleaved, load_average, row

ROOT = Path(__file__).resolve().parents[1]
RECORDS = int(os.environ.get("ROBO_BENCH_THIRDPARTY_RECORDS", "100"))
ROUNDS = int(os.environ.get("ROBO_BENCH_ROUNDS", "2"))

WORKFLOW = """
name: Banc de saisie Django
inputs:
  fichier: {type: file}
  site: {type: string}
secrets: [identifiant, mot_de_passe]
steps:
  - data.read_csv: {path: "{{ inputs.fichier }}"}
    save: demandes
  - for_each: "{{ demandes }}"
    as: d
    key: d["Référence externe"]
    on_error: fail
    setup:
      - browser.open: {url: "{{ inputs.site }}/admin/login/"}
      - browser.fill: {label: "Nom d'utilisateur", value: "{{ secrets.identifiant }}"}
      - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
      - browser.click: {role: "button:Connexion"}
    steps:
      - browser.goto: {url: "{{ inputs.site }}/admin/dossiers/dossier/add/"}
      - browser.fill_form: {fields: "{{ d }}", submit: Enregistrer, error_when: {css: .errornote}}
"""


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def run() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.thirdparty.sites import FACES, PASSWORD, USERNAME, Site

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data = work / "demandes.csv"
        with data.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(
                [
                    "Référence externe",
                    "Demandeur",
                    "Nom d'usage",
                    "Service",
                    "Urgent",
                    "Date de dépôt",
                    "Commentaire",
                ]
            )
            for number in range(RECORDS):
                writer.writerow(
                    [
                        f"BANC-{number:04d}",
                        ["Élodie Bénard", "François Lœb", "Anaïs Çelik"][number % 3],
                        ["D'Artagnan", "", "Müller-Noël"][number % 3],
                        ["État civil", "Urbanisme", "Action sociale"][number % 3],
                        "Oui" if number % 2 else "Non",
                        f"{1 + number % 28:02d}/03/2026",
                        f"Pièce reçue : à vérifier.\nRappeler l’usager n° {number}.",
                    ]
                )
        site = Site(FACES[("django", "fr")], work / "site")
        site.start()
        try:
            env = {
                **os.environ,
                "ROBO_SECRET_IDENTIFIANT": USERNAME,
                "ROBO_SECRET_MOT_DE_PASSE": PASSWORD,
                "PYTHONPATH": str(ROOT),
            }
            workflow = work / "banc.yaml"
            workflow.write_text(WORKFLOW, encoding="utf-8")
            variants = {
                "plain_playwright": [
                    sys.executable, str(ROOT / "bench" / "plain_playwright_thirdparty.py"),
                    site.url, str(data), USERNAME, PASSWORD,
                ],
                "robo_fill_form": [
                    sys.executable, "-m", "runner.cli", "run", str(workflow), "--logs", str(work / "logs"),
                    "-i", f"fichier={data}", "-i", f"site={site.url}",
                ],
            }  # fmt: skip
            database = work / "site" / "site.sqlite3"
            times: dict[str, list[float]] = {name: [] for name in variants}
            loads: list[float] = []
            for name in interleaved(list(variants), ROUNDS):
                with sqlite3.connect(database) as connection:
                    connection.execute("DELETE FROM dossiers_dossier")
                loads.append(load_average())
                times[name].append(round(_timed(variants[name], env), 2))
                loads.append(load_average())
                with sqlite3.connect(database) as connection:
                    stored = connection.execute(
                        "SELECT COUNT(*), COUNT(DISTINCT reference) FROM dossiers_dossier"
                    ).fetchone()
                if tuple(stored) != (RECORDS, RECORDS):
                    raise RuntimeError(
                        f"{name}: expected {RECORDS} distinct records, the site holds {stored}"
                    )
                print(f"   … {name}: {times[name][-1]:.2f} s, load {loads[-2]}→{loads[-1]}", flush=True)
        finally:
            site.stop()
    results: dict[str, Any] = {"records": RECORDS, "site": "Django admin, French"}
    for name, seconds in times.items():
        results[name] = {
            "seconds": min(seconds),
            "all_seconds": seconds,
            "records_per_second": round(RECORDS / min(seconds), 2),
        }
    results["fill_form_vs_plain"] = round(
        results["robo_fill_form"]["records_per_second"] / results["plain_playwright"]["records_per_second"], 3
    )
    results["load_average"] = loads
    # No goal in issue #20 for a third-party site: shown next to the intranet's fill_form / plain.
    results["table"] = [
        row("thirdparty: fill_form / plain (Django admin)", results["fill_form_vs_plain"], "×", load=loads)
    ]
    return results
