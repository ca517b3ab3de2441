"""What every robot shares: files written whole, with the permissions of the process's umask."""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from robots.browser import redact_zip
from robots.kit import atomic_file, atomic_path


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestAtomicWrites:
    def test_a_file_gets_the_umask_permissions(self, tmp_path: Path, umask_027: None) -> None:
        with atomic_file(tmp_path / "rapport.html", "w", encoding="utf-8") as handle:
            handle.write("<p>ok</p>")
        assert mode(tmp_path / "rapport.html") == 0o640
        assert [p.name for p in tmp_path.iterdir()] == ["rapport.html"]

    def test_permissions_a_library_changed_are_set_back(self, tmp_path: Path, umask_027: None) -> None:
        with atomic_path(tmp_path / "classeur.xlsx") as temporary:
            temporary.write_bytes(b"PK")
            os.chmod(temporary, 0o600)  # as a library writing its own temporary file would
        assert mode(tmp_path / "classeur.xlsx") == 0o640

    def test_a_private_file_stays_its_owners(self, tmp_path: Path, umask_027: None) -> None:
        with atomic_path(tmp_path / "session.json", private=True) as temporary:
            temporary.write_text("{}", encoding="utf-8")
        assert mode(tmp_path / "session.json") == 0o600

    def test_a_failure_leaves_the_old_file_and_no_leftover(self, tmp_path: Path) -> None:
        target = tmp_path / "sortie.csv"
        target.write_text("ancien", encoding="utf-8")
        with pytest.raises(RuntimeError), atomic_file(target, "w", encoding="utf-8") as handle:
            handle.write("nouveau")
            raise RuntimeError("interrompu")
        assert target.read_text(encoding="utf-8") == "ancien"
        assert [p.name for p in tmp_path.iterdir()] == ["sortie.csv"]

    def test_a_redacted_trace_keeps_the_umask_permissions(self, tmp_path: Path, umask_027: None) -> None:
        trace = tmp_path / "trace.zip"
        with zipfile.ZipFile(trace, "w") as bundle:
            bundle.writestr("trace.trace", "mot de passe: s3cret")
        redact_zip(trace, lambda text: text.replace("s3cret", "***"))
        assert mode(trace) == 0o640
        with zipfile.ZipFile(trace) as bundle:
            assert bundle.read("trace.trace") == b"mot de passe: ***"
