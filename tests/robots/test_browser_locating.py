"""How the browser robot finds what a workflow names: as a person reads the page, the element a person would use.

Small pages written to the test's folder and opened by their file address; the robot is used directly.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from robots.browser import ABSENT_AFTER, Browser, Target, closest_candidates, normalise, option_values
from robots.browser.finding import FoundPlaces, place_of
from robots.browser.locators import list_options
from robots.kit import ApplicationError, BusinessError, ConfigurationError, WorkflowBug
from tests.serving import QuietHandler, http_served

pytestmark = pytest.mark.slow

# The page's own names, as real pages write them: curly apostrophes, a framework's " :", a no-break space before
# the colon, the required-field marker inside the label.
FORM = """<title>Saisie</title>
<form>
  <label for="u">Nom d’utilisateur&nbsp;:</label><input id="u">
  <label for="n">Nom du demandeur <span class="obligatoire">*</span></label><input id="n">
  <label for="v">Ville :</label><input id="v">
  <input id="o" placeholder="Numéro d’ordre">
  <input type="checkbox" id="c"><label for="c">J’accepte les conditions :</label>
  <label for="t">Type d’aide</label>
  <select id="t"><option value="">—</option><option value="3">Aide à l’emploi</option><option value="4">Autre</option></select>
  <button type="button" onclick="document.title = 'envoyé'">Valider l’envoi</button>
</form>"""


def page(tmp_path: Path, name: str, html: str) -> str:
    path = tmp_path / name
    path.write_text('<!doctype html><meta charset="utf-8">' + html, encoding="utf-8")
    return path.as_uri()


def title(browser: Browser) -> str:
    return str(browser.open()["title"])


class TestNamesAsPeopleSeeThem:
    def test_one_normalisation_for_quotes_spaces_colons_required_markers(self) -> None:
        assert normalise("Nom d\u2019utilisateur\u00a0: *") == "Nom d'utilisateur"
        assert normalise("  \u00abRéf.\u00bb  externe\u202f:") == '"Réf." externe'
        assert normalise("Ville :") == normalise("Ville") == "Ville"
        assert closest_candidates("nom d'utilisateurr", ["Nom d\u2019utilisateur :", "Ville :"]) == [
            "Nom d\u2019utilisateur :"
        ]

    def test_fill_and_read_find_fields_typed_with_straight_quotes_and_no_colon(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "form.html", FORM))
        browser.fill(Target(label="Nom d'utilisateur"), "agent1", timeout=2)
        browser.fill(Target(label="nom du demandeur :"), "Dupont", timeout=2)
        browser.fill(Target(label="Ville"), "Lyon", timeout=2)
        browser.fill(Target(placeholder="numéro d'ordre"), "12", timeout=2)
        assert browser.read_value(Target(css="#u")) == "agent1"
        assert browser.read_value(Target(label="Nom d’utilisateur :", exact=True)) == "agent1"
        assert browser.read_value(Target(label="Nom du demandeur")) == "Dupont"
        assert browser.read_value(Target(css="#v")) == "Lyon"
        assert browser.read_value(Target(css="#o")) == "12"

    def test_check_select_click_read_and_exists_compare_the_same_way(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "form.html", FORM))
        browser.check(Target(label="J'accepte les conditions"), timeout=2)
        assert browser.select(Target(label="type d'aide :"), "Aide à l'emploi", timeout=2) == ["3"]
        assert browser.exists(Target(text="Valider l'envoi"))
        assert browser.read_text(Target(role="button:valider l'envoi"), timeout=2) == "Valider l’envoi"
        browser.click(Target(role="button", name="Valider l'envoi"), timeout=2)
        assert title(browser) == "envoyé"
        assert browser.read_attribute(Target(css="#c"), "id") == "c"
        assert browser._run("", lambda scope: scope.locator("#c").is_checked()) is True

    def test_fill_form_keys_need_neither_the_colon_nor_the_curly_apostrophe(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "form.html", FORM))
        browser.fill_form(
            {"Nom d'utilisateur": "agent1", "Ville": "Lyon", "Type d'aide": "Aide à l'emploi"}, timeout=2
        )
        assert browser.read_value(Target(css="#u")) == "agent1"
        assert browser.read_value(Target(css="#v")) == "Lyon"
        assert browser.read_value(Target(css="#t")) == "3"

    def test_a_field_inside_its_label_is_found_by_the_label_s_own_words(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = """<title>Étiquettes</title>
<form>
  <label>Type de demande <select id="t"><option value="">—</option><option value="s">Subvention</option>
    <option value="e">Aide à l’emploi</option></select></label>
  <label>Commentaire <textarea id="c">déjà là</textarea></label>
  <label><input type="checkbox" id="k"> Pièces fournies</label>
</form>"""
        browser.open(url=page(tmp_path, "wrapped.html", html))
        browser.fill_form(
            {"Type de demande": "Aide à l'emploi", "Commentaire": "vu", "Pièces fournies": True}, timeout=2
        )
        assert browser.read_value(Target(css="#t")) == "e"
        assert browser.read_value(Target(css="#c")) == "vu"
        browser.select(Target(label="Type de demande"), "s", timeout=2)  # by its value
        assert browser.read_value(Target(label="Type de demande")) == "s"
        with pytest.raises(ApplicationError) as missing:
            browser.fill_form({"Type de demandes": "Subvention"}, timeout=2)
        assert "did you mean 'Type de demande'?" in str(missing.value.hint)  # the label's own words only

    def test_the_same_case_wins_when_only_the_case_differs(self, browser: Browser, tmp_path: Path) -> None:
        html = """<title>Casse</title>
