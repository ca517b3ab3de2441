"""Safe file operations the robots share: atomic writes, moves and copies, digests, missing input files.

Nothing here overwrites a file by accident: a new file is written beside its destination under a hidden
temporary name and then given its final name in one step (`os.replace` when replacing is wanted, `os.link`
otherwise, which fails if the name is taken). Moves stay atomic on one filesystem; across filesystems a file is
copied, its sha256 checked, and only then is the source removed.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Literal

from robots.kit.errors import ApplicationError, BusinessError, ConfigurationError
from robots.kit.i18n import _
from robots.kit.locks import one_writer

OnConflict = Literal["fail", "skip", "rename", "overwrite", "skip_identical"]
"""When a name is taken: fail, skip, rename ("name (2).ext"), overwrite (the old file to the trash), or
skip_identical: nothing to do when it or a "name (N).ext" has the same bytes, else as rename."""
Placement = Literal["moved", "copied", "skipped", "identical", "unchanged"]
TRASH_FOLDER = ".robo-trash"


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes (`hashlib.file_digest`, which reads them in blocks)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def lock_file(path: Path) -> Path | None:
    """The owner file that Excel, Word or LibreOffice keeps beside a document they have open, if any."""
    names = [f"~${path.name}", f"~${path.name[2:]}", f".~lock.{path.name}#"]
    for name in dict.fromkeys(names):
        candidate = path.with_name(name)
        if len(name) > 2 and candidate.is_file():
            return candidate
    return None


def check_not_open(path: Path) -> None:
    """Raise an `ApplicationError` (worth retrying) when another program has `path` open for editing."""
    owner = lock_file(path)
    if owner is not None:
        raise ApplicationError(
            _("{name} is open in another program (lock file {lock} beside it): {path}").format(
                name=path.name, lock=owner.name, path=path
            ),
            hint=_(
                "close the file in Excel or LibreOffice, then run again; if nobody has it open, "
                "delete the leftover lock file {lock}"
            ).format(lock=owner),
        )


def numbered_name(target: Path, taken: Callable[[Path], bool]) -> Path:
    """`name (2).ext`, `name (3).ext`, … : the first name beside `target` that is not taken."""
    counter = 2
    while True:
        candidate = target.with_name(f"{target.stem} ({counter}){target.suffix}")
        if not taken(candidate):
            return candidate
        counter += 1


def identical_file(target: Path, digest: str, size: int) -> Path | None:
    """`target` or a numbered version "name (N).ext" beside it holding these bytes (`size`, sha256 `digest`).

    Numbered versions are looked at in order until three numbers in a row are free (a few may have been removed).
    """
    counter, free = 1, 0
    while free < 3:
        candidate = target if counter == 1 else target.with_name(f"{target.stem} ({counter}){target.suffix}")
        counter += 1
        try:
            found = candidate.stat().st_size == size and file_digest(candidate) == digest
        except OSError:  # not there, or a folder
            free += 1
            continue
        free = 0
        if found:
            return candidate
    return None


def trash_path(path: Path, trash: Path | None = None) -> Path:
    """Where `path` goes when it is deleted: `<trash or its folder/.robo-trash>/<today>/<name>`, numbered."""
    folder = (trash or path.parent / TRASH_FOLDER) / dt.date.today().isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    return numbered_name(target, Path.exists) if target.exists() else target


class Transfer:
    """Moves and copies files without ever overwriting one silently; reports each change to `log`."""

    def __init__(self, log: Callable[[str], None], robot: str = "files", run_id: str | None = None) -> None:
        self.log = log
        self.robot = robot
        self.run_id = run_id

    def destination(
        self, source: Path | None, target: Path, on_conflict: OnConflict, reserved: set[Path] | None = None
    ) -> Path | None:
        """The name `source` (None for a file still to be written) will take at `target`, or None to skip it.

        `reserved` holds names that files of the same batch will take, counted as clashes too.
        """
        reserved = reserved or set()

        def taken(candidate: Path) -> bool:
            return candidate.exists() or candidate in reserved

        if not taken(target) or (source is not None and target.exists() and _same_file(source, target)):
            return target
        if on_conflict == "skip":
            return None
        if on_conflict in ("rename", "skip_identical"):  # the caller has looked for an identical file first
            return numbered_name(target, taken)
        if on_conflict == "overwrite":
            if target.is_dir():
                raise BusinessError(
                    _("{robot}: cannot overwrite {path}: it is a folder").format(
                        robot=self.robot, path=target
                    ),
                    hint=_("choose another destination"),
                )
            return target
        raise BusinessError(
            _("{robot}: {path} already exists").format(robot=self.robot, path=target),
            hint=_(
                "nothing was changed; choose what to do with `on_conflict: rename` (keeps both, "
                "'name (2).ext'), `skip` or `overwrite` (the file already there goes to the trash)"
            ),
        )

    def move(self, source: Path, target: Path, on_conflict: OnConflict = "fail") -> Path | None:
        """Move a file; returns its new path, or None when skipped; with `skip_identical`, see `place_file`."""
        return self.place_file(source, target, on_conflict, keep_source=False)[0]

    def copy(self, source: Path, target: Path, on_conflict: OnConflict = "fail") -> Path | None:
        """Copy a file (bytes checked by sha256); returns the copy's path, or None when skipped."""
        return self.place_file(source, target, on_conflict, keep_source=True)[0]

    def place_file(
        self, source: Path, target: Path, on_conflict: OnConflict, *, keep_source: bool
    ) -> tuple[Path | None, Placement]:
        """Move or copy a file; returns where it is now (None when skipped) and what was done.

        With `skip_identical`, when the same bytes are already at `target` or a numbered version of it, that
        file is returned as "identical"; a moved source then goes to the trash beside it (moving changes nothing).
        """
        with one_writer(target, self.run_id, self.robot):  # runs placing files under one name take turns
            if on_conflict == "skip_identical":
                info = source.stat()
                same = identical_file(target, file_digest(source), info.st_size)
                if same is not None and not _same_file(source, same):
                    self._already_there(source, same, keep_source=keep_source)
                    return same, "identical"
            final = self._transfer_locked(source, target, on_conflict, keep_source=keep_source, trashed=False)
        if final is None:
            return None, "skipped"
        if _same_file(source, final):
            if keep_source or source.resolve() == final.resolve():
                return final, "unchanged"
            source.unlink()  # a move cut short between its link and its unlink: finish it
            self.log(
                _("{robot}: moved {source} → {target}").format(robot=self.robot, source=source, target=final)
            )
        return final, "copied" if keep_source else "moved"

    def _already_there(self, source: Path, same: Path, *, keep_source: bool) -> None:
        digest = file_digest(same)
        self.log(
            _("{robot}: {source} is already filed as {target} (same bytes, sha256 {digest})").format(
                robot=self.robot, source=source, target=same, digest=digest
            )
        )
        if not keep_source:  # a move would change nothing but emptying the source's folder: to the trash
            self.trash(source)

    def trash(self, path: Path, trash: Path | None = None) -> Path:
        """Move a file to the trash folder; returns where it is now."""
        target = trash_path(path, trash)
        moved = self._transfer(path, target, "rename", keep_source=False, trashed=True)
        assert moved is not None
        return moved

    def _transfer(
        self, source: Path, target: Path, on_conflict: OnConflict, *, keep_source: bool, trashed: bool = False
    ) -> Path | None:
        with one_writer(target, self.run_id, self.robot):  # runs placing files under one name take turns
            return self._transfer_locked(
                source, target, on_conflict, keep_source=keep_source, trashed=trashed
            )

    def _transfer_locked(
        self, source: Path, target: Path, on_conflict: OnConflict, *, keep_source: bool, trashed: bool
    ) -> Path | None:
        digest = file_digest(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        for _attempt in range(100):  # another process may take the name between our check and our link
            final = self.destination(source, target, on_conflict)
            if final is None:
                self.log(
                    _("{robot}: skipped {source} ({target} exists), sha256 {digest}").format(
                        robot=self.robot, source=source, target=target, digest=digest
                    )
                )
                return None
            if final.exists() and _same_file(source, final):
                return final
            replaced = None
            if final.exists():  # on_conflict: overwrite, never silently: the old file goes to the trash
                replaced = self.trash(final)
            try:
                if keep_source:
                    self._copy_verified(source, final, digest)
                else:
                    self._move_no_clobber(source, final, digest)
            except FileExistsError:
                if on_conflict == "overwrite" or replaced is not None:
                    raise
                continue
            if trashed:
                line = _("{robot}: deleted (to the trash) {source} → {target}, sha256 {digest}")
            elif keep_source:
                line = _("{robot}: copied {source} → {target}, sha256 {digest}")
            else:
                line = _("{robot}: moved {source} → {target}, sha256 {digest}")
            line = line.format(robot=self.robot, source=source, target=final, digest=digest)
            if replaced:
                line += _(" (the previous {name} went to {path})").format(name=final.name, path=replaced)
            self.log(line)
            return final
        raise ApplicationError(
            _("{robot}: could not find a free name for {path}").format(robot=self.robot, path=target)
        )

    def _move_no_clobber(self, source: Path, target: Path, digest: str) -> None:
        try:
            os.link(source, target)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                self._copy_verified(source, target, digest)
                source.unlink()
                return
            if target.exists():  # a filesystem without hard links: check, then rename
                raise FileExistsError(str(target)) from None
            try:
                os.rename(source, target)
            except OSError as again:
                if again.errno != errno.EXDEV:
                    raise
                self._copy_verified(source, target, digest)
                source.unlink()
            return
        source.unlink()

    def _copy_verified(self, source: Path, target: Path, digest: str) -> None:
        temporary = temporary_sibling(target, self.run_id)
        try:
            shutil.copy2(source, temporary)
            copied = file_digest(temporary)
            if copied != digest:
                raise ApplicationError(
                    _(
                        "{robot}: the copy of {path} differs from the original (sha256 {copied} ≠ {digest})"
                    ).format(robot=self.robot, path=source, copied=copied, digest=digest),
                    hint=_("the disk or network share may be failing; the original was left in place"),
                )
            _fsync(temporary)
            place(temporary, target)
        finally:
            with suppress(FileNotFoundError):
                temporary.unlink()


def place(temporary: Path, target: Path) -> None:
    """Give a finished temporary file its final name, failing with `FileExistsError` if the name is taken."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:
        if target.exists():
            raise FileExistsError(str(target)) from None
        os.rename(temporary, target)
        return
    temporary.unlink()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def missing_file(path: Path, what: str | None = None) -> ConfigurationError:
    """The error for a file a step needs and that is not there; `what` names it, translated ("file" by default)."""
    hint = _("check the path; a relative path starts from the workflow's folder")
    if path.is_dir():
        hint = _("this is a folder, not a file")
    elif path.parent.is_dir():
        siblings = sorted(p.name for p in path.parent.iterdir() if p.suffix.lower() == path.suffix.lower())
        import difflib

        close = difflib.get_close_matches(path.name, siblings, n=1)
        if close:
            hint = _("did you mean {name}?").format(name=repr(close[0]))
    return ConfigurationError(
        _("{what} not found: {path}").format(what=what or _("file"), path=path), hint=hint
    )


TEMPORARY_SUFFIX = ".part"


def temporary_path(path: Path, run_id: str | None = None) -> Path:
    """A hidden name beside `path` for a file being written (not created here): `.NAME.RUN.TOKEN.part`.

    The run's id in the name lets the run remove what a crash left behind when it is resumed or ends, and only
    its own: another run's write in progress beside it is left alone.
    """
    import secrets

    tag = f".{run_id}" if run_id else ""
    return path.with_name(f".{path.name}{tag}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")


def remove_leftovers(run_id: str, folders: Iterable[Path]) -> list[Path]:
    """Remove the temporary files of run `run_id` left in these folders or their direct subfolders."""
    import glob

    if not run_id:
        return []
    pattern = f".*.{glob.escape(run_id)}.*{TEMPORARY_SUFFIX}"
    removed = []
    for folder in folders:
        try:
            candidates = [*folder.glob(pattern), *folder.glob(f"*/{pattern}")]
        except OSError:
            continue
        for candidate in candidates:
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:
                continue
    return removed


def temporary_sibling(path: Path, run_id: str | None = None) -> Path:
    """A hidden name beside `path` that nothing uses, carrying the run's id (the file is not created)."""
    while True:
        candidate = temporary_path(path, run_id)
        if not candidate.exists():
            return candidate


@contextmanager
def atomic_path(path: Path, *, private: bool = False, run_id: str | None = None) -> Iterator[Path]:
    """A temporary file beside `path` to write; once the block ends without error, synced, it replaces `path`.

    The file gets the permissions of any file the process creates (0666 less the umask: 0644 under umask 022),
    so that the accounts meant to read a run's outputs can; `private` keeps it to its owner (0600), e.g. a
    browser session's cookies. A library that writes the file with other permissions is corrected before the
    file takes its name. On any error the temporary file is removed and `path` is left exactly as it was. The
    temporary file's name carries `run_id`, so that a run resumed after a crash removes its own leftovers.
    """
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = temporary_sibling(path, run_id)
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
            break
        except FileExistsError:
            continue
    try:
        wanted = os.fstat(fd).st_mode & 0o777  # what the umask gave: no need to change the process's umask
        os.close(fd)
        yield temporary
        with temporary.open("rb") as written:
            if os.fstat(written.fileno()).st_mode & 0o777 != wanted:
                os.chmod(temporary, wanted)
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_file(
    path: Path, mode: str = "wb", *, run_id: str | None = None, **open_args: Any
) -> Iterator[IO[Any]]:
    """`atomic_path` with the temporary file opened in `mode` (e.g. "w" with an encoding) for writing."""
    with atomic_path(path, run_id=run_id) as temporary, temporary.open(mode, **open_args) as handle:
        yield handle


def create_private_file(path: Path, text: str) -> bool:
    """Create `path` holding `text`, readable by its owner only (0600), unless it exists: whole or not at all.

    Several processes creating the same file at once (two first runs, two consoles starting) all end with one
    whole file, the first one's: the text is written and synced in a private temporary file, then linked in place,
    which fails when the file exists (a file system without hard links: created in place, never replaced).
    Whether this call created it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError:
            try:
                exclusive = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return False
            with os.fdopen(exclusive, "w", encoding="utf-8") as handle:
                handle.write(text)
        return True
    finally:
        temporary.unlink(missing_ok=True)
