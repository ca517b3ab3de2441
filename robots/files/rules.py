r"""Filing rules and file records for the `files` robot: what a rule checks, and what it captures.

A rule's conditions are all checked, the cheap ones first (name, extension, size, dates), the document's text
last and only when a rule needs it (read once per document). A rule's regular expressions capture named groups
(`(?P<ref>DOS-\d{4}-\d{4})`) that its destination reuses as `match.ref`; a capture comes from a document, so it
is hostile: it is made into one harmless folder or file name (`safe_segment`) before it reaches a path.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from robots.files.text import comparable, document_reading
from robots.kit import DocumentReader, DocumentText, _, compiled_pattern, pattern_candidates, pattern_problem

Record = dict[str, Any]
Problem = Literal["no_rule", "unreadable", "low_confidence", "ambiguous", "empty_capture"]
"""Why a document was not filed: no rule matched; a rule needing its text could not read it; its text was read
by OCR with a confidence below the threshold (a reference may be misread); a rule found several different
values to capture; a capture was empty (or nothing usable once made safe)."""
MIN_CONFIDENCE = 60.0
"""The OCR confidence (0-100) below which a scan's text is not trusted by a rule."""

_MATCHES_LOOKED_AT = 100  # occurrences of a rule's expression looked at to tell one value from several
_SEGMENT_LENGTH = 120  # characters a captured value keeps in a path
_UNSAFE_CHARACTERS = re.compile(r'[/\\:*?"<>|]+')
_SPACES = re.compile(r"\s+")
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?", re.IGNORECASE)
_USED_CAPTURE = re.compile(r"\bmatch\.(\w+)|\bmatch\[\s*['\"](\w+)['\"]\s*\]")


def nfc(text: str) -> str:
    """Text in Unicode's composed form (NFC): "é" as one character, as Windows and most tools write it."""
    return unicodedata.normalize("NFC", text)


def safe_segment(value: str) -> str:
    r"""A captured value as one harmless folder or file name ("" when nothing usable is left).

    Control and invisible formatting characters go; "/", "\" and the characters Windows refuses become "-";
    spaces and dots at either end go (no "..", no hidden name); a name Windows reserves (CON, NUL, COM1…) gets
    "_"; the result is cut to 120 characters.
    """
    text = nfc(value)
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co"))
    text = _UNSAFE_CHARACTERS.sub("-", text)
    text = _SPACES.sub(" ", text).strip(" .")
    text = text[:_SEGMENT_LENGTH].strip(" .")
    if _RESERVED.fullmatch(text):
        stem, dot, rest = text.partition(".")
        text = f"{stem}_{dot}{rest}"
    return text


def _compiled(expression: str, parameter: str) -> Any:
    """The rule's expression compiled as every user expression is (the kit's `compiled_pattern`).

    The `regex` module, NFC, a bounded length; a `ValueError` saying where it is wrong, with a hint.
    """
    problem = pattern_problem(expression)
    if problem is not None:
        raise ValueError(f"`{parameter}`: {problem.message} ({problem.hint})")
    return compiled_pattern(expression)


