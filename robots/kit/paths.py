"""Where a robot may read and write: paths confined to the run's folders, and file names the system refuses."""

from __future__ import annotations

import errno
import re
from collections.abc import Iterable
from pathlib import Path

from robots.kit.errors import BusinessError
from robots.kit.i18n import _

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
        return _("it holds a NUL character (\\x00)")
    if _CONTROL.search(value):
        return _("it holds a control character")
    if len(value.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        return _("it is longer than {limit} bytes").format(limit=MAX_PATH_BYTES)
    names = re.split(r"[\\/]", value)
    if any(len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for name in names):
        return _("a name in it is longer than {limit} bytes").format(limit=MAX_NAME_BYTES)
    if value.startswith("~"):
        return _("it starts with '~' (a home folder)")
    if _DRIVE.match(value):
        return _("it starts with a drive letter")
    if "\\" in value and ".." in names:
        return _("it climbs out with '..\\'")
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
        return _("it reaches the records of the runs (audit logs, run store)")
    if ".." in path.parts:
        return _("it climbs out of the allowed folders with '..'")
    if path.is_absolute():
        return _("it is an absolute path outside the allowed folders")
    if real != Path(os.path.normpath(base / path)):
        return _("a symbolic link in it leads outside the allowed folders")
    return _("it leads outside the allowed folders")


def outside_error(action: str, parameter: str, value: str, reason: str) -> BusinessError:
    """The business error for a path from data that `path_outside` refused (`reason`)."""
    from robots.kit.text import printable

    shown = printable(value, lines=False)
    if len(shown) > 120:
        shown = _("{start}… ({length} characters)").format(start=shown[:100], length=len(value))
    return BusinessError(
        _("{action}: the path in '{parameter}' is refused, {reason}: '{path}'").format(
            action=action, parameter=parameter, reason=reason, path=shown
        ),
        hint=_(
            "the path comes from the data: correct it there. Paths built from data stay in the workflow's"
            " folder, the run's artifacts and the files and folders given as inputs; a step meant to go elsewhere"
            " says `allow_outside: true`"
        ),
    )


def refused_name(exc: BaseException, action: str) -> BusinessError | None:
    """A `BusinessError` when `exc` says a file name cannot exist (too long, a NUL byte), else None.

    Such a name comes from the data (a column, a page's text): trying again would fail the same way, so it is
    the data that is refused, not a system failing.
    """
    hint = _(
        "the name comes from the data: correct it there, or clean it in the workflow (e.g. the slug filter)"
    )
    if isinstance(exc, OSError) and exc.errno in (errno.ENAMETOOLONG, errno.EILSEQ):
        name = str(exc.filename or "")
        shown = (
            name
            if len(name) <= 80
            else _("{start}… ({length} characters)").format(start=name[:60], length=len(name))
        )
        if exc.errno == errno.ENAMETOOLONG:
            message = _("{action}: the file name is too long for the file system: {name}")
        else:
            message = _("{action}: the file name is not valid for the file system: {name}")
        return BusinessError(message.format(action=action, name=shown), hint=hint)
    if isinstance(exc, ValueError) and "embedded null" in str(exc):
        return BusinessError(
            _("{action}: a file name holds a NUL character (\\x00), which no file system accepts").format(
                action=action
            ),
            hint=hint,
        )
    if isinstance(exc, UnicodeEncodeError) and "surrogates not allowed" in str(exc):
        return BusinessError(
            _("{action}: a file name holds a character that cannot be written").format(action=action),
            hint=hint,
        )
    return None
