"""The YAML loader keeps a source span on every node, refuses Python tags, and explains syntax errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from robots.kit import Span
from runner.language import YamlSyntaxError, load_workflow_text, split_lines

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
    def test_python_tags_build_no_objects(self, tmp_path: Path) -> None:
        marker = tmp_path / "hacked"
        doc = load_workflow_text(
            f"x: !!python/object/apply:os.system ['touch {marker}']\ny: !!python/name:os.system\n"
        )
        assert doc.data == {"x": [f"touch {marker}"], "y": None}
        assert not marker.exists()
        assert [(p.code, p.span.line, p.span.col) for p in doc.problems] == [
            ("yaml-tag", 1, 4),
            ("yaml-tag", 2, 4),
        ]


class TestTags:
    """An explicit tag is an error at the tag, and its node is read as if it had none (plain data only)."""

    @pytest.mark.parametrize(
        ("text", "tag", "line", "col", "data"),
        [
            ("a: !env HOME\n", "!env", 1, 4, {"a": "HOME"}),
            ("a: !!set {x: null}\n", "!!set", 1, 4, {"a": {"x": None}}),
            ("a: !!binary aGVsbG8=\n", "!!binary", 1, 4, {"a": "aGVsbG8="}),
            ("a: !!timestamp 2024-01-15\n", "!!timestamp", 1, 4, {"a": dt.date(2024, 1, 15)}),
            ("a: !!int '12'\n", "!!int", 1, 4, {"a": "12"}),
            ("!!str k: v\n", "!!str", 1, 1, {"k": "v"}),
            ("a: [1, ! x]\n", "!", 1, 8, {"a": [1, "x"]}),
            ("a: {b: !local c}\n", "!local", 1, 8, {"a": {"b": "c"}}),
            ("a: &anchor !env x\nb: *anchor\n", "!env", 1, 12, {"a": "x", "b": "x"}),
            ("a: &anchor\n  !!set {x: null}\n", "!!set", 2, 3, {"a": {"x": None}}),
            ("a: !<tag:example.com,2000:x> y\n", "!<tag:example.com,2000:x>", 1, 4, {"a": "y"}),
            (
                "a:\n  - !!python/object:os.Thing {b: 1}\n",
                "!!python/object:os.Thing",
                2,
                5,
                {"a": [{"b": 1}]},
            ),
        ],
    )
    def test_a_tag_is_reported_where_it_is_written(
        self, text: str, tag: str, line: int, col: int, data: Any
    ) -> None:
        doc = load_workflow_text(text, "w.yaml")
        assert doc.data == data
        [problem] = doc.problems
        assert problem.code == "yaml-tag"
        assert (problem.span.line, problem.span.col, problem.span.end_col) == (line, col, col + len(tag))
        assert problem.message == f"the YAML tag {tag} is not part of the workflow language"
        assert problem.hint == "Rob'O workflows use plain YAML: remove the tag"

    def test_every_tag_of_the_file_is_reported_in_order(self) -> None:
        doc = load_workflow_text("a: !!str x\nb: [!!str y, !!int 2]\n!!str c: d\n")
        assert [(p.span.line, p.span.col) for p in doc.problems] == [(1, 4), (2, 5), (2, 14), (3, 1)]

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
            ("name: 'a\nsteps: []\n", 1, 7, "closing '"),
            ('name: a\nsteps:\n  - log: "a\n  - log: b\n    when: "x"\n', 3, 10, 'closing "'),
            ("name: a\nsteps:\n  - log: a\n     level: info\n", 4, 6, "line it up"),
            ("name: a\nsteps: [{data.set: {value: Objet: relance}}]\n", 2, 33, "quoted"),
            ("name: a\nb: &x 1\nc: &x 2\n", 3, 4, "anchor"),
            ("name: a\nsteps:\n  - log: {{ a }} et {{ b }}\n", 3, 10, "must be quoted"),
            ('name: a\nsteps:\n  - log: "a"b\n', 3, 13, "quote the whole value"),
        ],
    )
    def test_position_and_hint(self, text: str, line: int, col: int, hint: str | None) -> None:
        with pytest.raises(YamlSyntaxError) as info:
            load_workflow_text(text, "w.yaml")
        assert (info.value.span.line, info.value.span.col) == (line, col)
        if hint:
            assert hint in (info.value.hint or "")

    def test_several_documents_are_refused_at_the_second_one(self) -> None:
        with pytest.raises(YamlSyntaxError, match="one YAML document") as info:
            load_workflow_text("name: a\n---\nname: b\n")
        assert (info.value.span.line, info.value.span.col) == (2, 1)

    def test_a_control_character_is_named_where_it_stands(self) -> None:
        with pytest.raises(YamlSyntaxError, match="U\\+000B") as info:
            load_workflow_text("name: a\nsteps:\n  - log: ab\x0bc\n", "w.yaml")
        assert (info.value.span.line, info.value.span.col) == (3, 12)
        assert "delete it" in (info.value.hint or "")


class TestForgivenMistakes:
    """Mistakes that do not stop the loading: the data holds what was meant, and the checks report them."""

    def test_an_impossible_date_stays_text(self) -> None:
        doc = load_workflow_text("a: 2024-02-30\nb: 2024-02-28\n")
        assert doc.data == {"a": "2024-02-30", "b": dt.date(2024, 2, 28)}

    def test_a_number_lookalike_that_is_no_number_stays_text(self) -> None:
        # ruamel.yaml takes `._` for a float by its look, then fails converting it (found by the fuzz test)
        doc = load_workflow_text("a: ._\nb: [._, 1.5]\n")
        assert doc.data == {"a": "._", "b": ["._", 1.5]}

    def test_an_unquoted_template_is_read_as_the_template_meant(self) -> None:
        doc = load_workflow_text("steps:\n  - for_each: {{ rows }}\n", "w.yaml")
        assert doc.data == {"steps": [{"for_each": "{{ rows }}"}]}
        assert [(p.span.line, p.span.col) for p in doc.problems] == [(2, 15)]
        assert "unquoted" in doc.problems[0].message

    def test_an_unquoted_call_with_several_arguments_too(self) -> None:
        doc = load_workflow_text("log: {{ f(a, b) }}\n")
        assert doc.data == {"log": "{{ f(a, b) }}"}


class TestWidths:
    def test_a_quoted_value_spans_its_quotes(self) -> None:
        doc = load_workflow_text("a: \"x\\\"y\"\nb: 'it''s'\nc: plain\n", "w.yaml")
        assert doc.spans.value(("a",)) == Span("w.yaml", 1, 4, 10)
        assert doc.spans.value(("b",)) == Span("w.yaml", 2, 4, 11)
        assert doc.spans.value(("c",)) == Span("w.yaml", 3, 4, 9)

    def test_a_missing_value_points_at_its_key(self) -> None:
        doc = load_workflow_text("steps:\nname: a\n", "w.yaml")
        assert doc.spans.value(("steps",)) == doc.spans.key(("steps",)) == Span("w.yaml", 1, 1, 6)


class TestLines:
    def test_lines_break_where_the_yaml_reader_breaks_them(self) -> None:
        assert split_lines("a\x0bb\r\nc\u2028d\re\n") == ["a\x0bb", "c\u2028d", "e"]
        assert split_lines("") == []