<button type="button" onclick="document.title = 'majuscules'">ENVOYER</button>
<button type="button" onclick="document.title = 'envoyé'">Envoyer</button>"""
        browser.open(url=page(tmp_path, "casse.html", html))
        browser.click(Target(text="Envoyer"), timeout=2)
        assert title(browser) == "envoyé"


class TestClickingWhatAPersonWould:
    def test_the_button_wins_over_a_sidebar_that_repeats_its_text(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = """<title>Dossiers</title>
<aside class="raccourcis"><p>Raccourcis : Ajouter dossier, Rechercher</p></aside>
<main><button type="button" onclick="document.title = 'ajouté'">Ajouter dossier</button></main>"""
        browser.open(url=page(tmp_path, "barre.html", html))
        browser.click(Target(text="Ajouter dossier"), timeout=2)
        assert title(browser) == "ajouté"

    def test_a_link_wins_over_plain_text_with_the_same_words(self, browser: Browser, tmp_path: Path) -> None:
        html = """<title>Accueil</title>
<h2>Nouveau dossier</h2>
<p><a href="#" onclick="document.title = 'lien'; return false">Nouveau dossier</a></p>"""
        browser.open(url=page(tmp_path, "lien.html", html))
        browser.click(Target(text="Nouveau dossier"), timeout=2)
        assert title(browser) == "lien"

    def test_equally_good_candidates_are_an_error_that_lists_them(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = """<title>Pièces</title>
<div id="premier"><button type="button" id="a" onclick="document.title = 'a'">Supprimer</button></div>
<div id="second"><button type="button" id="b" onclick="document.title = 'b'">Supprimer</button></div>"""
        browser.open(url=page(tmp_path, "deux.html", html))
        with pytest.raises(WorkflowBug) as caught:
            browser.click(Target(text="Supprimer"), timeout=2)
        assert caught.value.message == (
            "the element with the text 'Supprimer' matches 2 elements equally well on the page 'Pièces': "
            "<button#a> 'Supprimer', <button#b> 'Supprimer'"
        )
        assert "exact" in (caught.value.hint or "") and "within" in (caught.value.hint or "")
        assert "nth" in (caught.value.hint or "")
        assert title(browser) == "Pièces"  # nothing was clicked
        browser.click(Target(text="Supprimer", nth=1), timeout=2)
        assert title(browser) == "b"
        browser.click(Target(text="Supprimer", within="#premier"), timeout=2)
        assert title(browser) == "a"

    # A CSS target is not looked for as a name is: Playwright waits for it (it failed at once, found not shown).
    @pytest.mark.parametrize("target", [Target(text="Valider"), Target(css="#b")], ids=["text", "css"])
    def test_a_button_shown_later_or_hidden_at_first_is_waited_for(
        self, browser: Browser, tmp_path: Path, target: Target
    ) -> None:
        html = """<title>Attente</title>
<button type="button" id="b" hidden onclick="document.title = 'cliqué'">Valider</button>
<script>setTimeout(() => { document.getElementById('b').hidden = false; }, 2000);</script>"""
        browser.open(url=page(tmp_path, "attente.html", html))
        browser.click(target, timeout=10)
        assert title(browser) == "cliqué"

    def test_a_form_sent_to_a_new_tab_leaves_it_open_and_loaded(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        page(tmp_path, "recu.html", "<title>Reçu</title><p id='r'>reçu</p>")
        html = """<title>Envoi</title>
<form action="recu.html" target="_blank"><label for="n">Nom</label><input id="n" name="n">
<button>Envoyer</button></form>"""
        browser.open(url=page(tmp_path, "envoi.html", html))
        browser.fill(Target(label="Nom"), "Dupont", timeout=2)
        browser.click(Target(role="button:Envoyer"), timeout=5)
        assert browser.switch_tab(index=-1)["title"] == "Reçu"  # there and loaded when the click ended
        assert browser.read_text(Target(css="#r")) == "reçu"

    def test_a_link_to_a_new_tab_inside_a_frame_leaves_the_tab_open_and_loaded(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        page(tmp_path, "autre.html", "<title>Autre</title><p id='p'>onglet 2</p>")
        page(tmp_path, "cadre.html", "<a href='autre.html' target='_blank'>Ouvrir</a>")
        browser.open(
            url=page(tmp_path, "accueil.html", "<title>Accueil</title><iframe id='c' src='cadre.html'>")
        )
        browser.in_frame("#c")
        browser.click(Target(text="Ouvrir"), timeout=5)
        browser.in_frame()
        assert browser.switch_tab(index=-1)["title"] == "Autre"  # the last tab at once: the new one
        assert browser.read_text(Target(css="#p")) == "onglet 2"

    def test_enter_in_a_form_the_browser_will_not_send_is_refused_data(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = """<title>Requis</title>
<form><label for="a">Nom</label><input id="a" required><label for="b">Ville</label><input id="b"><button>OK</button></form>"""
        browser.open(url=page(tmp_path, "requis.html", html))
        browser.fill(Target(label="Ville"), "Lyon", timeout=2)
        with pytest.raises(BusinessError, match="the browser refused to send the form: Nom : "):
            browser.press("Enter", target=Target(label="Ville"), timeout=2)
        browser.fill(Target(label="Nom"), "Dupont", timeout=2)
        browser.press("Enter", target=Target(label="Ville"), timeout=2)  # sent: nothing refused is left over
        assert browser.open()["url"].endswith("requis.html?")  # the form (no named field) was sent


class TestWhatAPageNotes:
    """After a load, the robot reads what the document noted of itself (see `PAGE_WATCH_SCRIPT`), or asks it."""

    def test_a_page_its_own_load_handler_fills_and_titles_is_neither_empty_nor_misnamed(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = """<title>Chargement</title><body></body>
