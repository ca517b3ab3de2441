"""The "Nouveau dossier" form: fields, validation rules, confirmation."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest

from tests.mock_intranet import CASE_FIELDS
from tests.mock_intranet.case_form import COLON_LABELS, parse_date, parse_montant, validate_case_form
from tests.mock_intranet.http_agent import IntranetAgent
from tests.mock_intranet.siret import is_valid_siret, luhn_check_digit

from ._cases import VALID_CASE


class TestFormPage:
    def test_every_field_has_a_label_bound_to_it(self, intranet_agent: IntranetAgent) -> None:
        page = intranet_agent.client.get("/dossiers/nouveau").text
        for field in CASE_FIELDS:
            if field.name == "priorite":
                assert "<legend>Priorité" in page
                continue
            # A framework's " :" after the required marker ("Ville" with a no-break space before the colon).
            if field.name in COLON_LABELS:
                colon = "&nbsp;:" if field.name == "ville" else " :"
                marker = '<span class="obligatoire" aria-hidden="true">*</span>'
                assert f'<label for="{field.name}">{field.label}{marker}{colon}</label>' in page, field.name
            else:
                assert f'<label for="{field.name}">{field.label}</label>' in page, field.name
            assert f'id="{field.name}" name="{field.name}"' in page, field.name
        assert '<label for="priorite-normale">Normale</label>' in page
        assert '<label for="priorite-urgente">Urgente</label>' in page
        assert 'type="date" id="date_demande"' in page
        assert 'type="file" id="piece_jointe"' in page
        assert '<textarea id="observations"' in page
        assert ">Enregistrer</button>" in page
        # The page's apostrophes are curly; the values sent are as typed.
        for option in ("Subvention", "Aide à l’emploi", "Formation", "Autre"):
            assert f">{option}</option>" in page
        assert '<option value="Aide à l&#39;emploi">' in page
        # An aside repeats the button's text.
        assert 'class="aide-laterale"' in page and "cliquez sur Enregistrer" in page


class TestSuccessfulSubmission:
    def test_confirmation_shows_the_case_number_in_a_stable_element(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        submission = intranet_agent.submit_case(VALID_CASE, follow_redirects=False)
        assert submission.response.status_code == 303
        confirmation = intranet_agent.client.get(submission.response.headers["location"])
        year = date.today().year
        assert (
            f'<p>Dossier enregistré sous le numéro <strong id="numero-dossier">DOS-{year}-000001</strong></p>'
            in confirmation.text
        )
        stored = intranet_test_api.get("/api/test/dossiers").json()["dossiers"]
        assert len(stored) == 1
        assert stored[0] | {"cree_le": "…"} == {
            "numero": f"DOS-{year}-000001",
            "nom": "Lefèvre",
            "prenom": "Élodie",
            "siret": "73282932000074",
            "adresse": "12 rue des Lilas",
            "code_postal": "69003",
            "ville": "Lyon",
            "courriel": "elodie.lefevre@example.fr",
            "montant": "12500.50",
            "type_demande": "Aide à l'emploi",
            "priorite": "Urgente",
            "pieces_fournies": True,
            "date_demande": "2025-02-14",
            "reference_externe": "REF-TEST-1",
            "observations": "Première demande.\nDeuxième ligne <b>non interprétée</b>.",
            "cree_le": "…",
            "cree_par": "agent1",
            "documents": [],
        }

    def test_numbers_follow_each_other(self, intranet_agent: IntranetAgent) -> None:
        numbers = [intranet_agent.submit_case(VALID_CASE).numero for _ in range(3)]
        year = date.today().year
        assert numbers == [f"DOS-{year}-00000{n}" for n in (1, 2, 3)]

    def test_unchecked_checkbox_and_optional_fields(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        values = VALID_CASE | {"pieces_fournies": "", "reference_externe": "", "observations": ""}
        del values["pieces_fournies"]
        assert intranet_agent.submit_case(values).numero
        stored = intranet_test_api.get("/api/test/dossiers").json()["dossiers"][0]
        assert stored["pieces_fournies"] is False
        assert stored["observations"] == ""

    def test_attachment_is_stored_with_the_case(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        content = bytes(range(256)) * 40
        submission = intranet_agent.submit_case(VALID_CASE, ("justificatif.pdf", content, "application/pdf"))
        document = intranet_test_api.get(f"/api/test/dossiers/{submission.numero}").json()["documents"][0]
        assert document["nom_fichier"] == "justificatif.pdf"
        assert document["taille"] == len(content)
        download = intranet_agent.client.get(f"/dossiers/{submission.numero}/documents/{document['id']}")
        assert download.content == content

    def test_observations_are_escaped_on_the_detail_page(self, intranet_agent: IntranetAgent) -> None:
        numero = intranet_agent.submit_case(VALID_CASE).numero
        page = intranet_agent.client.get(f"/dossiers/{numero}").text
        assert "&lt;b&gt;non interprétée&lt;/b&gt;" in page


INVALID_VALUES = [
    pytest.param(
        "siret", "73282932000075", "Le SIRET est invalide (clé de contrôle incorrecte).", id="siret-luhn"
    ),
    pytest.param("siret", "7328293200007", "Le SIRET doit comporter 14 chiffres.", id="siret-length"),
    pytest.param("siret", "7328293200007A", "Le SIRET doit comporter 14 chiffres.", id="siret-letters"),
    pytest.param("nom", "", "Ce champ est obligatoire.", id="missing-name"),
    pytest.param("ville", "   ", "Ce champ est obligatoire.", id="blank-city"),
    pytest.param("code_postal", "6900", "Le code postal doit comporter 5 chiffres.", id="postal-code-short"),
    pytest.param(
        "code_postal", "69OO3", "Le code postal doit comporter 5 chiffres.", id="postal-code-letters"
    ),
    pytest.param("courriel", "elodie.example.fr", "L'adresse de courriel est invalide.", id="email"),
    pytest.param("montant", "douze", "Le montant doit être un nombre positif", id="amount-text"),
    pytest.param("montant", "-10", "Le montant doit être un nombre positif", id="amount-negative"),
    pytest.param("montant", "0", "Le montant doit être un nombre positif", id="amount-zero"),
    pytest.param("montant", "10,555", "Le montant doit être un nombre positif", id="amount-3-decimals"),
    pytest.param("montant", "20000000", "Le montant doit être un nombre positif", id="amount-too-big"),
    pytest.param(
        "date_demande",
        (date.today() + timedelta(days=30)).isoformat(),  # taken at collection: still future after midnight
        "La date de la demande ne peut pas être dans le futur.",
        id="date-future",
    ),
    pytest.param("date_demande", "2025-02-30", "La date est invalide", id="date-impossible"),
    pytest.param("type_demande", "Prêt", "Type de demande inconnu.", id="unknown-type"),
    pytest.param("type_demande", "", "Ce champ est obligatoire.", id="missing-type"),
    pytest.param("priorite", "Immédiate", "Priorité inconnue.", id="unknown-priority"),
]


class TestValidation:
    @pytest.mark.parametrize(("field", "value", "message"), INVALID_VALUES)
    def test_bad_value_is_refused_with_a_message_next_to_the_field(
        self,
        intranet_agent: IntranetAgent,
        intranet_test_api: httpx.Client,
        field: str,
        value: str,
        message: str,
    ) -> None:
        submission = intranet_agent.submit_case(VALID_CASE | {field: value})
        assert submission.response.status_code == 200
        assert submission.numero is None
        assert list(submission.errors) == [field]
        assert submission.errors[field].startswith(message)
        page = submission.response.text
        assert f'<p class="erreur" id="erreur-{field}" role="alert">' in page
        assert 'role="alert" id="resume-erreurs"' in page
        assert intranet_test_api.get("/api/test/dossiers").json()["counts"]["total"] == 0

    def test_entered_values_are_kept_on_redisplay(self, intranet_agent: IntranetAgent) -> None:
        submission = intranet_agent.submit_case(VALID_CASE | {"siret": "73282932000075"})
        page = submission.response.text
        assert 'value="Lefèvre"' in page
        assert 'value="73282932000075"' in page
        assert 'value="12 500,50"' in page
        assert 'value="2025-02-14"' in page
        assert '<option value="Aide à l&#39;emploi" selected>' in page
        assert 'value="Urgente" checked' in page
        assert 'value="oui" checked' in page
        assert "Deuxième ligne &lt;b&gt;non interprétée&lt;/b&gt;.</textarea>" in page
        assert 'aria-invalid="true" aria-describedby="erreur-siret"' in page

    def test_all_errors_are_reported_at_once_in_form_order(self, intranet_agent: IntranetAgent) -> None:
        submission = intranet_agent.submit_case({"siret": "123", "courriel": "x"})
        assert list(submission.errors)[:3] == ["nom", "prenom", "siret"]
        assert len(submission.errors) == 11
        assert "11 erreurs à corriger" in submission.response.text

    def test_a_file_sent_in_a_text_field_is_a_form_error_not_a_crash(
        self, intranet_agent: IntranetAgent
    ) -> None:
        token = re.search(r'name="csrf_token" value="([^"]+)"', intranet_agent.client.get("/").text)
        assert token
        response = intranet_agent.client.post(
            "/dossiers/nouveau",
            data={"csrf_token": token.group(1)} | {k: v for k, v in VALID_CASE.items() if k != "nom"},
            files={"nom": ("nom.txt", b"Dupont", "text/plain")},
        )
        assert response.status_code == 200
        assert 'id="erreur-nom"' in response.text

    def test_malformed_multipart_body_is_a_400(self, intranet_agent: IntranetAgent) -> None:
        response = intranet_agent.client.post(
            "/dossiers/nouveau",
            content=b"--x\r\nnot a part",
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        assert response.status_code in (400, 403)


class TestRules:
    @pytest.mark.parametrize(
        ("text", "cents"),
        [("1234", 123400), ("1 234,56", 123456), ("1\u202f234,5", 123450), ("99.99 €", 9999), ("0,01", 1)],
    )
    def test_amounts_in_french_or_english_notation(self, text: str, cents: int) -> None:
        assert parse_montant(text) == cents

    @pytest.mark.parametrize("text", ["", "abc", "1,2,3", "-1", "1e5", "1.234,56"])
    def test_bad_amounts(self, text: str) -> None:
        assert parse_montant(text) is None

    def test_dates_in_iso_or_french_notation(self) -> None:
        assert parse_date("2025-03-01") == parse_date("01/03/2025") == date(2025, 3, 1)
        assert parse_date("31/02/2025") is None

    def test_siret_luhn(self) -> None:
        assert is_valid_siret("73282932000074")
        assert is_valid_siret("732 829 320 00074")
        assert not is_valid_siret("73282932000075")
        body = "1234567890123"
        assert is_valid_siret(body + luhn_check_digit(body))

    def test_valid_case_passes_validation(self) -> None:
        case, errors = validate_case_form(VALID_CASE, date.today())
        assert errors == {}
        assert case is not None and case.montant_centimes == 1250050


class TestFrameworkLikeErrorList:
    def test_the_observations_error_is_a_list_before_its_row_tied_by_its_place_only(
        self, intranet_agent: IntranetAgent
    ) -> None:
        submission = intranet_agent.submit_case(VALID_CASE | {"observations": "x" * 2001})
        page = submission.response.text
        assert submission.numero is None
        before_row = re.search(r'<ul class="errorlist"><li>([^<]+)</li></ul>\s*<div class="champ[^"]*">\s*'
                               r'<label for="observations">', page)  # fmt: skip
        assert before_row is not None and before_row.group(1) == "2000 caractères au maximum."
        assert 'aria-describedby="erreur-observations"' not in page
        assert 'role="alert" id="resume-erreurs"' in page
