"""The documentation keeps up with the code.

Every error code the validator and the runner can emit has an entry in the troubleshooting pages (French and
English), collected from the source rather than from a hand list; every YAML block of the French docs marked as
a workflow validates.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from robots.kit import RoboError
from runner.language import STEP_KINDS, validate_file

ROOT = Path(__file__).resolve().parents[1]
WORD_PAGE = ROOT / "docs" / "fr" / "word.md"
REFERENCE = {"fr": ROOT / "docs" / "fr" / "reference.md", "en": ROOT / "docs" / "workflow-language.md"}
SOURCES = [ROOT / "runner", ROOT / "robots"]
TROUBLESHOOTING = {"fr": ROOT / "docs" / "fr" / "depannage.md", "en": ROOT / "docs" / "troubleshooting.md"}
FRENCH_DOCS = sorted((ROOT / "docs" / "fr").glob("*.md"))

CODE = re.compile(r"[a-z]+(?:-[a-z]+)+")
# A call that makes a problem: its code is one of its first three arguments, or its `code=` keyword.
PROBLEM_CALL = re.compile(r"diagnostic|error|warning|fail|problem", re.IGNORECASE)
# A workflow block of the docs: a fenced ```yaml block whose first line is this comment.
WORKFLOW_MARK = "# workflow"
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
ANY_BLOCK = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _called_name(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def _kebab_constants(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str) and CODE.fullmatch(child.value):
            yield child.value


def _error_kinds() -> set[str]:
    kinds: set[str] = set()
    pending = list(RoboError.__subclasses__())
    while pending:
        cls = pending.pop()
        kinds.add(cls.kind)
        pending.extend(cls.__subclasses__())
    return kinds


def _codes_in(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and PROBLEM_CALL.search(_called_name(node)):
            for argument in node.args[:3]:
                if isinstance(argument, ast.Constant):
                    yield from _kebab_constants(argument)
            # Diagnostic(span, code, message): a code of one word ("interrupted") too
            if _called_name(node) == "Diagnostic" and len(node.args) > 1:
                code = node.args[1]
                if isinstance(code, ast.Constant) and isinstance(code.value, str) and code.value.isalpha():
                    yield code.value
            for keyword in node.keywords:
                if keyword.arg == "code":
                    yield from _kebab_constants(keyword.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in targets}
            if "code" in names and node.value is not None:
                yield from _kebab_constants(node.value)
                # f"{error.kind}-error": one code per kind of error
                for part in ast.walk(node.value):
                    if isinstance(part, ast.JoinedStr) and any(
                        isinstance(v, ast.Constant) and v.value == "-error" for v in part.values
                    ):
                        yield from (f"{kind}-error" for kind in _error_kinds())


def emitted_codes() -> set[str]:
    """Every problem code written in Rob'O's source (runner/ and robots/)."""
    codes: set[str] = set()
    for folder in SOURCES:
        for path in folder.rglob("*.py"):
            codes.update(_codes_in(ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return codes


def documented_codes(page: Path) -> set[str]:
    """The codes that have an entry (a `### \\`code\\`` heading) in a troubleshooting page."""
    return set(re.findall(r"^### `([a-z-]+)`", page.read_text(encoding="utf-8"), re.MULTILINE))


def workflow_blocks() -> Iterator[tuple[str, str]]:
    for page in FRENCH_DOCS:
        text = page.read_text(encoding="utf-8")
        for number, match in enumerate(YAML_BLOCK.finditer(text), 1):
            if match.group(1).startswith(WORKFLOW_MARK):
                yield f"{page.name}#{number}", match.group(1)


class TestErrorCodes:
    def test_the_source_is_read(self) -> None:
        # the collector finds codes of the validator, of the runner and the kinds of run-time errors
        assert {
            "unknown-parameter",
            "bad-cron",
            "internal-error",
            "business-error",
            "step-timeout",
            "interrupted",
        } <= (emitted_codes())

    @pytest.mark.parametrize("language", sorted(TROUBLESHOOTING))
    def test_every_code_has_an_entry(self, language: str) -> None:
        missing = emitted_codes() - documented_codes(TROUBLESHOOTING[language])
        assert not missing, f"{TROUBLESHOOTING[language].name} has no entry for: {', '.join(sorted(missing))}"

    @pytest.mark.parametrize("language", sorted(TROUBLESHOOTING))
    def test_no_entry_for_a_code_that_does_not_exist(self, language: str) -> None:
        stale = documented_codes(TROUBLESHOOTING[language]) - emitted_codes()
        assert not stale, (
            f"{TROUBLESHOOTING[language].name} documents unknown codes: {', '.join(sorted(stale))}"
        )

    def test_the_golden_corpus_codes_are_collected(self) -> None:
        corpus = set()
        for expected in (ROOT / "tests" / "invalid").glob("*.expected"):
            corpus.update(re.findall(r"(?:error|warning)\[([a-z-]+)\]", expected.read_text(encoding="utf-8")))
        assert corpus <= emitted_codes()


def _outline(page: Path) -> list[str]:
    """The shape of a page: its headings' levels and its code blocks, in order."""
    shape: list[str] = []
    inside = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            if not inside:
                shape.append("code")
            inside = not inside
        elif not inside and (heading := re.match(r"(#{2,4}) ", line)):
            shape.append(heading.group(1))
    return shape


