"""A throwaway PostgreSQL server for the tests: started once per session on 127.0.0.1, a fresh database per test.

It uses the machine's PostgreSQL binaries (Debian's `postgresql`, installed by `make sysdeps`), its own data
folder in a temporary directory and a free port, and it is stopped at the end of the session whatever happened.
PostgreSQL refuses to run as root: under root (CI, containers) the server runs as the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

FOLDER_PREFIX = "robo-pg-"
OWNER_FILE = "owner.pid"  # the pid of the test session that started the server
SERVER_USER = "postgres"  # the system account Debian's package creates; only used when the tests run as root
DATABASE_USER = "robo"


def postgres_bin_dir() -> Path | None:
    """The newest PostgreSQL server's binaries on this machine (`ROBO_PG_BIN` overrides)."""
    if os.environ.get("ROBO_PG_BIN"):
        return Path(os.environ["ROBO_PG_BIN"])
    found = sorted(
        (Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL server in a temporary folder, trusting local connections of the `robo` user."""

    def __init__(self, bin_dir: Path, folder: Path | None = None) -> None:
        self.bin_dir = bin_dir
        self.folder = folder or Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        if folder is None:
            (self.folder / OWNER_FILE).write_text(str(os.getpid()))
        self.port = 0
        self._names = itertools.count(1)
        self._as_server_user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            account = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self._as_server_user = ["runuser", "-u", SERVER_USER, "--"]

    def _tool(self, name: str, *args: str) -> None:
        command = [*self._as_server_user, str(self.bin_dir / name), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}{log}")

    def start(self) -> None:
        self._tool(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            DATABASE_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        for attempt in range(5):  # another process may take the free port between our probe and the server
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.folder} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            try:
                self._tool("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
                return
            except RuntimeError:
                if attempt == 4:
                    raise

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._tool("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{DATABASE_USER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=DATABASE_USER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(statement)

    def create_database(self) -> str:
        """A new empty database (a copy of template1); its name."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def stop_abandoned_servers(bin_dir: Path) -> None:
    """Servers whose test session died without stopping them (killed pytest): stopped and removed now."""
    for owner in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*/{OWNER_FILE}"):
        try:
            os.kill(int(owner.read_text()), 0)
            continue  # its session is still going (another pytest on this machine)
        except ProcessLookupError:
            PostgresServer(bin_dir, owner.parent).stop()
        except (OSError, ValueError):
            continue


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer | None]:
    """A started server, stopped on leaving; None when PostgreSQL is not installed here."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        yield None
        return
    stop_abandoned_servers(bin_dir)
    server = PostgresServer(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
