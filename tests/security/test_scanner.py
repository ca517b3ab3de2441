"""The leak scanner finds a secret in every form and every kind of file a run leaves (else its 0 means nothing)."""

from __future__ import annotations

import html
import json
import sqlite3
import urllib.parse
import zipfile
from pathlib import Path

import pytest

from tests.security.scanner import derived_forms, find_in_text, find_secrets

SECRET = 'Sp&ci"al<Q> é\\z+@/!9'


@pytest.mark.parametrize("form", sorted(derived_forms(SECRET)))
def test_each_form_is_found_in_a_text(form: str) -> None:
    shown = derived_forms(SECRET)[form]
    assert find_in_text("text", f"before {shown} after", [SECRET])


def test_a_secret_spread_in_pieces_is_found() -> None:
    assert find_in_text("log", str(list(SECRET)), [SECRET])[0].form == "spread"
    assert find_in_text("audit", json.dumps(list(SECRET), ensure_ascii=False), [SECRET])[0].form == "spread"
    assert find_in_text("log", "S p & c i", [SECRET]) == []


def test_a_secret_is_found_in_every_kind_of_file_and_in_file_names(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl").write_text(json.dumps({"message": SECRET}) + "\n", encoding="utf-8")
    (tmp_path / "report.html").write_text(f"<td>{html.escape(SECRET.upper())}</td>", encoding="utf-8")
    database = sqlite3.connect(tmp_path / "robo.db")
    database.execute("create table events (payload text)")
    database.execute("insert into events values (?)", (SECRET[::-1],))
    database.commit()
    database.close()
    with zipfile.ZipFile(tmp_path / "trace.zip", "w") as archive:
        archive.writestr("trace.trace", json.dumps({"value": SECRET}, ensure_ascii=False))
        archive.writestr("resources/clean.txt", "nothing here")
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / f"item-{urllib.parse.quote(SECRET, safe='')}.png").write_bytes(b"\x89PNG")

    where = {finding.where.split(":")[0] for finding in find_secrets(tmp_path, [SECRET])}

    assert where == {"audit.jsonl", "report.html", "robo.db#dump", "trace.zip!trace.trace", "name"}


def test_a_clean_folder_has_no_finding(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl").write_text('{"message": "***"}\n', encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "trace.zip", "w") as archive:
        archive.writestr("trace.trace", "***")
    assert find_secrets(tmp_path, [SECRET]) == []
