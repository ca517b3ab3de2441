"""The report as a person sees it: in headless Chromium at 1 280 × 900, for a run that succeeded, one whose
failures repeat, one whose login failed before any item, and a resumed one. Screenshots of each are saved in
build/report-screenshots/ (the path is printed) to be looked at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import robots
from runner.record import AUDIT_KEY_VARIABLE, RunStore, default_store_url
from runner.review import write_report
from runner.run import RunOptions, RunOutcome, run_workflow
from tests.probe_robot import Probe
from tests.running import WorkflowRunner

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "report-screenshots"
WIDTH, HEIGHT = 1280, 900
LONG_VALUE = "https://intranet.example.fr/dossiers/" + "x" * 180

SUCCEEDED = """
name: Saisie réussie
steps:
  - for_each: [{ref: REF-2026-0001}, {ref: REF-2026-0002}, {ref: REF-2026-0003}]
    as: d
    key: d.ref
    collect: {numero: "{{ numero }}"}
    steps:
      - name: Saisir le dossier
        probe.echo: {value: "DOS-{{ d.ref }}"}
        save: numero
"""

REPEATED = f"""
name: Saisie avec erreurs répétées
steps:
  - for_each: "{{{{ range(1, 13) | list }}}}"
    as: n
    key: "'REF-2026-' ~ '%04d' | format(n)"
    collect: {{numero: "{{{{ numero }}}}", lien: "{LONG_VALUE}"}}
    steps:
      - name: Saisir le dossier
        probe.echo: {{value: "DOS-{{{{ n }}}}"}}
        save: numero
      - name: Envoyer le formulaire
        probe.refuse_with_screenshot: {{reason: "SIRET invalide pour le dossier {{{{ n }}}} ('{{{{ n * 7 }}}}')"}}
        when: n in [2, 3, 5, 8, 11]
      - name: Attendre le serveur
        probe.flaky: {{key: "b{{{{ n }}}}", failures: 1}}
        when: n == 6
"""

LOGIN_REFUSED = """
name: Connexion refusée
steps:
  - for_each: [{ref: B-1}, {ref: B-2}, {ref: B-3}, {ref: B-4}, {ref: B-5}]
    as: d
    key: d.ref
    setup:
      - name: Se connecter
        probe.refuse_login: {reason: mot de passe expiré}
    steps:
      - probe.echo: {value: "{{ d.ref }}"}
"""

RESUMED = """
name: Saisie reprise
steps:
  - for_each: [{ref: C-1}, {ref: C-2}, {ref: C-3}, {ref: C-4}, {ref: C-5}, {ref: C-6}]
    as: d
    key: d.ref
    collect: {numero: "{{ numero }}"}
    steps:
      - name: Saisir le dossier
        probe.flaky: {key: "{{ d.ref }}", failures: "{{ 1 if d.ref in ['C-2', 'C-5'] else 0 }}"}
      - probe.echo: {value: "DOS-{{ d.ref }}"}
        save: numero
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunOutcome]]:
    """The four runs, made once for the module (with an audit key of their own, as every test's)."""
    folder = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(AUDIT_KEY_VARIABLE, str(folder / "audit.key"))
        robots.BUILTIN_ROBOTS["probe"] = "tests.probe_robot:Probe"
        robots.robot_class.cache_clear()
        Probe.reset()
        try:
            runner = WorkflowRunner(folder)
            outcomes = {
                "succeeded": runner(SUCCEEDED)[0],
                "repeated": runner(REPEATED)[0],
                "login-refused": runner(LOGIN_REFUSED)[0],
            }
            first, _ = runner(RESUMED)
            assert first.status == "completed_with_errors" and first.run_id is not None
            outcomes["resumed"] = run_workflow(
                folder / f"workflow{runner.count}.yaml",
                RunOptions(logs_dir=folder / "logs", environ={}, resume=first.run_id),
            )
            yield outcomes
        finally:
            del robots.BUILTIN_ROBOTS["probe"]
            robots.robot_class.cache_clear()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from robots.browser import find_browser

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(find_browser()), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_report(browser: Any, reports: dict[str, RunOutcome]) -> Iterator[Any]:
    pages: list[Any] = []

    def opened(name: str) -> Any:
        report = reports[name].report
        assert report is not None
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        pages.append(page)
        page.goto(report.as_uri())
        return page

    yield opened
    for page in pages:
        page.close()


def overflow(page: Any) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


