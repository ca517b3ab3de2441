"""Files of the logs folder: served from inside it only, with a content type that never runs in the page."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.console import artifact_path, content_type
from runner.record import RunStore, default_store_url, runs
from runner.run import RunOutcome
from tests.console.conftest import Filled, TestClient, add_users, console_app, log_in

TRAVERSALS = [
    "../secret.txt",
    "../../etc/passwd",
    "..%2fsecret.txt",
    "..%2Fsecret.txt",
    "%2e%2e/secret.txt",
    "%2e%2e%2fsecret.txt",
    "%252e%252e%252fsecret.txt",
    "..%252fsecret.txt",
    "run/../../secret.txt",
    "run/%2e%2e/%2e%2e/secret.txt",
    "..\\secret.txt",
    "..%5csecret.txt",
    "%2fetc%2fpasswd",
    "%2F%2Fetc/passwd",
    "/etc/passwd",
    "C:%5cWindows%5cwin.ini",
    "run/report.html%00.png",
    ".%2e/secret.txt",
    "%c0%ae%c0%ae/secret.txt",
    "link-out/secret.txt",
    "link-file.txt",
    ".hidden",
    "run",
    "",
    "....//secret.txt",
    "run/..%2f..%2fsecret.txt",
]
# Files inside the logs folder but no run's: the run store (users' password hashes), the operators' log, others.
NOT_A_RUNS_FILE = ["robo.db", "operators/audit.jsonl", "notes.txt"]


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Filled]:
    """A console over an empty store (the files are what is tested; the pages over real runs are elsewhere)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    with RunStore(default_store_url(logs)) as store:
        with TestClient(console_app(store, logs, add_users(store)), follow_redirects=False) as client:
            assert log_in(client, "valerie").status_code == 303
            yield Filled(client, store, logs, RunOutcome("succeeded"), RunOutcome("succeeded"))


@pytest.fixture
def tree(bare: Filled) -> Filled:
    filled = bare
    outside = filled.logs.parent / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret", encoding="utf-8")
    (filled.logs.parent / "secret.txt").write_text("secret", encoding="utf-8")
    run = filled.logs / "run"
    run.mkdir()
    with (
        filled.store.engine.begin() as connection
    ):  # the folder is a run's: the console serves runs' files only
        connection.execute(
            runs.insert().values(
                id="r-files",
                workflow="Fichiers",
                workflow_file="fichiers.yaml",
                status="succeeded",
                started_at=dt.datetime.now(dt.UTC),
                run_dir=str(run.resolve()),
            )
        )
    (filled.logs / "operators").mkdir(exist_ok=True)  # the operators' log is made at the first login
    (filled.logs / "operators" / "audit.jsonl").write_text("{}\n", encoding="utf-8")
    (filled.logs / "notes.txt").write_text("not a run's", encoding="utf-8")
    (run / "report.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (run / "page.html").write_text("<script>alert(1)</script>", encoding="utf-8")
    (run / "image.svg").write_text("<svg onload='alert(1)'/>", encoding="utf-8")
    (filled.logs / ".hidden").write_text("x", encoding="utf-8")
    os.symlink(outside, filled.logs / "link-out")
    os.symlink(outside / "secret.txt", filled.logs / "link-file.txt")
    return filled


@pytest.mark.parametrize("attempt", TRAVERSALS)
def test_a_path_leading_out_of_the_logs_folder_is_refused(tree: Filled, attempt: str) -> None:
    answer = tree.client.get("/artifacts/" + attempt)
    assert answer.status_code in (403, 404), attempt
    assert "secret" not in answer.text
    assert "alert" not in answer.text


def test_there_are_more_than_twenty_attempts() -> None:
    assert len(set(TRAVERSALS)) >= 20


def test_the_checker_refuses_what_a_router_might_pass_decoded(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "secret.txt").write_text("s", encoding="utf-8")
    logs = tmp_path / "logs"
    for attempt in (
        "../secret.txt",
        "/etc/passwd",
        "a\\..\\..\\secret.txt",
        "x\x00.png",
        "%2e%2e/secret.txt",
        "..",
        ".",
    ):
        assert artifact_path(logs, attempt) is None, attempt


@pytest.mark.parametrize("name", NOT_A_RUNS_FILE)
def test_a_file_of_the_logs_folder_outside_every_run_folder_is_refused(tree: Filled, name: str) -> None:
    assert (tree.logs / name).is_file()
    answer = tree.client.get("/artifacts/" + name)
    assert answer.status_code == 404, name


def test_a_file_inside_is_served_with_its_type(tree: Filled) -> None:
    image = tree.client.get("/artifacts/run/report.png")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["page.html", "image.svg"])
def test_a_file_a_browser_would_run_is_only_downloaded(tree: Filled, name: str) -> None:
    answer = tree.client.get(f"/artifacts/run/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-disposition"].startswith("attachment")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert content_type(Path("x.PNG")) == ("image/png", False)
