"""The browser robot reading what an application answered: pages that did not load, refusals, messages, ids.

Small local pages served here imitate the habits of real frameworks (Django's error lists before a field's row,
Bootstrap's invalid-feedback, an error note banner) and of servers that die while answering.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from robots.browser import Browser, Target
from robots.kit import AccessRefused, ApplicationError, BusinessError

pytestmark = pytest.mark.slow

ERRORLIST = '<ul class="errorlist"><li>{}</li></ul>'
TOO_LONG = "Assurez-vous que cette valeur comporte au plus 14 caractères (actuellement 20)."
REQUIRED = "Ce champ est obligatoire."


def form_page(errors: dict[str, str] | None = None) -> str:
    """A Django-like admin form: error lists inside the row (admin) or before it (as_p), a note banner."""
    errors = errors or {}
    nom = ERRORLIST.format(errors["nom"]) if "nom" in errors else ""
    ville = ERRORLIST.format(errors["ville"]) if "ville" in errors else ""
    courriel = (
        '<div class="invalid-feedback" style="display:block">{}</div>'.format(errors["courriel"])
        if "courriel" in errors
        else ""
    )
    siret_state = ' aria-invalid="true" aria-describedby="aide-siret"' if "siret" in errors else ""
    note = '<p class="errornote">Corrigez les erreurs ci-dessous.</p>' if errors else ""
    return f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Ajouter dossier</title></head>
<body><h1>Ajouter dossier</h1>{note}
<form method="post" action="/enregistrer" novalidate>
  <div class="form-row field-nom">{nom}
    <div><label for="id_nom" class="required">Nom du demandeur :</label> <input id="id_nom" name="nom"></div>
  </div>
  {ville}<p><label for="id_ville">Ville&nbsp;:</label> <input id="id_ville" name="ville"></p>
  <div class="mb-3"><label for="id_courriel">Courriel *</label> <input id="id_courriel" name="courriel">
    {courriel}</div>
  <div><label for="id_siret">SIRET</label> <input id="id_siret" name="siret"{siret_state}>
    <span id="aide-siret">{errors.get("siret", "14 chiffres")}</span></div>
  <input type="submit" value="Enregistrer">
</form></body></html>"""


SAVED_PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Dossier 123</title></head><body>
<ul class="messagelist"><li class="success">Le dossier « Dupont » a été ajouté avec succès.</li></ul>
<form><label for="n">Nom du demandeur :</label><input id="n" name="nom" value="Dupont"></form></body></html>"""

RESULTS_PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Dossiers</title></head><body>
<nav><table><tr><td>Menu</td></tr></table></nav>
<table id="resultats"><thead><tr><th>Référence</th><th>Nom</th><th>Ville</th></tr></thead><tbody>
<tr><td>REF-1</td><td>Dupont</td><td>Lyon</td></tr><tr><td>REF-2</td><td>Martin</td><td></td></tr>
</tbody></table></body></html>"""

LOGIN_PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Connexion</title></head><body>
{note}<form method="post" action="/connexion"><label for="u">Nom d’utilisateur :</label><input id="u" name="u">
<label for="p">Mot de passe :</label><input id="p" name="p" type="password">
<input type="submit" value="Connexion"></form></body></html>"""

NEW_ACCOUNT_PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Ajouter utilisateur</title></head>
<body>{note}<form method="post" action="/utilisateur"><label for="u">Nom d’utilisateur :</label><input id="u" name="u">
<label for="p1">Mot de passe :</label><input id="p1" name="p1" type="password">
<label for="p2">Confirmation du mot de passe :</label><input id="p2" name="p2" type="password">
<input type="submit" value="Enregistrer"></form></body></html>"""

