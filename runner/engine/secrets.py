"""Secret values: where they come from (environment, `.env`, system keyring) and how they are kept out of logs.

A workflow names the secrets it needs under `secrets:`; values are looked up at run start, in this order:
the environment variable `ROBO_SECRET_<NAME>` (upper case), the environment variable `<NAME>`, a `.env` file
beside the workflow or in the current folder, then the system keyring (service "robo"). A value shorter than
`MIN_SECRET_LENGTH` cannot be masked without masking ordinary text: the run is refused.

The run's `Redactor` masks every value that is a secret by its source, declared or not (`secrets_by_source`):
the declared secrets, every `ROBO_SECRET_*` variable, Rob'O's own passwords, tokens and webhook, and the password
of any URL in the environment. Templates see the environment without the variables of `CREDENTIAL_VARIABLES`.
A value computed in a template from a secret is itself masked (`Redactor.taint`), and every secret is masked
with the forms code can derive from it outside a template (`secret_forms`).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from robots.kit import ConfigurationError, _, ngettext
from runner.language import matches_any, url_password

KEYRING_SERVICE = "robo"
MASK = "***"
MIN_SECRET_LENGTH = 3
"""A shorter secret cannot be masked without masking ordinary text (`ab` in every word): refused at run start."""


_SOURCE_SECRETS = ("ROBO_SECRET_*", "ROBO_*PASSWORD*", "ROBO_*TOKEN*", "ROBO_*_KEY", "ROBO_NOTIFY_WEBHOOK")
"""Of those, the variables whose value is a secret wherever it shows (masked though no workflow declares it).
Other names (`TOKENIZERS_PARALLELISM=false`) may hold ordinary words, which masking everywhere would hide."""


def secret_variable(name: str) -> str:
    """The environment variable (or `.env` line) that holds the secret `name`: ROBO_SECRET_<NAME>."""
    return f"ROBO_SECRET_{name.upper()}"


def secrets_by_source(environ: Mapping[str, str], search_dirs: Iterable[Path] = ()) -> list[str]:
    """The values that are secrets by where they are, in the environment and the `.env` files, declared or not."""
    found: list[str] = []
    for variables in (environ, _read_dotenv(Path(d) / ".env" for d in search_dirs)):
        for name, value in variables.items():
            if matches_any(name, _SOURCE_SECRETS):
                found.append(value)
            password = url_password(value)
            if password:
                found.append(password)
    return found


_PRINTABLE_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))
_URL_KEEPS = (  # what percent-encoding leaves as it is, besides letters, digits and `-._~`
    "",  # every reserved character encoded (quote(safe=""), Jinja's urlencode of a query)
    "/",  # Python's default, Jinja's `urlencode`
    # what httpx (WHATWG) leaves as it is in a query, a path, and a user's password
    "".join(c for c in _PRINTABLE_ASCII if c not in '"#<>'),
    "".join(c for c in _PRINTABLE_ASCII if c not in '"#<>?`{}'),
    "".join(c for c in _PRINTABLE_ASCII if c not in '"#<>?`{}/:;=@[\\]^|'),
)


def secret_forms(value: str) -> set[str]:
    """`value` as code can show it: case changes, reversed, URL-encoded (Python's, Jinja's and httpx's ways),
    HTML-escaped (Python's and Jinja's), JSON-escaped (with and without `ensure_ascii`, Jinja's `tojson`),
    as `repr` shows it (of a text and of its bytes), in hex and in base64 (also inside a longer base64 text);
    each form but base64 also in upper and lower case."""
    raw = value.encode("utf-8", "surrogatepass")
    json_ascii = json.dumps(value)[1:-1]
    forms = {
        value,
        value.upper(),
        value.lower(),
        value.title(),
        value.capitalize(),
        value.swapcase(),
        value.casefold(),
        value[::-1],
        urllib.parse.quote_plus(value),
        urllib.parse.quote_plus(value, safe="/"),
        html.escape(value),
        html.escape(value, quote=False),
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;"),  # markupsafe, Jinja's `e`
        json_ascii,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(json_ascii)[1:-1],  # a JSON text inside JSON
        json_ascii.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027"),
        repr(value)[1:-1],
        repr(repr(value)[1:-1])[1:-1],  # the repr of a list of texts, shown by repr
        ascii(value)[1:-1],
        repr(raw)[2:-1],
        raw.hex(),
    }
    forms |= {urllib.parse.quote(value, safe=keep) for keep in _URL_KEEPS}
    forms |= {form.upper() for form in forms} | {form.lower() for form in forms}  # `%2f`, `\U00E9`
    forms |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}  # never in another case
    for shift in (0, 1, 2):  # as it sits inside a longer base64 text (`user:password` of a Basic auth header)
        encoded = base64.b64encode(b"\0" * shift + raw + b"\0\0\0").decode()
        start, stop = (4 if shift else 0), 4 * ((shift + len(raw)) // 3)
        if stop - start >= 4:
            forms.add(encoded[start:stop])
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


_CHECKED_KEPT = 64
MAX_TAINTED_LENGTH = 4096


class Redactor:
    """Replaces every registered secret value (and the forms derived from it) with `***` in text and data.

    `add` registers a secret; `taint` registers what a template computed from one (the engine calls it for
    every such value), unless the secret shows in it as it is, already masked there."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._stale = False
        self._spread = False  # whether a secret was registered as a whole list or mapping of short pieces
        self._checked: dict[int, tuple[Any, int, bool]] = {}  # id → (the value, forms then, secret found)
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        """Register a secret (ignored when shorter than `MIN_SECRET_LENGTH`: a declared one is refused before)."""
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        text = str(value)  # a plain text: Jinja's `e` gives a Markup, whose methods escape what they meet
        forms = secret_forms(text)
        with self._lock:
            if not forms <= self._forms:
                self._forms |= forms
                self._stale = True

    def taint(self, value: Any) -> None:
        """Register the texts in `value`, computed from a secret, as secrets themselves.

        Not numbers (the length of a secret is no secret, and masking `128` everywhere would hide data), nor a
        text that shows a secret as it is (masked there already; the rest is other data), nor a text longer than
        `MAX_TAINTED_LENGTH` (a whole page read with a secret in it)."""
        leaves = _leaves(value)
        for leaf in leaves:
            if (
                isinstance(leaf, str)
                and MIN_SECRET_LENGTH <= len(leaf) <= MAX_TAINTED_LENGTH
                and not self._search(leaf)
            ):
                self.add(leaf)
        if isinstance(value, Mapping | list | tuple) and any(
            isinstance(leaf, str) and len(leaf) < MIN_SECRET_LENGTH for leaf in leaves
        ):
            # a secret spread in pieces too short to mask one by one (`secrets.jeton | list`): the whole is masked
            shown = _shown(value)
            if not any(self._search(text) for text in shown):
                for text in shown:
                    self.add(text)
                self._spread = True

    def holds_secret(self, value: Any) -> bool:
        """Whether a secret (in one of its forms) shows anywhere in `value`.

        A template may read a large value whole on every item (`{{ demandes | length }}`): the answer for a list
        or a mapping is kept for as long as no secret is added (templates cannot change values: the sandbox is
        immutable, and a step that saves a value saves a new one)."""
        pattern = self._current()
        if pattern is None:
            return False
        if not isinstance(value, list | dict):
            return self._search_in(pattern, value)
        with self._lock:
            known = self._checked.get(id(value))
        if known is not None and known[0] is value and known[1] == len(self._forms):
            return known[2]
        found = self._search_in(pattern, value)
        with self._lock:
            if len(self._checked) >= _CHECKED_KEPT:
                self._checked.pop(next(iter(self._checked)))
            self._checked[id(value)] = (value, len(self._forms), found)
        return found

    @staticmethod
    def _search_in(pattern: re.Pattern[str], value: Any) -> bool:
        texts = [leaf if type(leaf) is str else str(leaf) for leaf in _leaves(value, keys=True)]
        # one search in one text: much faster than one per leaf
        return bool(texts) and pattern.search("\0".join(texts)) is not None

    def _current(self) -> re.Pattern[str] | None:
        if self._stale:
            with self._lock:
                if self._stale:
                    ordered = sorted(self._forms, key=len, reverse=True)
                    self._pattern = re.compile("|".join(re.escape(form) for form in ordered))
                    self._stale = False
        return self._pattern

    def _search(self, text: str) -> bool:
        pattern = self._current()
        return pattern is not None and pattern.search(text) is not None

    def __bool__(self) -> bool:
        return bool(self._forms)

    def _spread_in(self, value: Mapping[Any, Any] | list[Any] | tuple[Any, ...]) -> bool:
        """Whether this list or mapping itself, not one inside it, is a secret spread in short pieces."""
        if not any(map(self._search, _shown(value))):
            return False
        children = value.values() if isinstance(value, Mapping) else value
        return not any(
            isinstance(child, Mapping | list | tuple) and any(map(self._search, _shown(child)))
            for child in children
        )

    def text(self, text: str) -> str:
        pattern = self._current()
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def data(self, value: Any) -> Any:
        """Redact strings anywhere inside data (mappings, lists, tuples, sets); any other object that shows a
        secret when written out (`str` or `repr`) becomes its text, masked."""
        if self._current() is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping | list | tuple) and self._spread and self._spread_in(value):
            return MASK
        if isinstance(value, Mapping):
            return {self.data(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.data(item) for item in value]
        shown = str(value)
        if self._search(shown) or self._search(repr(value)):
            return self.text(shown)
        return value


def _shown(value: Any) -> list[str]:
    """How a list or a mapping is written out: by `str` (a log line), in the audit log's and the store's JSON."""
    shown = [str(value)]
    try:
        shown.append(json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":")))
        shown.append(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError):  # keys that JSON cannot take: `str` is what shows
        pass
    return [text for text in shown if len(text) <= MAX_TAINTED_LENGTH]


