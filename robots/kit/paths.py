"""Where a robot may read and write: paths confined to the run's folders, and file names the system refuses."""

from __future__ import annotations

import errno
import re
from collections.abc import Iterable
from pathlib import Path

from robots.kit.errors import BusinessError

MAX_PATH_BYTES = 4096


MAX_NAME_BYTES = 255


_DRIVE = re.compile(r"^[A-Za-z]:")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def path_outside(value: str, base: Path, roots: Iterable[Path], barred: Iterable[Path] = ()) -> str | None:
    """Why `value`, a path built from data, may not be used (None: it stays inside one of `roots`).

    A relative path starts from `base`; symbolic links are followed before the check, so a link inside a root
    that points elsewhere is outside. `barred` are folders inside a root that data may not reach all the same
    (where runs keep their records: audit logs, the run store), but for the roots inside them (the run's
    artifacts). Nothing is decoded: `%2e%2e%2f` is a name like another.
    """
    import os

    if "\x00" in value:
        return "it holds a NUL character (\\x00)"
    if _CONTROL.search(value):
        return "it holds a control character"
    if len(value.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        return f"it is longer than {MAX_PATH_BYTES} bytes"
    names = re.split(r"[\\/]", value)
    if any(len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for name in names):
        return f"a name in it is longer than {MAX_NAME_BYTES} bytes"
    if value.startswith("~"):
        return "it starts with '~' (a home folder)"
    if _DRIVE.match(value):
        return "it starts with a drive letter"
    if "\\" in value and ".." in names:
        return "it climbs out with '..\\'"
    path = Path(value)
    real = Path(os.path.realpath(path if path.is_absolute() else base / path))

    # The innermost folder that holds the path decides: the run's artifacts inside its barred folder are allowed.
    holders = []
    for folder, allowed in [*((root, True) for root in roots), *((folder, False) for folder in barred)]:
        top = Path(os.path.realpath(folder))
        if real == top or top in real.parents:
            holders.append((len(top.parts), allowed))
    if holders and max(holders)[1]:
        return None
    if holders:
        return "it reaches the records of the runs (audit logs, run store)"
    if ".." in path.parts:
        return "it climbs out of the allowed folders with '..'"
    if path.is_absolute():
        return "it is an absolute path outside the allowed folders"
    if real != Path(os.path.normpath(base / path)):
        return "a symbolic link in it leads outside the allowed folders"
    return "it leads outside the allowed folders"


def outside_error(action: str, parameter: str, value: str, reason: str) -> BusinessError:
    """The business error for a path from data that `path_outside` refused (`reason`)."""
    from robots.kit.text import printable

    shown = printable(value, lines=False)
    if len(shown) > 120:
        shown = f"{shown[:100]}… ({len(value)} characters)"
    return BusinessError(
        f"{action}: the path in '{parameter}' is refused, {reason}: '{shown}'",
        hint="the path comes from the data: correct it there. Paths built from data stay in the workflow's"
        " folder, the run's artifacts and the files and folders given as inputs; a step meant to go elsewhere"
        " says `allow_outside: true`",
    )


def refused_name(exc: BaseException, action: str) -> BusinessError | None:
    """A `BusinessError` when `exc` says a file name cannot exist (too long, a NUL byte), else None.

    Such a name comes from the data (a column, a page's text): trying again would fail the same way, so it is
    the data that is refused, not a system failing.
    """
    hint = (
        "the name comes from the data: correct it there, or clean it in the workflow (e.g. the slug filter)"
    )
    if isinstance(exc, OSError) and exc.errno in (errno.ENAMETOOLONG, errno.EILSEQ):
        name = str(exc.filename or "")
        shown = name if len(name) <= 80 else f"{name[:60]}… ({len(name)} characters)"
        problem = "too long" if exc.errno == errno.ENAMETOOLONG else "not valid"
        return BusinessError(f"{action}: the file name is {problem} for the file system: {shown}", hint=hint)
    if isinstance(exc, ValueError) and "embedded null" in str(exc):
        return BusinessError(
            f"{action}: a file name holds a NUL character (\\x00), which no file system accepts", hint=hint
        )
    if isinstance(exc, UnicodeEncodeError) and "surrogates not allowed" in str(exc):
        return BusinessError(f"{action}: a file name holds a character that cannot be written", hint=hint)
    return None