BROWSER_CHECKED_PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Demande</title></head>
<body><form method="post" action="/enregistrer"><label for="cp">Code postal :</label>
<input id="cp" name="cp" required pattern="[0-9]{5}"><button>Envoyer</button></form></body></html>"""


class Intranet:
    """A tiny web app: what each address answers, and how a submit ends (saved, refused, or the server dies)."""

    def __init__(self) -> None:
        self.submit = "save"  # save | refuse | die | reset | empty
        self.received: list[dict[str, list[str]]] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def answer(self, body: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                pages = {
                    "/formulaire": form_page(),
                    "/dossier/123/change/": SAVED_PAGE,
                    "/resultats": RESULTS_PAGE,
                    "/connexion": LOGIN_PAGE.format(note=""),
                    "/utilisateur": NEW_ACCOUNT_PAGE.format(note=""),
                    "/demande": BROWSER_CHECKED_PAGE,
                    "/vide": "",
                }
                self.answer(pages.get(self.path.split("?")[0], "<p>introuvable</p>"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fields = parse_qs(self.rfile.read(length).decode("utf-8"))
                site.received.append(fields)
                if self.path == "/connexion":
                    note = (
                        '<p class="errornote">Saisissez un nom d’utilisateur et un mot de passe valides.</p>'
                    )
                    self.answer(LOGIN_PAGE.format(note=note))
                elif self.path == "/utilisateur":
                    note = '<p class="errornote">Les deux mots de passe ne correspondent pas.</p>'
                    self.answer(NEW_ACCOUNT_PAGE.format(note=note))
                elif site.submit == "die":  # saved, then the server dies before answering
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif site.submit == "reset":
                    self.close_connection = True
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                elif site.submit == "empty":
                    self.answer("")
                elif site.submit == "refuse":
                    self.answer(
                        form_page(
                            {
                                "nom": TOO_LONG,
                                "ville": REQUIRED,
                                "courriel": "Saisissez une adresse électronique valide.",
                                "siret": "Le SIRET doit comporter 14 chiffres.",
                            }
                        )
                    )
                else:
                    self.answer("", 302, {"Location": "/dossier/123/change/"})

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except OSError:
                    self.close_connection = True  # the connection this test cut on purpose

        return Handler

    def __enter__(self) -> Intranet:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Intranet]:
    with Intranet() as intranet:
        yield intranet


FIELDS = {"Nom du demandeur :": "Dupont-Durand-Lefebvre", "Ville :": "Lyon", "Courriel *": "x@y.fr"}


class TestAPageThatDidNotLoad:
    @pytest.mark.parametrize("how", ["die", "reset"])
    def test_a_server_dying_during_a_submit_is_a_system_failure_not_a_refusal(
        self, browser: Browser, site: Intranet, how: str
    ) -> None:
        site.submit = how
        browser.open(url=f"{site.url}/formulaire")
        with pytest.raises(ApplicationError, match="did not load after submitting the form") as info:
            browser.fill_form(fields=FIELDS, submit="Enregistrer", error_when={"css": ".errornote"})
        assert not isinstance(info.value, BusinessError)
        assert "may or may not have been saved" in (info.value.hint or "")
        assert site.received  # the server had the data (the browser itself may have sent it twice)

    def test_a_click_that_leads_to_the_browser_error_page_fails(
        self, browser: Browser, site: Intranet
    ) -> None:
        site.submit = "die"
        browser.open(url=f"{site.url}/formulaire")
        browser.fill(target=Target(label="Nom du demandeur :"), value="Dupont")
        with pytest.raises(ApplicationError, match="did not load after clicking"):
            browser.click(target=Target(role="button", name="Enregistrer"))

    def test_an_empty_answer_is_a_system_failure(self, browser: Browser, site: Intranet) -> None:
        site.submit = "empty"
        browser.open(url=f"{site.url}/formulaire")
        with pytest.raises(ApplicationError, match="with an empty page"):
            browser.fill_form(fields=FIELDS, submit="Enregistrer")
        with pytest.raises(ApplicationError, match="with an empty page"):
            browser.goto(url="/vide")


class TestRefusalsNameTheField:
    def test_the_fields_own_error_messages_are_reported_with_their_labels(
        self, browser: Browser, site: Intranet
    ) -> None:
        site.submit = "refuse"
        browser.open(url=f"{site.url}/formulaire")
        with pytest.raises(BusinessError) as info:
            browser.fill_form(fields=FIELDS, submit="Enregistrer", error_when={"css": ".errornote"})
        message = info.value.message
        assert message.startswith("the page refused the data: ")
        assert f"Nom du demandeur : {TOO_LONG}" in message  # Django admin: the list inside the row
        assert f"Ville : {REQUIRED}" in message  # Django's as_p: the list just before the row
        assert "Courriel : Saisissez une adresse électronique valide." in message  # Bootstrap
        assert "SIRET : Le SIRET doit comporter 14 chiffres." in message  # aria-invalid + aria-describedby
        assert message.startswith("the page refused the data: Corrigez les erreurs ci-dessous.; ")
        assert not isinstance(info.value, AccessRefused)

    def test_a_marker_on_the_fields_messages_gives_the_banner_then_each_field_once(
        self, browser: Browser, site: Intranet
    ) -> None:
        site.submit = "refuse"
        browser.open(url=f"{site.url}/formulaire")
        with pytest.raises(BusinessError) as info:
            browser.fill_form(fields=FIELDS, submit="Enregistrer", error_when={"css": ".errorlist"})
        assert info.value.message == (
            f"the page refused the data: Corrigez les erreurs ci-dessous.; Nom du demandeur : {TOO_LONG}; "
            f"Ville : {REQUIRED}; Courriel : Saisissez une adresse électronique valide.; "
            "SIRET : Le SIRET doit comporter 14 chiffres."
        )

    def test_a_form_the_browser_will_not_send_is_refused_with_the_browsers_message(
        self, browser: Browser, site: Intranet
    ) -> None:
        browser.open(url=f"{site.url}/demande")
        browser.fill(target=Target(label="Code postal :"), value="69A")
        with pytest.raises(BusinessError, match=r"the browser refused to send the form: Code postal : \S"):
            browser.click(target=Target(role="button", name="Envoyer"))
        assert site.received == []

    def test_a_refused_login_is_an_access_refusal(self, browser: Browser, site: Intranet) -> None:
        browser.open(url=f"{site.url}/connexion")
        with pytest.raises(AccessRefused, match="the login was refused: Saisissez un nom") as info:
            browser.fill_form(
                fields={"Nom d’utilisateur :": "agent", "Mot de passe :": "faux"},
                submit="Connexion",
                error_when={"css": ".errornote"},
            )
        assert "the run stops" in (info.value.hint or "")

    def test_a_refused_new_account_with_two_password_fields_is_plain_refused_data(
        self, browser: Browser, site: Intranet
    ) -> None:
        browser.open(url=f"{site.url}/utilisateur")
        with pytest.raises(BusinessError, match="the page refused the data: Les deux mots") as info:
            browser.fill_form(
                fields={
                    "Nom d’utilisateur :": "agent",
                    "Mot de passe :": "a",
                    "Confirmation du mot de passe :": "b",
                },
                submit="Enregistrer",
                error_when={"css": ".errornote"},
            )
        assert not isinstance(info.value, AccessRefused)


class TestReadingTheAnswer:
    def test_the_message_the_new_records_id_and_its_row_are_read_without_css(
        self, browser: Browser, site: Intranet
    ) -> None:
        browser.open(url=f"{site.url}/formulaire")
        browser.fill_form(fields=FIELDS, submit="Enregistrer", error_when={"css": ".errornote"})
        message = browser.read_message()
        assert message["kind"] == "success"
        assert message["text"] == "Le dossier « Dupont » a été ajouté avec succès."
        address = browser.read_url(pattern=r"/dossier/(?P<id>\d+)/change/")
        assert (address["id"], address["path"], address["query"]) == ("123", "/dossier/123/change/", {})
        with pytest.raises(BusinessError, match="does not match the pattern"):
            browser.read_url(pattern=r"/dossiers/(?P<id>\d+)/$")
        browser.goto(url="/resultats?recherche=REF-2")
        assert browser.read_url()["query"] == {"recherche": "REF-2"}
        assert browser.read_row(contains="REF-2") == {"Référence": "REF-2", "Nom": "Martin", "Ville": None}
        assert browser.read_row(contains="dupont", column="Nom")["Référence"] == "REF-1"
        with pytest.raises(BusinessError, match=r"no row .* has a cell 'REF-3'"):
            browser.read_row(contains="REF-3", timeout=1)

    def test_the_field_errors_and_the_banner_are_read_after_a_refusal(
        self, browser: Browser, site: Intranet
    ) -> None:
        site.submit = "refuse"
        browser.open(url=f"{site.url}/formulaire")
        browser.fill_form(fields=FIELDS, submit="Enregistrer")
        message = browser.read_message()
        assert message["kind"] == "error"
        assert message["text"] == "Corrigez les erreurs ci-dessous."
        assert {"field": "Nom du demandeur", "message": TOO_LONG} in message["fields"]

    def test_the_reading_actions_are_declared_without_side_effects(self) -> None:
        specs = Browser.action_specs()
        for name in ("read_message", "read_url", "read_row"):
            assert not specs[name].side_effects
