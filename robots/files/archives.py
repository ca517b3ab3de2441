"""The files robot's zip archives: making one whole before it takes its name, extracting one safely (zip-slip)."""

from __future__ import annotations

import hashlib
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from robots.kit import (
    ApplicationError,
    BusinessError,
    ConfigurationError,
    ConfinedPath,
    OnConflict,
    Robot,
    Transfer,
    _,
    action,
    atomic_path,
    file_digest,
    identical_file,
    missing_file,
    ngettext,
    place,
    temporary_sibling,
)


def unsafe_member(name: str) -> str | None:
    """Why a zip member's name would write outside the target folder (zip-slip), or None when it is safe."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return _("an absolute path")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return _("a '..' that climbs out of the folder")
    return None


class ArchiveActions(Robot):
    """Zip and unzip (mixed into the files robot)."""

    @action(side_effects=True, name="zip")
    def zip_files(
        self,
        sources: list[ConfinedPath] | ConfinedPath,
        target: ConfinedPath,
        *,
        base: str | None = None,
        on_conflict: OnConflict = "fail",
    ) -> str:
        """Put files and folders into a new zip archive (written whole before it takes its name).

        Args:
            sources: The files and folders to put in the archive (a folder with all it contains).
            target: The archive to create, e.g. "envoi.zip".
            base: Names inside the archive are relative to this folder (default: each source's own folder).
            on_conflict: When the archive exists: fail (default), skip, rename, overwrite or skip_identical
                (an archive with the same bytes already there is kept and not written again).

        Returns:
            The archive's path (the existing one when skipped or identical).
        """
        items = [sources] if isinstance(sources, str) else sources
        archive = self.context.resolve_path(target)
        base_dir = self.context.resolve_path(base) if base else None
        entries: list[tuple[Path, str]] = []
        for item in items:
            path = self.context.resolve_path(item)
            if not path.exists():
                raise missing_file(path, "file or folder")
            root = base_dir or path.parent
            members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for member in members:
                try:
                    entries.append((member, member.relative_to(root).as_posix()))
                except ValueError:
                    raise ConfigurationError(
                        _("files.zip: {member} is not inside the base folder {root}").format(
                            member=member, root=root
                        ),
                        hint=_("change `base`"),
                    ) from None
        transfer = Transfer(self.context.log, run_id=self.context.run_id)
        final = transfer.destination(None, archive, on_conflict)
        if final is None:
            return str(archive)
        if final.exists() and on_conflict == "overwrite":
            transfer.trash(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_sibling(final, self.context.run_id)
        try:
            with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as bundle:
                for path, arcname in entries:
                    bundle.write(path, arcname)
            if on_conflict == "skip_identical":
                same = identical_file(archive, file_digest(temporary), temporary.stat().st_size)
                if same is not None:
                    self.context.log(
                        _("files: {path} is already there with the same bytes").format(path=same)
                    )
                    return str(same)
            place(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        self.context.log(
            ngettext(
                "files: wrote {path} ({n} file), sha256 {digest}",
                "files: wrote {path} ({n} files), sha256 {digest}",
                len(entries),
            ).format(path=final, n=len(entries), digest=file_digest(final))
        )
        return str(final)

    @action(side_effects=True)
    def unzip(self, archive: str, folder: ConfinedPath, *, on_conflict: OnConflict = "fail") -> list[str]:
        """Extract a zip archive into a folder, refusing members that would land outside it (zip-slip).

        Args:
            archive: The zip file.
            folder: The folder to extract into (created if needed).
            on_conflict: When an extracted file's name is taken: fail (default), skip, rename, overwrite or
                skip_identical (a file already there with the same bytes is not extracted again).

        Returns:
            The paths of the files extracted (with skip_identical, of those already there too).
        """
        source = self.context.input_file(archive)
        transfer = Transfer(self.context.log, run_id=self.context.run_id)
        target = self.context.resolve_path(folder)
        try:
            bundle = zipfile.ZipFile(source)
        except zipfile.BadZipFile:
            raise BusinessError(
                _("files.unzip: {name} is not a zip archive (or it is damaged)").format(name=source.name),
                hint=_("check that the file was fully downloaded"),
            ) from None
        with bundle:
            members = bundle.infolist()
            for member in members:
                problem = unsafe_member(member.filename)
                if problem is None and stat.S_ISLNK(member.external_attr >> 16):
                    problem = _("a symbolic link")
                if problem is not None:
                    raise BusinessError(
                        _("files.unzip: {name} is refused: member {member} is {problem}").format(
                            name=source.name, member=repr(member.filename), problem=problem
                        ),
                        hint=_(
                            "the archive tries to write outside the folder (zip-slip); nothing was extracted"
                        ),
                    )
            target.mkdir(parents=True, exist_ok=True)
            root = target.resolve()
            plan: list[tuple[zipfile.ZipInfo, Path]] = []
            already: list[str] = []
            reserved: set[Path] = set()
            for member in members:
                destination = (root / member.filename.replace("\\", "/")).resolve()
                if root not in destination.parents and destination != root:
                    raise BusinessError(
                        _("files.unzip: {name} is refused: {member} lands outside {root}").format(
                            name=source.name, member=repr(member.filename), root=root
                        ),
                        hint=_("nothing was extracted"),
                    )
                if member.is_dir():
                    continue
                if on_conflict == "skip_identical":
                    hasher = hashlib.sha256()
                    with bundle.open(member) as data:
                        while chunk := data.read(1 << 20):
                            hasher.update(chunk)
                    digest = hasher.hexdigest()
                    same = identical_file(destination, digest, member.file_size)
                    if same is not None:
                        self.context.log(
                            _("files: {member} of {archive} is already there as {path}").format(
                                member=member.filename, archive=source.name, path=same
                            )
                        )
                        already.append(str(same))
                        continue
                final = transfer.destination(None, destination, on_conflict, reserved)
                if final is not None:
                    reserved.add(final)
                    plan.append((member, final))
            extracted = []
            for member, final in plan:
                final.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(final, run_id=self.context.run_id) as temporary:
                    with bundle.open(member) as data, temporary.open("wb") as out:
                        shutil.copyfileobj(data, out, 1 << 20)
                    if final.exists() and on_conflict != "overwrite":
                        raise ApplicationError(
                            _("files.unzip: {path} appeared while extracting").format(path=final)
                        )
                    if final.exists():
                        transfer.trash(final)
                self.context.log(
                    _("files: extracted {path} from {archive}, sha256 {digest}").format(
                        path=final, archive=source, digest=file_digest(final)
                    )
                )
                extracted.append(str(final))
        return extracted + already
