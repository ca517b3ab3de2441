"""The recorded file's header: the published schema referenced for editors when the repository has it."""

from __future__ import annotations

from pathlib import Path

from runner.recorder import Action, build_workflow, schema_reference


class TestSchemaReference:
    def test_the_schema_of_a_folder_above_is_referenced_relative_to_the_file(self, tmp_path: Path) -> None:
        (tmp_path / "schema").mkdir()
        (tmp_path / "schema" / "robo.schema.json").write_text("{}", encoding="utf-8")
        output = tmp_path / "workflows" / "saisie.yaml"
        assert schema_reference(output) == "../schema/robo.schema.json"
        workflow = build_workflow(
            [Action("open", "http://x/", value="http://x/")], url="http://x/", output=output
        )
        assert workflow.text.startswith("# yaml-language-server: $schema=../schema/robo.schema.json\n# ")
        assert workflow.valid, workflow.diagnostics
        workflow.write(output)
        assert output.read_text(encoding="utf-8") == workflow.text

    def test_without_a_published_schema_there_is_no_schema_line(self, tmp_path: Path) -> None:
        output = tmp_path / "saisie.yaml"
        workflow = build_workflow(
            [Action("open", "http://x/", value="http://x/")], url="http://x/", output=output
        )
        assert schema_reference(output) is None
        assert "yaml-language-server" not in workflow.text
