"""The language people read: gettext catalogs of the domain `robo`, French or English.

The language is chosen once per process: `--lang` (through `set_language`), else `ROBO_LANG=fr|en`, else the
locale (`LC_ALL`, `LC_MESSAGES`, `LANG`, in gettext's order), else English. A server answering people who each
read their own language (the console) says one request's messages in that request's language with
`speaking(language)`: a context variable, so concurrent requests (threads or asyncio tasks) never mix.

Messages are marked with `_()` (or `ngettext()` when a number decides the form, `N_()` for a text kept in a
constant and translated where it is shown); `make messages` extracts them with Babel into `robots/kit/locale/robo.pot` and updates each language's
`.po`. The `.mo` files are build outputs, compiled by `setup.py`'s build hook (`pip install`, `make install`);
when one is missing or older than its `.po` (a checkout edited by hand), the `.po` is read with Babel instead.

Codes (`error[unknown-parameter]`), statuses as stored, and the workflow language itself are never translated.
"""

from __future__ import annotations

import gettext
import io
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import BytecodeCache, Environment

DOMAIN = "robo"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "fr")
"""The languages Rob'O speaks; the first is the one used when nothing says otherwise."""
LANGUAGE_VARIABLE = "ROBO_LANG"

_translations: gettext.NullTranslations | None = None
_language: str | None = None
_spoken: ContextVar[str | None] = ContextVar("robo_spoken_language", default=None)
_catalogs: dict[
    str, gettext.NullTranslations
] = {}  # per language, for `speaking` (loaded once, then read-only)


def language_from(environ: Mapping[str, str]) -> str:
    """The language the environment asks for: `ROBO_LANG`, else the first locale variable set; English otherwise."""
    chosen = environ.get(LANGUAGE_VARIABLE, "").strip().lower()
    if chosen in LANGUAGES:
        return chosen
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable, "")
        if value:  # the first one set decides, as in gettext: LC_ALL=C wins over LANG=fr_FR
            code = value.split(".")[0].split("@")[0].split("_")[0].lower()
            return code if code in LANGUAGES else LANGUAGES[0]
    return LANGUAGES[0]


def set_language(language: str | None = None) -> str:
    """Choose the language of this process (`None`: from the environment); returns it.

    Raises ConfigurationError for a language Rob'O does not speak.
    """
    global _translations, _language
    chosen = language_from(os.environ) if language is None else language.strip().lower()
    if chosen not in LANGUAGES:  # said in the language already in use (the environment's)
        from robots.kit.errors import ConfigurationError  # here: the errors module marks its words with N_

        raise ConfigurationError(
            _("Rob'O does not speak the language '{language}'").format(language=language),
            hint=_("choose one of: {languages}").format(languages=", ".join(LANGUAGES)),
        )
    _translations = _load(chosen)
    _language = chosen
    return chosen


def current_language() -> str:
    """The language messages are shown in.

    The one `speaking` chose here, else the process's (chosen from the environment on first use).
    """
    return _spoken.get() or _language or set_language()


@contextmanager
def speaking(language: str) -> Iterator[str]:
    """Say messages, numbers and moments in `language` within the block, for this thread or asyncio task only.

    What the block starts (a task, a worker thread with the context copied) speaks it too; the process's
    language is untouched, and the language outside is back after the block.

    Raises ConfigurationError for a language Rob'O does not speak.
    """
    chosen = language.strip().lower()
    if chosen not in LANGUAGES:
        from robots.kit.errors import ConfigurationError

        raise ConfigurationError(
            _("Rob'O does not speak the language '{language}'").format(language=language),
            hint=_("choose one of: {languages}").format(languages=", ".join(LANGUAGES)),
        )
    if chosen not in _catalogs:
        _catalogs[chosen] = _load(chosen)  # two threads loading at once store equal catalogs: no lock needed
    token = _spoken.set(chosen)
    try:
        yield chosen
    finally:
        _spoken.reset(token)


def _active() -> gettext.NullTranslations:
    spoken = _spoken.get()
    if spoken is not None:
        return _catalogs[spoken]
    if _translations is None:
        set_language()
    assert _translations is not None
    return _translations


def _(message: str) -> str:
    """`message` in the language of the process."""
    return _active().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the number `n`, by the plural rule of the language ("1 dossier", "2 dossiers")."""
    return _active().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` in the language of the process, for the `context` it is said in.

    For an English word with two translations: a run "succeeded" is « réussi », a step « réussie ».
    """
    return _active().pgettext(context, message)


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it: it is translated with `_()` where it is shown."""
    return message


def _load(language: str) -> gettext.NullTranslations:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    compiled, source = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if compiled.is_file() and (not source.is_file() or compiled.stat().st_mtime >= source.stat().st_mtime):
        with compiled.open("rb") as file:
            return gettext.GNUTranslations(file)
    if source.is_file():
        return gettext.GNUTranslations(io.BytesIO(compile_catalog(source)))
    return gettext.NullTranslations()


def page_templates(package: str, folder: str = "templates", compiled_for: str | None = None) -> Environment:
    """The Jinja templates of pages people read (the run's report, the console).

    Autoescaped (every text from workflows, data and web pages is data, never markup), translated through these
    catalogs in the reader's language (`{% trans %}` blocks trimmed, as `babel.cfg` extracts them), block tags
    leaving no blank lines. With `compiled_for` (a language), the compiled templates are kept on disk for the
    next process (the report's costs ~90 ms to compile, each `robo run`): per language and version of its
    catalog, since Jinja may translate a constant while compiling (see `_compiled_pages`).
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader(package, folder),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        bytecode_cache=_compiled_pages(compiled_for) if compiled_for else None,
    )
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_callables(_, ngettext, newstyle=True)  # type: ignore[attr-defined]
    return environment


def _compiled_pages(language: str) -> BytecodeCache | None:
    """Where the pages compiled for `language` are kept, one file per template and its source.

    Jinja's cache folder (created private to the user, its owner and mode checked), a file named by the language
    and the dates of its catalog and of this module (the pages' options; an upgrade rewrites it), and Jinja's
    version: a stat each, no package metadata read (that costs ~30 ms, a third of what the cache saves). None
    where there is no such folder (not a POSIX system, no private temporary folder): then each process compiles.
    A cache file that cannot be read or written is compiled and rendered as without a cache.
    """
    import jinja2
    from jinja2 import FileSystemBytecodeCache
    from jinja2.bccache import Bucket

    class Forgiving(FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a file cut short or garbled: compiled again, and written anew
                bucket.reset()

        def dump_bytecode(self, bucket: Bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:  # a full or read-only disk: the next process compiles again
                pass

    if os.name != "posix":
        return None
    catalogs = [LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.{kind}" for kind in ("mo", "po")]
    dated = [Path(__file__), *(catalog for catalog in catalogs if catalog.is_file())]
    stamp = "-".join([jinja2.__version__, *(f"{path.stat().st_mtime_ns:x}" for path in dated)])
    try:
        return Forgiving(pattern=f"robo-{language}-{stamp}-%s.cache")
    except (OSError, RuntimeError):
        return None


def compile_catalog(source: Path) -> bytes:
    """The `.mo` bytes of a `.po` catalog (Babel); fuzzy entries are left out, as `msgfmt` does."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with source.open("rb") as file:
        catalog = read_po(file)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    return compiled.getvalue()
