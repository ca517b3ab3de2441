"""Static checks of a workflow: a list of diagnostics, never an exception for bad input.

Checks, in one pass over the file so every error is reported at once: YAML syntax, the structure of the
language (`runner.language.model`), actions and their parameters (from each action's spec), template syntax, filters and
references to names that cannot be defined at that point, duplicate step ids, schedules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robots.kit import N_, Span, _, ngettext
from runner.language.actions import changes_things, check_action_step, check_one_screen
from runner.language.diagnostics import Diagnostic, did_you_mean, one_of, print_diagnostics
from runner.language.environment import is_credential_variable
from runner.language.loader import (
    LoadedDocument,
    Location,
    NotAWorkflowFile,
    load_workflow_file,
    read_workflow_text,
    split_lines,
    walk,
)
from runner.language.model import Workflow
from runner.language.names import BUILTIN_NAMES, Definitions, declared, names_defined_anywhere
from runner.language.parser import parse_workflow_details
from runner.language.steps import ANY_NAME, ActionStep, ForEachStep, Step, walk_steps
from runner.language.templating import (
    FILTER_NAMES,
    as_expression_template,
    attribute_references,
    extraction_problems,
    filters_used,
    is_template,
    keys_read,
    known_filters,
    known_tests,
    limit_problem,
    referenced_names,
    syntax_problem,
    tests_used,
)
from runner.language.values import IDENTIFIER
from runner.language.wording import input_type_phrase
from runner.language.yaml_errors import YamlSyntaxError


@dataclass
class ValidationResult:
    """The outcome of validating one file: the model (when it could be built) and every diagnostic."""

    path: str
    workflow: Workflow | None
    diagnostics: list[Diagnostic]
    document: LoadedDocument | None = None
    source_lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def validate_file(path: str | Path) -> ValidationResult:
    """Load and check a workflow file; never raises (a bug of the validator becomes an `internal-error`)."""
    name = str(path)
    try:
        return _validate_file(path)
    except Exception as exc:  # one file must not stop the others from being checked
        diagnostic = Diagnostic(
            Span(name, 1, 1),
            "internal-error",
            _("the validator failed on this file ({error})").format(
                error=f"{type(exc).__name__}: {str(exc)[:200]}"
            ),
            hint=_("this is a bug in Rob'O, not in the workflow: please report it with this file"),
        )
        return ValidationResult(name, None, [diagnostic], None, _read_lines(name))


def print_validation(
    paths: Iterable[Path], fmt: str, out: Callable[[str], None], err: Callable[[str], None]
) -> int:
    """Check workflow files (a folder: its *.yml and *.yaml files) and say what is wrong, as `robo validate`
    does: each valid file on `err`, then the diagnostics and a count (text), or the diagnostics only (json).
    Returns how many files are not valid."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.y*ml")) if path.is_dir() else [path])
    all_diagnostics = []
    sources: dict[str, list[str]] = {}
    failed = 0
    for file in files:
        result = validate_file(file)
        sources[result.path] = result.source_lines
        all_diagnostics.extend(result.diagnostics)
        if not result.ok:
            failed += 1
        elif fmt == "text":
            err(_("{file}: ok").format(file=file))
    print_diagnostics(all_diagnostics, sources, fmt, out, err)
    if fmt == "text" and failed:
        count = sum(1 for d in all_diagnostics if d.severity == "error")
        errors = ngettext("{n} error", "{n} errors", count).format(n=count)
        files_text = ngettext("{n} file", "{n} files", failed).format(n=failed)
        err("\n" + _("{errors} in {files}").format(errors=errors, files=files_text))
    return failed


def _validate_file(path: str | Path) -> ValidationResult:
    name = str(path)
    try:
        document = load_workflow_file(path)
    except FileNotFoundError:
        return _fail(
            name,
            "file-not-found",
            _("no such file: {path}").format(path=name),
            _("check the path and the file name"),
        )
    except IsADirectoryError:
        return _fail(
            name, "file-not-found", _("{path} is a folder, not a workflow file").format(path=name), None
        )
    except NotAWorkflowFile as exc:
        return _fail(name, "file-not-readable", exc.message, exc.hint)
    except UnicodeDecodeError as exc:
        return _fail(
            name,
            "encoding",
            _("the file is not UTF-8 text ({reason})").format(reason=exc.reason),
            _("save the file as UTF-8"),
        )
    except OSError as exc:
        return _fail(
            name,
            "file-not-readable",
            _("cannot read {path}: {reason}").format(path=name, reason=exc.strerror),
            None,
        )
    except YamlSyntaxError as exc:
        lines = _read_lines(name)
        diagnostic = Diagnostic(exc.span, "yaml-syntax", exc.message, hint=exc.hint)
        return ValidationResult(name, None, [diagnostic], None, lines)
    return validate_document(document)


