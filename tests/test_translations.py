"""The gettext catalogs: every message marked in the code is translated, and `robo` speaks the language asked.

The catalogs are checked against what Babel extracts from the code now (not against the committed robo.pot), so a
message marked without running `make messages`, or left untranslated after it, fails here.
"""

from __future__ import annotations

import json
import re
import string
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment

from robots.kit import (
    LANGUAGES,
    ConfigurationError,
    _,
    current_language,
    i18n,
    language_from,
    ngettext,
    set_language,
    speaking,
)
from tests.running import LANGUAGE_VARIABLES, robo_process

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "robots" / "kit" / "locale"
INVALID = ROOT / "tests" / "invalid"


def extracted() -> dict[str | tuple[str, str], Path]:
    """Every message marked in runner/ and robots/, with a file that marks it, extracted as `make messages` does."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    found: dict[str | tuple[str, str], Path] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map):
        key = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(key, Path(filename))
    return found


def catalog(language: str) -> Catalog:
    with (LOCALE / language / "LC_MESSAGES" / "robo.po").open("rb") as file:
        return read_po(file)


def key(message: Message) -> str | tuple[str, str]:
    return message.id if isinstance(message.id, str) else (message.id[0], message.id[1])


def texts(value: object) -> tuple[str, ...]:
    """A message's id or translation as its forms (one, or one per plural form)."""
    return tuple(str(v or "") for v in value) if isinstance(value, tuple | list) else (str(value or ""),)


def fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name is not None}


def test_the_code_marks_messages_and_babel_finds_them() -> None:
    found = extracted()
    assert "the file is empty" in found and ("{n} error", "{n} errors") in found
    assert found["completed with errors"] == Path("runner/events/statuses.py")


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_has_every_message_of_the_code_and_no_other(language: str) -> None:
    messages = {key(message) for message in catalog(language) if message.id}
    code = extracted()
    missing = sorted(f"{code[k]}: {k}" for k in code.keys() - messages)
    assert not missing, f"not in the {language} catalog (run 'make messages'):\n" + "\n".join(missing)
    obsolete = sorted(str(k) for k in messages - code.keys())
    assert not obsolete, (
        f"in the {language} catalog but no longer in the code (run 'make messages'): {obsolete}"
    )
    assert not catalog(language).obsolete, "obsolete entries (#~) left in the catalog: run 'make messages'"


def test_every_message_has_a_french_translation() -> None:
    french = catalog("fr")
    forms = french.num_plurals
    untranslated = []
    for message in french:
        if not message.id:
            continue
        strings = texts(message.string)
        wanted = forms if message.pluralizable else 1
        if message.fuzzy or len(strings) != wanted or not all(text.strip() for text in strings):
            untranslated.append(str(message.id))
    assert not untranslated, "no French translation (or a fuzzy one) in robots/kit/locale/fr:\n" + "\n".join(
        untranslated
    )


def test_a_translation_keeps_the_placeholders_of_its_message() -> None:
    wrong: list[str] = []
    for message in catalog("fr"):
        if not message.id:
            continue
        ids, strings = texts(message.id), texts(message.string)
        expected = fields(ids[-1])
        wrong.extend(f"{ids[0]!r} → {text!r}" for text in strings if text and fields(text) != expected)
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "C"}, "en"),
        ({}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8", "ROBO_LANG": "fr"}, "fr"),
        ({"LANG": "fr_FR.UTF-8", "ROBO_LANG": "en"}, "en"),
        ({"LANG": "fr_FR.UTF-8", "LC_ALL": "C"}, "en"),
        ({"LANG": "C", "LC_MESSAGES": "fr_CA.UTF-8"}, "fr"),
        ({"LANG": "fr_FR.UTF-8", "ROBO_LANG": "klingon"}, "fr"),
    ],
)
def test_the_language_comes_from_robo_lang_then_the_locale(environ: dict[str, str], language: str) -> None:
    assert language_from(environ) == language


@pytest.fixture
def french() -> Iterator[None]:
    """This process in French for one test, in English again after it (the suite's language)."""
    set_language("fr")
    yield
    set_language("en")


def test_french_plurals_follow_the_french_rule(french: None) -> None:
    assert [ngettext("{n} error", "{n} errors", n).format(n=n) for n in (0, 1, 2, 1_000_000)] == [
        "0 erreur",
        "1 erreur",
        "2 erreurs",
        "1000000 d'erreurs",
    ]


def test_speaking_changes_the_language_of_one_thread_only() -> None:
    heard: dict[str, str] = {}
    inside = threading.Event()
    leave = threading.Event()

    def french_thread() -> None:
        with speaking("fr") as language:
            heard["inside"] = f"{language} {current_language()} {_('unknown')}"
            inside.set()
            leave.wait(timeout=10)
        heard["after"] = current_language()

    thread = threading.Thread(target=french_thread)
    thread.start()
    assert inside.wait(timeout=10)
    heard["main"] = f"{current_language()} {_('unknown')}"  # while the other thread speaks French
    leave.set()
    thread.join(timeout=10)
    assert heard == {"inside": "fr fr inconnu", "main": "en unknown", "after": "en"}
    with pytest.raises(ConfigurationError, match="does not speak the language 'de'"):
        with speaking("de"):
            pass


