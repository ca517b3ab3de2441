"""The browser robot on its own: finding a browser, lazy imports, dialogs, tabs, frames, sessions, secrets."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

import robots
from robots.browser import find_browser
from robots.kit import ConfigurationError
from tests.e2e.conftest import Bot

LOGIN = """
  - browser.open: {url: "{{ inputs.intranet }}/connexion"}
  - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
  - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
  - browser.click: {role: "button:Se connecter", error_when: {css: ".erreur"}}
"""
HEAD = """
inputs:
  intranet: {type: string}
secrets: [identifiant, mot_de_passe]
steps:
"""


class TestFindingABrowser:
    def test_the_system_chromium_is_found(self) -> None:
        assert find_browser({}, environ={}).name.startswith(("chromium", "chrome", "google-chrome"))

    def test_a_configured_path_wins(self, tmp_path: Path) -> None:
        fake = tmp_path / "mon-chrome"
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
        assert find_browser({"executable": str(fake)}, environ={}) == fake
        assert find_browser({}, environ={"ROBO_BROWSER": str(fake)}) == fake

    @staticmethod
    def _fake(folder: Path, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        fake = folder / name
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
        return fake

    def test_a_headless_run_prefers_the_headless_shell(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        import robots.browser.launch as launch

        shell = self._fake(tmp_path / "bin", "chromium-headless-shell")
        monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
        flags = tmp_path / "chromium.d"
        for name in ("README", "default-flags", "dev-shm"):  # what Debian's chromium package puts there
            self._fake(flags, name)
        monkeypatch.setattr(launch, "ADMINISTRATION_DIRS", (flags, tmp_path / "policies" / "managed"))
        assert find_browser({}, environ={}, headless=True) == shell
        # a visible browser is the full one; a browser the workflow or ROBO_BROWSER names is used as named
        assert find_browser({}, environ={}) != shell
        configured = self._fake(tmp_path, "mon-chrome")
        assert find_browser({"executable": str(configured)}, environ={}, headless=True) == configured
        assert find_browser({}, environ={"ROBO_BROWSER": str(configured)}, headless=True) == configured

    def test_a_chromium_its_administrator_configured_is_kept_for_headless_runs(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """The headless shell reads neither /etc/chromium.d nor managed policies (a proxy, the intranet's single
        sign-on): where the administrator set either, a headless run launches the full browser too."""
        import robots.browser.launch as launch

        shell = self._fake(tmp_path / "bin", "chromium-headless-shell")
        monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
        flags, policies = tmp_path / "chromium.d", tmp_path / "policies" / "managed"
        monkeypatch.setattr(launch, "ADMINISTRATION_DIRS", (flags, policies))
        self._fake(flags, "default-flags")
        assert find_browser({}, environ={}, headless=True) == shell
        self._fake(flags, "proxy")  # e.g. CHROMIUM_FLAGS="$CHROMIUM_FLAGS --proxy-pac-url=…"
        assert find_browser({}, environ={}, headless=True) != shell
        (flags / "proxy").unlink()
        self._fake(policies, "intranet.json")  # e.g. {"AuthServerAllowlist": "*.intranet.local"}
        assert find_browser({}, environ={}, headless=True) != shell
        monkeypatch.setattr(launch, "ADMINISTRATION_DIRS", (tmp_path / "absent",))
        assert launch.administered_chromium() is False

    def test_playwrights_own_headless_shell_is_found_too(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        import robots.browser.launch as launch

        own = tmp_path / "ms-playwright"
        full = self._fake(own / "chromium-1200" / "chrome-linux64", "chrome")
        shell = self._fake(
            own / "chromium_headless_shell-1200" / "chrome-headless-shell-linux64", "chrome-headless-shell"
        )
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        monkeypatch.setattr(launch, "WELL_KNOWN_PATHS", ())
        monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(own))
        monkeypatch.setattr(launch, "ADMINISTRATION_DIRS", ())
        assert find_browser({}, environ={}, headless=True) == shell
        assert find_browser({}, environ={}) == full

    def test_a_missing_configured_browser_says_what_to_do(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError) as info:
            find_browser({}, environ={"ROBO_BROWSER": str(tmp_path / "absent")})
        assert "apt-get install chromium" in (info.value.hint or "")

    def test_no_browser_at_all_is_a_clear_error(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        import robots.browser.launch as launch

        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setattr(launch, "WELL_KNOWN_PATHS", ())
        monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "none"))
        with pytest.raises(ConfigurationError, match="no Chromium or Chrome browser was found") as info:
            find_browser({}, environ={})
        assert "ROBO_BROWSER" in (info.value.hint or "")


def test_declares_every_action() -> None:
    from robots.browser import Browser

    specs = Browser.action_specs()
    expected = {
        "open", "goto", "click", "fill", "select", "check", "uncheck", "choose", "fill_form", "upload", "download",
        "press", "hover", "wait_for", "read_text", "read_value", "read_attribute", "read_table", "exists",
        "assert_text", "screenshot", "accept_dialog", "dismiss_dialog", "switch_tab", "in_frame",
        "save_session", "load_session", "close",
    }  # fmt: skip
    assert expected <= set(specs)
    assert ("label", "text", "role", "placeholder", "title", "test_id", "css", "xpath") in specs[
        "fill"
    ].one_of


@pytest.mark.slow
class TestPages:
    def test_dialogs_are_accepted_or_dismissed_and_their_message_read(self, bot: Bot) -> None:
        outcome, recorder = bot.run(
            "name: Dialogues"
            + HEAD
            + LOGIN
            + """
  - browser.goto: {url: /dialogues}
  - browser.dismiss_dialog: {text: Supprimer le brouillon}
    save: question
  - browser.assert_text: {expected: Suppression annulée.}
  - browser.accept_dialog: {text: Supprimer le brouillon}
  - browser.assert_text: {expected: Brouillon supprimé.}
  - browser.click: {text: Envoyer la demande}
  - browser.click: {role: "button:Confirmer"}
  - browser.assert_text: {expected: Demande envoyée.}
  - log: "{{ question }}"
