r"""The `extract` filter and the `is siret`, `is siren`, `is iban` tests, and what validation sees of them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from robots.kit import extraction as extraction_module
from runner.language import validate_file
from runner.language.templating import TemplateError, extraction_problems, render_string

TEXT = "Dossier DOS-2026-0001 ; SIRET 130 025 265 00013 ; 1 234,56 € au 1er février 2026 ; DOS-2026-0001"
SCOPE = {"texte": TEXT, "motif": "(?P<ref>DOS", "vide": None}


class TestExtractFilter:
    def test_named_groups_give_a_mapping_and_one_group_its_text(self) -> None:
        assert render_string(r"{{ texte | extract('(?P<ref>DOS-\d{4}-\d{4})') }}", SCOPE) == {
            "ref": "DOS-2026-0001"
        }
        assert render_string(r"{{ texte | extract('DOS-(\d{4})') }}", SCOPE) == "2026"
        assert render_string(r"dossiers/{{ (texte | extract('(?P<ref>DOS-\d+-\d+)')).ref }}", SCOPE) == (
            "dossiers/DOS-2026-0001"
        )

    def test_backslashes_of_a_regular_expression_stay_as_written_in_a_literal(self) -> None:
        # `\b` a word boundary (not a backspace), `\1` a back-reference (not U+0001), `\d` without a warning
        scope = {"texte": "XDOS-1 et DOS-22-22"}
        assert render_string(r"{{ texte | extract('\bDOS-(\d+)-\1') }}", scope) == "22"
        assert render_string(r"{{ 'a\nb' }}", scope) == "a\nb"
        assert render_string(r"{{ 'l\'été \\d' }}", scope) == "l'été \\d"

    def test_ready_kinds_and_shapes_take_the_actions_parameters(self) -> None:
        assert render_string("{{ texte | extract(kind='siret') }}", SCOPE) == "13002526500013"
        assert render_string("{{ texte | extract(kind='amount') }}", SCOPE) == Decimal("1234.56")
        assert render_string("{{ texte | extract(kind='date') }}", SCOPE) == dt.date(2026, 2, 1)
        assert render_string("{{ texte | extract(kind='date') | date_fr }}", SCOPE) == "1er février 2026"
        assert render_string("{{ texte | extract(reference='DOS-####-####', expect='all') }}", SCOPE) == [
            "DOS-2026-0001"
        ]

    def test_the_tests_check_a_whole_value(self) -> None:
        assert render_string("{{ '130 025 265 00013' is siret }}", SCOPE) is True
        assert render_string("{{ '130 025 265 00014' is siret }}", SCOPE) is False
        assert render_string("{{ '443061841' is siren and not ('443061842' is siren) }}", SCOPE) is True
        assert render_string("{{ 'FR76 3000 6000 0112 3456 7890 189' is iban }}", SCOPE) is True
        assert render_string("{{ texte is siret }}", SCOPE) is False  # a text holding one is not one

    def test_nothing_found_fails_as_the_data_with_the_hint(self) -> None:
        with pytest.raises(TemplateError) as caught:
            render_string("{{ texte | extract(kind='iban') }}", SCOPE)
        assert caught.value.message == "no IBAN in the text"
        assert not caught.value.workflow_bug
        assert "OCR" in (caught.value.hint or "")

    def test_refused_candidates_are_kept_as_the_cause(self) -> None:
        with pytest.raises(TemplateError) as caught:
            render_string("{{ 'SIRET 130 025 265 00014' | extract(kind='siret') }}", SCOPE)
        assert caught.value.cause and "its check key is wrong" in caught.value.cause[0]

    def test_an_invalid_expression_from_a_variable_is_a_workflow_bug(self) -> None:
        with pytest.raises(TemplateError) as caught:
            render_string("{{ texte | extract(motif) }}", SCOPE)
        assert caught.value.workflow_bug
        assert "a parenthesis is not closed" in caught.value.message

    def test_a_hostile_expression_is_stopped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(extraction_module, "SEARCH_SECONDS", 0.3)
        with pytest.raises(TemplateError, match=r"was stopped after 0\.3 s"):
            render_string("{{ ('a' * 40) | extract('(a|aa)+c') }}", SCOPE)

    def test_template_syntax_in_the_text_is_never_rendered(self) -> None:
        scope = {"texte": "Réf. {{ 7 * 7 }} DOS-2026-0009"}
        assert render_string(r"{{ texte | extract('Réf\. (\{\{[^}]*\}\})') }}", scope) == "{{ 7 * 7 }}"


class TestValidation:
    def test_constant_mistakes_are_found_before_the_run(self) -> None:
        problems = extraction_problems("{{ texte | extract('(?P<ref>DOS-[0-9') }}")
        assert problems == [
            (
                "the regular expression '(?P<ref>DOS-[0-9' is not valid at its end: a '[' is not closed by ']'",
                "close it, or write '\\[' to find the character itself",
            )
        ]
        assert [message for message, _hint in extraction_problems("{{ t | extract(kind='siert') }}")] == [
            "extract(kind='siert'): there is no such ready pattern"
        ]
        assert extraction_problems("{{ t | extract(pattern='x', expect='un') }}")[0][0] == (
            "extract(expect='un'): expect is one of one, first, all"
        )

    def test_valid_or_computed_parameters_are_left_to_the_run(self) -> None:
        assert extraction_problems(r"{{ t | extract('(?P<ref>DOS-\d+)', expect='all') }}") == []
        assert extraction_problems("{{ t | extract(motif) }} {{ t | extract(kind=genre) }}") == []

    def test_robo_validate_reports_it_at_the_template(self, tmp_path: Path) -> None:
        workflow = tmp_path / "w.yaml"
        workflow.write_text(
            'name: Relevé\nvars:\n  texte: "x"\nsteps:\n  - log: "{{ vars.texte | extract(\'DOS-(\') }}"\n',
            encoding="utf-8",
        )
        result = validate_file(workflow)
        assert [(d.code, d.span.line) for d in result.errors] == [("bad-extraction", 5)]
