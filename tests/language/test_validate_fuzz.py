"""Random input never crashes the validator: every problem becomes a diagnostic with a real position.

Three kinds of input: (a) random text (and random bytes), (b) YAML-ish text glued from fragments of the
language, (c) random nested data shaped like a workflow, dumped as YAML or JSON. Each is written to a file,
checked with `validate_file`, and its diagnostics rendered with `render_all`; neither may raise. Since
`validate_file` turns a crash into an `internal-error` diagnostic (so that `robo validate` still checks the other
files), such a diagnostic counts as a crash here.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.language import ValidationResult, render_all, validate_file
from runner.language.validate import _validate_file as _validate_unguarded

FUZZ = settings(max_examples=300, deadline=None)


@dataclass(frozen=True)
class KnownCrash:
    """A crash found by this file and not fixed yet: the smallest input found and what it raises."""

    name: str
    text: str
    raises: type[BaseException]
    signature: str  # a regex on f"{type(exc).__name__}: {exc}"
    cause: str


# Each entry has a strict xfail test below (`TestKnownCrashes`). While it is listed, the random tests accept
# that crash (and only that one) so that they keep looking for others; once it is fixed, move it to
# FIXED_CRASHES, where it stays as a regression test.
KNOWN_CRASHES: list[KnownCrash] = []


@dataclass(frozen=True)
class FixedCrash:
    """An input that used to crash the validator, and the diagnostic code it must now give instead."""

    name: str
    text: str
    code: str


FIXED_CRASHES = [
    # templating.referenced_names compiled the template: TemplateAssertionError on an unknown filter or test
    FixedCrash("unknown filter", 'steps: [{log: "{{ 1 | nope }}"}]\n', "unknown-filter"),
    FixedCrash("unknown test", 'steps: [{log: a, when: "dossiers is empty"}]\n', "unknown-test"),
    # the Annotated constraints of ForEachStep.as_ were lost; the final model_validate raised
    FixedCrash(
        "for_each as not a name", "steps: [{for_each: [1], as: a-b, steps: [{log: x}]}]\n", "wrong-type"
    ),
    FixedCrash("parallel zero", "steps: [{for_each: [1], parallel: 0, steps: [{log: x}]}]\n", "wrong-type"),
    # ActionStep.model_validate raised on a parameter named by a number
    FixedCrash("action parameter named by a number", "steps: [{data.set: {1: x}}]\n", "unknown-parameter"),
    # ruamel.yaml's timestamp constructor raised ValueError: the scalar is now kept as text
    FixedCrash(
        "impossible date",
        "name: a\ninputs: {d: {type: date, default: 2024-02-30}}\nsteps: [{log: x}]\n",
        "wrong-type",
    ),
    # ruamel.yaml only printed a ReusedAnchorWarning (an exception under pytest) and said the file was ok
    FixedCrash("anchor defined twice", "a: &x 1\nb: &x 2\n", "yaml-syntax"),
    # Jinja's recursive-descent parser raised RecursionError
    FixedCrash(
        "deeply nested expression", 'steps: [{log: a, when: "' + "(" * 80 + '"}]\n', "template-syntax"
    ),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _is_known_crash(exc: BaseException) -> bool:
    described = f"{type(exc).__name__}: {exc}"
    return any(re.search(crash.signature, described) for crash in KNOWN_CRASHES)


def _check(path: Path, *, tolerate_known: bool = True) -> ValidationResult | None:
    result = validate_file(path)
    if any(d.code == "internal-error" for d in result.diagnostics):
        # validate_file turns a crash into an `internal-error` diagnostic (so that `robo validate` goes on with
        # the other files); run the unguarded validation again to get the crash itself, with its traceback.
        try:
            _validate_unguarded(path)
        except (Exception, RecursionError) as exc:
            if tolerate_known and _is_known_crash(exc):
                return None
            raise
        raise AssertionError(f"internal error: {result.diagnostics}")
    assert isinstance(result, ValidationResult)
    for diagnostic in result.diagnostics:
        assert diagnostic.span.line >= 1, diagnostic
        assert diagnostic.span.col >= 1, diagnostic
        assert diagnostic.code, diagnostic
        assert diagnostic.message, diagnostic
    text = render_all(result.diagnostics, {result.path: result.source_lines})
    assert isinstance(text, str)
    return result


def _validate_text(workdir: Path, text: str, *, tolerate_known: bool = True) -> ValidationResult | None:
    path = workdir / "workflow.yaml"
    path.write_bytes(text.encode("utf-8"))
    return _check(path, tolerate_known=tolerate_known)


# (b) fragments of the workflow language, glued at random
# fmt: off
FRAGMENTS = [
    "name: ", "steps:", "steps: []", "for_each: ", "as: ", "if: ", "then:", "else:", "try:", "on_error: ",
    "continue", "fail", "set: ", "log: ", "fail: ", "when: ", "id: ", "save: ", "timeout: ", "retry: ",
    "attempts: ", "parallel: ", "inputs:", "vars:", "secrets:", "schedule:", "cron: ", "every: ",
    "timezone: ", "type: ", "default: ", "data.set: ", "data.read_csv: ", "data.sort: ", "http.get: ",
    "value: ", "path: ", "records: ", "by: ", "url: ", "nope.nope: ", "- ", "-", "  ", "    ", "\n", "\n  ",
    "\n    - ", "\t", "{{", "}}", "{{ x }}", "{{ inputs.a }}", "{{ secrets.b }}", "{{ x | nope }}",
    "{% if %}", "{{ loop.index }}", '"', "'", ":", ": ", "{", "}", "[", "]", ",", "&a ", "*a", "<<: *a",
    "!!python/object ", "!tag ", "#", "---", "...", "?", "|", ">", "%YAML 1.2", "0", "-1", "1e9", "null",
    "~", "true", "oui", "0 0 31 2 *", "Europe/Paris", "Paris", "x", "é", "\xa0", "\r\n",
    "\r", "\x0b", "\u2028", "\ufeff", "\x85", "2024-02-30", "'a''b'", '"a\\"b"', "{{ f(a, b) }}",
    "x is empty", "((((", "&x 1", "&x 2", "{{ x }} et {{ y }}",
]
yamlish = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)

# (c) data shaped like a workflow
WORDS = [
    "name", "steps", "description", "version", "inputs", "vars", "secrets", "defaults", "schedule",
    "browser", "for_each", "as", "key", "parallel", "if", "then", "else", "try", "on_error", "set", "log",
    "level", "fail", "when", "id", "save", "timeout", "retry", "attempts", "delay", "backoff", "max_delay",
    "jitter", "cron", "every", "at", "timezone", "enabled", "type", "default", "required", "choices",
    "headless", "data.set", "data.read_csv", "data.filter", "data.sort", "data.write_json", "http.get",
    "http.post", "excel.read", "data.nope", "value", "path", "records", "by", "where", "url", "body",
    "form", "indent", "delimiter", "x", "ligne", "ligne-2", "",
]
STRINGS = [
    "{{ x }}", "{{ ligne.nom }}", "{{ inputs.a }}", "{{ secrets.b }}", "{{ vars.c }}", "{{ x | nope }}",
    "{{ x | date_fr }}", "{{ x ", "{% for %}", "{{ loop.index }}", "{{ now() }}", "0 0 31 2 *",
    "0 7 * * * *", "* * * * *", "Europe/Paris", "Nowhere/City", "continue", "fail", "info", "integer",
    "list", "ligne-2", "2024-02-30", "", " ", "é", "a: b",
]
# fmt: on
short_text_chars = st.characters(exclude_categories=("Cc", "Cs"))
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(STRINGS)
    | st.sampled_from(WORDS)
    | st.text(short_text_chars, max_size=20)
)
keys = st.sampled_from(WORDS) | st.text(short_text_chars, max_size=10)
nested = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)
strings = st.sampled_from(STRINGS)
# Mostly plausible values, so that many steps get past the structural checks to the semantic ones.
plausible = st.one_of(strings, strings, strings, nested)
name_words = st.sampled_from(["rows", "ligne", "x", "y", "ligne-2", "2x", "a b", ""])
names = st.one_of(name_words, name_words, name_words, nested)
params = st.dictionaries(
    st.sampled_from(["value", "path", "records", "by", "where", "url", "body", "form", "indent", "nope"]),
    plausible,
    max_size=3,
)
STEP_EXTRAS = {
    "name": plausible,
    "id": names,
    "when": plausible,
    "save": names,
    "timeout": st.integers(-5, 10**6) | nested,
    "retry": st.fixed_dictionaries({}, optional={"attempts": st.integers(-1, 200), "delay": nested}) | nested,
    "on_error": st.sampled_from(["continue", "fail", "ignore"]) | nested,
    "level": st.sampled_from(["info", "warn"]) | nested,
    "sav": names,
}
SIMPLE_KINDS = {
    "log": plausible,
    "fail": plausible,
    "set": st.dictionaries(name_words, plausible, max_size=3) | nested,
    "data.set": params | nested,
    "data.read_csv": params | nested,
    "data.sort": params | nested,
    "http.get": params | nested,
    "http.post": params | nested,
    "excel.read": params,
    "data.nope": params,
}
step_extras = st.lists(st.sampled_from(sorted(STEP_EXTRAS)), max_size=2, unique=True).flatmap(
    lambda chosen: st.fixed_dictionaries({key: STEP_EXTRAS[key] for key in chosen})
)
simple_step = st.tuples(st.sampled_from(sorted(SIMPLE_KINDS)), step_extras).flatmap(
    lambda pair: SIMPLE_KINDS[pair[0]].map(lambda value: {**pair[1], pair[0]: value})
)


def _compound(inner: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    loop = st.fixed_dictionaries(
        {"for_each": plausible},
        optional={
            "as": names,
            "steps": inner | nested,
            "parallel": st.integers(-2, 40) | nested,
            "key": plausible,
        },
    )
    branch = st.fixed_dictionaries(
        {"if": plausible}, optional={"then": inner | nested, "else": inner | nested}
    )
    attempt = st.fixed_dictionaries({"try": inner | nested}, optional={"on_error": inner | plausible})
    return st.tuples(st.one_of(loop, branch, attempt), step_extras).map(lambda pair: {**pair[1], **pair[0]})


steps = st.recursive(
    st.lists(simple_step, max_size=3),
    lambda inner: st.lists(simple_step | _compound(inner), max_size=3),
    max_leaves=8,
)
inputs = st.dictionaries(
    name_words,
    st.fixed_dictionaries(
        {}, optional={"type": st.sampled_from(["string", "integer", "date", "text"]), "default": plausible}
    )
    | nested,
    max_size=3,
)
schedule = st.lists(
    st.fixed_dictionaries(
        {}, optional={"cron": plausible, "every": nested, "timezone": plausible, "inputs": nested}
    ),
    max_size=2,
)
workflows = st.fixed_dictionaries(
    {},
    optional={
        "name": plausible,
        "steps": st.one_of(steps, steps, steps, nested),
        "inputs": st.one_of(inputs, inputs, nested),
        "vars": nested,
        "secrets": st.lists(names, max_size=3) | nested,
        "schedule": schedule | nested,
        "defaults": nested,
    },
).flatmap(lambda base: st.dictionaries(keys, nested, max_size=2).map(lambda extra: {**extra, **base}))


def _dump(data: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(data, ensure_ascii=False, indent=2)
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


class TestValidatorNeverCrashes:
    @FUZZ
    @given(text=st.text(max_size=300))
    def test_on_random_text(self, workdir: Path, text: str) -> None:
        _validate_text(workdir, text)

    @FUZZ
    @given(data=st.binary(max_size=200))
    def test_on_random_bytes(self, workdir: Path, data: bytes) -> None:
        path = workdir / "workflow.yaml"
        path.write_bytes(data)
        _check(path)

    @FUZZ
    @given(text=yamlish)
    def test_on_yaml_like_fragments(self, workdir: Path, text: str) -> None:
        _validate_text(workdir, text)

    @FUZZ
    @given(data=workflows, as_json=st.booleans())
    def test_on_workflow_shaped_data(self, workdir: Path, data: dict[str, Any], as_json: bool) -> None:
        _validate_text(workdir, _dump(data, as_json))


class TestCrashesFound:
    """The smallest inputs found that crashed the validator: a known crash fails (strict xfail) until it is
    fixed; a fixed one must give its diagnostic, with a position, and no internal error."""

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            *(
                pytest.param(
                    crash.text,
                    None,
                    id=crash.name,
                    marks=pytest.mark.xfail(strict=True, raises=crash.raises, reason=crash.cause),
                )
                for crash in KNOWN_CRASHES
            ),
            *(pytest.param(crash.text, crash.code, id=crash.name) for crash in FIXED_CRASHES),
        ],
    )
    def test_is_reported_as_a_diagnostic(self, workdir: Path, text: str, code: str | None) -> None:
        result = _validate_text(workdir, text, tolerate_known=False)
        assert result is not None and result.diagnostics
        codes = {d.code for d in result.diagnostics}
        assert "internal-error" not in codes
        if code is not None:
            assert code in codes, result.diagnostics


class TestOneFileDoesNotStopTheOthers:
    def test_an_internal_error_is_a_diagnostic_of_that_file(
        self, workdir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import runner.language.validate

        def explode(document: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(runner.language.validate, "parse_workflow_details", explode)
        path = workdir / "workflow.yaml"
        path.write_text("name: a\nsteps: [{log: x}]\n", encoding="utf-8")
        result = validate_file(path)
        assert [d.code for d in result.diagnostics] == ["internal-error"]
        assert "RuntimeError: boom" in result.diagnostics[0].message