class TestHowItLooks:
    @pytest.mark.parametrize("name", ["succeeded", "repeated", "login-refused", "resumed"])
    def test_no_page_is_wider_than_the_screen_and_a_screenshot_is_saved(
        self, open_report: Any, name: str
    ) -> None:
        page = open_report(name)
        assert overflow(page) <= WIDTH
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"report screenshot: {shot}")
        assert shot.stat().st_size > 10_000

    def test_the_wide_items_table_scrolls_inside_its_box(self, open_report: Any) -> None:
        page = open_report("repeated")
        box = page.evaluate(
            "(() => { const b = document.querySelector('#item-table').parentElement.getBoundingClientRect();"
            " return [b.right, getComputedStyle(document.querySelector('#item-table').parentElement).overflowX]; })()"
        )
        assert box[0] <= WIDTH and box[1] == "auto"
        cell = page.locator("#item-table td.value", has_text="intranet.example.fr").first
        assert cell.get_attribute("title") == LONG_VALUE  # cut short on screen, whole on hovering
        assert cell.evaluate("c => c.scrollWidth > c.clientWidth")
        assert overflow(page) <= WIDTH

    def test_references_are_never_broken_across_lines(self, open_report: Any) -> None:
        page = open_report("repeated")
        lines = page.evaluate(
            "[...document.querySelectorAll('#item-table td.key')].slice(0, 24).map(c => {"
            " const r = document.createRange(); r.selectNodeContents(c);"
            " const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));"
            " return [c.textContent.trim(), tops.size, getComputedStyle(c).whiteSpace]; })"
        )
        key_cells = [entry for entry in lines if entry[0].startswith("REF-2026-")]
        assert key_cells and all(entry[2] == "nowrap" for entry in key_cells)
        assert all(entry[1] == 1 for entry in key_cells), key_cells  # each on one line


class TestTriage:
    def test_identical_failures_make_one_card_with_one_screenshot(self, open_report: Any) -> None:
        page = open_report("repeated")
        cards = page.locator("section.failure")
        assert cards.count() == 2  # five refusals alike, one system failure
        grouped = cards.filter(has_text="5 items — same error")
        assert grouped.count() == 1
        assert grouped.locator("img").count() == 1
        assert grouped.locator("details.group ul.keys li").count() == 5
        assert not grouped.locator("details.group ul.keys").is_visible()
        grouped.locator("details.group summary").click()
        assert grouped.locator("details.group ul.keys").is_visible()

    def test_failed_only_shows_the_failed_items_and_the_search_narrows_them(self, open_report: Any) -> None:
        page = open_report("repeated")
        rows = page.locator("#item-table tbody.item")
        assert rows.count() == 12
        page.check("#failed-only")
        visible = page.locator("#item-table tbody.item:visible")
        assert visible.count() == 6
        assert page.inner_text("#shown-count") == "6"
        page.fill("#search", "REF-2026-0011")
        assert visible.count() == 1 and "REF-2026-0011" in visible.inner_text()
        page.uncheck("#failed-only")
        page.fill("#search", "")
        assert visible.count() == 12

    def test_an_item_row_leads_to_its_card_and_screenshot_and_back(self, open_report: Any) -> None:
        page = open_report("repeated")
        row = page.locator("#item-table tbody.item", has_text="REF-2026-0008")
        row.locator("a.card-link").click()
        card_id = page.evaluate("location.hash.slice(1)")
        card = page.locator(f"#{card_id}")
        assert "5 items — same error" in card.inner_text()
        top = card.evaluate("c => c.getBoundingClientRect().top")
        assert -2 <= top < HEIGHT
        page.go_back()
        row.locator("a.shot-link").click()
        shot = page.locator(page.evaluate("location.hash"))
        assert shot.locator("img").count() == 1
        card.locator("details.group summary").click()
        card.locator("ul.keys a", has_text="REF-2026-0008").click()
        assert page.evaluate("location.hash") == "#" + row.get_attribute("id")

    def test_a_link_to_a_row_hidden_by_the_filter_shows_it_again(self, open_report: Any) -> None:
        page = open_report("repeated")
        page.check("#failed-only")
        done_row = page.locator("#item-table tbody.item", has_text="REF-2026-0001")
        assert not done_row.is_visible()
        page.evaluate(f"location.hash = '#{done_row.get_attribute('id')}'")
        done_row.wait_for(state="visible", timeout=2000)
        assert not page.is_checked("#failed-only")

    def test_each_item_shows_its_steps_with_their_parameters(self, open_report: Any) -> None:
        page = open_report("repeated")
        row = page.locator("#item-table tbody.item", has_text="REF-2026-0002")
        steps = row.locator("tr.steps details")
        steps.locator("summary").click()
        text = steps.inner_text()
        assert "Envoyer le formulaire" in text and "probe.refuse_with_screenshot" in text
        assert "SIRET invalide pour le dossier 2" in text and "failed" in text

    def test_a_run_stopped_before_its_items_lists_them_as_never_started(self, open_report: Any) -> None:
        page = open_report("login-refused")
        text = page.inner_text("body")
        assert "0/0" not in text
        assert "5 not started of the 5 of" in text
        page.locator("#not-started details summary").click()
        keys = page.locator("#not-started ul.keys li").all_inner_texts()
        assert keys == ["B-1", "B-2", "B-3", "B-4", "B-5"]
        command = page.inner_text("#next pre.command")
        run = page.inner_text(".facts b.key")
        assert re.fullmatch(rf"robo run \S+workflow\d\.yaml --resume {run}", command.strip())

    def test_a_resumed_run_shows_each_session_with_its_failures_and_records(self, open_report: Any) -> None:
        page = open_report("resumed")
        sessions = page.locator("#sessions .session")
        assert sessions.count() == 2
        first, second = sessions.nth(0), sessions.nth(1)
        assert "first run" in first.inner_text() and "4 items done (records produced)" in first.inner_text()
        assert "C-2" in first.locator("details[open]").inner_text()
        assert "C-5" in first.locator("details[open]").inner_text()
        assert "resumed" in second.inner_text() and "2 items done (records produced)" in second.inner_text()
        assert second.locator("details[open]").count() == 0  # no failure in the second session
        assert "All 6 items done." in page.inner_text("header")

    def test_what_to_do_next_gives_the_retry_command(self, open_report: Any, reports: dict[str, Any]) -> None:
        page = open_report("repeated")
        assert page.inner_text("#next pre.command").strip() == f"robo runs retry {reports['repeated'].run_id}"


