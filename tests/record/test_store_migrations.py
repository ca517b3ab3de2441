"""The run store's and the schedule service's tables are Alembic's: `upgrade head` makes what the code uses, and a
database made before Alembic is taken over with its rows."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import IntegrityError, OperationalError

from runner.events import ItemFinished, ItemStarted, RunFinished, RunStarted
from runner.record import RunStore, RunStoreSink
from runner.record.races import is_race, retry_on_race
from runner.record.store_database import STORE_MIGRATIONS
from runner.record.upgrade import Migrations, taking_turns
from runner.schedule import ScheduleDatabase
from runner.schedule.database import MIGRATIONS as SCHEDULE_MIGRATIONS
from tests.waiting import wait_until

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[2]
BOTH = [STORE_MIGRATIONS, SCHEDULE_MIGRATIONS]


def make_store_before_alembic(url: str) -> None:
    """A database as Rob'O made it before Alembic: its DDL and rows, dumped from that code (see the script's head)."""
    engine = create_engine(url)
    script = (DATA / f"store_before_alembic.{engine.dialect.name}.sql").read_text(encoding="utf-8")
    lines = [line for line in script.splitlines() if not line.startswith("--")]
    with engine.begin() as connection:
        for statement in "\n".join(lines).split(";\n"):
            if statement.strip():
                connection.exec_driver_sql(statement)
    engine.dispose()


def differences(url: str, migrations: Migrations) -> list[object]:
    """What Alembic finds different between the database's tables of these migrations and the code's."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_name": migrations.owns})
            return list(compare_metadata(context, migrations.metadata))
    finally:
        engine.dispose()


def versions(url: str) -> list[str | None]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [migrations.current(connection) for migrations in BOTH]
    finally:
        engine.dispose()


def open_both(url: str) -> None:
    ScheduleDatabase(url).close()  # opens the run store's engine first: both upgrades


def migrate_one_by_one(url: str) -> None:
    """Both owners' tables made by running every migration from the first, as an old database is upgraded."""
    engine = create_engine(url)
    try:
        for migrations in BOTH:
            with taking_turns(engine) as connection:
                command.upgrade(migrations.config(connection), "head")
    finally:
        engine.dispose()


def described(url: str) -> dict[str, object]:
    """Every table of the database as the database describes it: columns (types in its own dialect), keys and their
    names, indexes, unique, check and foreign key constraints."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)

            def described_table(table: str) -> dict[str, object]:
                key = inspector.get_pk_constraint(table)
                return {
                    "columns": sorted(
                        (
                            c["name"],
                            c["type"].compile(dialect=engine.dialect),
                            c["nullable"],
                            str(c.get("default")),
                        )
                        for c in inspector.get_columns(table)
                    ),
                    "primary key": (key["name"], key["constrained_columns"]),
                    "indexes": sorted(
                        (
                            i["name"],
                            tuple(i["column_names"]),
                            bool(i["unique"]),
                            str(i.get("dialect_options")),
                        )
                        for i in inspector.get_indexes(table)
                    ),
                    "unique": sorted(
                        (u["name"] or "", tuple(u["column_names"]))
                        for u in inspector.get_unique_constraints(table)
                    ),
                    "checks": sorted(
                        (c["name"] or "", c["sqltext"]) for c in inspector.get_check_constraints(table)
                    ),
                    "foreign keys": sorted(
                        (
                            f["name"] or "",
                            tuple(f["constrained_columns"]),
                            f["referred_table"],
                            tuple(f["referred_columns"]),
                            str(f.get("options")),
                        )
                        for f in inspector.get_foreign_keys(table)
                    ),
                }

            return {table: described_table(table) for table in sorted(inspector.get_table_names())}
    finally:
        engine.dispose()


@pytest.mark.parametrize("made", ["new", "by every migration", "before alembic"])
def test_upgrade_head_gives_the_tables_the_code_uses(store_url: str, made: str) -> None:
    if made == "before alembic":
        make_store_before_alembic(store_url)
    elif made == "by every migration":
        migrate_one_by_one(store_url)
    open_both(store_url)
    assert versions(store_url) == [migrations.newest() for migrations in BOTH] == ["0007", "0001"]
    assert differences(store_url, STORE_MIGRATIONS) == []
    assert differences(store_url, SCHEDULE_MIGRATIONS) == []


def test_a_new_database_made_at_once_is_the_one_every_migration_makes(
    store_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A new database gets the code's tables at once, stamped with the newest revision, without Alembic's ~0.3 s:
    the very tables, keys and indexes the migrations make one after the other, which later migrations start from."""
    if store_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = server.create_database()
        request.addfinalizer(lambda: server.drop_database(name))
        other = server.url(name)
    open_both(store_url)
    migrate_one_by_one(other)
    # at the newest revision: opening adds only what lies beside the migrations (APScheduler's table)
    open_both(other)
    assert versions(store_url) == versions(other) == ["0007", "0001"]
    assert described(store_url) == described(other)
    if store_url.startswith("sqlite"):
        new = f"sqlite:///{tmp_path / 'new.db'}"
        script = (
            f"import sys; from runner.record import RunStore; RunStore({other!r}).close(); RunStore({new!r}).close(); "
            "print('alembic' in sys.modules)"
        )
        loaded = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
        )
        # neither a new database nor one at the newest revision loads Alembic; the new one is at the newest
        assert loaded.stdout.strip() == "False"
        assert versions(new) == ["0007", None]


