"""Files of the logs folder served to the browser: only a regular file inside the folder, whatever the request
says (no `..`, no encoded forms of it, no absolute path, no symbolic link leading out), with its content type."""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

# Types a browser may render as a page (and run scripts in): sent as downloads instead.
ACTIVE_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "application/javascript", "text/javascript"}
)
SAFE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".jsonl": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def artifact_path(logs_dir: Path, requested: str) -> Path | None:
    """The file of the logs folder that `requested` (a path relative to it, as in the URL) names, or None when it
    names nothing allowed: a parent step, an absolute path, a backslash, a NUL, an encoded form, a hidden part,
    a symbolic link anywhere on the way, or anything not a regular file inside the folder once resolved."""
    if not requested or requested != unquote(requested) or any(char in requested for char in "\\\x00:"):
        return None  # still encoded after the router decoded it once: a double-encoded trick
    parts = PurePosixPath(requested).parts
    if (
        requested.startswith("/")
        or not parts
        or any(part in {"", ".", ".."} or part.startswith(".") for part in parts)
    ):
        return None
    root = logs_dir.resolve()
    candidate = root.joinpath(*parts)
    walked = root
    for part in parts:
        walked = walked / part
        if walked.is_symlink():
            return None
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


def content_type(path: Path) -> tuple[str, bool]:
    """The file's content type and whether to send it as a download (a type a browser would run is never shown)."""
    known = SAFE_TYPES.get(path.suffix.lower())
    if known:
        return known, False
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return ("application/octet-stream", True) if guessed in ACTIVE_TYPES else (guessed, True)
