"""CSV files as robots read and write them: text encodings (with a hint when a file needs another), separators."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path

from robots.kit.errors import BusinessError, ConfigurationError
from robots.kit.i18n import _

DELIMITERS = (";", ",", "\t", "|")
"""The separators `detect_delimiter` chooses from."""


def check_encoding(encoding: str) -> None:
    """A `ConfigurationError` for an encoding Python does not know."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigurationError(
            _("unknown encoding {encoding}").format(encoding=repr(encoding)),
            hint=_("use utf-8-sig, or cp1252 for files saved by Excel on Windows"),
        ) from None


def undecodable(path: Path, raw: bytes, encoding: str) -> ConfigurationError:
    """The error for a file whose bytes `raw` are not text in `encoding`: its line and byte, and the encoding to try."""
    try:
        raw.decode(encoding)
        message = _("{path} is not valid {encoding} text").format(path=path, encoding=encoding)
    except UnicodeDecodeError as exc:
        message = _("{path}: line {line} is not valid {encoding} text (byte {byte})").format(
            path=path,
            line=raw[: exc.start].count(b"\n") + 1,
            encoding=encoding,
            byte=f"0x{raw[exc.start]:02X}",
        )
    suggestion = "cp1252" if "cp1252" not in encoding.lower() else "utf-8-sig"
    return ConfigurationError(
        message,
        hint=_(
            "the file was saved in another encoding (Excel on Windows often uses cp1252): "
            "add `encoding: {encoding}` to the step"
        ).format(encoding=suggestion),
    )


def decoded_text(path: Path, encoding: str) -> str:
    """The whole text of a file in `encoding`; a `ConfigurationError` naming the line when it is not."""
    check_encoding(encoding)
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise undecodable(path, raw, encoding) from None


def detect_delimiter(header_line: str) -> str:
    """The separator a CSV header line uses: the most frequent of `DELIMITERS` outside quotes, else ","."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    return max(DELIMITERS, key=unquoted.count) if any(d in unquoted for d in DELIMITERS) else ","


def read_csv_grid(path: Path, delimiter: str, encoding: str) -> Generator[list[str], None, None]:
    """The rows of a CSV file as lists of text, read lazily; bad encodings are reported with a hint."""
    check_encoding(encoding)
    with path.open(encoding=encoding, newline="") as handle:
        line = 0
        try:
            for line, row in enumerate(csv.reader(handle, delimiter=delimiter), start=1):  # noqa: B007
                yield row
        except UnicodeDecodeError:
            raise undecodable(path, path.read_bytes(), encoding) from None
        except csv.Error as exc:
            raise BusinessError(
                _("{path}: line {line} is not valid CSV: {reason}").format(
                    path=path, line=line + 1, reason=exc
                )
            ) from None


def write_csv_grid(path: Path, rows: Iterable[Sequence[str]], delimiter: str, encoding: str) -> None:
    """Write rows of text to a CSV file (the caller makes the write atomic)."""
    check_encoding(encoding)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
        writer.writerows(rows)