def test_the_comparison_sees_a_table_the_migrations_lack(store_url: str) -> None:
    open_both(store_url)
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_steps_run")
    engine.dispose()
    assert [difference[0] for difference in differences(store_url, STORE_MIGRATIONS)] == [  # type: ignore[index]
        "add_index"
    ]


def test_a_store_made_before_alembic_keeps_its_rows_and_records_new_runs(store_url: str) -> None:
    make_store_before_alembic(store_url)
    store = RunStore(store_url)
    try:
        old = store.get_run("r-old")
        assert old is not None
        assert (old.workflow, old.status, old.started_at, old.inputs, old.last_hash, old.items) == (
            "Saisie",
            "succeeded",
            "2026-11-02T08:00:00.000+00:00",
            {"n": [1, "é"]},
            "a" * 64,
            {"done": 1},
        )
        assert [(s["step"], s["item"], s["finished_at"]) for s in store.run_steps("r-old")] == [
            ("s1", "A-1", "2026-11-02T08:00:02.000+00:00")
        ]
        assert [(i["key"], i["status"], i["outcome"]) for i in store.run_items("r-old")] == [
            ("A-1", "done", {"ok": True})
        ]

        sink = RunStoreSink(store, Path("run"), lambda: "f" * 64)
        sink.handle(RunStarted(run_id="r-new", workflow="Saisie", workflow_file="w.yaml", inputs={}))
        sink.handle(ItemStarted(run_id="r-new", loop="rows", key="A-1", index=0))
        sink.handle(
            ItemFinished(run_id="r-new", loop="rows", key="A-1", index=0, status="done", duration=0.1)
        )
        sink.handle(RunFinished(run_id="r-new", status="succeeded", duration=1.0, counts={"items_done": 1}))
        assert [run.id for run in store.list_runs(workflow="Saisie")] == ["r-new", "r-old"]
        assert [i["status"] for i in store.run_items("r-new")] == ["done"]
    finally:
        store.close()

    schedules = ScheduleDatabase(store_url)
    try:
        assert schedules.paused() == {"saisie/soir"}
        assert [(f["job_id"], f["status"], f["run_id"]) for f in schedules.fires()] == [
            ("saisie/matin", "succeeded", "r-old")
        ]
        claim = schedules.claim_fire(
            "saisie/matin", "2026-11-03T07:00:00.000000Z", kind="cron", owner="svc-2", ttl=60
        )
        assert claim.outcome == "run" and claim.fire_id == 2
    finally:
        schedules.close()
    assert versions(store_url) == ["0007", "0001"]


def test_many_openers_of_a_new_schedule_database_at_the_same_moment_all_succeed(store_url: str) -> None:
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_together() -> None:
        start.wait()
        try:
            open_both(store_url)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_together) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert versions(store_url) == ["0007", "0001"]


def locked_database(tmp_path: Path) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    """Two connections to one SQLite file, the first holding its write lock, the second not waiting for it."""
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder, sqlite3.connect(path, timeout=0, isolation_level=None)


@pytest.mark.parametrize("migrations", BOTH, ids=["store", "schedule"])
def test_the_migrations_are_numbered_in_one_line(migrations: Migrations) -> None:
    script = ScriptDirectory.from_config(migrations.config())
    folder = Path(script.versions)
    numbered = sorted(path.name for path in folder.glob("*.py") if path.name != "__init__.py")
    revisions = {Path(revision.path).name: revision for revision in script.walk_revisions()}
    assert sorted(revisions) == numbered
    for number, name in enumerate(numbered, start=1):
        revision = revisions[name]
        assert revision.revision == name[:4] == f"{number:04d}"
        assert revision.down_revision == (f"{number - 1:04d}" if number > 1 else None)
    assert script.get_current_head() == migrations.newest()