class FilingRule(BaseModel):
    r"""One filing rule: the conditions a file must meet (all of those given), and the folder it goes to.

    Args:
        to: The destination folder, a template that may use the file's fields and the rule's captures, e.g.
            "dossiers/{{ match.ref }}" or "classés/{{ file.modified.year }}/factures".
        pattern: A file-name pattern (or several), e.g. "FAC-*.pdf"; case does not matter.
        extension: An extension (or several), e.g. pdf.
        contains: A text (or several) found in the document (.txt, .csv, .md, .pdf, .docx); case, accents
            and spaces do not matter.
        matches: A regular expression (or several: the first found decides) searched in the document's text;
            its named groups, e.g. (?P<ref>DOS-\d{4}-\d{4}), become `match.ref` in `to`. Write (?i) first
            to ignore case.
        name_matches: A regular expression (or several) searched in the file's name; its named groups are
            captured too.
        min_size: The file has at least this many bytes.
        max_size: The file has at most this many bytes.
        modified_after: The file was last modified on or after this date (or moment).
        modified_before: The file was last modified before this date (or moment).
        older_than: The file was last modified more than this many days ago.
        newer_than: The file was last modified less than this many days ago.
        name: A label for the rule in the summary and in each document's record.
    """

    model_config = ConfigDict(extra="forbid")

    to: str
    pattern: str | list[str] | None = None
    extension: str | list[str] | None = None
    contains: str | list[str] | None = None
    matches: str | list[str] | None = None
    name_matches: str | list[str] | None = None
    min_size: Annotated[int, Field(ge=0)] | None = None
    max_size: Annotated[int, Field(ge=0)] | None = None
    modified_after: dt.datetime | dt.date | None = None
    modified_before: dt.datetime | dt.date | None = None
    older_than: Annotated[float, Field(ge=0)] | None = None
    newer_than: Annotated[float, Field(ge=0)] | None = None
    name: str | None = None

    @field_validator("matches", "name_matches")
    @classmethod
    def _valid_expressions(cls, value: str | list[str] | None, info: Any) -> str | list[str] | None:
        for expression in as_list(value):
            _compiled(expression, info.field_name)
        return value

    @model_validator(mode="after")
    def _has_a_condition(self) -> FilingRule:
        if all(getattr(self, condition) is None for condition in _CONDITIONS):
            raise ValueError(
                _("a filing rule needs a condition: {conditions}").format(
                    conditions=", ".join(f"`{c}`" for c in _CONDITIONS)
                )
            )
        captured = self.captured_names()
        for first, second in _USED_CAPTURE.findall(self.to):
            used = first or second
            if used not in captured:
                raise ValueError(
                    _("`to` uses match.{name}, which the rule does not capture ({captured})").format(
                        name=used,
                        captured=", ".join(sorted(captured))
                        or _("name a group in `matches` or `name_matches`: (?P<{name}>…)").format(name=used),
                    )
                )
        return self

    def captured_names(self) -> set[str]:
        """The names of the groups the rule's expressions capture."""
        names: set[str] = set()
        for parameter in ("matches", "name_matches"):
            for expression in as_list(getattr(self, parameter)):
                names.update(_compiled(expression, parameter).groupindex)
        return names

    def label(self, index: int) -> str:
        """How the summary names the rule."""
        if self.name:
            return self.name
        given = {condition: getattr(self, condition) for condition in _CONDITIONS}
        conditions = ", ".join(f"{k} {v}" for k, v in given.items() if v is not None)
        return _("rule {index}: {conditions}").format(index=index, conditions=conditions)


_CONDITIONS = (
    "pattern",
    "extension",
    "contains",
    "matches",
    "name_matches",
    "min_size",
    "max_size",
    "modified_after",
    "modified_before",
    "older_than",
    "newer_than",
)


