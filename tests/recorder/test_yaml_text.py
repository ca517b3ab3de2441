"""Texts from pages and keyboards written into a workflow: YAML reads them back, and the engine's templates render
them, exactly as they were."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.language import load_workflow_text
from runner.language.templating import render_string
from runner.recorder.yaml_text import Expression, block, literal, scalar

HOSTILE = [
    "Nom du demandeur",
    "Aide à l'emploi",
    "97472",
    "true",
    "Non",
    "- tiret",
    "a: b",
    "# dièse",
    "{{ secrets.x }}",
    "{% raw %}{{ x }}{% endraw %}",
    "endraw {{ y }}",
    "ligne 1\nligne 2",
    "  espaces  ",
    "[liste], {dict}",
    'guillemets " et \\ barre',
    "\u2028séparateur\u0085",
    "",
    "@arobase `accent",
    "*étoile &ancre !tag %pourcent |barre >plus",
]


def read_back(text: str) -> str:
    value = load_workflow_text(f"v: {scalar(text)}\n").data["v"]
    assert isinstance(value, str)
    rendered = render_string(value, {})
    return str(rendered)


class TestScalars:
    def test_hostile_texts_read_back_and_render_as_they_were(self) -> None:
        for text in HOSTILE:
            assert read_back(text) == text, text

    @settings(max_examples=300, deadline=None)
    @given(st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
    def test_any_text_reads_back_and_renders_as_it_was(self, text: str) -> None:
        assert read_back(text) == text

    def test_a_safe_text_is_written_plain_and_a_number_like_text_quoted(self) -> None:
        assert scalar("Nom du demandeur") == "Nom du demandeur"
        assert scalar("97472") == '"97472"'
        assert scalar("oui") == "oui" and scalar("yes") == '"yes"'

    def test_an_expression_is_written_as_a_template_and_a_literal_brace_is_escaped(self) -> None:
        assert scalar(Expression("{{ secrets.mot_de_passe }}")) == '"{{ secrets.mot_de_passe }}"'
        assert literal("{{ x }}") == "{% raw %}{{ x }}{% endraw %}"
        assert literal("sans accolade") == "sans accolade"


class TestBlocks:
    def test_a_step_with_short_parameters_is_one_line_and_a_form_a_block(self) -> None:
        lines = block(
            [
                {"name": "Saisir", "browser.fill": {"label": "Nom", "value": "Julien"}},
                {"name": "Remplir", "browser.fill_form": {"fields": {"Nom": "Julien", "Ville": "Nantes"}}},
            ],
            2,
        )
        assert lines == [
            "  - name: Saisir",
            "    browser.fill: {label: Nom, value: Julien}",
            "  - name: Remplir",
            "    browser.fill_form:",
            "      fields: {Nom: Julien, Ville: Nantes}",
        ]
