"""The `files` robot: list, file, move, copy, delete, zip and wait for documents, never losing one.

Nothing is overwritten silently: when a destination name is taken, `on_conflict` decides (`fail`, the default,
`skip`, `rename` to "name (2).ext", or `overwrite`, which first moves the file already there to the trash).
Moves are atomic on one filesystem; across filesystems a file is copied, its sha256 checked, and only then is the
source removed. Deleting moves to a `.robo-trash/<date>/` folder unless `permanent: true`. Every file moved,
copied, written or deleted is reported to the run's audit log with its sha256.

The robot class and its actions are here, except zip archives (`archives.py`); filing rules are `rules.py`,
reading a document's text and rendering a destination `text.py`.
"""

from __future__ import annotations

import fnmatch
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from robots.files.archives import ArchiveActions
from robots.files.filing import Filing
from robots.files.rules import MIN_CONFIDENCE, FilingRule, extension_of, file_record, is_hidden
from robots.kit import (
    TRASH_FOLDER,
    ApplicationError,
    BusinessError,
    ConfigurationError,
    ConfinedPath,
    OnConflict,
    Seconds,
    Transfer,
    _,
    action,
    file_digest,
    format_number,
)

Record = dict[str, Any]
Days = Annotated[float, Field(ge=0)]
Size = Annotated[int, Field(ge=0)]
_PARTIAL_SUFFIXES = (".part", ".crdownload", ".tmp", ".download", ".partial")