<script>window.addEventListener('load', () => {
  document.body.innerHTML = '<p id="p">prêt</p>'; document.title = 'Prêt'; });</script>"""
        assert browser.open(url=page(tmp_path, "rempli.html", html))["title"] == "Prêt"
        assert browser.read_text(Target(css="#p")) == "prêt"
        # a document without a title at its load, given one by its script (the title element is created then)
        html = """<p>sans titre</p><script>window.addEventListener('load', () => { document.title = 'Titré'; });
</script>"""
        assert browser.goto(page(tmp_path, "titre.html", html))["title"] == "Titré"

    def test_a_page_that_garbles_or_removes_the_note_is_asked_instead(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        for name, spoil in (
            ("brouille.html", "document.documentElement.setAttribute('data-robo-state', '{pas du json')"),
            ("efface.html", "document.documentElement.removeAttribute('data-robo-state')"),
            ("faux.html", "document.documentElement.setAttribute('data-robo-state', '{\"empty\": false}')"),
        ):
            html = f"""<title>Note</title>
<form><label for="a">Nom</label><input id="a" required><button>OK</button></form>
<script>window.addEventListener('load', () => {{ {spoil}; }});
document.addEventListener('invalid', () => {{ {spoil}; }}, true);</script>"""
            assert browser.open(url=page(tmp_path, name, html))["title"] == "Note"
            with pytest.raises(BusinessError, match="the browser refused to send the form: Nom : "):
                browser.click(Target(role="button:OK"), timeout=2)


class TestDropDownLists:
    """`select` reads the list's options, then chooses by text (as a person reads it) or else by value."""

    LIST = """<title>Liste</title>
<label for="t">Type de demande</label>
<select id="t" onchange="document.title = 'changé ' + this.value">
  <option value="">—</option><option value="s">Subvention</option><option value="e">Aide à l’emploi</option>
</select>"""

    def test_the_exact_text_a_value_or_the_text_as_a_person_types_it_and_the_page_hears_each(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "liste.html", self.LIST))
        assert browser.select(Target(label="Type de demande"), "Subvention", timeout=2) == ["s"]
        assert title(browser) == "changé s"  # the page's own change event
        assert browser.select(Target(label="Type de demande"), "e", timeout=2) == ["e"]
        assert title(browser) == "changé e"
        # Case, spaces and a straight apostrophe: not exact, found when the options are read.
        assert browser.select(Target(label="Type de demande"), "  aide à l'emploi ", timeout=2) == ["e"]
        assert browser.select(Target(label="Type de demande"), "SUBVENTION", timeout=2) == ["s"]
        assert title(browser) == "changé s"

    def test_an_option_s_text_wins_over_another_option_s_value(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = """<title>Parts</title><label for="p">Parts</label>
<select id="p"><option value="5">10</option><option value="1">5</option><option value="2">Aucune</option></select>"""
        browser.open(url=page(tmp_path, "parts.html", html))
        assert browser.select(Target(label="Parts"), "5", timeout=2) == ["1"]  # the option reading 5
        assert browser.select(Target(label="Parts"), "2", timeout=2) == ["2"]  # a value no option reads

    def test_options_in_groups_and_after_a_stray_one(self, browser: Browser, tmp_path: Path) -> None:
        """Options in groups, after an option a script slipped inside another element, the first of two equal
        texts."""
        html = """<title>Groupes</title>
<label for="g">Service</label>
<select id="g" onchange="document.title = 'changé ' + this.value">
  <option value="">—</option>
  <optgroup label="Nord"><option value="n1">Lille</option><option value="n2">Arras</option></optgroup>
  <optgroup label="Sud"><option value="s1">Nice</option><option value="s2">Arras</option></optgroup>
</select>
<script>
  const intrus = document.createElement('span');
  intrus.innerHTML = '<option value="x">Intrus</option>';
  document.getElementById('g').prepend(intrus);
</script>"""
        browser.open(url=page(tmp_path, "groupes.html", html))
        assert browser.select(Target(label="Service"), "Nice", timeout=2) == ["s1"]
        assert title(browser) == "changé s1"
        assert browser.select(Target(label="Service"), "arras", timeout=2) == ["n2"]  # the first Arras
        assert browser.select(Target(label="Service"), "s2", timeout=2) == ["s2"]  # by value

    def test_options_read_from_the_list_s_html_are_those_the_browser_has(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        """The options are read from the list's HTML (no script in the page's world): the same texts and values as
        the browser's own `textContent` and `value`, on a list made to differ."""
        html = """<title>Piège</title><label for="l">Liste</label>
<select id="l">
  <option value="">—</option><option value>attribut vide</option>
  <option>  sans   valeur
  ni espaces&nbsp;propres </option>
  <option value="a&amp;b">A &amp; B &lt;i&gt; « guillemets » l’apostrophe</option>
  <optgroup label="Groupe"><option value="g">  dans le groupe </option><!-- un commentaire --></optgroup>
  <option value="gras"><b>en</b> gras</option><option value="&quot;x&quot;">"cité"</option>
  <option></option><option value="  espaces  ">espaces autour</option>
</select>
<script>
  const list = document.getElementById('l');
  const extra = document.createElement('span');
  extra.innerHTML = '<option>glissée par un script</option>';
  list.append(extra);
  list.add(new Option('ajoutée\\tpar\\nscript', 'ajout'));
</script>"""
        browser.open(url=page(tmp_path, "piege.html", html))
        assert browser._host is not None

        async def both() -> tuple[Any, Any]:
            element = browser._page.get_by_label("Liste")
            own = await element.evaluate(
                "(list) => Array.from(list.querySelectorAll('option'), (o) => [o.textContent, o.value])"
            )
            return [tuple(pair) for pair in own], list_options(await element.inner_html())

        own, read = browser._host.call(both(), 10)
        assert len(own) == 11
        assert read == own
        assert browser.select(Target(label="Liste"), "a & b <i> « guillemets » l'apostrophe", timeout=2) == [
            "a&b"
        ]
        assert browser.select(Target(label="Liste"), "sans valeur ni espaces\u00a0propres", timeout=2) == [
            "sans valeur ni espaces\u00a0propres"
        ]

    def test_several_options_of_a_multiple_choice_list_by_text_and_value(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = """<title>Jours</title><label for="j">Jours</label>
<select id="j" multiple><option value="lu">Lundi</option><option value="ma">Mardi</option>
<option value="me">Mercredi</option></select>"""
        browser.open(url=page(tmp_path, "jours.html", html))
        assert browser.select(Target(label="Jours"), ["Lundi", "mercredi"], timeout=2) == ["lu", "me"]
        assert browser.select(Target(label="Jours"), ["Mardi", "lu"], timeout=2) == ["lu", "ma"]

    def test_a_list_whose_options_come_later_is_waited_for_within_the_step(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = """<title>Villes</title>
<label for="v">Ville</label><select id="v"><option value="">—</option></select>
<script>setTimeout(() => { document.getElementById('v').add(new Option('Lyon', '69')); }, 1500);</script>"""
        browser.open(url=page(tmp_path, "villes.html", html))
        assert browser.select(Target(label="Ville"), "Lyon", timeout=5) == ["69"]

    def test_an_option_the_list_lacks_is_refused_data_with_the_nearest_one(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "liste.html", self.LIST))
        with pytest.raises(BusinessError, match="has no option 'Subventions'") as refused:
            browser.select(Target(label="Type de demande"), "Subventions", timeout=2)
        assert "'Subvention'" in str(refused.value.hint)
        assert browser.read_value(Target(label="Type de demande")) == ""  # nothing chosen


class TestAbsentNames:
    def test_a_label_missing_from_a_loaded_page_is_a_workflow_error_in_seconds(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "form.html", FORM))
        started = time.monotonic()
        with pytest.raises(WorkflowBug) as caught:
            browser.fill(Target(label="Nom du demandeurr"), "Dupont", timeout=20)
        assert time.monotonic() - started < ABSENT_AFTER + 3
        assert caught.value.message.startswith(
            "the field labelled 'Nom du demandeurr' is not on the page 'Saisie': did you mean 'Nom du demandeur'"
        )

    def test_fill_form_with_a_missing_label_is_a_workflow_error_in_seconds(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "form.html", FORM))
        started = time.monotonic()
        with pytest.raises(WorkflowBug) as caught:
            browser.fill_form({"Ville": "Lyon", "Nom du demandeurr": "Dupont"}, timeout=20)
        assert time.monotonic() - started < ABSENT_AFTER + 3
        assert "'Nom du demandeurr': did you mean 'Nom du demandeur'?" in caught.value.message

    def test_a_page_still_busy_is_waited_for_until_the_step_s_timeout(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = f"""<title>Attente</title><div id="zone" aria-busy="true">Chargement…</div>
<script>setTimeout(() => {{
  document.getElementById('zone').innerHTML = '<label for=r>Référence :</label><input id=r>';
  document.getElementById('zone').removeAttribute('aria-busy');
}}, {int((ABSENT_AFTER + 1.5) * 1000)});</script>"""
        browser.open(url=page(tmp_path, "attente.html", html))
        browser.fill(Target(label="Référence"), "R-1", timeout=15)
        assert browser.read_value(Target(css="#r")) == "R-1"

    def test_a_page_still_busy_at_the_timeout_is_a_failure_worth_retrying(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = '<title>Attente</title><div aria-busy="true">Chargement…</div>'
        browser.open(url=page(tmp_path, "occupee.html", html))
        with pytest.raises(ApplicationError, match="was not found on the page 'Attente'"):
            browser.fill(Target(label="Référence"), "R-1", timeout=1)


LOGIN = """<title>Connexion</title>
<form><label for="i">Identifiant</label><input id="i"><button type="button">Se connecter</button></form>"""
SAVED = '<title>Dossier enregistré</title><p>Numéro : <span id="numero">D-0001</span></p>'


class TestAnotherPage:
    """An element earlier actions found is missing because the application shows another page (a login page
    after the session expired): said within seconds, as a failure worth retrying the item, not a workflow error."""

    def test_a_css_target_found_before_is_missing_from_another_page_in_seconds(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "dossier-1.html", SAVED))
        assert browser.read_text(Target(css="#numero")) == "D-0001"
        browser.open(url=page(tmp_path, "connexion.html", LOGIN))
        started = time.monotonic()
        with pytest.raises(ApplicationError) as caught:
            browser.read_text(Target(css="#numero"), timeout=60)
        assert time.monotonic() - started < 30
        assert caught.value.message.startswith(
            "the element with css '#numero' is not on the page 'Connexion' ("
        )
        assert f"though earlier actions found it on {(tmp_path / 'dossier-1.html').as_uri()}" in (
            caught.value.message
        )
        assert "session" in (caught.value.hint or "")

    def test_a_label_found_before_is_missing_from_another_page_as_a_failure_to_retry(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "form.html", FORM))
        browser.fill(Target(label="Ville"), "Lyon")
        browser.fill_form({"Nom du demandeur": "Dupont"})
        browser.open(url=page(tmp_path, "connexion.html", LOGIN))
        for attempt in (
            lambda: browser.fill(Target(label="Ville"), "Lyon", timeout=60),
            lambda: browser.fill_form({"Nom du demandeur": "Dupont"}, timeout=60),
        ):
            with pytest.raises(ApplicationError, match="the application shows another page") as caught:
                attempt()
            assert "'Connexion'" in caught.value.message

    def test_a_label_never_found_or_missing_from_the_page_it_was_found_on_is_still_a_workflow_error(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "form.html", FORM))
        browser.fill(Target(label="Ville"), "Lyon")
        browser.open(url=page(tmp_path, "connexion.html", LOGIN))
        with pytest.raises(WorkflowBug, match="is not on the page 'Connexion'"):
            browser.fill(Target(label="Nom du demandeur"), "Dupont", timeout=60)
        browser.open(url=page(tmp_path, "form.html", FORM.replace("Ville :", "Commune :")))
        with pytest.raises(WorkflowBug, match=r"is not on the page 'Saisie': the page has: .*'Commune :'"):
            browser.fill(Target(label="Ville"), "Lyon", timeout=60)

    @pytest.mark.parametrize(
        ("link", "shown_on"),
        [("", "Portail"), (' target="_top"', "Connexion")],
        ids=["inside-the-frame", "in-the-whole-window"],
    )
    def test_a_login_page_while_the_steps_act_in_a_frame_is_another_page(
        self, browser: Browser, tmp_path: Path, link: str, shown_on: str
    ) -> None:
        """The session expired: the login page shows inside the frame (the page around it stays the same), or the
        application sends the whole window (`target=_top`) to it."""
        page(tmp_path, "dossier-1.html", SAVED + f'<a href="connexion.html"{link}>Dossier suivant</a>')
        login = page(tmp_path, "connexion.html", LOGIN)
        portal = '<title>Portail</title><iframe src="dossier-1.html"></iframe>'
        browser.open(url=page(tmp_path, "portail.html", portal))
        browser.in_frame("iframe")
        assert browser.read_text(Target(css="#numero")) == "D-0001"
        browser.click(Target(text="Dossier suivant"))
        started = time.monotonic()
        with pytest.raises(ApplicationError, match="the application shows another page") as caught:
            browser.read_text(Target(css="#numero"), timeout=60)
        assert time.monotonic() - started < 30
        assert f"is not on the page '{shown_on}'" in caught.value.message
        found_on = (tmp_path / "dossier-1.html").as_uri()
        assert f"though earlier actions found it on {found_on}" in caught.value.message
        assert caught.value.cause[0].startswith(f"on {login}, after waiting")

    def test_a_form_is_filled_inside_a_frame_and_a_login_page_in_the_whole_window_is_another_page(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        form = FORM.replace("</form>", '<a href="connexion.html" target="_top">Dossier suivant</a></form>')
        page(tmp_path, "form.html", form)
        page(tmp_path, "connexion.html", LOGIN)
        browser.open(
            url=page(tmp_path, "portail.html", '<title>Portail</title><iframe src="form.html"></iframe>')
        )
        browser.in_frame("iframe")
        browser.fill_form({"Nom du demandeur": "Dupont", "Ville": "Lyon"})
        assert browser.read_value(Target(label="Ville")) == "Lyon"
        browser.click(Target(text="Dossier suivant"))
        started = time.monotonic()
        with pytest.raises(ApplicationError, match="the application shows another page") as caught:
            browser.fill_form({"Nom du demandeur": "Dupont", "Ville": "Lyon"}, timeout=60)
        assert time.monotonic() - started < 30
        assert "is not on the page 'Connexion'" in caught.value.message

    def test_a_target_found_on_the_page_then_looked_for_inside_a_frame_is_not_another_page(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        """A step after `browser.in_frame` by mistake: the workflow's error, as before frames were places."""
        page(tmp_path, "dossier-1.html", SAVED)
        browser.open(url=page(tmp_path, "form.html", FORM + '<iframe src="dossier-1.html"></iframe>'))
        browser.fill(Target(label="Ville"), "Lyon")
        browser.in_frame("iframe")
        with pytest.raises(WorkflowBug, match="is not on the page"):
            browser.fill(Target(label="Ville"), "Lyon", timeout=60)

    def test_a_css_target_missing_from_the_page_it_was_found_on_is_waited_for(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "dossier-1.html", SAVED))
        assert browser.read_text(Target(css="#numero")) == "D-0001"
        later = SAVED.replace('<span id="numero">D-0001</span>', '<span id="zone"></span>') + (
            "<script>setTimeout(() => { document.getElementById('zone').innerHTML = "
            f"'<b id=numero>D-0002</b>'; }}, {int((ABSENT_AFTER + 1.5) * 1000)});</script>"
        )
        browser.open(url=page(tmp_path, "dossier-2.html", later))
        assert browser.read_text(Target(css="#numero"), timeout=20) == "D-0002"

    def test_a_page_still_waiting_for_an_answer_to_its_script_is_waited_for(
        self, browser: Browser, slow_site: str
    ) -> None:
        browser.open(url=f"{slow_site}/dossier-1")
        assert browser.read_text(Target(css="#numero")) == "D-0001"
        browser.open(
            url=f"{slow_site}/attente"
        )  # another page, loaded, whose fetch answers in ABSENT_AFTER + 2 s
        assert browser.read_text(Target(css="#numero"), timeout=20) == "D-0002"

    def test_a_form_lacking_some_of_its_labels_elsewhere_names_them_as_a_workflow_error(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "form.html", FORM))
        browser.fill_form({"Ville": "Lyon", "Nom du demandeur": "Dupont"})
        browser.open(url=page(tmp_path, "modifier.html", FORM.replace("Ville :", "Commune :")))
        with pytest.raises(WorkflowBug, match="no field labelled 'Ville' on the page 'Saisie'"):
            browser.fill_form({"Ville": "Lyon", "Nom du demandeur": "Dupont"}, timeout=60)

    def test_a_text_is_read_from_the_element_shown_not_from_a_hidden_one(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = """<title>Dossier</title><p id="s" hidden>Statut : brouillon</p>
<script>setTimeout(() => { const p = document.getElementById('s');
  p.textContent = 'Statut : validé'; p.hidden = false; }, 1500);</script>"""
        browser.open(url=page(tmp_path, "statut.html", html))
        assert browser.read_text(Target(text="Statut"), timeout=10) == "Statut : validé"


@pytest.fixture
def slow_site() -> Iterator[str]:
    """A site on 127.0.0.1: /dossier-1 shows a number, /attente shows one once its fetch of /lent is answered,
    ABSENT_AFTER + 2 s later."""

    class Pages(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/lent":
                time.sleep(ABSENT_AFTER + 2)
                body = "D-0002"
            elif self.path == "/dossier-1":
                body = "<title>Dossier enregistré</title><p>Numéro : <span id=numero>D-0001</span></p>"
            else:
                body = """<title>Envoi</title><p id=zone>Envoi en cours…</p><script>
fetch('/lent').then(r => r.text()).then(t => {
  document.getElementById('zone').innerHTML = 'Numéro : <span id=numero>' + t + '</span>'; });</script>"""
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with http_served(Pages) as address:
        yield address


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("http://intranet/dossiers/1234/recu?x=1", "http://intranet/dossiers/98/recu", True),
        ("http://intranet/dossiers/nouveau", "http://intranet/login?suivant=/dossiers/nouveau", False),
        ("http://intranet/app#/dossiers/12", "http://intranet/app#/dossiers/7?onglet=2", True),
        ("http://intranet/app#/dossiers", "http://intranet/app#!/login", False),
        ("http://intranet/page#section-2", "http://intranet/page#haut", True),
        ("http://intranet:8000/a", "http://intranet:8001/a", False),
        ("http://intranet/dossiers;jsessionid=A1B2", "http://intranet/connexion;jsessionid=A1B2", False),
        ("http://intranet/dossiers;jsessionid=A1B2", "http://intranet/dossiers;jsessionid=C3D4", True),
    ],
)
def test_a_page_s_place_is_its_address_without_query_and_with_numbers_general(
    first: str, second: str, same: bool
) -> None:
    assert (place_of(first) == place_of(second)) is same


