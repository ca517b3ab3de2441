"""Templates: native values, French filters, strict undefined names, the sandbox, and static analysis."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.engine import Redactor
from runner.language.templating import (
    SECRET_WATCH,
    TemplateError,
    attribute_references,
    evaluate_condition,
    filters_used,
    folder_slug,
    referenced_names,
    render_string,
    render_value,
    syntax_problem,
)
from runner.language.templating import tests_used as jinja_tests_used

SCOPE = {
    "row": {"nom": "{{ 7 * 7 }}", "date": "2026-11-01", "montant": 1234.5},
    "rows": [1, 2, 3],
    "inputs": {"service": "RH"},
}


class TestRendering:
    def test_a_whole_expression_keeps_its_type(self) -> None:
        assert render_string("{{ rows }}", SCOPE) == [1, 2, 3]
        assert render_string("  {{ rows | length }} ", SCOPE) == 3

    def test_a_block_scalar_s_line_end_keeps_the_type_but_a_tab_is_text_kept(self) -> None:
        assert render_string("{{ rows }}\n", SCOPE) == [1, 2, 3]  # `value: >` ends with a line end
        assert render_string("{{ inputs.service }}\t", SCOPE) == "RH\t"  # typed: the Tab after it too
        assert render_string("\t{{ rows | length }}", SCOPE) == "\t3"

    def test_mixed_text_renders_to_text(self) -> None:
        assert render_string("{{ rows | length }} lignes", SCOPE) == "3 lignes"

    def test_plain_strings_are_left_alone(self) -> None:
        assert render_string("Nom du demandeur", SCOPE) == "Nom du demandeur"

    def test_nested_values(self) -> None:
        assert render_value({"a": ["{{ inputs.service }}", 2]}, SCOPE) == {"a": ["RH", 2]}

    def test_a_data_value_holding_a_template_is_not_rendered_again(self) -> None:
        assert render_string("{{ row.nom }}", SCOPE) == "{{ 7 * 7 }}"
        assert render_string("Nom : {{ row.nom }}", SCOPE) == "Nom : {{ 7 * 7 }}"


class TestFilters:
    def test_french_dates(self) -> None:
        assert render_string("{{ row.date | date_fr }}", SCOPE) == "1er novembre 2026"
        assert render_string("{{ row.date | date_fr('full') }}", SCOPE) == "dimanche 1er novembre 2026"
        assert render_string("{{ '23/11/2026' | date_iso }}", SCOPE) == "2026-11-23"
        assert render_string("{{ row.date | date('%d/%m/%Y') }}", SCOPE) == "01/11/2026"

    def test_numbers_and_money(self) -> None:
        assert render_string("{{ row.montant | number_fr }}", SCOPE) == "1\u202f234,50"
        assert render_string("{{ row.montant | euros }}", SCOPE) == "1\u202f234,50\u00a0€"

    @pytest.mark.parametrize(
        ("day", "style", "expected"),
        [
            ("2026-11-23", "long", "23 novembre 2026"),
            ("2026-02-01", "long", "1er février 2026"),
            ("2026-08-01", "full", "samedi 1er août 2026"),
            ("2026-12-31", "full", "jeudi 31 décembre 2026"),
            ("2026-11-01", "short", "01/11/2026"),
            ("2026-03-05", "short", "05/03/2026"),
            ("2026-11-01", "other", "1er novembre 2026"),
        ],
    )
    def test_french_date_styles(self, day: str, style: str, expected: str) -> None:
        assert render_string(f"{{{{ '{day}' | date_fr('{style}') }}}}", SCOPE) == expected

    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ("{{ -1234567.891 | number_fr }}", "-1\u202f234\u202f567,89"),
            ("{{ '2,675' | number_fr }}", "2,68"),
            ("{{ '0.125' | number_fr }}", "0,12"),
            ("{{ ' 1 234,5 ' | euros(0) }}", "1\u202f234\u00a0€"),
            ("{{ 7 | euros(3) }}", "7,000\u00a0€"),
            ("{{ 'nan' | number_fr }}", "NaN"),
            ("{{ '-inf' | euros }}", "-Infinity\u00a0€"),
            # Past the 28 digits of Python's default decimal context
            (
                "{{ '123456789012345678901234567890.125' | number_fr }}",
                "123\u202f456\u202f789\u202f012\u202f345\u202f678\u202f901\u202f234\u202f567\u202f890,12",
            ),
        ],
    )
    def test_french_numbers(self, template: str, expected: str) -> None:
        assert render_string(template, SCOPE) == expected

    @pytest.mark.parametrize(
        ("template", "message"),
        [
            ("{{ 'douze' | number_fr }}", "ValueError: not a number: 'douze'"),
            ("{{ 12 | euros(-1) }}", "ValueError: invalid format string"),
            ("{{ 12 | number_fr(1.5) }}", "ValueError: invalid format string"),
        ],
    )
    def test_a_bad_number_or_decimals_is_a_template_error(self, template: str, message: str) -> None:
        with pytest.raises(TemplateError) as caught:
            render_string(template, SCOPE)
        assert caught.value.message == message

    def test_slug_upper_lower_default(self) -> None:
        assert render_string("{{ 'Dossier n°12 : Éric' | slug }}", SCOPE) == "dossier-n-12-eric"
        assert render_string("{{ inputs.service | lower }}", SCOPE) == "rh"
        assert render_string("{{ missing | default('—') }}", SCOPE) == "—"

    def test_slug_of_a_text_with_no_latin_letter_is_empty(self) -> None:
        assert render_string("{{ '日本語' | slug }}", SCOPE) == ""

    def test_today_and_now(self) -> None:
        assert render_string("{{ today() }}", SCOPE) == dt.date.today()
        assert isinstance(render_string("{{ now() }}", SCOPE), dt.datetime)

    def test_a_bad_date_is_a_template_error(self) -> None:
        with pytest.raises(TemplateError, match="not a date"):
            render_string("{{ 'hier' | date_fr }}", SCOPE)


class TestStrictness:
    def test_undefined_name(self) -> None:
        with pytest.raises(TemplateError, match="'inconnu' is not defined"):
            render_string("{{ inconnu }}", SCOPE)

    def test_undefined_field(self) -> None:
        with pytest.raises(TemplateError) as raised:
            render_string("Bonjour {{ row.prenom }}", SCOPE)
        assert raised.value.message == (
            "row has no field 'prenom': did you mean 'nom'? the fields of row are nom, date, montant"
        )
        assert raised.value.workflow_bug

    def test_undefined_field_named_by_its_path_and_in_any_operation(self) -> None:
        scope = {"dossier": {"nom": "Dupont", "adresse": {"ville": "Lyon", "code_postal": "69001"}}}
        with pytest.raises(TemplateError) as raised:
            render_string("{{ dossier.adresse.Ville ~ '!' }}", scope)
        assert raised.value.message == (
            "dossier.adresse has no field 'Ville': did you mean 'ville'? "
            "the fields of dossier.adresse are ville, code_postal"
        )
        with pytest.raises(TemplateError, match="dossier has no field 'Montant': the fields of dossier are"):
            render_string("{{ dossier['Montant'] + 1 }}", scope)

    def test_undefined_name_suggests_the_closest(self) -> None:
        with pytest.raises(TemplateError, match="'rwo' is not defined here: did you mean 'row'"):
            render_string("{{ rwo.nom }}", SCOPE)

    def test_mistakes_of_the_template_are_told_from_refused_data(self) -> None:
        with pytest.raises(TemplateError) as sandbox:
            render_string("{{ row.__class__ }}", SCOPE)
        assert sandbox.value.workflow_bug
        with pytest.raises(TemplateError) as data:
            render_string("{{ 'hier' | date_fr }}", SCOPE)
        assert not data.value.workflow_bug
        with pytest.raises(TemplateError) as short:  # a value with fewer parts than the others
            render_string("{{ parts[2] }}", {"parts": ["a", "b"]})
        assert short.value.message == "parts has no item 2 (it has 2)"
        assert not short.value.workflow_bug


class TestSandbox:
    @pytest.mark.parametrize(
        "template",
        [
            "{{ ''.__class__ }}",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ row.__class__ }}",
            "{{ rows.append(4) }}",
            "{{ cycler.__init__.__globals__ }}",
            "{{ (1).__add__(2) }}",
        ],
    )
    def test_escapes_are_refused(self, template: str) -> None:
        with pytest.raises(TemplateError):
            render_string(template, SCOPE)
        assert SCOPE["rows"] == [1, 2, 3]


class TestConditions:
    def test_bare_and_braced_expressions(self) -> None:
        assert evaluate_condition("row.montant > 1000", SCOPE) is True
        assert evaluate_condition("{{ row.montant > 5000 }}", SCOPE) is False


class TestStaticAnalysis:
    def test_referenced_names(self) -> None:
        text = "{{ a.b + c | upper }} {% for i in d %}{{ i }}{% endfor %} {{ e is defined }} {{ f | default(1) }}"
        assert referenced_names(text) == {"a", "c", "d"}

    def test_unknown_filters_and_tests_do_not_stop_the_analysis(self) -> None:
        text = "{{ montant | euro }} {{ dossiers is empty }} {{ inputs.fichier }} {{ secrets['jeton'] }}"
        assert syntax_problem(text) is None
        assert referenced_names(text) == {"montant", "dossiers", "inputs", "secrets"}
        assert filters_used(text) == {"euro"}
        assert jinja_tests_used(text) == {"empty"}
        assert attribute_references(text, "inputs") == ["fichier"]
        assert attribute_references(text, "secrets") == ["jeton"]

    def test_syntax_problems_are_said_plainly(self) -> None:
        assert syntax_problem("{{ montant > 23 000 }}") == "expected the end of the expression, got 'integer'"
        assert syntax_problem("{{ " + "(" * 200 + " }}") is not None


class TestFolderSlug:
    """The slug that names a folder (`logs/<workflow>/<run-id>`): readable, never empty, never a path."""

    def test_a_latin_name_keeps_its_readable_slug(self) -> None:
        assert folder_slug("Relance des factures impayées") == "relance-des-factures-impayees"

    @pytest.mark.parametrize("name", ["日本語", "---", "../..", "..", ".", "/", "", "Москва", "  "])
    def test_a_name_with_no_latin_letter_gets_the_fallback_and_a_stable_hash(self, name: str) -> None:
        result = folder_slug(name)
        assert result.startswith("workflow-")
        assert len(result) == len("workflow-") + 8
        assert folder_slug(name) == result

    def test_digits_are_kept_after_the_fallback(self) -> None:
        assert folder_slug("２０２４ 日本語").startswith("workflow-2024-")

    def test_names_with_no_latin_letter_stay_apart(self) -> None:
        assert folder_slug("日本語") != folder_slug("中文")

    def test_a_long_name_is_cut_and_keeps_a_hash_so_that_two_long_names_stay_apart(self) -> None:
        first = folder_slug("rapport " * 20 + "janvier")
        second = folder_slug("rapport " * 20 + "fevrier")
        assert len(first) <= 60 and len(second) <= 60
        assert first.startswith("rapport-rapport-")
        assert first != second

    @given(st.text(max_size=300))
    def test_any_name_gives_a_direct_child_of_the_logs_folder(self, name: str) -> None:
        result = folder_slug(name)
        assert 0 < len(result) <= 60
        assert result.strip("abcdefghijklmnopqrstuvwxyz0123456789-") == ""
        assert any(char.isalpha() for char in result)
        logs = Path("/srv/robo/logs")
        assert (logs / result / "run-id").resolve().parent.parent == logs


class TestSecretTaint:
    """A value a template computes from a secret is a secret: it is registered with the run's redactor."""

    SECRET = 'Sp&ci"al<Q> é\\z+@/!9'

    def scope(self) -> tuple[Redactor, dict[str, object]]:
        redactor = Redactor([self.SECRET])
        return redactor, {
            SECRET_WATCH: redactor,
            "secrets": {"jeton": self.SECRET},
            "row": {"nom": "Dupont", "ville": "Lyon"},
            "vars": {"base": "https://intranet.example", "cle": self.SECRET},
        }

    def test_what_a_template_computes_from_a_secret_is_masked(self) -> None:
        redactor, scope = self.scope()
        for template in (
            "{{ secrets.jeton[2:] }}",
            "{{ secrets.jeton | replace('&', '+') }}",
            "{{ secrets.jeton | list | join('.') }}",
            "{{ vars.cle[::2] }}",
            "{% for k, v in secrets.items() %}{{ v[1:-1] }}{% endfor %}",
        ):
            derived = render_string(template, scope)
            assert derived != self.SECRET and redactor.text(f"<{derived}>") == "<***>", template

    def test_a_value_computed_from_a_derived_value_is_masked_in_turn(self) -> None:
        redactor, scope = self.scope()
        scope["derive"] = render_string("{{ secrets.jeton[1:] }}", scope)
        again = render_string("{{ derive[1:] }}", scope)
        assert redactor.text(again) == "***"

    def test_values_not_computed_from_a_secret_stay_readable(self) -> None:
        redactor, scope = self.scope()
        assert render_string("{{ row.nom }} {{ vars.base }}/{{ row.ville }}", scope) == (
            "Dupont https://intranet.example/Lyon"
        )
        assert redactor.text("Dupont https://intranet.example/Lyon") == "Dupont https://intranet.example/Lyon"

    def test_an_error_on_a_secret_does_not_quote_it(self) -> None:
        _, scope = self.scope()
        with pytest.raises(TemplateError) as raised:
            render_string("{{ secrets.jeton[3:] | to_date }}", scope)
        assert raised.value.message == (
            "ValueError in an expression that uses a secret (the details are not shown: they could reveal it)"
        )

    def test_in_a_text_each_expression_counts_on_its_own(self) -> None:
        redactor, scope = self.scope()
        text = render_string(
            "longueur {{ secrets.jeton | length }}, {{ secrets.jeton[4:] }} pour {{ row.nom }}", scope
        )
        assert redactor.text(text) == f"longueur {len(self.SECRET)}, *** pour Dupont"
        assert redactor.text("Dupont") == "Dupont"

    def test_a_text_with_statements_counts_as_a_whole(self) -> None:
        redactor, scope = self.scope()
        text = render_string("{% set cut = secrets.jeton[1:] %}{{ row.nom }} {{ cut }}", scope)
        assert redactor.text(text) == "***"