class TestLanguage:
    @pytest.fixture
    def locale_of(
        self, monkeypatch: pytest.MonkeyPatch, reports: dict[str, RunOutcome], tmp_path: Path
    ) -> Any:
        from robots.kit import set_language

        def written(lang: str) -> str:
            for name in ("ROBO_LANG", "LC_ALL", "LC_MESSAGES"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("LANG", lang)
            set_language(None)
            outcome = reports["repeated"]
            assert outcome.run_dir is not None and outcome.run_id is not None
            # the key the module's runs were signed with, so that the report finds its audit log intact
            monkeypatch.setenv(AUDIT_KEY_VARIABLE, str(outcome.run_dir.parents[2] / "audit.key"))
            store = RunStore(default_store_url(outcome.run_dir.parents[1]))
            try:
                path = write_report(store, outcome.run_id, tmp_path / f"{lang}.html")
            finally:
                store.close()
            return path.read_text(encoding="utf-8")

        yield written
        monkeypatch.setenv("ROBO_LANG", "en")
        set_language(None)

    def test_under_a_french_locale_the_report_is_french(
        self, locale_of: Any, browser: Any, tmp_path: Path
    ) -> None:
        html = locale_of("fr_FR.UTF-8")
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        try:
            page.goto((tmp_path / "fr_FR.UTF-8.html").as_uri())
            assert overflow(page) <= WIDTH
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "repeated-fr.png"), full_page=True)
            print(f"report screenshot: {SCREENSHOTS / 'repeated-fr.png'}")
        finally:
            page.close()
        assert '<html lang="fr">' in html
        for text in (
            "5 dossiers — même erreur",
            "Que faire maintenant",
            "En échec seulement",
            "Dossiers (12)",
        ):
            assert text in html
        assert re.search(r"\d\d/\d\d/20\d\d \d\d:\d\d:\d\d \([A-Za-z/_]+\)", html)  # a labelled moment
        assert "same error" not in html and "What to do next" not in html
        assert "Journal d'audit intact" in html.replace("&#39;", "'")

    def test_under_the_c_locale_the_report_is_english(self, locale_of: Any) -> None:
        html = locale_of("C")
        assert '<html lang="en">' in html
        for text in ("5 items — same error", "What to do next", "Failed only", "Work items (12)"):
            assert text in html
        assert "même erreur" not in html