def test_the_places_kept_are_those_of_the_targets_used_last() -> None:
    places = FoundPlaces(limit=3, places_per_target=2)
    for n in range(5):
        places.found(Target(text=f"R-{n}"), ("http://intranet/dossiers",))
    assert not places.known(Target(text="R-0")) and places.known(Target(text="R-4"))
    target = Target(css="#numero")
    for path in ("a", "b", "c"):
        places.found(target, (f"http://intranet/{path}",))
    assert places.elsewhere(target, ("http://intranet/c",)) is None
    assert places.elsewhere(target, ("http://intranet/a",)) == "http://intranet/c"  # the oldest is forgotten
    places.found(target, ("http://intranet/app?x=1#/dossiers/12?onglet=2",))
    assert places.elsewhere(target, ("http://intranet/app#!/login",)) == "http://intranet/app#/dossiers/12"


def test_a_place_inside_a_frame_is_the_page_s_and_the_frame_s() -> None:
    places = FoundPlaces()
    target = Target(css="#numero")
    places.found(target, ("http://intranet/portail", "http://intranet/contenu/dossiers/12?x=1"))
    assert places.elsewhere(target, ("http://intranet/portail", "http://intranet/contenu/dossiers/7")) is None
    login = ("http://intranet/portail", "http://intranet/connexion")
    assert places.elsewhere(target, login) == "http://intranet/contenu/dossiers/12"
    assert (
        places.elsewhere(target, ("http://intranet/connexion", "")) == "http://intranet/contenu/dossiers/12"
    )
    # found inside a frame, looked for on the page itself: not a place of the same kind
    assert places.elsewhere(target, ("http://intranet/connexion",)) is None
    # the frame missing from the very page where it was (a wrong selector, a frame not there yet)
    assert places.elsewhere(target, ("http://intranet/portail", "")) is None


