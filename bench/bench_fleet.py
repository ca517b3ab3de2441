"""Fleet: records per second entered by 1, 2 and 4 real `robo worker` processes, and by the same run without a fleet.

The shipped `workflows/saisie_dossiers.yaml` enters `ROBO_BENCH_FLEET_RECORDS` (60) records into the mock intranet
(a process of its own), its loop shared out with `distribute: true` to 1, 2 or 4 `robo worker` processes (one lane
per worker), on a throwaway PostgreSQL server started as the tests start theirs (tests/postgres.py); "local" is the
original workflow run by `robo run` alone, one lane, on the same PostgreSQL. Each measurement gets an empty intranet
and a new database, and must leave every record entered exactly once. The four variants run in turns,
`ROBO_BENCH_FLEET_ROUNDS` times (2), every other round in the reverse order, after one local run not counted (a
warm-up); each keeps its best time. Reported: the records per second of the whole run (`robo run`'s wall time,
from its start to its end, the workers already started) and of the loop alone (its first item's start to its last
item's end, from the run store), the ratios 2 workers / 1, 4 workers / 1 and fleet of 1 / local, the items each
worker did (in the last round), and the machine's 1-minute load average at the start and the end of each measurement.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.bench_browser import ROOT, TOKEN_HEADER, reset, serving_intranet
from bench.table import Row, interleaved, load_average, row

RECORDS = int(os.environ.get("ROBO_BENCH_FLEET_RECORDS", "60"))
ROUNDS = int(os.environ.get("ROBO_BENCH_FLEET_ROUNDS", "2"))
WORKER_COUNTS = (1, 2, 4)
VARIANTS = ["local", *(f"fleet_{count}_workers" for count in WORKER_COUNTS)]
WARM_UP = "warm_up"  # the local run once first, not counted


def entered_once(url: str, expected: list[str]) -> None:
    """Every expected record in the intranet, each once: a run that did not is no figure."""
    response = httpx.get(f"{url}/api/test/dossiers", headers=TOKEN_HEADER, timeout=30)
    response.raise_for_status()
    stored = sorted(case["reference_externe"] for case in response.json()["dossiers"])
    if stored != sorted(expected):
        raise RuntimeError(f"{len(stored)} records ({len(set(stored))} distinct) instead of {len(expected)}")


def loop_figures(store_url: str) -> dict[str, Any]:
    """The loop's span (first item started to last item ended) and the items each worker did, from the store."""
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            first, last, count = connection.execute(
                text("SELECT min(started_at), max(finished_at), count(*) FROM items WHERE status = 'done'")
            ).one()
            by_worker: dict[Any, Any] = dict(
                connection.execute(
                    text("SELECT coalesce(worker, '-'), count(*) FROM items GROUP BY worker ORDER BY worker")
                ).all()
            )
    finally:
        engine.dispose()
    return {
        "done": int(count),
        "loop_seconds": (last - first).total_seconds(),
        "items_by_worker": {str(name): int(n) for name, n in by_worker.items()},
    }


def best_of(
    results: dict[str, Any], name: str, seconds: float, figures: dict[str, Any], load: list[float]
) -> None:
    previous = results.get(name)
    times = [*previous["all_seconds"], round(seconds, 2)] if previous else [round(seconds, 2)]
    loops = (
        [*previous["all_loop_seconds"], round(figures["loop_seconds"], 2)]
        if previous
        else [round(figures["loop_seconds"], 2)]
    )
    loads = [*previous["load_average"], load] if previous else [load]
    results[name] = {
        "seconds": min(times),
        "all_seconds": times,
        "records_per_second": round(RECORDS / min(times), 2),
        "loop_seconds": min(loops),
        "all_loop_seconds": loops,
        "loop_records_per_second": round(RECORDS / min(loops), 2),
        "items_by_worker": figures["items_by_worker"],
        "load_average": loads,
    }


def ratios(results: dict[str, Any], key: str) -> dict[str, float]:
    def rate(name: str) -> float:
        return float(results[name][key])

    one = rate("fleet_1_workers")
    return {
        "2_workers_vs_1": round(rate("fleet_2_workers") / one, 2),
        "4_workers_vs_1": round(rate("fleet_4_workers") / one, 2),
        "fleet_1_worker_vs_local": round(one / rate("local"), 2),
    }