def test_without_compiled_catalogs_the_po_files_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, french: None
) -> None:
    # A checkout whose .mo files were never built (or are older than an edited .po) still speaks French.
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "robo.po").write_bytes((LOCALE / "fr" / "LC_MESSAGES" / "robo.po").read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    set_language("fr")
    assert not (folder / "robo.mo").exists()
    assert _("the file is empty") == "le fichier est vide"


def test_compiled_pages_are_kept_per_language_and_reused_by_the_next_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Jinja folds a filter of a constant while compiling: the page compiled in French must not be shown in English.
    package = tmp_path / "pages_du_test"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "templates" / "page.html.j2").write_text("{{ 'unknown' | translated }}", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "pages_du_test", raising=False)  # and forgotten after the test
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # Jinja's cache folder, in there
    (tmp_path / "tmp").mkdir()

    def shown(language: str) -> str:
        set_language(language)
        environment = i18n.page_templates("pages_du_test", compiled_for=language)
        environment.filters["translated"] = _
        return environment.get_template("page.html.j2").render()

    try:
        assert [shown("fr"), shown("en"), shown("fr")] == ["inconnu", "unknown", "inconnu"]
        monkeypatch.setattr(Environment, "compile", lambda *args, **kwargs: pytest.fail("compiled again"))
        assert [shown("en"), shown("fr")] == ["unknown", "inconnu"]  # as the next process would: from disk
    finally:
        set_language("en")
    [cache] = (tmp_path / "tmp").iterdir()
    assert sorted(path.name.split("-")[1] for path in cache.iterdir()) == ["en", "fr"]


def robo(*args: str, cwd: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """`robo` in a process whose only language settings are `environ` (the suite's ROBO_LANG=en removed)."""
    return robo_process(*args, cwd=cwd, without=LANGUAGE_VARIABLES, environ=environ)


class TestValidate:
    def test_in_french_the_message_its_hint_and_the_count_are_french_and_the_code_stays(self) -> None:
        result = robo("validate", "empty_file.yaml", cwd=INVALID, LANG="fr_FR.UTF-8")
        assert result.returncode == 1
        assert "empty_file.yaml:1:1: error[empty-workflow]: le fichier est vide" in result.stderr
        assert "  conseil : un workflow doit avoir au moins les clés 'name' et 'steps'" in result.stderr
        assert result.stderr.rstrip().endswith("1 erreur dans 1 fichier")

    def test_in_french_the_plural_follows_the_number(self) -> None:
        result = robo("validate", "empty_file.yaml", "empty_steps.yaml", cwd=INVALID, LANG="fr_FR.UTF-8")
        assert result.stderr.rstrip().endswith("2 erreurs dans 2 fichiers"), result.stderr

    def test_under_lang_c_the_output_is_the_english_of_the_golden_corpus(self) -> None:
        result = robo("validate", "tests/invalid/empty_file.yaml", cwd=ROOT, LANG="C")
        assert result.stderr == (INVALID / "empty_file.expected").read_text(encoding="utf-8")

    def test_robo_lang_and_the_lang_option_win_over_the_locale(self) -> None:
        french = robo("validate", "empty_file.yaml", cwd=INVALID, LANG="C", ROBO_LANG="fr")
        assert "le fichier est vide" in french.stderr
        english = robo("--lang", "en", "validate", "empty_file.yaml", cwd=INVALID, LANG="fr_FR.UTF-8")
        assert "the file is empty" in english.stderr and "1 error in 1 file" in english.stderr

    def test_a_language_rob_o_does_not_speak_is_refused(self) -> None:
        result = robo("--lang", "de", "validate", "empty_file.yaml", cwd=INVALID)
        assert result.returncode == 1, result.stderr
        assert "error: Rob'O does not speak the language 'de'\n  hint: choose one of: en, fr" in result.stderr


PARTLY_FAILING = """\
name: Relance
steps:
  - for_each: ["D1", "D2", "D3"]
    as: dossier
    key: dossier
    steps:
      - fail: "le dossier {{ dossier }} est incomplet"
        when: dossier == "D2"
      - log: "saisi {{ dossier }}"
"""


class TestRun:
    def test_in_french_the_summary_and_the_status_are_french_and_the_stored_status_is_not(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "relance.yaml").write_text(PARTLY_FAILING, encoding="utf-8")
        logs = ["--logs", str(tmp_path / "logs")]
        result = robo("run", "relance.yaml", *logs, cwd=tmp_path, LANG="fr_FR.UTF-8")
        assert result.returncode == 3, result.stderr
        assert re.search(
            r" traitement terminé avec des erreurs en \d+,\d s \(\d+ étapes, 2 dossiers traités, 1 en échec\)$",
            result.stderr,
            re.MULTILINE,
        ), result.stderr
        assert "] D2 ✗ en échec : les données ont été refusées : " in result.stderr
        [run] = json.loads(robo("runs", "list", "--format", "json", *logs, cwd=tmp_path).stdout)
        assert run["status"] == "completed_with_errors"

    def test_under_lang_c_the_summary_is_english(self, tmp_path: Path) -> None:
        (tmp_path / "relance.yaml").write_text(PARTLY_FAILING, encoding="utf-8")
        result = robo("run", "relance.yaml", "--logs", str(tmp_path / "logs"), cwd=tmp_path, LANG="C")
        assert re.search(
            r" run completed with errors in \d+\.\d s \(\d+ steps, 2 items done, 1 failed\)$",
            result.stderr,
            re.MULTILINE,
        ), result.stderr
        assert "] D2 ✗ failed: the data was refused: " in result.stderr