class TestFrenchReference:
    """docs/fr/reference.md translates docs/workflow-language.md: same sections, same examples, every kind."""

    def test_it_has_the_sections_and_examples_of_the_english_one(self) -> None:
        assert _outline(REFERENCE["fr"]) == _outline(REFERENCE["en"])

    def test_its_examples_are_the_english_ones(self) -> None:
        def keys(page: Path) -> list[list[str]]:
            blocks = ANY_BLOCK.findall(page.read_text(encoding="utf-8"))
            return [re.findall(r"^[ -]*([a-z_.]+):", block, re.M) for block in blocks]

        assert keys(REFERENCE["fr"]) == keys(REFERENCE["en"])

    @pytest.mark.parametrize("kind", sorted(STEP_KINDS))
    def test_every_step_kind_has_its_section(self, kind: str) -> None:
        assert re.search(rf"^###.*`{re.escape(kind)}`", REFERENCE["fr"].read_text(encoding="utf-8"), re.M)


class TestWorkflowBlocks:
    def test_the_french_docs_hold_workflows(self) -> None:
        assert len(list(workflow_blocks())) >= 2

    def test_the_tutorial_schedule_validates_in_its_workflow(self, tmp_path: Path) -> None:
        tutorial = ROOT / "docs" / "fr" / "premier-robot.md"
        workflow = _page_block(tutorial, WORKFLOW_MARK)
        schedule = _page_block(tutorial, "schedule:")
        assert "\nsecrets:" in workflow
        path = tmp_path / "saisie.yaml"
        path.write_text(re.sub(r"^(secrets:.*\n)", rf"\1{schedule}", workflow, flags=re.M), encoding="utf-8")
        result = validate_file(path)
        assert result.workflow is not None and result.workflow.schedule, "the schedule was not read"
        assert not result.diagnostics, [f"{d.code}: {d.message}" for d in result.diagnostics]

    @pytest.mark.parametrize(("where", "text"), list(workflow_blocks()))
    def test_each_workflow_block_validates(self, where: str, text: str, tmp_path: Path) -> None:
        path = tmp_path / "robot.yaml"
        path.write_text(text, encoding="utf-8")
        result = validate_file(path)
        problems = [f"{d.span}: {d.severity}[{d.code}]: {d.message}" for d in result.diagnostics]
        assert not [p for p in problems if "error[" in p], f"{where}:\n" + "\n".join(problems)


def _the_word_template(path: Path) -> None:
    """The template word.md describes, made with python-docx as an author makes it in Word."""
    from docx import Document

    document = Document()
    document.add_paragraph("{{ civilite }} {{ nom }}")
    document.add_paragraph("Votre demande n° {{ reference }}, déposée le {{ date_depot }}, est enregistrée.")
    document.add_paragraph("{%p if relance %}")
    document.add_paragraph("Ceci est une relance : notre premier courrier est resté sans réponse.")
    document.add_paragraph("{%p endif %}")
    table = document.add_table(rows=4, cols=2)
    for row, cells in zip(
        table.rows,
        [
            ("N°", "Pièce à fournir"),
            ("{%tr for piece in pieces %}", ""),
            ("{{ loop.index }}", "{{ piece }}"),
            ("{%tr endfor %}", ""),
        ],
        strict=True,
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.save(str(path))


def _document_text(path: Path) -> str:
    from docx import Document

    document = Document(str(path))
    lines = [p.text for p in document.paragraphs]
    lines += ["\t".join(cell.text for cell in row.cells) for table in document.tables for row in table.rows]
    return "\n".join(lines)


def _page_block(page: Path, starting: str) -> str:
    for block in ANY_BLOCK.findall(page.read_text(encoding="utf-8")):
        if block.startswith(starting):
            return str(block)
    raise AssertionError(f"{page.name} has no block starting with {starting!r}")


class TestWordSyntaxInActions:
    def test_robo_actions_word_shows_the_template_syntax(self) -> None:
        listed = subprocess.run(
            [sys.executable, "-m", "runner.cli", "actions", "word"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        for tag in (
            "{{ nom }}",
            "{%tr for ligne in lignes %}",
            "{%tr endfor %}",
            "{%p if montant %}",
            "{%p endif %}",
        ):
            assert tag in listed


class TestWordExample:
    """The example of docs/fr/word.md, run by the word robot on the template the page describes."""

    @pytest.mark.parametrize("relance", [True, False])
    def test_the_page_shows_what_the_robot_writes(self, relance: bool, tmp_path: Path) -> None:
        _the_word_template(tmp_path / "modele_accuse.docx")
        (tmp_path / "accuse.yaml").write_text(_page_block(WORD_PAGE, WORKFLOW_MARK), encoding="utf-8")
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "runner.cli",
                "run",
                "accuse.yaml",
                "--input",
                f"relance={str(relance).lower()}",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        [written] = tmp_path.glob("logs/*/*/artifacts/accuse_REF-2026-0042.docx")
        shown = _page_block(WORD_PAGE, "Madame").strip().splitlines()
        expected = [line for line in shown if relance or "relance" not in line]
        assert _document_text(written).splitlines() == expected