"""
        )
        assert outcome.status == "succeeded", outcome.diagnostics
        assert [e.message for e in recorder.of("log") if e.step] == [
            "Voulez-vous vraiment supprimer le brouillon ?"
        ]

    def test_frames_and_tabs(self, bot: Bot, tmp_path: Path) -> None:
        (tmp_path / "autre.html").write_text("<title>Autre</title><p>onglet 2</p>", encoding="utf-8")
        (tmp_path / "cadre.html").write_text("<label for=c>Code</label><input id=c>", encoding="utf-8")
        (tmp_path / "accueil.html").write_text(
            "<h1>Accueil</h1><a href='autre.html' target='_blank'>Ouvrir</a><iframe id='cadre' src='cadre.html'></iframe>",
            encoding="utf-8",
        )
        page = (tmp_path / "accueil.html").as_uri()
        outcome, recorder = bot.run(
            "name: Cadres"
            + HEAD
            + f"""
  - browser.open: {{url: "{page}"}}
  - browser.in_frame: {{frame: "#cadre"}}
  - browser.fill: {{label: Code, value: "A-12"}}
  - browser.read_value: {{label: Code}}
    save: code
  - browser.in_frame: {{}}
  - browser.click: {{text: Ouvrir}}
  - browser.switch_tab: {{index: -1}}
  - browser.read_text: {{css: p}}
    save: texte
  - browser.switch_tab: {{index: 0}}
  - browser.read_text: {{css: h1}}
    save: titre
  - log: "{{{{ code }}}} {{{{ texte }}}} {{{{ titre }}}}"
"""
        )
        assert outcome.status == "succeeded", outcome.diagnostics
        assert [e.message for e in recorder.of("log") if e.step] == ["A-12 onglet 2 Accueil"]

    def test_a_saved_session_spares_the_next_run_a_login(self, bot: Bot, tmp_path: Path) -> None:
        session = tmp_path / "session.json"
        first, _ = bot.run(
            "name: Session" + HEAD + LOGIN + f'  - browser.save_session: {{path: "{session}"}}\n'
        )
        assert first.status == "succeeded", first.diagnostics
        assert stat.S_IMODE(os.stat(session).st_mode) == 0o600
        second, recorder = bot.run(
            "name: Reprise"
            + HEAD
            + f"""
  - browser.load_session: {{path: "{session}"}}
    save: chargee
  - browser.goto: {{url: "{{{{ inputs.intranet }}}}/dossiers/nouveau"}}
  - browser.exists: {{label: Nom du demandeur}}
    save: formulaire
  - log: "{{{{ chargee }}}} {{{{ formulaire }}}}"
