"""Looks for secrets, and the forms a run can derive from them, in everything a run leaves behind.

The forms are computed here on their own (never by asking Rob'O's `Redactor`), so that a form the redactor
forgets is found: case changes, reversal, URL encodings (Python's and httpx's), HTML and JSON escapes (Jinja's
`e` and `tojson` included), `repr`, bytes `repr`, hex and base64 (also as it sits inside a longer base64 text).

`find_secrets(paths, secrets)` reads every file under the given paths: text files as UTF-8, SQLite databases as a
dump of all their tables, zip files member by member (a Playwright trace), and the file names themselves.
`dump_store(url)` gives the rows of a run store on a server (PostgreSQL), for `find_in_text`.
"""

from __future__ import annotations

import base64
import html
import json
import re
import sqlite3
import urllib.parse
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from markupsafe import escape


@dataclass(frozen=True)
class Finding:
    """One form of one secret found somewhere: `where` is a file, `file!member`, `file#table` or `name:path`."""

    where: str
    secret: str
    form: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where}: {self.form} form of {self.secret!r}: …{self.excerpt}…"


def derived_forms(secret: str) -> dict[str, str]:
    """Every text a run could show in place of `secret`, by the name of the transformation."""
    forms: dict[str, str] = {"raw": secret}
    for name in ("upper", "lower", "title", "capitalize", "swapcase", "casefold"):
        forms[name] = getattr(secret, name)()
    forms["reversed"] = "".join(reversed(secret))
    forms["quote"] = urllib.parse.quote(secret, safe="")
    forms["quote-slash"] = urllib.parse.quote(secret)
    forms["quote-plus"] = urllib.parse.quote_plus(secret)
    forms["quote-plus-slash"] = urllib.parse.quote_plus(secret, safe="/")
    for part in ("query", "path"):
        forms[f"httpx-{part}"] = _httpx_encoded(secret, part)
    forms["httpx-params"] = str(httpx.QueryParams({"q": secret})).removeprefix("q=")
    forms["html"] = html.escape(secret)
    forms["html-no-quotes"] = html.escape(secret, quote=False)
    forms["jinja-e"] = str(escape(secret))
    forms["json"] = json.dumps(secret)[1:-1]
    forms["json-unicode"] = json.dumps(secret, ensure_ascii=False)[1:-1]
    forms["json-in-json"] = json.dumps(json.dumps(secret)[1:-1])[1:-1]
    forms["tojson"] = (
        json.dumps(secret)[1:-1]
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )
    forms["repr"] = repr(secret)[1:-1]
    forms["repr-in-repr"] = repr(repr(secret)[1:-1])[1:-1]
    forms["ascii"] = ascii(secret)[1:-1]
    forms["bytes-repr"] = repr(secret.encode())[2:-1]
    forms["hex"] = secret.encode().hex()
    raw = secret.encode()
    forms["base64"] = base64.b64encode(raw).decode()
    forms["base64-urlsafe"] = base64.urlsafe_b64encode(raw).decode()
    for shift in (0, 1, 2):  # the secret inside a longer base64 text (`user:password` in Basic auth)
        encoded = base64.b64encode(b"\0" * shift + raw + b"\0\0\0").decode()
        start = 0 if shift == 0 else 4
        stop = 4 * ((shift + len(raw)) // 3)
        if stop - start >= 4:
            forms[f"base64-inside-{shift}"] = encoded[start:stop]
    return {name: form for name, form in forms.items() if isinstance(form, str) and form}


def _httpx_encoded(secret: str, part: str) -> str:
    marker_left, marker_right = "zqzqleft", "zqzqright"
    if part == "query":
        url = httpx.URL(f"http://example.invalid/p?q={marker_left}{secret}{marker_right}")
        text = url.query.decode()
    else:
        url = httpx.URL(f"http://example.invalid/{marker_left}{secret}{marker_right}")
        text = url.raw_path.decode()
    if marker_left not in text or marker_right not in text:
        return ""  # the secret cuts the address itself (a `#` or `?`): httpx never shows it whole there
    return text[text.index(marker_left) + len(marker_left) : text.index(marker_right)]


def _texts(path: Path, root: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for a file: itself, each table of a SQLite database, each member of a zip."""
    where = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    yield f"name:{where}", where
    data = path.read_bytes()
    if data.startswith(b"SQLite format 3\0"):
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            yield f"{where}#dump", "\n".join(connection.iterdump())
        finally:
            connection.close()
        return
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                yield f"{where}!name:{member}", member
                yield f"{where}!{member}", archive.read(member).decode("utf-8", "replace")
        return
    yield where, data.decode("utf-8", "replace")


def _files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.is_file():
                    yield found, path
        elif path.is_file():
            yield path, path.parent


SPREAD_GAP = 8
"""A secret spread in pieces (`['S', 'p', …]`, `["S","p",…]`): its characters in order, at most this far apart."""


def _spread(secret: str) -> re.Pattern[str]:
    gap = f".{{0,{SPREAD_GAP}}}?"
    return re.compile(gap.join(re.escape(char) for char in secret), re.IGNORECASE | re.DOTALL)


def find_in_text(where: str, text: str, secrets: Iterable[str]) -> list[Finding]:
    """Every form of every secret in one text, case-insensitively, and every secret spread in short pieces."""
    findings = []
    folded = text.casefold()
    for secret in secrets:
        spread = _spread(secret).search(text) if len(secret) >= 8 else None
        if spread is not None and not any(form.casefold() in spread.group().casefold() for form in (secret,)):
            excerpt = text[max(0, spread.start() - 30) : spread.end() + 30].replace("\n", "⏎")
            findings.append(Finding(where, secret, "spread", excerpt))
        seen: set[str] = set()
        for name, form in derived_forms(secret).items():
            needle = form.casefold()
            if needle in seen:
                continue
            seen.add(needle)
            at = folded.find(needle)
            if at >= 0:
                excerpt = text[max(0, at - 30) : at + len(form) + 30].replace("\n", "⏎")
                findings.append(Finding(where, secret, name, excerpt))
    return findings


def dump_store(url: str) -> str:
    """Every row of every table of a run store reached by its SQLAlchemy URL (PostgreSQL or SQLite), as text."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        metadata = sqlalchemy.MetaData()
        metadata.reflect(engine)
        lines: list[str] = []
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                lines.extend(f"{table.name}: {tuple(row)!r}" for row in connection.execute(table.select()))
        return "\n".join(lines)
    finally:
        engine.dispose()


def find_secrets(paths: Path | Iterable[Path], secrets: Iterable[str]) -> list[Finding]:
    """Every form of every secret in the files under `paths` (folders are walked), their names included."""
    wanted = list(secrets)
    roots = [paths] if isinstance(paths, Path) else [Path(p) for p in paths]
    findings: list[Finding] = []
    for path, root in _files(roots):
        for where, text in _texts(path, root):
            findings.extend(find_in_text(where, text, wanted))
    return findings
