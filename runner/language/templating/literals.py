r"""Text literals in templates keep the backslashes of regular expressions as written.

Jinja reads `'…'` with Python's escapes, so `'\d'` warns (an invalid escape, an error in a later Python), `'\b'`
becomes a backspace and `'\1'` the character U+0001: a regular expression in a template (`extract('\bDOS-\d+')`)
would silently change. In Rob'O's templates a backslash keeps its escape meaning only before `\`, a quote, `n`,
`r`, `t`, `x..`, `u....`, `U........` and `N{…}`, which mean the same in a regular expression; anywhere else it
stays a backslash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2.lexer import TOKEN_STRING, Lexer, Token

_KEPT_ESCAPE = re.compile(
    r"""\\(?:[\\'"nrt\n]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|N\{[^}]*\})|(\\)"""
)


def _literal(quoted: str) -> str:
    """A quoted literal whose other backslashes are doubled, so that Jinja's unescaping keeps them."""
    return _KEPT_ESCAPE.sub(lambda found: "\\\\" if found.group(1) else found.group(0), quoted)


class LiteralLexer(Lexer):
    """Jinja's lexer, reading text literals as the module says."""

    def wrap(
        self, stream: Iterable[tuple[int, str, str]], name: str | None = None, filename: str | None = None
    ) -> Iterator[Token]:
        kept = (
            (line, token, _literal(value) if token == TOKEN_STRING else value)
            for line, token, value in stream
        )
        return super().wrap(kept, name, filename)


def literal_lexer(environment: Any) -> LiteralLexer:
    """The lexer of `environment` (made once per environment: its delimiters never change)."""
    lexer = environment.__dict__.get("_robo_lexer")
    if not isinstance(lexer, LiteralLexer):
        lexer = environment.__dict__["_robo_lexer"] = LiteralLexer(environment)
    return lexer