def table(results: dict[str, Any]) -> list[Row]:
    """The speed-ups of the loop (no goal in issue #20: shown for the record)."""
    loop = results["speed_up_loop"]

    def load(*names: str) -> list[float]:
        return [value for name in names for pair in results[name]["load_average"] for value in pair]

    return [
        row("fleet: 2 workers / 1 (loop)", loop["2_workers_vs_1"], "×", load=load("fleet_1_workers", "fleet_2_workers")),
        row("fleet: 4 workers / 1 (loop)", loop["4_workers_vs_1"], "×", load=load("fleet_1_workers", "fleet_4_workers")),
        row("fleet: fleet of 1 / local (loop)", loop["fleet_1_worker_vs_local"], "×", load=load("local", "fleet_1_workers")),
    ]  # fmt: skip


def all_alive(workers: Any, count: int) -> bool:
    return bool(workers.alive() == count)


def run() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from runner.fleet import upgrade_databases
    from tests.e2e.conftest import SECRETS
    from tests.fleet.test_distributed_loop import Workers, distributed_workflow
    from tests.mock_intranet.sample_data import generate_cases, write_xlsx
    from tests.postgres import running_server
    from tests.waiting import wait_until

    with tempfile.TemporaryDirectory() as folder, running_server() as server:
        if server is None:
            raise RuntimeError("PostgreSQL is not installed here: run 'make sysdeps' (Debian's postgresql)")
        work = Path(folder)
        cases = generate_cases(RECORDS, seed=18)
        references = [case.reference_externe for case in cases]
        source = write_xlsx(cases, work / "demandes.xlsx")
        workflows = {
            "local": ROOT / "workflows" / "saisie_dossiers.yaml",
            "fleet": distributed_workflow(work),
        }
        env = {**os.environ, **SECRETS, "PYTHONPATH": str(ROOT), "ROBO_LANG": "en"}
        results: dict[str, Any] = {"records": RECORDS, "cpus": os.cpu_count(), "rounds": ROUNDS}
        with serving_intranet(work / "intranet") as intranet:
            # A first run, not counted, warms what the first measured one would otherwise pay for alone (the
            # disk cache of Chromium and of Python's modules): it measured twice as slow as the same run later.
            for turn, name in enumerate([WARM_UP, *interleaved(VARIANTS, ROUNDS)]):
                reset(intranet)
                database = server.create_database()
                store_url = server.url(database)
                upgrade_databases(store_url)
                count = int(name.split("_")[1]) if name.startswith("fleet_") else 0
                place = work / f"{turn}-{name}"
                place.mkdir()
                workers = Workers(store_url, place)
                try:
                    for number in range(count):
                        workers.start(f"bot-{number}")
                    wait_until(partial(all_alive, workers, count), timeout=180)
                    command = [
                        sys.executable, "-m", "runner.cli", "run",
                        str(workflows["fleet" if count else "local"]),
                        "--logs", str(place / "logs"), "--store", store_url,
                        "-i", f"fichier={source}", "-i", f"intranet={intranet}", "-i", f"voies={max(count, 1)}",
                    ]  # fmt: skip
                    load_before = load_average()
                    started = time.perf_counter()
                    done = subprocess.run(
                        command, cwd=place, env=env, capture_output=True, text=True, timeout=1800, check=False
                    )
                    seconds = time.perf_counter() - started
                    load = [load_before, load_average()]
                    if done.returncode != 0:
                        logs = "".join(workers.log(n)[-1500:] for n in workers.processes)
                        raise RuntimeError(f"{name}: robo run failed:\n{done.stderr[-3000:]}\n{logs}")
                    entered_once(intranet, references)
                    figures = loop_figures(store_url)
                    if figures["done"] != RECORDS:
                        raise RuntimeError(f"{name}: {figures['done']} items done instead of {RECORDS}")
                finally:
                    workers.stop()
                    server.drop_database(database)
                if name != WARM_UP:
                    best_of(results, name, seconds, figures, load)
                print(
                    f"   … {name}: {seconds:.2f} s (loop {figures['loop_seconds']:.2f} s, load {load[0]}→{load[1]})",
                    flush=True,
                )
        results["speed_up_whole_run"] = ratios(results, "records_per_second")
        results["speed_up_loop"] = ratios(results, "loop_records_per_second")
        results["table"] = table(results)
        results["note"] = (
            f"{os.cpu_count()} CPUs: each worker drives its own Chromium; past one worker per core the workers "
            "share the cores, so the speed-up stops growing (and the intranet and PostgreSQL run here too)"
        )
        return results
