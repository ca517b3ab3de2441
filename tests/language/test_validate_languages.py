"""`robo validate` on a faulty workflow under `LANG=fr_FR.UTF-8` and under `LANG=C`: the same diagnostics (codes,
positions, excerpts), French texts in the one and English texts in the other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_translations import robo

# A key misspelt, a wrong type, an unknown action, a template that cannot be read, a cron out of range.
FAULTY = """\
name: Relance des factures
schedule:
  - cron: "0 25 * * 1"
steps:
  - name: Lire les factures
    data.read_csv: {path: factures.csv}
    sav: factures
  - data.sort: {records: [], by: nom, descending: peut-être}
  - tableur.ouvrir: {path: b.xlsx}
  - log: "Bonjour {{ inputs.nom }"
"""
CODES = ["bad-cron", "unknown-key", "wrong-type", "unknown-action", "template-syntax"]
FIRST_LINE = re.compile(r"^\S+:(\d+:\d+): error\[([a-z-]+)\]: ", re.MULTILINE)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder: Path = tmp_path_factory.mktemp("faulty")
    (folder / "relance.yaml").write_text(FAULTY, encoding="utf-8")
    results = {
        language: robo("validate", "relance.yaml", cwd=folder, LANG=locale)
        for language, locale in (("fr", "fr_FR.UTF-8"), ("en", "C"))
    }
    for result in results.values():
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
    return {language: result.stderr for language, result in results.items()}


def test_both_languages_report_the_same_codes_at_the_same_places(outputs: dict[str, str]) -> None:
    french, english = FIRST_LINE.findall(outputs["fr"]), FIRST_LINE.findall(outputs["en"])
    assert french == english
    assert [code for _, code in english] == CODES


def test_under_a_french_locale_every_message_and_hint_is_french(outputs: dict[str, str]) -> None:
    text = outputs["fr"]
    for line in (
        "error[bad-cron]: expression cron invalide « 0 25 * * 1 » : l'heure « 25 » est hors limites (0-23)",
        "  conseil : cinq champs : minute heure jour-du-mois mois jour-de-la-semaine",
        "error[unknown-key]: une étape d'action n'a pas de clé « sav »",
        "  attendu : l'un de : name, id, when, save, timeout, retry, on_error, recover, allow_outside",
        "  conseil : vouliez-vous dire « save » ?",
        "error[wrong-type]: data.sort : le paramètre « descending » doit valoir true ou false",
        "  trouvé : 'peut-être'",
        "error[unknown-action]: il n'existe pas de robot « tableur »",
        "error[template-syntax]: cette expression est illisible : « } » inattendu",
    ):
        assert line in text, text
    assert text.endswith("\n5 erreurs dans 1 fichier\n")
    for english in ("did you mean", "hint:", "expected:", "found:", "has no", "should be", "cannot be read"):
        assert english not in text


def test_under_lang_c_every_message_and_hint_is_english(outputs: dict[str, str]) -> None:
    text = outputs["en"]
    for line in (
        "error[bad-cron]: invalid cron expression '0 25 * * 1': the hour '25' is out of range (0-23)",
        "  hint: five fields: minute hour day-of-month month day-of-week",
        "error[unknown-key]: an action step has no key 'sav'",
        "  expected: one of name, id, when, save, timeout, retry, on_error, recover, allow_outside",
        "  hint: did you mean 'save'?",
        "error[wrong-type]: data.sort: parameter 'descending' should be a valid boolean",
        "  found: 'peut-être'",
        "error[unknown-action]: there is no robot 'tableur'",
        "error[template-syntax]: this template cannot be read: unexpected '}'",
    ):
        assert line in text, text
    assert text.endswith("\n5 errors in 1 file\n")
    for french in ("vouliez-vous", "conseil", "attendu", "trouvé", "n'a pas", "illisible"):
        assert french not in text
