"""The light browser (no images, fonts, media, motion nor other hosts) and the tab renewed every N items."""

from __future__ import annotations

import functools
import http.server
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from robots.browser import Browser, Target
from robots.browser.light import HostFilter, host_matches
from robots.browser.recycling import COLLECT_EVERY
from robots.kit import RobotContext
from tests.e2e.conftest import Bot
from tests.mock_intranet.accounts import DEFAULT_ACCOUNT
from tests.running import problems
from tests.serving import http_served

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# A page whose own script reports whether its image and its font loaded, whether a script from another host ran,
# and how long its transitions last; `#fini` appears once it knows.
NEEDY_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Page exigeante</title>
<style>
  @font-face { font-family: Maison; src: url(maison.ttf); }
  #boite { transition: opacity 2s; }
</style>
<script src="http://localhost:%(port)d/tiers.js"></script>
</head><body>
<img id="logo" src="logo.png" alt="logo">
<div id="boite">boîte</div>
<p id="image">en attente</p><p id="police">en attente</p><p id="tiers">tiers absent</p><p id="mouvement"></p>
<script>
  document.getElementById('tiers').textContent = window.scriptTiers ? 'tiers chargé' : 'tiers absent';
  document.getElementById('mouvement').textContent = getComputedStyle(document.getElementById('boite')).transitionDuration;
  const logo = document.getElementById('logo');
  const image = new Promise((done) => {
    const seen = () => { document.getElementById('image').textContent = logo.naturalWidth > 0 ? 'image chargée' : 'image absente'; done(); };
    if (logo.complete) seen(); else { logo.onload = seen; logo.onerror = seen; setTimeout(seen, 1500); }
  });
  const police = document.fonts.load('16px Maison').then(
    (faces) => { document.getElementById('police').textContent = faces.length ? 'police chargée' : 'police absente'; },
    () => { document.getElementById('police').textContent = 'police absente'; });
  Promise.all([image, police]).then(() => { const p = document.createElement('p'); p.id = 'fini'; p.textContent = 'fini'; document.body.append(p); });
</script>
</body></html>
"""
# The smallest PNG: one transparent pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def needy_site(tmp_path: Path) -> Iterator[str]:
    """The needy page, its image, font and a third-party script, served on 127.0.0.1 (and named localhost)."""
    site = tmp_path / "site"
    site.mkdir()
    with http_served(functools.partial(_Quiet, directory=str(site))) as address:
        port = int(address.rsplit(":", 1)[1])
        (site / "page.html").write_text(NEEDY_PAGE % {"port": port}, encoding="utf-8")
        (site / "logo.png").write_bytes(PIXEL)
        (site / "maison.ttf").write_bytes(FONT.read_bytes())
        (site / "tiers.js").write_text("window.scriptTiers = true;", encoding="utf-8")
        yield f"{address}/page.html"


def _read_needy_page(bot: Bot, url: str, settings: str) -> dict[str, str]:
    outcome, recorder = bot.run(
        f"""name: Page exigeante
inputs:
  intranet: {{type: string}}
{settings}
steps:
  - browser.open: {{url: "{url}"}}
  - browser.wait_for: {{css: "#fini"}}
  - browser.read_text: {{css: "#image"}}
    save: image
  - browser.read_text: {{css: "#police"}}
    save: police
  - browser.read_text: {{css: "#tiers"}}
    save: tiers
  - browser.read_text: {{css: "#mouvement"}}
    save: mouvement
  - log: "{{{{ image }}}}|{{{{ police }}}}|{{{{ tiers }}}}|{{{{ mouvement }}}}"
