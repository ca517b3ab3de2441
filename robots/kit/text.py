"""Text a person reads, made safe for a terminal and short enough for a line: control characters escaped, long messages cut."""

from __future__ import annotations

from robots.kit.i18n import ngettext

# Characters a terminal acts on instead of showing them: the C0 controls (ESC starts the sequences that erase a
# line, colour text or set the window title, BEL ends one, CR goes back over a line), DEL, the C1 controls (U+009B
# is a whole CSI by itself) and the Unicode line separators and bidirectional overrides (which reorder what shows).
# Each is shown as its escape, e.g. `\x1b[2K`, so a reader still sees that something was there; the forms from
# U+007F on are valid in JSON too.
_CONTROLS = (
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
)


_ONE_LINE = {code: f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}" for code in _CONTROLS}


_LINES = {code: shown for code, shown in _ONE_LINE.items() if chr(code) not in "\n\t"}


MESSAGE_WIDTH = 300
"""Characters of one line of a message (a log, an error) shown in the console; the audit log and report keep all."""


MESSAGE_LINES = 100
"""Lines of one message shown in the console."""


def printable(text: str, *, lines: bool = True) -> str:
    """`text` safe to print on a terminal: control characters shown as escapes (newlines and tabs kept if `lines`)."""
    return text.translate(_LINES if lines else _ONE_LINE)


def shortened(text: str) -> str:
    """`text` cut for the console: each line to MESSAGE_WIDTH characters, at most MESSAGE_LINES lines.

    It says how much was left out (a cell of a million characters in a `log` must not flood the terminal).
    """
    if len(text) <= MESSAGE_WIDTH and "\n" not in text:
        return text
    lines = text.split("\n")
    shown = [
        line
        if len(line) <= MESSAGE_WIDTH
        else ngettext(
            "{start}… ({n} more character)", "{start}… ({n} more characters)", len(line) - MESSAGE_WIDTH
        ).format(start=line[:MESSAGE_WIDTH], n=f"{len(line) - MESSAGE_WIDTH:,}")
        for line in lines[:MESSAGE_LINES]
    ]
    if len(lines) > MESSAGE_LINES:
        left = len(lines) - MESSAGE_LINES
        shown.append(ngettext("… ({n} more line)", "… ({n} more lines)", left).format(n=f"{left:,}"))
    return "\n".join(shown)
