"""The JSON Schema that `robo schema -o` exports, checked with a real JSON Schema validator (jsonschema).

What `robo validate` accepts, an editor using the schema must accept too (a shipped workflow underlined in red is
a bug); and what is structurally wrong, the schema refuses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from tests.running import problems

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "workflows").glob("*.yaml"))
INVALID = ROOT / "tests" / "invalid"


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> jsonschema.Draft202012Validator:
    exported = tmp_path_factory.mktemp("schema") / "robo.schema.json"
    result = subprocess.run(
        [sys.executable, "-m", "runner.cli", "schema", "-o", str(exported)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    schema = json.loads(exported.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _data(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _schema_errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    """Each error at its deepest cause, so that a failure says which value the schema refused."""
    messages = []
    for error in validator.iter_errors(data):
        deepest = error
        while deepest.context:
            deepest = max(deepest.context, key=lambda e: len(e.absolute_path))
        messages.append(f"{'/'.join(map(str, deepest.absolute_path))}: {deepest.message[:200]}")
    return messages


# Valid workflows written the ways users write them: templates where a list, a number, a choice or a nested
# record is expected; durations as text. `robo validate` accepts each (checked below), so the schema must too.
VALID_CASES = {
    "templated_choice_and_list": """\
name: Tri
inputs:
  ordre: {type: string, default: "false", choices: ["true", "false"]}
  champs: {type: list, default: [nom]}
steps:
  - data.read_csv: {path: dossiers.csv, delimiter: "{{ ';' }}"}
    save: lignes
  - data.sort: {records: "{{ lignes }}", by: "{{ inputs.champs }}", descending: "{{ inputs.ordre }}"}
    save: tries
  - data.select: {records: "{{ tries }}", fields: ["{{ inputs.champs[0] }}", statut]}
""",
    "durations_as_text": """\
name: Délais
defaults:
  timeout: 30s
  retry: {attempts: 3, delay: 500ms, max_delay: 1 min}
steps:
  - http.get: {url: "http://127.0.0.1:9/etat", timeout: 300ms}
    timeout: 2s
    retry: {attempts: 2, delay: 300ms, jitter: 100ms}
""",
    "templated_nested_records_and_numbers": """\
name: Classement
inputs:
  conflit: {type: string, default: rename, choices: [fail, skip, rename, overwrite]}
  profondeur: {type: integer, default: 2}
steps:
  - files.file_by_rules:
      folder: "{{ run.artifacts }}/arrivée"
      rules:
        - {name: Factures, contains: "{{ ['facture'] }}", to: "{{ run.artifacts }}/factures"}
        - "{{ {'to': run.artifacts ~ '/autres'} }}"
      on_conflict: "{{ inputs.conflit }}"
  - for_each: "{{ range(inputs.profondeur) | list }}"
    parallel: "{{ inputs.profondeur }}"
    steps:
      - log: "{{ item }}"
        level: warning
""",
}

# Golden invalid cases whose mistake is in the structure, which a schema can see (unlike, say, an undefined
# variable).
REFUSED_CASES = [
    "unknown_parameter",
    "missing_parameter",
    "unknown_action",
    "unknown_top_level_key",
    "bad_on_error_choice",
    "retry_attempts_zero",
    "missing_name",
    "wrong_parameter_type",
    "bad_log_level",
    "timeout_negative",
    "bad_identifier_save",
    "parallel_zero",
    "reserved_names",
    "empty_name",
]


class TestShippedWorkflows:
    @pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
    def test_validates_against_the_exported_schema(
        self, validator: jsonschema.Draft202012Validator, path: Path
    ) -> None:
        assert _schema_errors(validator, _data(path.read_text(encoding="utf-8"))) == []

    def test_there_are_shipped_workflows(self) -> None:
        assert len(SHIPPED) >= 3


class TestValidCases:
    @pytest.mark.parametrize("case", sorted(VALID_CASES))
    def test_the_validator_accepts_it(self, case: str) -> None:
        assert problems(VALID_CASES[case]) == []

    @pytest.mark.parametrize("case", sorted(VALID_CASES))
    def test_the_schema_accepts_it(self, validator: jsonschema.Draft202012Validator, case: str) -> None:
        assert _schema_errors(validator, _data(VALID_CASES[case])) == []


class TestRefusedCases:
    @pytest.mark.parametrize("case", REFUSED_CASES)
    def test_a_structural_mistake_is_refused(
        self, validator: jsonschema.Draft202012Validator, case: str
    ) -> None:
        assert _schema_errors(validator, _data((INVALID / f"{case}.yaml").read_text(encoding="utf-8")))

    def test_a_template_is_not_any_text(self, validator: jsonschema.Draft202012Validator) -> None:
        text = VALID_CASES["templated_choice_and_list"].replace('"{{ inputs.ordre }}"', "peut-être")
        assert _schema_errors(validator, _data(text))
