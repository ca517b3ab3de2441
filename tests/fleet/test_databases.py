"""`robo db upgrade`: the tables of the run store, of the schedule service and of the fleet's jobs (Procrastinate),
made on a new database, brought up to date on an old one, from several machines at once; never a password from a
project file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import procrastinate
import pytest
from sqlalchemy import create_engine, inspect, text

from robots.kit import ConfigurationError
from runner.fleet import installed_version, libpq_url, upgrade_databases, upgrade_job_schema
from runner.fleet.job_schema import ALL_STEPS, _migrations_between, _sql_text
from runner.record import STORE_MIGRATIONS
from runner.run import load_project
from runner.schedule import SCHEDULE_MIGRATIONS

ROOT = Path(__file__).parents[2]


def robo(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def job_can_be_deferred_once(url: str) -> None:
    """The job tables work: a job is deferred, and a second one under the same queueing lock is refused."""
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=libpq_url(url)))

    @app.task(name="saisie", queue="browser", queueing_lock="run-1")
    def saisie() -> None: ...

    with app.open():
        assert saisie.defer() > 0
        with pytest.raises(procrastinate.exceptions.AlreadyEnqueued):
            saisie.defer()


class TestUpgrade:
    def test_a_new_postgresql_database_gets_all_three_and_a_second_upgrade_changes_nothing(
        self, postgres_url: str
    ) -> None:
        first = robo("db", "upgrade", "--store", postgres_url, "--format", "json")
        assert first.returncode == 0, first.stderr
        parts = json.loads(first.stdout)["parts"]
        version = installed_version()
        assert [(p["before"], p["after"]) for p in parts] == [
            (None, STORE_MIGRATIONS.newest()),
            (None, SCHEDULE_MIGRATIONS.newest()),
            (None, version),
        ]
        again = robo("db", "upgrade", "--store", postgres_url)
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("up to date") == 3, again.stdout
        assert f"fleet's jobs (Procrastinate): up to date (version {version})" in again.stdout
        job_can_be_deferred_once(postgres_url)

    def test_a_sqlite_store_gets_no_job_tables(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'robo.db'}"
        parts = upgrade_databases(url)
        assert [part.after for part in parts] == [STORE_MIGRATIONS.newest(), SCHEDULE_MIGRATIONS.newest()]
        with pytest.raises(ConfigurationError, match="need a PostgreSQL run store, not sqlite"):
            upgrade_job_schema(create_engine(url))

    def test_machines_upgrading_a_new_database_at_once_all_succeed(self, postgres_url: str) -> None:
        start = threading.Barrier(4)
        errors: list[BaseException] = []

        def upgrade() -> None:
            start.wait()
            try:
                upgrade_databases(postgres_url)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=upgrade) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        job_can_be_deferred_once(postgres_url)

    def test_an_unreachable_database_is_said_without_its_password(self) -> None:
        result = robo("db", "upgrade", "--store", "postgresql+psycopg://robo:s3cr3t@127.0.0.1:9/nowhere")
        assert result.returncode == 1
        assert "s3cr3t" not in result.stderr + result.stdout
        assert "cannot open the run store postgresql+psycopg://robo:***@127.0.0.1:9/nowhere" in result.stderr
        assert "Traceback" not in result.stderr


class TestProcrastinateVersions:
    def test_tables_of_an_older_procrastinate_are_brought_to_the_installed_one_file_by_file(
        self, postgres_url: str
    ) -> None:
        engine = create_engine(postgres_url)
        try:
            with engine.begin() as connection:
                connection.connection.cursor().execute(_sql_text("migrations/00.00.00_01_initial.sql"))
                connection.execute(
                    text("CREATE TABLE robo_job_schema (version VARCHAR(32) NOT NULL, step INTEGER NOT NULL)")
                )
                connection.execute(text("INSERT INTO robo_job_schema VALUES ('0.0.0', 1)"))
            upgraded = upgrade_job_schema(engine)
        finally:
            engine.dispose()
        assert upgraded.before == "0.0.0" and upgraded.after == installed_version()
        assert len(upgraded.applied) > 30 and upgraded.applied[0].startswith("migrations/00.05.00_01")
        job_can_be_deferred_once(postgres_url)

    def test_pre_migrations_come_before_post_migrations_of_one_version(self) -> None:
        files = _migrations_between((3, 0, 0, ALL_STEPS), (3, 2, 0))
        assert files == [
            "migrations/03.01.00_01_pre_add_heartbeat.sql",
            "migrations/03.01.00_50_post_add_heartbeat.sql",
            "migrations/03.02.00_01_pre_batch_defer_jobs.sql",
            "migrations/03.02.00_50_post_batch_defer_jobs.sql",
        ]
        # An upgrade stopped after a version's first file starts again with its second.
        assert (
            _migrations_between((3, 1, 0, 1), (3, 2, 0))[0] == "migrations/03.01.00_50_post_add_heartbeat.sql"
        )

    def test_tables_of_a_newer_procrastinate_are_refused(self, postgres_url: str) -> None:
        engine = create_engine(postgres_url)
        try:
            upgrade_job_schema(engine)
            with engine.begin() as connection:
                connection.execute(text("UPDATE robo_job_schema SET version = '99.0.0'"))
            with pytest.raises(ConfigurationError, match=r"made by Procrastinate 99\.0\.0, newer than the"):
                upgrade_job_schema(engine)
        finally:
            engine.dispose()

    def test_tables_made_outside_rob_o_are_not_touched(self, postgres_url: str) -> None:
        engine = create_engine(postgres_url)
        try:
            upgrade_job_schema(engine)
            with engine.begin() as connection:
                connection.execute(text("DROP TABLE robo_job_schema"))
            with pytest.raises(ConfigurationError, match="made outside Rob'O") as refused:
                upgrade_job_schema(engine)
            assert "INSERT INTO robo_job_schema VALUES" in (refused.value.hint or "")
            with engine.connect() as connection:
                assert not inspect(connection).has_table("robo_job_schema")
        finally:
            engine.dispose()


class TestCredentials:
    def test_a_project_file_holding_the_store_password_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "robo.toml").write_text(
            'logs = "traitements"\nstore = "postgresql+psycopg://robo:motdepasse@db/robo"\n', encoding="utf-8"
        )
        with pytest.raises(
            ConfigurationError, match=r"robo.toml:2: the store's URL holds a password"
        ) as refused:
            load_project(tmp_path)
        assert "motdepasse" not in str(refused.value) + (refused.value.hint or "")
        assert "PGPASSWORD" in (refused.value.hint or "")

    def test_a_project_file_naming_the_store_without_password_is_read(self, tmp_path: Path) -> None:
        (tmp_path / "robo.toml").write_text('store = "postgresql+psycopg://robo@db/robo"\n', encoding="utf-8")
        assert load_project(tmp_path).store == "postgresql+psycopg://robo@db/robo"

    def test_robo_db_upgrade_says_so_for_a_project_file_with_a_password(self, tmp_path: Path) -> None:
        (tmp_path / "robo.toml").write_text('store = "postgresql://robo:x@db/robo"\n', encoding="utf-8")
        env = dict.fromkeys(("ROBO_STORE_URL",), "")
        result = robo("db", "upgrade", "--project", str(tmp_path), env=env)
        assert result.returncode == 1
        assert "the store's URL holds a password" in result.stderr
        assert "Traceback" not in result.stderr