# A date field whose focus opens a picker over the form's button, closed only by a mouse press elsewhere on the
# page (as jQuery's date-range picker in Flask-Admin does); the title tells the button was clicked.
POPUP_FORM = """<title>Dossier</title>
<form onsubmit="event.preventDefault(); document.title = 'enregistré ' + document.getElementById('d').value">
  <label for="r">Référence :</label><input id="r">
  <label for="d">Date :</label><input id="d">
  <button id="save" style="display:block; margin-top:4px">Enregistrer</button>
</form>
<div id="picker" style="display:none; position:absolute; left:0; top:0; width:100%; height:400px;
  background:#eee">calendrier</div>
<script>
  const picker = document.getElementById('picker');
  document.getElementById('d').addEventListener('focus', () => { picker.style.display = 'block'; });
  document.addEventListener('mousedown', (e) => { if (!picker.contains(e.target)) picker.style.display = 'none'; });
</script>"""

# Two tables, as Django's admin has (its sidebar is a table): the text is only in the second one.
TWO_TABLES = """<title>Liste</title>
<table id="sidebar"><tr><td><a href="#">Ajouter dossier</a></td></tr></table>
<table id="result_list"><tr><td>R-0042</td><td>Dupont</td></tr></table>"""


PORTAL = (
    '<title>Portail</title><label for="x">Commune :</label><input id="x">'
    '<iframe id="contenu" src="form.html"></iframe><iframe name="menu" src="menu.html"></iframe>'
)