def test_the_races_retried_are_a_locked_database_and_a_table_that_already_exists(tmp_path: Path) -> None:
    holder, waiter = locked_database(tmp_path)
    with pytest.raises(sqlite3.OperationalError) as locked:
        waiter.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    holder.execute("COMMIT")
    engine = create_engine(f"sqlite:///{tmp_path / 'locked.db'}")
    with pytest.raises(OperationalError) as exists, engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with pytest.raises(OperationalError) as missing, engine.connect() as connection:
        connection.exec_driver_sql("SELECT * FROM nowhere")
    with pytest.raises(IntegrityError) as duplicate, engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (1), (1)")
    engine.dispose()

    assert is_race(locked.value) and is_race(exists.value)
    assert not is_race(missing.value) and not is_race(duplicate.value)
    assert not is_race(ValueError("database is locked"))


def test_a_lost_race_is_tried_again_and_any_other_error_is_raised_at_once(tmp_path: Path) -> None:
    holder, waiter = locked_database(tmp_path)
    attempts: list[int] = []

    def begin() -> str:
        attempts.append(len(attempts) + 1)
        if len(attempts) == 3:
            holder.execute("COMMIT")  # the other process is done
        waiter.execute("BEGIN IMMEDIATE")
        return "ours"

    assert retry_on_race(begin) == "ours"
    assert attempts == [1, 2, 3]

    def missing_table() -> None:
        attempts.append(0)
        waiter.execute("SELECT * FROM nowhere")

    attempts.clear()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_on_race(missing_table)
    assert attempts == [0]


def test_a_race_lost_for_longer_than_the_patience_is_raised(tmp_path: Path) -> None:
    _holder, waiter = locked_database(tmp_path)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        retry_on_race(lambda: waiter.execute("BEGIN IMMEDIATE"), patience=0.2)


def test_moments_are_compared_as_moments_and_read_in_utc(store_url: str) -> None:
    store = RunStore(store_url)
    try:
        for run_id, at in [
            ("r-paris", "2026-11-02T09:30:00.000+02:00"),
            ("r-utc", "2026-11-02T08:00:00.000+00:00"),
        ]:
            store.record_run_started(
                RunStarted(run_id=run_id, workflow="Saisie", workflow_file="w.yaml", inputs={}, at=at),
                Path("r"),
            )
        runs = store.list_runs()
        assert [(run.id, run.started_at) for run in runs] == [
            ("r-utc", "2026-11-02T08:00:00.000+00:00"),
            ("r-paris", "2026-11-02T07:30:00.000+00:00"),
        ]
        assert [run.id for run in store.list_runs(since="2026-11-02T07:45:00+00:00")] == ["r-utc"]
    finally:
        store.close()


OPENER = """
import sys, time
from pathlib import Path
from runner.schedule.database import ScheduleDatabase
ready, gate, url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
ready.touch()
while not gate.exists():
    time.sleep(0.005)
ScheduleDatabase(url).close()
"""


def test_processes_opening_a_new_database_at_the_same_moment_all_succeed(
    store_url: str, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    ready = [tmp_path / f"ready-{number}" for number in range(3)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(path), str(gate), store_url],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in ready
    ]
    try:
        wait_until(lambda: all(path.exists() for path in ready))
        gate.touch()
        outcomes = [(process.wait(timeout=120), process.communicate()[1]) for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert outcomes == [(0, "")] * 3
    assert versions(store_url) == ["0007", "0001"]


def test_the_store_goes_back_to_the_baseline_and_up_again_with_its_moments(store_url: str) -> None:
    make_store_before_alembic(store_url)
    RunStore(store_url).close()
    engine = create_engine(store_url)
    try:
        with taking_turns(engine) as connection:
            command.downgrade(STORE_MIGRATIONS.config(connection), "0001")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT started_at FROM runs").scalar() == (
                "2026-11-02T08:00:00.000+00:00"
            )
            assert "attempts" in {column["name"] for column in inspect(connection).get_columns("items")}
    finally:
        engine.dispose()
    store = RunStore(store_url)
    try:
        old = store.get_run("r-old")
        assert old is not None and (old.started_at, old.finished_at) == (
            "2026-11-02T08:00:00.000+00:00",
            "2026-11-02T08:00:03.500+00:00",
        )
    finally:
        store.close()
    assert differences(store_url, STORE_MIGRATIONS) == []
