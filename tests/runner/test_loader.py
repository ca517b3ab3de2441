"""The YAML loader keeps a source span on every node, refuses Python tags, and explains syntax errors."""

from __future__ import annotations

import datetime as dt

import pytest

from runner.loader import Span, YamlSyntaxError, load_workflow_text

TEXT = """\
name: Saisie
steps:
  - name: Saisir le nom
    browser.fill: {lable: Nom, value: "{{ row.nom }}"}
  - for_each: "{{ rows }}"
    steps:
      - log: "ok"
"""


class TestSpans:
    def test_values_and_keys_have_line_and_column(self) -> None:
        doc = load_workflow_text(TEXT, "w.yaml")
        assert doc.spans.value(("name",)) == Span("w.yaml", 1, 7, 13)
        assert doc.spans.key(("steps",)) == Span("w.yaml", 2, 1, 6)
        assert doc.spans.key(("steps", 0, "browser.fill")) == Span("w.yaml", 4, 5, 17)

    def test_flow_mapping_entries_have_their_own_columns(self) -> None:
        doc = load_workflow_text(TEXT, "w.yaml")
        assert doc.spans.key(("steps", 0, "browser.fill", "lable")) == Span("w.yaml", 4, 20, 25)
        assert doc.spans.value(("steps", 0, "browser.fill", "value")).col == 39

    def test_nested_steps(self) -> None:
        doc = load_workflow_text(TEXT, "w.yaml")
        assert doc.spans.key(("steps", 1, "steps", 0, "log")) == Span("w.yaml", 7, 9, 12)

    def test_unknown_path_falls_back_to_nearest_ancestor(self) -> None:
        doc = load_workflow_text(TEXT, "w.yaml")
        assert doc.spans.value(("steps", 0, "missing", "deeper")) == doc.spans.value(("steps", 0))

    def test_data_is_plain_python(self) -> None:
        doc = load_workflow_text("a: 1\nb: [true, 2.5, null, '3']\nc: 2026-11-23\n")
        assert doc.data == {"a": 1, "b": [True, 2.5, None, "3"], "c": dt.date(2026, 11, 23)}
        assert type(doc.data["a"]) is int
        assert type(doc.data) is dict


class TestSafety:
    def test_python_tags_build_no_objects(self, tmp_path) -> None:
        marker = tmp_path / "hacked"
        doc = load_workflow_text(
            f"x: !!python/object/apply:os.system ['touch {marker}']\ny: !!python/name:os.system\n"
        )
        assert doc.data == {"x": [f"touch {marker}"], "y": ""}
        assert not marker.exists()

    def test_alias_bombs_are_refused(self) -> None:
        lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for index in range(1, 9):
            previous = chr(ord("a") + index - 1)
            name = chr(ord("a") + index)
            lines.append(
                f"{name}: &{name} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]"
            )
        with pytest.raises(YamlSyntaxError, match="too many nodes"):
            load_workflow_text("\n".join(lines) + "\n")


class TestSyntaxErrors:
    @pytest.mark.parametrize(
        ("text", "line", "col", "hint"),
        [
            ("name: a\nsteps:\n\t- log: x\n", 3, 1, "tabs"),
            ("name: a\nsubject: Objet: relance\n", 2, 15, "quoted"),
            ("name: a\nname: b\n", 2, 1, "each key"),
            ("name: 'a\nsteps: []\n", 3, 1, None),
        ],
    )
    def test_position_and_hint(self, text: str, line: int, col: int, hint: str | None) -> None:
        with pytest.raises(YamlSyntaxError) as info:
            load_workflow_text(text, "w.yaml")
        assert (info.value.span.line, info.value.span.col) == (line, col)
        if hint:
            assert hint in (info.value.hint or "")

    def test_several_documents_are_refused(self) -> None:
        with pytest.raises(YamlSyntaxError, match="one YAML document"):
            load_workflow_text("name: a\n---\nname: b\n")
