"""Keeping secrets out of the evidence a failed step leaves: its trace, its screenshot, its page's HTML.

Playwright records what every action typed and what every page showed, and offers no way to leave a value out:
so a trace is rewritten with every secret masked (`redact_zip`), and the fields and texts that show one are
covered in the screenshot (`secret_masks`, then `unmark`).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import urllib.parse
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from robots.kit import atomic_path


def redact_zip(path: Path, redact: Callable[[str], str], target: Path | None = None) -> None:
    """Remove secret values from a Playwright trace, rewriting it (or writing `target`) atomically.

    Playwright records every action's parameters (the value a `fill` typed), DOM snapshots and network bodies,
    and offers no way to leave a value out: so every text member is rewritten, its JSON lines parsed and each
    string masked (a JSON-escaped secret is found once unescaped), HTML bodies through `redact_html`.
    """
    with (
        atomic_path(target or path) as temporary,
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as written,
    ):
        for entry in source.infolist():
            data = source.read(entry)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                written.writestr(entry, data)
                continue
            written.writestr(entry, _redact_document(text, redact).encode("utf-8"))


MASK_COLOUR = "#FF00FF"
"""The colour painted over what shows a secret (or a password) in a screenshot."""
_MASK_ATTRIBUTE = "data-robo-mask"
# Both scripts walk the same elements in the same order (open shadow roots included), so that an index found by
# the first names the same element for the second. A page's own texts are read out and compared here, in
# Python: the secrets are never handed to the page's scripts.
_WALK = r"""
const walk = (root, visit) => {
  for (const el of root.querySelectorAll('*')) {
    visit(el);
    if (el.shadowRoot) walk(el.shadowRoot, visit);
  }
};
"""
_SHOWN_TEXTS_SCRIPT = (
    "() => {"
    + _WALK
    + r"""
  const texts = [];
  walk(document, (el) => {
    const parts = [];
    if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
      parts.push(el.value, el.getAttribute('value') || '', el.placeholder || '');
    } else if (el instanceof HTMLSelectElement) {
      for (const option of el.selectedOptions) parts.push(option.value, option.text);
    }
    if (el.isContentEditable && !(el.parentElement && el.parentElement.isContentEditable)) parts.push(el.innerText);
    for (const node of el.childNodes) if (node.nodeType === Node.TEXT_NODE) parts.push(node.data);
    const text = parts.filter((p) => p).join('\n');
    texts.push(text || null);
  });
  return texts;
}"""
)
_MARK_SCRIPT = (
    "([hits, name]) => {"
    + _WALK
    + r"""
  const wanted = new Set(hits);
  let index = 0;
  walk(document, (el) => { if (wanted.has(index++)) el.setAttribute(name, ''); });
}"""
)
_UNMARK_SCRIPT = (
    "(name) => {"
    + _WALK
    + r"walk(document, (el) => { if (el.hasAttribute(name)) el.removeAttribute(name); }); }"
)
_FIELDS = "input, textarea, select, [contenteditable]"


async def secret_masks(page: Any, redact: Callable[[str], str], timeout: float = 5.0) -> list[Any]:
    """Locators of everything on the page that shows a secret, and of every password field, to mask.

    A field whose value holds a secret, a list showing one, an element whose own text holds one: each is
    marked with an attribute until `unmark` (call it once the screenshot is taken). A frame that cannot be
    read (detached, or too busy to answer within `timeout` seconds) has all its fields masked.
    """
    masks: list[Any] = []
    for frame in page.frames:
        masks.append(frame.locator("input[type=password]"))
        try:
            texts = await asyncio.wait_for(frame.evaluate(_SHOWN_TEXTS_SCRIPT), timeout)
            if not isinstance(texts, list):
                raise TypeError("the page's texts could not be read")
            hits = [
                index for index, text in enumerate(texts) if isinstance(text, str) and redact(text) != text
            ]
            if hits:
                await asyncio.wait_for(frame.evaluate(_MARK_SCRIPT, [hits, _MASK_ATTRIBUTE]), timeout)
        except Exception:
            masks.append(frame.locator(_FIELDS))
            continue
        if hits:
            masks.append(frame.locator(f"[{_MASK_ATTRIBUTE}]"))
    return masks


async def unmark(page: Any, timeout: float = 5.0) -> None:
    """Remove the marks `secret_masks` left on the page."""
    for frame in page.frames:
        try:
            await asyncio.wait_for(frame.evaluate(_UNMARK_SCRIPT, _MASK_ATTRIBUTE), timeout)
        except Exception:
            continue


_JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([\"\\/bfnrt]))")
_JSON_CHARACTERS = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_unescaped(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return chr(int(match.group(1), 16))
        return _JSON_CHARACTERS.get(match.group(2), match.group(2))

    decoded = _JSON_ESCAPE.sub(one, text)
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # joins \ud83d\ude00 pairs


_DECODINGS: tuple[Callable[[str], str], ...] = (html.unescape, _json_unescaped, urllib.parse.unquote_plus)
# One escaping, or one inside another (JSON in an HTML attribute, a URL in JSON, JSON in a JSON string).
_VIEWS: tuple[tuple[Callable[[str], str], ...], ...] = tuple(
    (outer, *inner) for outer in _DECODINGS for inner in ((), *((d,) for d in _DECODINGS))
)


_ESCAPE_SIGNS = re.compile(r"[&\\%+]")  # no decoding changes a text without one of these


def redact_text(text: str, redact: Callable[[str], str], depth: int = 3) -> str:
    """`text` with its secrets masked, also those an escaping hides (HTML entities, JSON or URL escapes).

    A text that shows a secret only once decoded is replaced by its decoded, masked form: evidence loses an
    escaping there, never a secret.
    """
    masked = redact(text)
    if depth <= 0 or not _ESCAPE_SIGNS.search(masked):
        return masked
    for decodings in _VIEWS:
        view = masked
        for decode in decodings:
            view = decode(view)
        if view != masked and redact(view) != view:
            return redact_text(view, redact, depth - 1)
    return masked


def _redact_json(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, redact)
    if isinstance(value, dict):
        return {redact_text(k, redact): _redact_json(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(item, redact) for item in value]
    return value


def _redact_json_line(line: str, redact: Callable[[str], str]) -> str:
    # Outside its strings a JSON line has no backslash, so decoding the whole line decodes each string in place:
    # a line that shows no secret so is kept as it is, without the cost of walking it.
    decoded = _json_unescaped(line)
    if redact_text(decoded, redact) == decoded:
        return line
    try:
        value = json.loads(line)
    except ValueError:
        return redact_text(line, redact)
    if isinstance(value, dict | list | str):
        return json.dumps(_redact_json(value, redact), ensure_ascii=False, separators=(",", ":"))
    return line


def _redact_document(text: str, redact: Callable[[str], str]) -> str:
    """A trace member or a network body: JSON lines, JSON, HTML, or any text."""
    start = text.lstrip()[:1]
    if start in ("{", "["):
        return "\n".join(
            _redact_json_line(line, redact) if line.strip() else line for line in text.split("\n")
        )
    if start == "<":
        return redact_html(text, redact)
    return redact_text(text, redact)


class _HtmlRedactor(HTMLParser):
    """Rewrites an HTML document with its texts, attribute values and comments masked (entities decoded first)."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__(convert_charrefs=True)
        self.redact = redact
        self.out: list[str] = []
        self.raw_text = False  # inside <script> or <style>, whose text is not HTML-escaped

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], close: str) -> str:
        masked = [(name, None if value is None else redact_text(value, self.redact)) for name, value in attrs]
        raw = self.get_starttag_text() or ""
        if masked == attrs and raw:
            return raw
        parts = [tag] + [
            name if value is None else f'{name}="{html.escape(value, quote=True)}"' for name, value in masked
        ]
        return "<" + " ".join(parts) + close + ">"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self._tag(tag, attrs, ""))
        self.raw_text = tag in ("script", "style")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self._tag(tag, attrs, " /"))

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")
        self.raw_text = False

    def handle_data(self, data: str) -> None:
        masked = redact_text(data, self.redact)
        self.out.append(masked if self.raw_text else html.escape(masked, quote=False))

    def handle_comment(self, data: str) -> None:
        self.out.append(f"<!--{redact_text(data, self.redact)}-->")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{redact_text(decl, self.redact)}>")

    def handle_pi(self, data: str) -> None:
        self.out.append(f"<?{redact_text(data, self.redact)}>")

    def unknown_decl(self, data: str) -> None:
        self.out.append(f"<![{redact_text(data, self.redact)}]>")


def redact_html(text: str, redact: Callable[[str], str]) -> str:
    """An HTML document with every secret masked, whether written plainly or as entities (`&amp;`, `&#34;`)."""
    if redact_text(text, redact) == text:
        return text  # nothing to hide: the page is kept byte for byte
    parser = _HtmlRedactor(redact)
    parser.feed(text)
    parser.close()
    rewritten = "".join(parser.out)
    # A secret the parts did not show (split by the markup's own escapes, in a tag's name): the whole, decoded.
    return rewritten if redact_text(rewritten, redact) == rewritten else redact_text(text, redact)