"""
    )
    assert outcome.status == "succeeded", outcome.diagnostics
    image, police, tiers, mouvement = next(e.message for e in recorder.of("log") if e.step).split("|")
    return {"image": image, "police": police, "tiers": tiers, "mouvement": mouvement}


@pytest.mark.slow
class TestLightBrowser:
    def test_an_unattended_run_is_light_and_a_page_needing_images_and_fonts_sees_them_missing(
        self, bot: Bot, needy_site: str
    ) -> None:
        seen = _read_needy_page(bot, needy_site, "")
        # Other hosts are reached: only a workflow listing the hosts it allows refuses the others.
        assert seen == {
            "image": "image absente",
            "police": "police absente",
            "tiers": "tiers chargé",
            "mouvement": "0s",
        }

    def test_a_workflow_allowing_no_other_host_refuses_them(self, bot: Bot, needy_site: str) -> None:
        seen = _read_needy_page(bot, needy_site, "browser: {allow_hosts: []}")
        assert seen["tiers"] == "tiers absent"
        assert seen["image"] == "image absente"  # still light

    def test_light_false_gives_the_page_its_images_fonts_other_hosts_and_motion(
        self, bot: Bot, needy_site: str
    ) -> None:
        seen = _read_needy_page(bot, needy_site, "browser: {light: false}")
        assert seen == {
            "image": "image chargée",
            "police": "police chargée",
            "tiers": "tiers chargé",
            "mouvement": "2s",
        }

    def test_a_host_the_workflow_allows_is_reached_by_a_light_browser(
        self, bot: Bot, needy_site: str
    ) -> None:
        seen = _read_needy_page(bot, needy_site, "browser: {light: true, allow_hosts: [localhost]}")
        assert seen["tiers"] == "tiers chargé"
        assert seen["image"] == "image absente"


class TestTheHostFilter:
    def test_other_hosts_are_refused_unless_opened_as_a_page_or_allowed(self) -> None:
        light = HostFilter(["*.gouv.fr", "cdn.exemple.fr"], lambda message: None)
        light.opened.add("intranet.local")
        assert light.refuses("https://analytics.example.com/t.js", False)
        assert not light.refuses("https://www.impots.gouv.fr/x.js", False)
        assert not light.refuses("https://gouv.fr/x.js", False)
        assert light.refuses("https://gouvxfr.com/x.js", False)
        assert not light.refuses("https://cdn.exemple.fr/x.css", False)
        assert light.refuses("https://other.example.com/frame.html", False)
        assert not light.refuses("https://sso.example.com/login", True)
        assert not light.refuses("data:text/plain,x", False)

    def test_the_pattern_sent_to_the_driver_lets_the_opened_hosts_own_files_pass(self) -> None:
        light = HostFilter(["*.gouv.fr"], lambda message: None)
        assert light.pattern().search(
            "http://intranet.local/"
        )  # nothing opened yet: every address is doubtful
        light.opened.add("intranet.local")
        pattern = light.pattern()
        assert not pattern.search("http://intranet.local:8080/static/app.css")
        assert not pattern.search("https://a.b.gouv.fr/x.js")
        assert not pattern.search("http://intranet.local/logo.PNG?v=2")  # images: the browser's own switch
        assert pattern.search("http://intranet.local.evil.com/x.js")
        assert pattern.search("http://intranet.local@evil.com/x.js")

    def test_host_names_match_exactly_or_under_a_wildcard_domain(self) -> None:
        assert host_matches("Intranet.Local", "intranet.local")
        assert host_matches("a.gouv.fr", "*.gouv.fr")
        assert not host_matches("agouv.fr", "*.gouv.fr")


class TestSettings:
    def test_light_allow_hosts_and_recycle_every_are_checked(self) -> None:
        head = "name: x\nsteps:\n  - log: x\nbrowser: "
        assert problems(head + "{light: true, allow_hosts: [a.fr], recycle_every: 0}") == []
        assert any("recycle_every" in p for p in problems(head + "{recycle_every: -1}"))
        assert any("light" in p for p in problems(head + "{light: peut-être}"))
        assert any("recyle_every" in p for p in problems(head + "{recyle_every: 5}"))


def _renewing_robot(tmp_path: Path, logs: list[str], every: int) -> tuple[RobotContext, Browser]:
    """A browser robot outside a run whose tab is renewed every `every` items, its log lines into `logs`."""
    context = RobotContext(
        run_id="t",
        workflow_name="t",
        workflow_dir=tmp_path,
        artifacts_dir=tmp_path / "artifacts",
        settings={"browser": {"recycle_every": every, "trace": "off"}},
        log=logs.append,
    )
    return context, Browser(context)


@pytest.mark.slow
class TestTabRenewal:
    def test_a_long_loop_gets_fresh_tabs_every_n_items_and_keeps_its_login(
        self, tmp_path: Path, intranet_url: str, logs: list[str]
    ) -> None:
        context, robot = _renewing_robot(tmp_path, logs, every=50)
        try:
            robot.open(url=f"{intranet_url}/connexion")
            robot.fill(Target(label="Identifiant"), DEFAULT_ACCOUNT.username)
            robot.fill(Target(label="Mot de passe"), DEFAULT_ACCOUNT.password)
            robot.click(Target(role="button:Se connecter"))
            opened: list[Any] = []

            def on_page(page: Any) -> None:
                opened.append(page)

            async def count_tabs() -> None:
                robot._context.on("page", on_page)

            assert robot._host is not None
            robot._host.call(count_tabs(), 10)
            headings = []
            for number in range(120):
                robot.item_started(str(number))
                if number % 3 == 0:  # the other items go on from the page the previous one left
                    robot.goto(f"{intranet_url}/dossiers")
                headings.append(robot.read_text(Target(css="h1")))
                robot.item_finished(str(number), True)
            assert len(opened) == 2  # after items 50 and 100
            assert headings == ["Dossiers"] * 120  # never the login page: the session's cookies were kept
            assert len(robot._context.pages) == 1
            assert sum("renewed after 50 items" in line for line in logs) == 2
        finally:
            robot.close()
            context.shared.close()

    @pytest.mark.parametrize("every", [0, 50])
    def test_the_documents_a_tab_left_are_freed_every_few_items(
        self, tmp_path: Path, intranet_url: str, logs: list[str], every: int
    ) -> None:
        """Each page a tab leaves stays in its renderer until a full garbage collection, which small pages seldom
        trigger; the robot asks for one every `COLLECT_EVERY` items, with or without renewing its tab."""
        context, robot = _renewing_robot(tmp_path, logs, every=every)
        try:
            robot.open(url=f"{intranet_url}/connexion")

            async def documents(wait_for_collection: bool) -> int:
                collecting = robot._recycler._collecting
                if wait_for_collection:
                    assert collecting is not None
                    await collecting
                session = await robot._context.new_cdp_session(robot._page)
                await session.send("Performance.enable")
                metrics = (await session.send("Performance.getMetrics"))["metrics"]
                await session.detach()
                return int(next(m["value"] for m in metrics if m["name"] == "Documents"))

            assert robot._host is not None
            held = []
            for number in range(2 * COLLECT_EVERY):
                robot.item_started(str(number))
                robot.goto(f"{intranet_url}/connexion?essai={number}")
                robot.item_finished(str(number), True)
                if number == COLLECT_EVERY - 2:  # the item before the collection: every page left is held
                    held.append(robot._host.call(documents(False), 10))
                if number in (COLLECT_EVERY - 1, 2 * COLLECT_EVERY - 1):
                    held.append(robot._host.call(documents(True), 10))
            assert held[0] >= COLLECT_EVERY  # pages left behind, not yet collected
            assert held[1] < COLLECT_EVERY // 2 and held[2] < COLLECT_EVERY // 2
            assert robot._recycler.collections == 2
            assert robot.read_text(Target(css="h1"))  # the tab still serves
        finally:
            robot.close()
            context.shared.close()

    def test_a_form_in_progress_is_not_lost_to_a_fresh_tab(
        self, tmp_path: Path, intranet_url: str, logs: list[str]
    ) -> None:
        context, robot = _renewing_robot(tmp_path, logs, every=1)
        try:
            robot.open(url=f"{intranet_url}/connexion")
            robot.item_started("1")
            robot.fill(Target(label="Identifiant"), "quelqu'un")
            robot.item_finished("1", True)
            assert robot.read_value(Target(label="Identifiant")) == "quelqu'un"
            assert not any("renewed" in line for line in logs)
            robot.item_started("2")
            robot.goto(f"{intranet_url}/connexion")
            robot.item_finished("2", True)
            assert sum("renewed after 2 items" in line for line in logs) == 1
        finally:
            robot.close()
            context.shared.close()


@pytest.mark.slow
class TestResultsWithoutExtraRoundTrips:
    def test_open_goto_and_fill_form_still_give_the_page_s_title(
        self, browser: Browser, intranet_url: str
    ) -> None:
        assert browser.open(url=f"{intranet_url}/connexion") == {
            "url": f"{intranet_url}/connexion",
            "title": "Connexion — Portail des agents",
        }
        assert browser.open()["title"] == "Connexion — Portail des agents"
        filled = browser.fill_form(
            {"Identifiant (nom d’utilisateur)": DEFAULT_ACCOUNT.username, "Mot de passe": "x"}
        )
        assert filled["title"] == "Connexion — Portail des agents"
        logged_in = browser.fill_form(
            {
                "Identifiant (nom d’utilisateur)": DEFAULT_ACCOUNT.username,
                "Mot de passe": DEFAULT_ACCOUNT.password,
            },
            submit="Se connecter",
        )
        assert logged_in["title"] == "Accueil — Portail des agents"
        assert browser.goto(f"{intranet_url}/dossiers/nouveau") == {
            "url": f"{intranet_url}/dossiers/nouveau",
            "title": "Nouveau dossier — Portail des agents",
            "status": 200,
        }
        assert browser.goto("/dossiers/nexistepas")["status"] == 404


@pytest.mark.slow
class TestTabRenewalInARun:
    def test_a_workflow_loop_renews_its_tab_at_item_ends_and_every_item_succeeds(self, bot: Bot) -> None:
        outcome, recorder = bot.run(
            """name: Onglets renouvelés
inputs:
  intranet: {type: string}
secrets: [identifiant, mot_de_passe]
browser: {recycle_every: 5}
steps:
  - for_each: "{{ range(12) | list }}"
    as: n
    setup:
      - browser.open: {url: "{{ inputs.intranet }}/connexion"}
      - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
      - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
      - browser.click: {role: "button:Se connecter"}
      - browser.goto: {url: "{{ inputs.intranet }}/dossiers"}
    steps:
      - browser.goto: {url: "{{ inputs.intranet }}/dossiers"}
        when: n % 2 == 0
      - browser.assert_text: {expected: Dossiers, css: h1}
"""
        )
        assert outcome.status == "succeeded", outcome.diagnostics
        assert outcome.counts["items_done"] == 12, outcome.counts
        renewed = [e.message for e in recorder.of("log") if "renewed" in e.message]
        assert len(renewed) == 2, renewed  # after the 5th and the 10th item