"""
        )
        assert second.status == "succeeded", second.diagnostics
        assert [e.message for e in recorder.of("log") if e.step] == ["True True"]

    def test_passwords_stay_out_of_screenshots_and_traces(self, bot: Bot) -> None:
        outcome, _ = bot.run(
            "name: Fuite"
            + HEAD
            + """
  - browser.open: {url: "{{ inputs.intranet }}/connexion"}
  - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
  - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
  - browser.click: {text: Ce bouton n'existe pas, timeout: 1}
"""
        )
        assert outcome.status == "failed"
        assert outcome.run_dir is not None
        artifacts = outcome.run_dir / "artifacts"
        kinds = sorted(p.suffix for p in artifacts.iterdir())
        assert kinds == [".html", ".png", ".zip"]
        [trace] = artifacts.glob("*.zip")
        password = b"Motdepasse-1!"
        with zipfile.ZipFile(trace) as archive:
            assert archive.namelist()
            for name in archive.namelist():
                assert password not in archive.read(name), name
        for path in artifacts.iterdir():
            assert password not in path.read_bytes(), path.name
        assert password not in (outcome.run_dir / "audit.jsonl").read_bytes()


def snapshot_counts(run_dir: Path) -> list[int]:
    """For each failure trace of a run, in the order they were saved: how many DOM snapshots it holds."""
    traces = sorted((run_dir / "artifacts").glob("*trace*.zip"), key=lambda path: path.stat().st_mtime_ns)
    counts = []
    for trace in traces:
        with zipfile.ZipFile(trace) as archive:
            events = b"".join(archive.read(name) for name in archive.namelist() if name.endswith(".trace"))
        assert b'"type":"before"' in events, trace.name  # the actions are recorded in every mode
        counts.append(events.count(b'"frame-snapshot"'))
    return counts


class TestTraces:
    FAILING = (
        HEAD
        + """
  - browser.open: {url: "{{ inputs.intranet }}/connexion"}
  - browser.click: {text: Ce bouton n'existe pas, timeout: 1}
    retry: {attempts: 2, delay: 0}
"""
    )

    def test_by_default_a_retry_is_recorded_with_the_page_snapshots(self, bot: Bot) -> None:
        outcome, _ = bot.run("name: Trace" + self.FAILING)
        assert outcome.status == "failed" and outcome.run_dir is not None
        first, retry = snapshot_counts(outcome.run_dir)
        assert first == 0  # fast: actions, network and console only
        assert retry > 0

    def test_full_traces_have_snapshots_from_the_start(self, bot: Bot) -> None:
        outcome, _ = bot.run("name: Trace\nbrowser: {trace: full}" + self.FAILING)
        assert outcome.run_dir is not None
        assert all(count > 0 for count in snapshot_counts(outcome.run_dir))

    def test_a_trace_holds_no_call_stack_of_robo_itself(self, bot: Bot) -> None:
        # Playwright's client would send the Python stack of every call to the trace: Rob'O's own files and
        # lines, nothing of the workflow, and the installation's paths in a file handed to an agent.
        outcome, _ = bot.run("name: Trace" + self.FAILING)
        assert outcome.run_dir is not None
        traces = list((outcome.run_dir / "artifacts").glob("*trace*.zip"))
        assert len(traces) == 2  # the attempt and its retry: each chunk after the first as well
        installed = str(Path(robots.__file__).resolve().parent).encode()
        for trace in traces:
            with zipfile.ZipFile(trace) as archive:
                names = archive.namelist()
                assert "trace.trace" in names
                assert not [name for name in names if name.endswith(".stacks")], trace.name
                assert not [name for name in names if installed in archive.read(name)], trace.name

    def test_no_trace_when_switched_off(self, bot: Bot) -> None:
        outcome, _ = bot.run("name: Trace\nbrowser: {trace: off}" + self.FAILING)
        assert outcome.run_dir is not None
        assert not list((outcome.run_dir / "artifacts").glob("*.zip"))
        assert list((outcome.run_dir / "artifacts").glob("*.png"))
