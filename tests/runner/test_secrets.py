"""Where secret values come from, in order, and how they are masked (the `robo` side is in tests/test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ConfigurationError
from runner.secrets import Redactor, resolve_secrets


class TestSources:
    def test_environment_then_dotenv_beside_the_workflow_then_dotenv_of_the_current_folder(
        self, tmp_path: Path
    ) -> None:
        beside, current = tmp_path / "flux", tmp_path / "ici"
        beside.mkdir()
        current.mkdir()
        (beside / ".env").write_text("a=beside\nb=beside\nc=beside\n", encoding="utf-8")
        (current / ".env").write_text(
            "a=current\nb=current\nc=current\nd='current # not a comment'\n", encoding="utf-8"
        )
        environ = {"ROBO_SECRET_A": "robo-variable", "a": "plain-a", "b": "plain-b"}
        found = resolve_secrets(
            ["a", "b", "c", "d"], search_dirs=[beside, current], environ=environ, use_keyring=False
        )
        assert found == {"a": "robo-variable", "b": "plain-b", "c": "beside", "d": "current # not a comment"}

    def test_every_missing_secret_is_named_with_where_to_put_it(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError) as raised:
            resolve_secrets(
                ["identifiant", "mot_de_passe", "ok"],
                search_dirs=[tmp_path],
                environ={"ok": "1"},
                use_keyring=False,
            )
        assert raised.value.message == "missing secrets: identifiant, mot_de_passe"
        assert "ROBO_SECRET_IDENTIFIANT, ROBO_SECRET_MOT_DE_PASSE" in (raised.value.hint or "")


class TestRedactor:
    def test_a_value_and_its_encoded_forms_are_masked_in_texts_and_data(self) -> None:
        redactor = Redactor(["p@ss wörd"])
        assert redactor.text("x p@ss wörd / p%40ss%20w%C3%B6rd / p%40ss+w%C3%B6rd / cEBzcyB3w7ZyZA==") == (
            "x *** / *** / *** / ***"
        )
        assert redactor.data({"k": ["p@ss wörd", 3], "p@ss wörd": None}) == {"k": ["***", 3], "***": None}
