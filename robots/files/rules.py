"""Filing rules and file records for the `files` robot."""

from __future__ import annotations

import datetime as dt
import fnmatch
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from robots.files.text import comparable, document_text
from robots.kit import _

Record = dict[str, Any]


class FilingRule(BaseModel):
    """One filing rule: the conditions a file must meet (all of those given), and the folder it goes to.

    Args:
        to: The destination folder, a template that may use the file's fields, e.g.
            "classés/{{ file.modified.year }}/factures".
        pattern: A file-name pattern (or several), e.g. "FAC-*.pdf"; case does not matter.
        extension: An extension (or several), e.g. pdf.
        contains: A text (or several) found in the document (.txt, .csv, .md, .pdf, .docx); case, accents
            and spaces do not matter.
        name: A label for the rule in the summary.
    """

    model_config = ConfigDict(extra="forbid")

    to: str
    pattern: str | list[str] | None = None
    extension: str | list[str] | None = None
    contains: str | list[str] | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _has_a_condition(self) -> FilingRule:
        if self.pattern is None and self.extension is None and self.contains is None:
            raise ValueError(_("a filing rule needs `pattern`, `extension` or `contains`"))
        return self

    def label(self, index: int) -> str:
        """How the summary names the rule."""
        if self.name:
            return self.name
        given = {"pattern": self.pattern, "extension": self.extension, "contains": self.contains}
        conditions = ", ".join(f"{k} {v}" for k, v in given.items() if v is not None)
        return _("rule {index}: {conditions}").format(index=index, conditions=conditions)


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


def rule_matches(rule: FilingRule, source: Path, texts: dict[Path, str | None]) -> bool:
    """Whether `source` meets every condition of `rule`; document texts are read once, kept in `texts`."""
    patterns = as_list(rule.pattern)
    if patterns and not any(fnmatch.fnmatch(source.name.casefold(), p.casefold()) for p in patterns):
        return False
    extensions = {extension_of(e) for e in as_list(rule.extension)}
    if extensions and extension_of(source.suffix) not in extensions:
        return False
    wanted = [comparable(text) for text in as_list(rule.contains)]
    if wanted:
        if source not in texts:
            text = document_text(source)
            texts[source] = comparable(text) if text is not None else None
        content = texts[source]
        if content is None or not any(text in content for text in wanted):
            return False
    return True
