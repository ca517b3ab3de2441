"""Text inside .docx XML: read it paragraph by paragraph and replace it across the runs Word split it into.

Word cuts a paragraph's text into runs wherever formatting, spell-checking or editing history changed, so "Dossier
n° 12" may be stored as "Dos" + "sier n° " + "12". Replacing works on a paragraph's `w:t` elements as one string:
the new text goes into the run where the old text started, keeping that run's formatting, and the rest of the old
text is removed from the runs that follow. Tabs and line breaks end a stretch of text: a search never spans them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from docx.oxml.ns import qn

_PARAGRAPH = qn("w:p")
_TEXT = qn("w:t")
_BARRIERS = frozenset({qn("w:tab"), qn("w:br"), qn("w:cr"), qn("w:ptab")})
_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _own_paragraph(element: Any) -> Any:
    parent = element.getparent()
    while parent is not None and parent.tag != _PARAGRAPH:
        parent = parent.getparent()
    return parent


def text_stretches(paragraph: Any) -> Iterator[list[Any]]:
    """The paragraph's `w:t` elements, cut into stretches at tabs and line breaks (text boxes excluded)."""
    stretch: list[Any] = []
    for element in paragraph.iter(_TEXT, *_BARRIERS):
        if _own_paragraph(element) is not paragraph:
            continue  # a paragraph of a text box anchored in this one: handled on its own
        if element.tag == _TEXT:
            stretch.append(element)
        elif stretch:
            yield stretch
            stretch = []
    if stretch:
        yield stretch


def _replace_in_stretch(nodes: list[Any], old: str, new: str) -> int:
    texts = [node.text or "" for node in nodes]
    joined = "".join(texts)
    matches = []
    found = joined.find(old)
    while found != -1:
        matches.append(found)
        found = joined.find(old, found + len(old))
    if not matches:
        return 0
    starts = []
    offset = 0
    for text in texts:
        starts.append(offset)
        offset += len(text)

    def node_at(position: int) -> int:
        return next(i for i, start in enumerate(starts) if start <= position < start + len(texts[i]))

    # Right to left: an edit only changes a node after the offset where it starts, so the offsets of the
    # matches further left, computed on the original text, stay right.
    for start in reversed(matches):
        end = start + len(old)
        first, last = node_at(start), node_at(end - 1)
        head = nodes[first].text or ""
        if first == last:
            _set_text(nodes[first], head[: start - starts[first]] + new + head[end - starts[first] :])
            continue
        _set_text(nodes[first], head[: start - starts[first]] + new)
        for middle in nodes[first + 1 : last]:
            _set_text(middle, "")
        tail = nodes[last].text or ""
        _set_text(nodes[last], tail[end - starts[last] :])
    return len(matches)


def _set_text(node: Any, text: str) -> None:
    node.text = text
    if text != text.strip() or not text:
        node.set(_SPACE, "preserve")


def replace_text(root: Any, old: str, new: str) -> int:
    """Replace every `old` by `new` in the paragraphs under `root` (an lxml element); returns how many."""
    count = 0
    for paragraph in root.iter(_PARAGRAPH):
        for stretch in text_stretches(paragraph):
            count += _replace_in_stretch(stretch, old, new)
    return count


def story_roots(document: Any) -> list[Any]:
    """The XML roots of a document's body, headers and footers (each part once)."""
    roots = [document.element.body]
    seen: set[int] = set()
    for section in document.sections:
        for story in (
            section.header,
            section.first_page_header,
            section.even_page_header,
            section.footer,
            section.first_page_footer,
            section.even_page_footer,
        ):
            if story.is_linked_to_previous:
                continue
            part = story.part
            if id(part) not in seen:
                seen.add(id(part))
                roots.append(part.element)
    return roots


def paragraph_texts(root: Any) -> list[str]:
    """The text of every paragraph under `root`, in document order."""
    return [paragraph_text(paragraph) for paragraph in root.iter(_PARAGRAPH)]


def paragraph_text(paragraph: Any) -> str:
    """A paragraph's text with tabs and line breaks (the `w:p` element, text boxes excluded)."""
    pieces = []
    for element in paragraph.iter(_TEXT, *_BARRIERS):
        if _own_paragraph(element) is not paragraph:
            continue
        if element.tag == _TEXT:
            pieces.append(element.text or "")
        else:
            pieces.append("\t" if element.tag in (qn("w:tab"), qn("w:ptab")) else "\n")
    return "".join(pieces)
