"""Where secret values come from, in order, and how they are masked (the `robo` side is in tests/test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robots.kit import ConfigurationError
from runner.engine import MIN_SECRET_LENGTH, Redactor, resolve_secrets, secrets_by_source, store_in_keyring
from runner.language import is_credential_variable, template_environment
from tests.security.scanner import derived_forms

AWKWARD = 'Sp&ci"al<Q> é\\z+@/!9'


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

    def test_a_dotenv_line_written_as_the_hint_says_is_read(self, tmp_path: Path) -> None:
        # the "missing secrets" hint names ROBO_SECRET_<NAME> and a .env file: that line must then work
        (tmp_path / ".env").write_text(
            "ROBO_SECRET_IDENTIFIANT=agent1\nmot_de_passe=court\nROBO_SECRET_MOT_DE_PASSE=long\n",
            encoding="utf-8",
        )
        found = resolve_secrets(
            ["identifiant", "mot_de_passe"], search_dirs=[tmp_path], environ={}, use_keyring=False
        )
        assert found == {"identifiant": "agent1", "mot_de_passe": "long"}

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

    @pytest.mark.parametrize("secret", [AWKWARD, "p@ss wörd", "Straße'\\x", "a/b?c#d=e&f", "ÉTÉ-2026"])
    def test_every_form_the_scanner_derives_is_masked(self, secret: str) -> None:
        redactor = Redactor([secret])
        missed = {
            name: form
            for name, form in derived_forms(secret).items()
            if redactor.text(f"<{form}>") != "<***>"
        }
        assert missed == {}

    def test_data_is_masked_before_it_is_written_out_whatever_holds_it(self) -> None:
        class Holder:
            def __repr__(self) -> str:
                return f"Holder({AWKWARD!r})"

        redactor = Redactor([AWKWARD])
        masked = redactor.data(
            {"set": {AWKWARD}, "tuple": (AWKWARD, 1), "bytes": AWKWARD.encode(), "obj": Holder()}
        )
        assert masked == {"set": ["***"], "tuple": ["***", 1], "bytes": "b'***'", "obj": "Holder('***')"}
        assert redactor.data({"path": Path("/tmp/x"), "flag": True}) == {"path": Path("/tmp/x"), "flag": True}

    def test_a_value_derived_from_a_secret_is_masked_once_tainted(self) -> None:
        redactor = Redactor([AWKWARD])
        redactor.taint({"cut": AWKWARD[3:], "length": 4321, "flag": True, "whole": f"Bearer {AWKWARD}"})
        assert redactor.text(f"{AWKWARD[3:]} 4321 True Bearer x") == "*** 4321 True Bearer x"

    def test_holds_secret_looks_into_data(self) -> None:
        redactor = Redactor([AWKWARD])
        assert redactor.holds_secret({"a": [1, {"b": AWKWARD.upper()}]})
        assert redactor.holds_secret({AWKWARD: 1})
        assert not redactor.holds_secret({"a": [1, "nothing"]})
        assert not Redactor().holds_secret(AWKWARD)


class TestShortSecrets:
    def test_a_secret_too_short_to_be_masked_is_refused_naming_it_not_its_value(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError) as raised:
            resolve_secrets(
                ["long", "code"],
                search_dirs=[tmp_path],
                environ={"long": "assez long", "code": "q#"},
                use_keyring=False,
            )
        assert raised.value.message == (
            f"the secret 'code' is too short to be masked: a secret needs at least {MIN_SECRET_LENGTH} characters"
        )
        assert "q#" not in str(raised.value.message) + str(raised.value.hint)

    def test_robo_secrets_set_refuses_it_too(self) -> None:
        with pytest.raises(ConfigurationError) as raised:
            store_in_keyring("code", "q#")
        assert raised.value.message.startswith("the secret 'code' is too short to be masked")


class TestSecretsBySource:
    def test_templates_env_holds_no_credential(self) -> None:
        environ = {
            "HOME": "/home/robo",
            "ROBO_SCHEDULED_FOR": "2026-11-30T08:00:00+01:00",
            "ROBO_SECRET_JETON": "x1",
            "ROBO_SMTP_PASSWORD": "x2",
            "ROBO_SMTP_HOST": "smtp.mairie.example",
            "ROBO_STORE_URL": "sqlite:///robo.db",
            "ROBO_NOTIFY_WEBHOOK": "https://hooks.example/T0/B0/x3",
            "GITHUB_TOKEN": "x4",
            "db_password": "x5",
            "HTTPS_PROXY": "http://robo:x6@proxy.mairie.example:3128",
            "NO_PROXY": "http://proxy.mairie.example",
        }
        assert template_environment(environ) == {
            "HOME": "/home/robo",
            "ROBO_SCHEDULED_FOR": "2026-11-30T08:00:00+01:00",
            "NO_PROXY": "http://proxy.mairie.example",
        }
        assert is_credential_variable("ROBO_SECRET_X") and not is_credential_variable("ROBO_LOGS")

    def test_values_secret_by_source_are_found_declared_or_not(self, tmp_path: Path) -> None:
        (tmp_path / ".env").write_text("ROBO_SECRET_DOTENV=from-dotenv\nAUTRE=plain\n", encoding="utf-8")
        environ = {
            "ROBO_SECRET_JETON": "from-env",
            "ROBO_SMTP_PASSWORD": "smtp-pass",
            "ROBO_SMTP_USER": "robo",
            "ROBO_STORE_URL": "postgresql://robo:st%2Fre@db.example/robo",
            "TOKENIZERS_PARALLELISM": "false",  # a credential-like name outside Rob'O's: not masked everywhere
        }
        assert sorted(secrets_by_source(environ, [tmp_path])) == [
            "from-dotenv",
            "from-env",
            "smtp-pass",
            "st/re",
        ]

    def test_a_secret_spread_in_pieces_too_short_to_mask_is_masked_as_a_whole(self) -> None:
        redactor = Redactor([AWKWARD])
        pieces = list(AWKWARD)
        redactor.taint(pieces)
        assert redactor.text(f"log {pieces}") == "log ***"
        assert redactor.data({"value": pieces, "other": ["a", "b"]}) == {"value": "***", "other": ["a", "b"]}

    def test_an_escaped_markup_value_is_registered_as_plain_text(self) -> None:
        from markupsafe import Markup

        redactor = Redactor()
        redactor.taint(Markup("a&amp;b"))
        assert redactor.text("x a&amp;b y a%26amp%3Bb") == "x *** y ***"