def validate_document(document: LoadedDocument) -> ValidationResult:
    parsed = parse_workflow_details(document)
    diagnostics = list(parsed.diagnostics)
    structural_errors = bool(diagnostics)
    if parsed.workflow is not None:
        checker = _SemanticChecker(document, parsed.workflow, parsed.broken)
        checker.run(strict_names=not structural_errors)
        diagnostics.extend(checker.diagnostics)
    diagnostics = _unique_sorted(diagnostics)
    return ValidationResult(document.path, parsed.workflow, diagnostics, document, document.source_lines())


def _fail(path: str, code: str, message: str, hint: str | None) -> ValidationResult:
    return ValidationResult(path, None, [Diagnostic(Span(path, 1, 1), code, message, hint=hint)])


def _read_lines(path: str) -> list[str]:
    try:
        return split_lines(read_workflow_text(path, errors="replace"))
    except OSError:
        return []


def _unique_sorted(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        key = (diagnostic.span, diagnostic.code, diagnostic.message)
        if key not in seen:
            seen.add(key)
            unique.append(diagnostic)
    return unique


class _SemanticChecker:
    def __init__(
        self, document: LoadedDocument, workflow: Workflow, broken: dict[Location, frozenset[str]]
    ) -> None:
        self.document = document
        self.spans = document.spans
        self.workflow = workflow
        self.broken = broken
        self.diagnostics: list[Diagnostic] = []
        self.lenient_names = names_defined_anywhere(document.data)
        self.strict_names = True
        self.declared = {
            "inputs": declared(document.data, "inputs"),
            "secrets": declared(document.data, "secrets"),
            "vars": declared(document.data, "vars"),
        }
        # Looked up once per reference: sets, so that checking a file stays linear in its size.
        self.declared_names = {root: frozenset(names or ()) for root, names in self.declared.items()}
        self.var_names = frozenset(workflow.vars)
        self.definitions = Definitions(workflow.steps, self.spans, broken)

    def error(self, span: Span, code: str, message: str, **extra: Any) -> None:
        self.diagnostics.append(Diagnostic(span, code, message, **extra))

    def broken_fields(self, step: Step) -> frozenset[str]:
        return self.broken.get(step.path, frozenset())

    def run(self, strict_names: bool) -> None:
        self.strict_names = strict_names
        self.check_ids()
        self.check_inputs()
        self.check_schedule()
        # The variables are known everywhere but in their own value: kept out of the scopes that steps copy
        # (see `is_known`), so that thousands of them do not make the check quadratic.
        scope = set(BUILTIN_NAMES)
        for name, value in self.workflow.vars.items():
            self.check_templates(value, ("vars", name), scope, hidden=name)
        self.check_steps(self.workflow.steps, scope)

    def is_known(self, name: str, scope: set[str], hidden: str | None) -> bool:
        """Whether `name` is defined where `scope` holds: a step's name, or any name some step defines when
        structural errors hid steps. A variable is not: the run reads it as `vars.<name>` only."""
        if name in scope:
            return True
        return not self.strict_names and name in self.lenient_names

    def check_ids(self) -> None:
        first: dict[str, Step] = {}
        for step in self.workflow.walk():
            if step.id is None:
                continue
            if step.id in first:
                original = self.spans.value((*first[step.id].path, "id"))
                self.error(
                    self.spans.value((*step.path, "id")),
                    "duplicate-id",
                    _("the step id '{id}' is already used at line {line}").format(
                        id=step.id, line=original.line
                    ),
                    hint=_("step ids must be unique within a workflow"),
                )
            else:
                first[step.id] = step

    def check_inputs(self) -> None:
        from pydantic import TypeAdapter, ValidationError

        from runner.language.model import INPUT_PYTHON_TYPES

        for name, spec in self.workflow.inputs.items():
            if spec.default is None:
                continue
            try:
                TypeAdapter(INPUT_PYTHON_TYPES[spec.type]).validate_python(spec.default)
            except ValidationError:
                self.error(
                    self.spans.value(("inputs", name, "default")),
                    "wrong-type",
                    _("the default of input '{name}' is not {a_type}").format(
                        name=name, a_type=input_type_phrase(spec.type)
                    ),
                    found=repr(spec.default),
                )
            if spec.choices is not None and spec.default not in spec.choices:
                self.error(
                    self.spans.value(("inputs", name, "default")),
                    "wrong-type",
                    _("the default of input '{name}' is not one of its choices").format(name=name),
                    expected=one_of(str(c) for c in spec.choices),
                    found=repr(spec.default),
                )

    def check_schedule(self) -> None:
        from runner.language.schedules import schedule_problems

        for index, entry in enumerate(self.workflow.schedule):
            for problem in schedule_problems(entry, self.declared["inputs"]):
                path: Location = ("schedule", index, *problem.path)
                span = self.spans.key(path) if problem.at_key else self.spans.value(path)
                self.error(span, problem.code, problem.message, hint=problem.hint, expected=problem.expected)

    def check_steps(self, steps: Sequence[Step], scope: set[str]) -> set[str]:
        """Check steps in order; returns the scope after them (names saved or set along the way)."""
        scope = set(scope)
        for step in steps:
            broken = self.broken_fields(step)
            if step.when is not None:
                self.check_expression(step.when, (*step.path, "when"), scope, "condition")
            scope = step.check(self, scope, broken)
        return scope

    def check_action(self, step: ActionStep, scope: set[str], broken: frozenset[str]) -> None:
        check_action_step(
            step,
            broken,
            self.spans,
            self.error,
            lambda value, path: self.check_templates(value, path, scope),
            own_display=self.workflow.display == "virtual",
        )

    def check_lanes(self, loop: ForEachStep) -> None:
        check_one_screen(loop, self.spans, self.error)

    def check_changes_are_checked(self, loop: ForEachStep) -> None:
        """A warning for a loop whose items change things but that cannot tell whether an item is entered."""
        actions = (step for step in walk_steps(loop.steps) if isinstance(step, ActionStep))
        change = next((step for step in actions if changes_things(step)), None)
        if change is None:
            return
        self.diagnostics.append(
            Diagnostic(
                loop.span,
                "no-already-done",
                _(
                    "this for_each has a step that changes things ({action} at line {line}) and no "
                    "'already_done': an item that fails after it is left to check by a person, never done again "
                    "automatically"
                ).format(action=f"{change.robot}.{change.action}", line=change.span.line),
                severity="warning",
                hint=_(
                    "add 'already_done:' steps that look for the item where it is entered (e.g. a search in "
                    "the intranet), the last one true when it is there; a retry then checks before doing it again"
                ),
            )
        )

    def check_expression(self, expression: str, path: Location, scope: set[str], what: str) -> None:
        self.check_template_text(
            as_expression_template(expression), path, scope, what=what, written=expression
        )

    def check_templates(
        self, value: Any, path: Location, scope: set[str], *, hidden: str | None = None
    ) -> None:
        for sub_path, item in walk(value, path):
            if is_template(item):
                self.check_template_text(item, sub_path, scope, hidden=hidden)

    def check_template_text(
        self,
        text: str,
        path: Location,
        scope: set[str],
        what: str = "template",
        written: str | None = None,
        *,
        hidden: str | None = None,
    ) -> None:
        span = self.spans.value(path)
        problem = syntax_problem(text)
        if problem is not None:
            self.error(
                span,
                "template-syntax",
                _(_UNREADABLE[what]).format(problem=problem),
                found=written or text,
            )
            return
        limit = limit_problem(text)
        if limit is not None:
            self.diagnostics.append(
                Diagnostic(
                    span,
                    "template-limit",
                    _(_WILL_FAIL[what]).format(problem=limit),
                    severity="warning",
                    found=written or text,
                    hint=_("a template builds short texts; to handle large data, use a robot action"),
                )
            )
        if ANY_NAME not in scope:
            for name in sorted(referenced_names(text)):
                if self.is_known(name, scope, hidden):
                    continue
                self.error(
                    span,
                    "undefined-variable",
                    _("'{name}' is not defined at this point").format(name=name),
                    hint=(
                        _("a variable is read through vars: write {template}").format(
                            template=f"{{{{ vars.{name} }}}}"
                        )
                        if name in self.var_names and name != hidden
                        else self.definitions.undefined_hint(name, span.line, scope)
                    ),
                )
        for root, declares_no in _DECLARES_NO.items():
            declared = self.declared[root]
            if declared is None:
                continue
            for attribute in attribute_references(text, root):
                if attribute not in self.declared_names[root]:
                    self.error(
                        span,
                        "undefined-variable",
                        _(declares_no).format(name=attribute),
                        hint=did_you_mean(attribute, [n for n in declared if IDENTIFIER.match(n)])
                        or _("declare it under '{section}:' at the top").format(section=root),
                    )
        for name in keys_read(text, "env"):
            if is_credential_variable(name):
                secret = (
                    name.removeprefix("ROBO_SECRET_").lower() if name.startswith("ROBO_SECRET_") else name
                )
                self.error(
                    span,
                    "secret-in-env",
                    _(
                        "templates cannot read '{name}' from env: Rob'O keeps credentials out of env, so that they"
                        " are masked wherever they show"
                    ).format(name=name),
                    hint=_("declare it under `secrets:` (secrets: [{secret}]) and write {template}").format(
                        secret=secret, template=f"{{{{ secrets.{secret} }}}}"
                    ),
                )
        for message, hint in extraction_problems(text):
            self.error(span, "bad-extraction", message, hint=hint)
        for unknown in sorted(filters_used(text) - known_filters()):
            self.error(
                span,
                "unknown-filter",
                _("there is no filter '{name}'").format(name=unknown),
                hint=did_you_mean(unknown, known_filters())
                or _("Rob'O filters: {names}").format(names=", ".join(FILTER_NAMES)),
            )
        for unknown in sorted(tests_used(text) - known_tests()):
            self.error(
                span,
                "unknown-test",
                _("there is no test '{name}' (as in 'x is {name}')").format(name=unknown),
                hint=_test_hint(unknown) or did_you_mean(unknown, known_tests()) or _(_TEST_EXAMPLES),
            )

    def check_loop_key(self, step: ForEachStep, scope: set[str], saved_by_setup: set[str]) -> None:
        """The key of every item is computed before `setup` runs, so it cannot use what `setup` saves."""
        from_setup = referenced_names(as_expression_template(step.key or "")) & saved_by_setup
        for name in sorted(from_setup):
            self.error(
                self.spans.value((*step.path, "key")),
                "undefined-variable",
                _("'{name}' is not defined yet when the loop's keys are computed").format(name=name),
                hint=_(
                    "the key of every item is computed before the loop's `setup` runs: build it from the item, "
                    "`loop` and names defined before the loop"
                ),
            )
        self.check_expression(step.key or "", (*step.path, "key"), scope | from_setup, "expression")


_TEST_HINTS = {
    "empty": N_("to test for an empty list, write 'not x' (or 'x | length == 0')"),
    "blank": N_("to test for an empty text, write 'not x' (or 'x | trim == \"\"')"),
    "vide": N_("to test for an empty list, write 'not x' (or 'x | length == 0')"),
    "null": N_("write 'x is none'"),
    "nil": N_("write 'x is none'"),
    "true": N_("write 'x is true' in lower case, or just 'x'"),
}
_TEST_EXAMPLES = N_("tests are written 'x is defined', 'x is none', 'x is number', 'x is string'…")
# What a template is, in the messages about it (`what` in check_template_text): each a whole sentence.
_UNREADABLE = {
    "template": N_("this template cannot be read: {problem}"),
    "condition": N_("this condition cannot be read: {problem}"),
    "expression": N_("this expression cannot be read: {problem}"),
}
_WILL_FAIL = {
    "template": N_("this template will fail when it runs: {problem}"),
    "condition": N_("this condition will fail when it runs: {problem}"),
    "expression": N_("this expression will fail when it runs: {problem}"),
}
_DECLARES_NO = {
    "inputs": N_("the workflow declares no input '{name}'"),
    "secrets": N_("the workflow declares no secret '{name}'"),
    "vars": N_("the workflow declares no variable '{name}'"),
}


def _test_hint(name: str) -> str | None:
    hint = _TEST_HINTS.get(name)
    return _(hint) if hint else None