class TestInsideAFrame:
    """Steps after `browser.in_frame` act in the frame's document: its names are those a "did you mean" offers,
    and a frame the loaded page lacks is named, with the page's frames, within seconds."""

    @pytest.fixture
    def portal(self, tmp_path: Path) -> str:
        page(tmp_path, "form.html", FORM)
        page(tmp_path, "menu.html", "<title>Menu</title><a href='#'>Accueil</a>")
        return page(tmp_path, "portail.html", PORTAL)

    def test_a_name_missing_from_the_frame_is_offered_the_frame_s_names_not_the_page_s(
        self, browser: Browser, portal: str
    ) -> None:
        browser.open(url=portal)
        browser.in_frame("#contenu")
        with pytest.raises(WorkflowBug, match="did you mean 'Ville :'") as caught:
            browser.fill(Target(label="Vile"), "Lyon", timeout=60)
        assert "Commune" not in caught.value.message + str(caught.value.hint)
        with pytest.raises(WorkflowBug, match="'Vile': did you mean 'Ville :'") as caught:
            browser.fill_form({"Nom du demandeur": "Dupont", "Vile": "Lyon"}, timeout=60)
        assert "Commune" not in caught.value.message + str(caught.value.hint)

    @pytest.mark.parametrize("step", ["fill", "fill_form"])
    def test_a_selector_naming_no_frame_is_a_workflow_error_naming_it_and_the_page_s_frames(
        self, browser: Browser, portal: str, step: str
    ) -> None:
        browser.open(url=portal)
        browser.in_frame("#contenuu")
        started = time.monotonic()
        with pytest.raises(WorkflowBug) as caught:
            if step == "fill":
                browser.fill(Target(label="Ville"), "Lyon", timeout=60)
            else:
                browser.fill_form({"Ville": "Lyon"}, timeout=60)
        assert time.monotonic() - started < 30
        assert caught.value.message == (
            "the frame '#contenuu' is not on the page 'Portail': did you mean 'iframe#contenu'?"
        )
        assert caught.value.hint is not None
        assert 'the page\'s frames are: iframe#contenu, iframe[name="menu"]' in caught.value.hint
        assert caught.value.cause[0].startswith(f"on {portal}, after waiting")

    def test_a_css_target_inside_a_frame_the_page_lacks_is_said_within_seconds(
        self, browser: Browser, portal: str
    ) -> None:
        """Without the look first, Playwright waited the step's whole timeout for an element of a frame that is
        not there, and the step failed as a page too slow (an application error, retried on every item)."""
        browser.open(url=portal)
        browser.in_frame("iframe[name=menuu]")
        started = time.monotonic()
        with pytest.raises(
            WorkflowBug, match="the frame 'iframe\\[name=menuu\\]' is not on the page 'Portail'"
        ):
            browser.click(Target(css="a"), timeout=60)
        assert time.monotonic() - started < 30
        browser.in_frame("iframe[name=menu]")
        browser.click(Target(css="a"), timeout=60)

    def test_a_page_without_frames_says_so(self, browser: Browser, tmp_path: Path) -> None:
        browser.open(url=page(tmp_path, "connexion.html", LOGIN))
        browser.in_frame("iframe#contenu")
        with pytest.raises(WorkflowBug) as caught:
            browser.read_text(Target(text="Numéro"), timeout=60)
        assert caught.value.message == "the frame 'iframe#contenu' is not on the page 'Connexion'"
        assert caught.value.hint is not None and "the page has no frame" in caught.value.hint

    def test_hostile_frame_attributes_come_out_as_selectors_that_find_them(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        odd = 'a"b\\c<script>' + "x" * 100  # quotes, a backslash, markup, and too long to be shown whole
        frames = (
            f"<iframe id='{odd}' srcdoc='<p>un</p>'></iframe>"
            "<iframe title='Aperçu « dossier » 🗂️' srcdoc='<p>deux</p>'></iframe>"
            "<iframe title='Aperçu « dossier » 🗂️' srcdoc='<p>trois</p>'></iframe>"
            "<iframe name='ligne&#10;deux\tet&#1;fin' srcdoc='<p>quatre</p>'></iframe>"
            "<iframe srcdoc='<p>cinq</p>'></iframe><iframe srcdoc='<p>six</p>'></iframe>"
        )
        browser.open(url=page(tmp_path, "cadres.html", "<title>Cadres</title>" + frames))
        browser.in_frame("#absent")
        with pytest.raises(WorkflowBug) as caught:
            browser.fill(Target(label="Ville"), "Lyon", timeout=60)
        listed = str(caught.value.hint).split("frames are: ", 1)[1].split(", ")
        assert listed[0].startswith('iframe[id^="a\\"b\\\\c<script>xxx')
        assert listed[1:3] == [f'iframe[title="Aperçu « dossier » 🗂️"] >> nth={n}' for n in (0, 1)]
        assert listed[4:] == ["iframe >> nth=4", "iframe >> nth=5"]
        # each selector finds its own frame, the one with a line break and a control character included
        for selector, text in zip(listed, ["un", "deux", "trois", "quatre", "cinq", "six"], strict=True):
            browser.in_frame(selector)
            assert browser.read_text(Target(css="p"), timeout=5) == text, selector

    @pytest.mark.parametrize(
        ("step", "login"),
        [
            ("css", LOGIN),
            ("label", LOGIN),
            ("fill_form", LOGIN),
            ("css", LOGIN + '<iframe id="captcha" srcdoc="<p>Je ne suis pas un robot</p>"></iframe>'),
        ],
        ids=["css", "label", "fill_form", "css-login-with-a-frame"],
    )
    def test_a_login_page_served_at_the_portal_s_own_address_is_another_page(
        self, browser: Browser, tmp_path: Path, step: str, login: str
    ) -> None:
        """Some servers (a Java application's form login) answer the address asked for with the login page once
        the session expired: the portal's own address, without the frame where the target was found (with a
        frame of its own, a captcha's, or none). Another page, retried after `recover`, not a frame missing by
        the workflow's mistake."""
        page(tmp_path, "form.html", FORM.replace("</form>", '<span id="numero">D-0001</span></form>'))
        portal = page(
            tmp_path, "portail.html", '<title>Portail</title><iframe id="contenu" src="form.html"></iframe>'
        )

        def act(seconds: float) -> object:
            if step == "css":
                return browser.read_text(Target(css="#numero"), timeout=seconds)
            if step == "label":
                return browser.fill(Target(label="Ville"), "Lyon", timeout=seconds)
            return browser.fill_form({"Ville": "Lyon"}, timeout=seconds)

        browser.open(url=portal)
        browser.in_frame("#contenu")
        act(10)
        page(tmp_path, "portail.html", login)  # the same address now answers with the login page
        browser.goto(url=portal)
        browser.in_frame("#contenu")
        started = time.monotonic()
        with pytest.raises(ApplicationError, match="the application shows another page") as caught:
            act(60)
        assert time.monotonic() - started < 30
        assert "is not on the page 'Connexion'" in caught.value.message


class TestPagesOfOtherFrameworks:
    def test_fill_form_closes_a_popup_its_fields_opened_before_submitting(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        browser.open(url=page(tmp_path, "popup.html", POPUP_FORM))
        started = time.monotonic()
        browser.fill_form({"Référence": "R-1", "Date": "2024-05-01"}, submit="Enregistrer", timeout=5)
        assert time.monotonic() - started < 4
        assert title(browser) == "enregistré 2024-05-01"

    def test_a_submit_that_stays_covered_names_the_button_and_what_covers_it(
        self, browser: Browser, tmp_path: Path
    ) -> None:
        html = POPUP_FORM.replace(
            "<script>", '<div id="voile" style="position:fixed; inset:0"></div><script>'
        )
        browser.open(url=page(tmp_path, "voile.html", html))
        with pytest.raises(ApplicationError) as caught:
            browser.fill_form({"Référence": "R-1"}, submit="Enregistrer", timeout=2)
        message = caught.value.message
        assert "Enregistrer" in message and "Référence" not in message
        assert 'id="voile"' in message

    def test_within_looks_in_every_matching_container(self, browser: Browser, tmp_path: Path) -> None:
        browser.open(url=page(tmp_path, "tables.html", TWO_TABLES))
        assert browser.exists(Target(text="R-0042", within="table"))
        assert browser.read_text(Target(text="Dupont", within="table"), timeout=2) == "Dupont"
        assert not browser.exists(Target(text="R-0043", within="table"))


@pytest.mark.parametrize(
    ("wanted", "values"),
    [
        (["Aide à l'emploi"], ["emploi"]),  # the visible text
        (["  aide À L'EMPLOI "], ["emploi"]),  # as a person reads it
        (["emploi"], ["emploi"]),  # the value itself: chosen at once, never waited for as a label
        (["Subvention", "emploi"], ["sub", "emploi"]),  # a multiple choice mixing both
        (["sub-2"], None),  # neither a text nor a value
    ],
)
def test_an_option_is_named_by_its_text_or_its_value(wanted: list[str], values: list[str] | None) -> None:
    shown = [("Subvention", "sub"), ("Aide à l'emploi", "emploi"), ("Prêt", "pret")]
    assert option_values(shown, wanted) == values


@pytest.mark.parametrize(
    "value",
    [dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 1, 14, 30), dt.date(2026, 3, 1), 12.5, 42, "texte"],
)
def test_a_field_takes_a_date_or_a_number_read_from_a_spreadsheet(value: object) -> None:
    assert Browser.action_specs()["fill"].check_value("value", value) is None
    assert Browser.action_specs()["fill"].convert({"label": "Date", "value": value})["value"] == value


PDF = (
    b"%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


class TestAFileWhereAPageWasExpected:
    """Without a PDF viewer (the headless shell), an address that answers with a file starts a download."""

    def test_goto_a_file_says_so_and_download_saves_it(self, browser: Browser, tmp_path: Path) -> None:
        from robots.browser import HEADLESS_SHELLS, find_browser

        if find_browser(headless=True).name not in HEADLESS_SHELLS:
            pytest.skip("the full Chromium shows a PDF in its viewer: this is the headless shell's behaviour")
        (tmp_path / "avis.pdf").write_bytes(PDF)
        with pytest.raises(
            ConfigurationError, match="the address gives a file to download, not a page"
        ) as info:
            browser.open(url=(tmp_path / "avis.pdf").as_uri())
        assert "browser.download" in (info.value.hint or "")
        browser.open(url=page(tmp_path, "liens.html", '<a href="avis.pdf">Avis de paiement</a>'))
        saved = browser.download(Target(text="Avis de paiement"), timeout=10)
        assert Path(saved["path"]).read_bytes() == PDF