def _leaves(value: Any, *, keys: bool = False) -> list[Any]:
    """The texts and numbers (not true/false) inside plain data; other objects as they are."""
    found: list[Any] = []
    stack = [value]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is str or kind is int or kind is float:  # the common cases first: this runs on every render
            found.append(current)
        elif kind is dict or isinstance(current, Mapping):
            stack.extend(current.values())
            if keys:
                stack.extend(current.keys())
        elif kind is list or kind is tuple or isinstance(current, list | tuple | set | frozenset):
            stack.extend(current)
        elif not (current is None or isinstance(current, bool)):
            found.append(current)
    return found


def _read_dotenv(paths: Iterable[Path]) -> dict[str, str]:
    from dotenv import dotenv_values

    values: dict[str, str] = {}
    for path in paths:
        if path.is_file():
            for key, value in dotenv_values(path).items():
                if value is not None:
                    values.setdefault(key, value)
    return values


def _from_keyring(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, name)
    except (KeyringError, RuntimeError, OSError):
        return None
    return value if isinstance(value, str) else None


def resolve_secrets(
    names: Iterable[str],
    *,
    search_dirs: Iterable[Path] = (),
    environ: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> dict[str, str]:
    """Find a value for every named secret; raises `ConfigurationError` listing every one that is missing."""
    environ = os.environ if environ is None else environ
    wanted = list(names)
    if not wanted:
        return {}
    dotenv = _read_dotenv(Path(d) / ".env" for d in search_dirs)
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in wanted:
        variable = secret_variable(name)  # the name the hint gives, in the environment or a .env file
        value = environ.get(variable) or environ.get(name) or dotenv.get(variable) or dotenv.get(name)
        if value is None and use_keyring:
            value = _from_keyring(name)
        if value is None:
            missing.append(name)
        else:
            found[name] = value
    if missing:
        raise ConfigurationError(
            ngettext("missing secret: {names}", "missing secrets: {names}", len(missing)).format(
                names=", ".join(missing)
            ),
            hint=_(
                "set {variables} in the environment, add them to a .env file beside the workflow, or run"
                " 'robo secrets set NAME'"
            ).format(variables=", ".join(secret_variable(n) for n in missing)),
        )
    for name, value in found.items():
        check_length(name, value)
    return found


def check_length(name: str, value: str) -> None:
    """Refuse a secret too short to be masked (naming it, never showing its value)."""
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            _(
                "the secret '{name}' is too short to be masked: a secret needs at least {length} characters"
            ).format(name=name, length=MIN_SECRET_LENGTH),
            hint=_(
                "a shorter value would be masked in every word that holds it, so it would not be masked at"
                " all: use a longer secret (a password or a token)"
            ),
        )


def store_in_keyring(name: str, value: str) -> None:
    check_length(name, value)
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, name, value)
    except (KeyringError, RuntimeError) as exc:
        raise ConfigurationError(
            _("cannot store the secret '{name}' in the system keyring: {error}").format(name=name, error=exc),
            hint=_(
                "on a server without a keyring, use ROBO_SECRET_<NAME> environment variables or a .env file"
            ),
        ) from None