class Files(ArchiveActions):
    """Work with files and folders: list, file by rules, move, copy, delete to a trash, zip, wait for one."""

    name = "files"

    @property
    def _transfer(self) -> Transfer:
        return Transfer(self.context.log, run_id=self.context.run_id)

    def _folder(self, path: str) -> Path:
        resolved = self.context.resolve_path(path)
        if not resolved.is_dir():
            raise ConfigurationError(
                _("folder not found: {path}").format(path=resolved),
                hint=_("check the path; a relative path starts from the workflow's folder (this is a file)")
                if resolved.is_file()
                else _("check the path; a relative path starts from the workflow's folder"),
            )
        return resolved

    def _target(self, source: Path, target: str) -> Path:
        resolved = self.context.resolve_path(target)
        if target.endswith(("/", "\\")) or resolved.is_dir():
            return resolved / source.name
        return resolved

    @action(name="list")
    def list_files(
        self,
        folder: str = ".",
        pattern: str = "*",
        *,
        recursive: bool = False,
        extensions: list[str] | None = None,
        name: str | None = None,
        min_size: Size | None = None,
        max_size: Size | None = None,
        older_than: Days | None = None,
        newer_than: Days | None = None,
        include_hidden: bool = False,
    ) -> list[Record]:
        """List the files of a folder that match a pattern and filters, sorted by path.

        Hidden files (their name starts with "." or "~$", such as Office lock files) and the trash folder are
        left out unless `include_hidden`.

        Args:
            folder: The folder to look in, relative to the workflow's folder unless absolute.
            pattern: A glob pattern relative to the folder, e.g. "*.pdf" or "2026/**/*.docx".
            recursive: Look in sub-folders too.
            extensions: Keep only these extensions, e.g. [pdf, docx] (case and dot do not matter).
            name: Keep only names matching this pattern, e.g. "FAC-*" (case does not matter).
            min_size: Keep only files of at least this many bytes.
            max_size: Keep only files of at most this many bytes.
            older_than: Keep only files last modified more than this many days ago.
            newer_than: Keep only files last modified less than this many days ago.
            include_hidden: Include hidden files and folders.

        Returns:
            One record per file: path, name, stem, extension (lower case, no dot), size (bytes),
            modified (date and time), folder.
        """
        root = self._folder(folder)
        try:
            found = root.rglob(pattern) if recursive else root.glob(pattern)
            paths = sorted(p for p in found if p.is_file())
        except (NotImplementedError, ValueError) as exc:
            raise ConfigurationError(
                _("files.list: bad pattern {pattern}: {problem}").format(pattern=repr(pattern), problem=exc),
                hint=_("give a pattern relative to the folder"),
            ) from None
        wanted = {extension_of(e) for e in extensions or []}
        now = time.time()
        records = []
        for path in paths:
            if not include_hidden and (is_hidden(path, root) or TRASH_FOLDER in path.relative_to(root).parts):
                continue
            if wanted and extension_of(path.suffix) not in wanted:
                continue
            if name and not fnmatch.fnmatch(path.name.casefold(), name.casefold()):
                continue
            try:
                record = file_record(path)
            except FileNotFoundError:  # moved away since the folder was read (another run filing it)
                continue
            age_days = (now - record["modified"].timestamp()) / 86_400
            if (min_size is not None and record["size"] < min_size) or (
                max_size is not None and record["size"] > max_size
            ):
                continue
            if (older_than is not None and age_days <= older_than) or (
                newer_than is not None and age_days >= newer_than
            ):
                continue
            records.append(record)
        return records

    @action(side_effects=True)
    def move(
        self, source: ConfinedPath, target: ConfinedPath, *, on_conflict: OnConflict = "fail"
    ) -> str | None:
        """Move a file to a new path (folders are created); atomic on one disk, checked copy across disks.

        Args:
            source: The file to move.
            target: Its new path, e.g. "classés/{{ year }}/{{ reference }}-{{ file.name }}"; a target that is
                an existing folder or ends with "/" keeps the file's name.
            on_conflict: When the target exists: fail (default), skip, rename ("name (2).ext"), overwrite
                (the file already there goes to the trash) or skip_identical (nothing to do when the same bytes
                are there as "name.ext" or "name (N).ext", then its path is returned; otherwise as rename).

        Returns:
            The file's new path, or nothing when it was skipped. With skip_identical and the same bytes already
            at the target, the source goes to the trash beside it: moving it would change nothing.
        """
        path = self.context.input_file(source)
        moved = self._transfer.move(path, self._target(path, target), on_conflict)
        return str(moved) if moved else None

    @action(side_effects=True)
    def copy(
        self, source: ConfinedPath, target: ConfinedPath, *, on_conflict: OnConflict = "fail"
    ) -> str | None:
        """Copy a file to a new path (folders are created); the copy's bytes are checked by sha256.

        Args:
            source: The file to copy.
            target: The copy's path; a target that is an existing folder or ends with "/" keeps the name.
            on_conflict: When the target exists: fail (default), skip, rename ("name (2).ext"), overwrite
                (the file already there goes to the trash) or skip_identical (nothing to do when the same bytes
                are there as "name.ext" or "name (N).ext", then its path is returned; otherwise as rename).

        Returns:
            The copy's path, or nothing when it was skipped.
        """
        path = self.context.input_file(source)
        copied = self._transfer.copy(path, self._target(path, target), on_conflict)
        return str(copied) if copied else None

    @action(side_effects=True)
    def rename(self, source: ConfinedPath, new_name: str, *, on_conflict: OnConflict = "fail") -> str | None:
        """Give a file a new name in the same folder.

        Args:
            source: The file to rename.
            new_name: Its new name, e.g. "{{ reference }}.pdf" (no folder: use files.move to change folder).
            on_conflict: When the name is taken: fail (default), skip, rename ("name (2).ext"), overwrite or
                skip_identical (the same bytes already under that name: the file goes to the trash).

        Returns:
            The file's new path, or nothing when it was skipped.
        """
        path = self.context.input_file(source)
        if not new_name.strip() or "/" in new_name or "\\" in new_name or new_name in (".", ".."):
            raise BusinessError(
                _("files.rename: {name} is not a file name").format(name=repr(new_name)),
                hint=_("give a name without folder; use files.move to move a file to another folder"),
            )
        moved = self._transfer.move(path, path.with_name(new_name), on_conflict)
        return str(moved) if moved else None

    @action(side_effects=True, idempotent=True)
    def make_folder(self, path: ConfinedPath) -> str:
        """Create a folder and its parents (nothing happens if it exists).

        Args:
            path: The folder to create.

        Returns:
            The folder's path.
        """
        folder = self.context.resolve_path(path)
        if folder.is_file():
            raise BusinessError(
                _("files.make_folder: {path} is a file").format(path=folder), hint=_("choose another name")
            )
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            self.context.log(_("files: created folder {path}").format(path=folder))
        return str(folder)

    @action(side_effects=True)
    def delete(
        self,
        path: ConfinedPath,
        *,
        trash: ConfinedPath | None = None,
        permanent: bool = False,
        missing_ok: bool = False,
    ) -> str | None:
        """Delete a file by moving it to a trash folder: `.robo-trash/<date>/` beside it, or `trash`.

        Args:
            path: The file to delete.
            trash: The trash folder to use instead of `.robo-trash` beside the file.
            permanent: Really delete the file instead of moving it to the trash.
            missing_ok: Do nothing when the file does not exist, instead of failing.

        Returns:
            Where the file now is in the trash, or nothing when it was deleted permanently or was missing.
        """
        resolved = self.context.resolve_path(path)
        if not resolved.exists() and missing_ok:
            return None
        source = self.context.input_file(path)
        if permanent:
            digest = file_digest(source)
            source.unlink()
            self.context.log(
                _("files: deleted {path} permanently, sha256 {digest}").format(path=source, digest=digest)
            )
            return None
        trash_folder = self.context.resolve_path(trash) if trash else None
        return str(self._transfer.trash(source, trash_folder))

    @action
    def checksum(self, path: str, algorithm: Literal["sha256", "sha512", "sha1", "md5"] = "sha256") -> str:
        """Compute a file's checksum, to prove a document was not changed.

        Args:
            path: The file.
            algorithm: The hash function.

        Returns:
            The checksum in hexadecimal.
        """
        return file_digest(self.context.input_file(path), algorithm)

    @action
    def wait_for_file(
        self,
        folder: str,
        pattern: str = "*",
        *,
        timeout: Seconds = 60,
        stable_for: Annotated[float, Field(ge=0, le=600)] = 1.0,
        interval: Annotated[float, Field(gt=0, le=60)] = 0.2,
        new_only: bool = False,
    ) -> str:
        """Wait until a file matching a pattern is in a folder and its size has stopped changing.

        Partial downloads (.part, .crdownload, .tmp) and hidden files are ignored. The folder is looked at
        every `interval` seconds until `timeout`.

        Args:
            folder: The folder to watch.
            pattern: A file-name pattern, e.g. "export-*.csv".
            timeout: Seconds to wait before failing (an application error, worth retrying).
            stable_for: Seconds the file's size and date must stay the same (it is still being written before).
            interval: Seconds between two looks at the folder.
            new_only: Ignore the files already there when the step starts.

        Returns:
            The path of the file.
        """
        root = self._folder(folder)
        deadline = time.monotonic() + timeout
        before = set(self._candidates(root, pattern)) if new_only else set()
        seen: dict[Path, tuple[tuple[int, int], float]] = {}
        while True:
            now = time.monotonic()
            for path in self._candidates(root, pattern):
                if path in before:
                    continue
                try:
                    info = path.stat()
                except FileNotFoundError:
                    continue
                signature = (info.st_size, info.st_mtime_ns)
                previous = seen.get(path)
                if previous is None or previous[0] != signature:
                    seen[path] = (signature, now)
                if now - seen[path][1] >= stable_for:
                    self.context.log(
                        _("files: {path} arrived, sha256 {digest}").format(
                            path=path, digest=file_digest(path)
                        )
                    )
                    return str(path)
            if now >= deadline:
                raise ApplicationError(
                    _("files.wait_for_file: no file {pattern} arrived in {folder} within {seconds} s").format(
                        pattern=repr(pattern), folder=root, seconds=format_number(timeout)
                    ),
                    hint=_(
                        "the file may come later (raise `timeout`), or under another name (check `pattern`)"
                    ),
                )
            time.sleep(max(0.0, min(interval, deadline - time.monotonic())))

    @staticmethod
    def _candidates(root: Path, pattern: str) -> list[Path]:
        return sorted(
            path
            for path in root.glob(pattern)
            if path.is_file()
            and not path.name.startswith((".", "~$"))
            and not path.name.lower().endswith(_PARTIAL_SUFFIXES)
        )

    @action(side_effects=True, one_of=[("folder", "files")])
    def file_by_rules(
        self,
        rules: list[FilingRule],
        folder: ConfinedPath | None = None,
        *,
        files: list[str | dict[str, Any]] | None = None,
        pattern: str = "*",
        recursive: bool = False,
        default: ConfinedPath | None = None,
        review: ConfinedPath | None = None,
        mode: Literal["move", "copy"] = "move",
        on_conflict: OnConflict = "fail",
        min_confidence: Annotated[float, Field(ge=0, le=100)] = MIN_CONFIDENCE,
    ) -> list[Record]:
        """File documents into folders by ordered rules: the first rule a document meets decides where it goes.

        A rule's conditions (all those given must hold) look at the file's name, extension, size and dates, and
        at its text (`contains`, `matches`). Its `to` is a template rendered for each document with `file`
        (path, name, stem, extension, size, modified, folder), `match` (what the rule's named groups captured,
        each made one safe folder or file name), `today` and `now`, e.g. "dossiers/{{ match.ref }}". In a
        workflow, wrap it in `{% raw %}…{% endraw %}` so that the runner leaves it for the robot. With
        `on_conflict: fail` every destination is checked first and nothing is moved if one is taken; with
        `skip_identical`, a document whose bytes are already at its destination is not filed twice.

        Args:
            rules: The rules, in order; each has `to` and one or more conditions: `pattern`, `extension`,
                `contains`, `matches`, `name_matches`, `min_size`, `max_size`, `modified_after`,
                `modified_before`, `older_than`, `newer_than`; and optionally a `name` shown in the records.
            folder: The folder whose files to file (one of `folder` or `files`).
            files: The files to file: paths, or the records of files.list.
            pattern: With `folder`, the files to take, e.g. "*.pdf".
            recursive: With `folder`, take files in sub-folders too.
            default: The destination folder (template) of documents no rule matches.
            review: The folder of documents a person must look at: no rule matched (unless `default` is given),
                the text could not be read, a rule found several different values or an empty one. Its file
                `_motifs.csv` says why each document is there. Without `review` and `default`, they stay put.
            mode: Move the files (default) or copy them, leaving the originals in place.
            on_conflict: When a destination name is taken: fail (default), skip, rename ("name (2).ext"),
                overwrite (the file already there goes to the trash), or skip_identical (nothing to do when the
                same bytes are already there, as "name.ext" or "name (N).ext"; otherwise as rename; in move mode
                the source then goes to the trash beside it).
            min_confidence: The OCR confidence (0-100) a scan's text needs for `contains` and `matches` rules;
                below it the scan goes to review (reason low_confidence, with the confidence measured) rather
                than being filed on a reference that may be misread.

        Returns:
            One record per document: name, source, destination (nothing when left or skipped), rule (its name
            or description; "default" for the default folder; nothing when unmatched), match (the captures),
            status (moved, copied, identical, skipped, unchanged, left, gone), review (whether it went to the
            review folder), problem (no_rule, unreadable, low_confidence, ambiguous, empty_capture or nothing) and reason (why
            it was not filed by a rule, in words).
        """
        checked = TypeAdapter(list[FilingRule]).validate_python(rules)
        if files is not None:
            sources = [self.context.input_file(str(f["path"]) if isinstance(f, dict) else f) for f in files]
        else:
            sources = [Path(r["path"]) for r in self.list_files(folder or ".", pattern, recursive=recursive)]
        if review is not None and folder is not None:
            review_folder = self.context.resolve_path(review).resolve()
            sources = [s for s in sources if review_folder not in s.resolve().parents]  # not its own review
        filing = Filing(self.context, self._transfer, mode, on_conflict, min_confidence)
        return filing.execute(filing.plan(checked, sources, default, review))