def as_list(value: str | list[str] | None) -> list[str]:
    """A value written as one text or a list, as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def extension_of(value: str) -> str:
    """An extension as the rules compare it: lower case, without its dot."""
    return value.strip().lower().lstrip(".")


def file_record(path: Path) -> Record:
    """The fields of a file that `list` returns and that destination templates use."""
    info = path.stat()
    return {
        "path": str(path),
        "name": path.name,
        "stem": path.stem,
        "extension": extension_of(path.suffix),
        "size": info.st_size,
        "modified": dt.datetime.fromtimestamp(info.st_mtime),
        "folder": str(path.parent),
    }


def is_hidden(path: Path, root: Path) -> bool:
    """Whether a file or one of its folders under `root` is hidden (a dot name or an Office lock file `~$`)."""
    parts = path.relative_to(root).parts
    return any(part.startswith((".", "~$")) for part in parts)


@dataclass
class Verdict:
    """What a rule made of a document: matched (with its captures), or not, and why when it matters."""

    matched: bool
    captures: dict[str, str] = field(default_factory=dict)
    problem: Problem | None = None
    detail: str = ""


@dataclass
class DocumentTexts:
    """The documents' texts, read once each and only when a rule needs them (None: unreadable).

    `reader` gives the reader (the run's `shared_reader`) on first use, so one reading process serves the run.
    """

    reader: Callable[[], DocumentReader] | None = None
    min_confidence: float = MIN_CONFIDENCE
    raw: dict[Path, str | None] = field(default_factory=dict)
    folded: dict[Path, str] = field(default_factory=dict)
    confidences: dict[Path, float | None] = field(default_factory=dict)

    def text(self, source: Path) -> str | None:
        """The document's text in composed form (NFC), or None when it cannot be read."""
        if source not in self.raw:
            reading: DocumentText | None = document_reading(source, self.reader)
            self.raw[source] = nfc(reading.text) if reading is not None else None
            self.confidences[source] = reading.confidence if reading is not None and reading.ocr else None
        return self.raw[source]

    def low_confidence(self, source: Path) -> float | None:
        """The OCR confidence of the document's text when it is below `min_confidence`, else None."""
        self.text(source)
        confidence = self.confidences.get(source)
        return confidence if confidence is not None and confidence < self.min_confidence else None

    def comparable(self, source: Path) -> str:
        """The text as `contains` compares it ("" when it cannot be read)."""
        if source not in self.folded:
            self.folded[source] = comparable(self.text(source) or "")
        return self.folded[source]

    def forget(self, source: Path) -> None:
        """Drop a document's text once it is filed: a batch keeps one document's text at a time."""
        self.raw.pop(source, None)
        self.folded.pop(source, None)
        self.confidences.pop(source, None)


def _as_moment(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone().replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time())


def _meets_file_conditions(rule: FilingRule, source: Path) -> bool:
    name = nfc(source.name).casefold()
    patterns = as_list(rule.pattern)
    if patterns and not any(fnmatch.fnmatch(name, nfc(p).casefold()) for p in patterns):
        return False
    extensions = {extension_of(e) for e in as_list(rule.extension)}
    if extensions and extension_of(source.suffix) not in extensions:
        return False
    info = source.stat()
    if (rule.min_size is not None and info.st_size < rule.min_size) or (
        rule.max_size is not None and info.st_size > rule.max_size
    ):
        return False
    modified = dt.datetime.fromtimestamp(info.st_mtime)
    if (rule.modified_after is not None and modified < _as_moment(rule.modified_after)) or (
        rule.modified_before is not None and modified >= _as_moment(rule.modified_before)
    ):
        return False
    age_days = (time.time() - info.st_mtime) / 86_400
    return not (
        (rule.older_than is not None and age_days <= rule.older_than)
        or (rule.newer_than is not None and age_days >= rule.newer_than)
    )


def _cut(value: str | None, length: int = 40) -> str:
    """A captured value as a message shows it: on one line, cut, quoted."""
    text = " ".join((value or "").split())
    return repr(text if len(text) <= length else text[: length - 1] + "…")


def _capture(expressions: list[str], parameter: str, text: str) -> Verdict:
    """The captures of the first expression found in `text`: one value per group, or why there is none."""
    for expression in expressions:
        found: list[tuple[tuple[str, str | None], ...]] = []
        for candidate in pattern_candidates(text, nfc(expression), limit=_MATCHES_LOOKED_AT):  # time-bounded
            value = candidate.value
            groups = tuple(value.items()) if isinstance(value, dict) else ()
            if groups not in found:
                found.append(groups)
        if not found:
            continue
        if len(found) > 1:
            shown = "; ".join(", ".join(f"{k}={_cut(v)}" for k, v in groups) or "?" for groups in found[:5])
            return Verdict(False, problem="ambiguous", detail=shown)
        captures: dict[str, str] = {}
        for key, value in found[0]:
            safe = safe_segment(value or "")
            if not safe:
                return Verdict(False, problem="empty_capture", detail=f"{key}={_cut(value)}")
            captures[key] = safe
        return Verdict(True, captures)
    return Verdict(False)


def judge(rule: FilingRule, source: Path, texts: DocumentTexts) -> Verdict:
    """Whether `source` meets every condition of `rule`, with what the rule captured."""
    if not _meets_file_conditions(rule, source):
        return Verdict(False)
    captures: dict[str, str] = {}
    if rule.name_matches is not None:
        verdict = _capture(as_list(rule.name_matches), "name_matches", nfc(source.name))
        if not verdict.matched:
            return verdict
        captures.update(verdict.captures)
    if rule.contains is None and rule.matches is None:
        return Verdict(True, captures)
    if not (texts.text(source) or "").strip():  # a scan without a text layer reads as ""
        return Verdict(False, problem="unreadable")
    confidence = texts.low_confidence(source)
    if confidence is not None:  # a misread reference would file it in the wrong dossier: a person decides
        return Verdict(False, problem="low_confidence", detail=f"{confidence:.0f}")
    wanted = [comparable(text) for text in as_list(rule.contains)]
    if wanted and not any(text in texts.comparable(source) for text in wanted):
        return Verdict(False)
    if rule.matches is not None:
        verdict = _capture(as_list(rule.matches), "matches", texts.text(source) or "")
        if not verdict.matched:
            return verdict
        captures.update(verdict.captures)
    return Verdict(True, captures)
