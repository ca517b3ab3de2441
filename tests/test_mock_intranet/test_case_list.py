"""The case list: table, search, filters, pagination; and the case detail page."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.mock_intranet import MockIntranet
from tests.mock_intranet.case_form import validate_case_form
from tests.mock_intranet.http_agent import IntranetAgent

from ._cases import VALID_CASE

_ROW_NUMBER = re.compile(r'<td><a href="/dossiers/(DOS-[0-9]{4}-[0-9]{6})">')


def _store_cases(intranet: MockIntranet, count: int) -> list[str]:
    numbers = []
    for index in range(count):
        values = VALID_CASE | {
            "nom": f"Nom{index:02d}",
            "type_demande": ("Subvention", "Formation")[index % 2],
            "priorite": "Urgente" if index % 5 == 0 else "Normale",
            "reference_externe": f"REF-{index:02d}",
        }
        case, errors = validate_case_form(values, date.today())
        assert case is not None, errors
        numbers.append(intranet.state.cases.create(case, created_by="agent1").numero)
    return numbers


def _numbers_on(page: str) -> list[str]:
    return _ROW_NUMBER.findall(page)


class TestCaseList:
    def test_table_has_a_header_row(self, intranet_agent: IntranetAgent) -> None:
        page = intranet_agent.client.get("/dossiers").text
        headers = re.findall(
            r'<th scope="col"[^>]*>([^<]+)</th>', page.split("<thead>")[1].split("</thead>")[0]
        )
        assert headers == [
            "Numéro",
            "Nom du demandeur",
            "Prénom",
            "Type de demande",
            "Priorité",
            "Montant demandé",
            "Date de la demande",
            "Référence externe",
        ]
        assert "Aucun dossier ne correspond à la recherche." in page

    def test_pages_of_twenty_newest_first_with_next_and_previous_links(
        self, mock_intranet: MockIntranet, intranet_agent: IntranetAgent
    ) -> None:
        numbers = _store_cases(mock_intranet, 45)
        newest_first = list(reversed(numbers))
        first = intranet_agent.client.get("/dossiers").text
        assert "45 dossiers trouvés" in first
        assert _numbers_on(first) == newest_first[:20]
        assert 'rel="prev"' not in first
        next_link = re.search(r'<a href="([^"]+)" rel="next">Suivant</a>', first)
        assert next_link
        second = intranet_agent.client.get(next_link.group(1).replace("&amp;", "&")).text
        assert _numbers_on(second) == newest_first[20:40]
        assert "Page 2 sur 3" in second
        assert '<a href="/dossiers?page=1" rel="prev">Précédent</a>' in second
        third = intranet_agent.client.get("/dossiers?page=3").text
        assert _numbers_on(third) == newest_first[40:]
        assert 'rel="next"' not in third

    @pytest.mark.parametrize("page", ["0", "-1", "abc", "99", "1" * 30])
    def test_out_of_range_page_numbers_are_clamped(
        self, mock_intranet: MockIntranet, intranet_agent: IntranetAgent, page: str
    ) -> None:
        _store_cases(mock_intranet, 3)
        response = intranet_agent.client.get("/dossiers", params={"page": page})
        assert response.status_code == 200
        assert len(_numbers_on(response.text)) == 3

    def test_search_by_name_number_or_reference(
        self, mock_intranet: MockIntranet, intranet_agent: IntranetAgent
    ) -> None:
        numbers = _store_cases(mock_intranet, 12)
        by_name = intranet_agent.client.get("/dossiers", params={"q": "nom07"}).text
        assert _numbers_on(by_name) == [numbers[7]]
        by_number = intranet_agent.client.get("/dossiers", params={"q": numbers[3]}).text
        assert _numbers_on(by_number) == [numbers[3]]
        by_reference = intranet_agent.client.get("/dossiers", params={"q": "REF-11"}).text
        assert _numbers_on(by_reference) == [numbers[11]]
        by_full_name = intranet_agent.client.get("/dossiers", params={"q": "Élodie Nom05"}).text
        assert _numbers_on(by_full_name) == [numbers[5]]
        nothing = intranet_agent.client.get("/dossiers", params={"q": "100%_"}).text
        assert _numbers_on(nothing) == []

    def test_filters_by_type_and_priority_keep_their_values_in_the_links(
        self, mock_intranet: MockIntranet, intranet_agent: IntranetAgent
    ) -> None:
        numbers = _store_cases(mock_intranet, 50)
        expected = [n for i, n in enumerate(numbers) if i % 2 == 0 and i % 5 == 0]
        page = intranet_agent.client.get(
            "/dossiers", params={"type": "Subvention", "priorite": "Urgente"}
        ).text
        assert sorted(_numbers_on(page)) == expected
        assert '<option value="Subvention" selected>' in page
        many = intranet_agent.client.get("/dossiers", params={"type": "Formation"}).text
        assert '<a href="/dossiers?type=Formation&amp;page=2" rel="next">Suivant</a>' in many


class TestCaseDetail:
    def test_shows_every_field(self, intranet_agent: IntranetAgent) -> None:
        numero = intranet_agent.submit_case(VALID_CASE).numero
        page = intranet_agent.client.get(f"/dossiers/{numero}").text
        assert f'<span id="numero-dossier">{numero}</span>' in page
        assert '<dd id="valeur-siret">73282932000074</dd>' in page
        assert '<dd id="valeur-montant">12\u202f500,50 €</dd>' in page
        assert '<dd id="valeur-date_demande">14/02/2025</dd>' in page
        assert '<dd id="valeur-pieces_fournies">Oui</dd>' in page

    def test_unknown_case_is_a_french_404_page(self, intranet_agent: IntranetAgent) -> None:
        response = intranet_agent.client.get("/dossiers/DOS-2020-999999")
        assert response.status_code == 404
        assert "Le dossier DOS-2020-999999 n&#39;existe pas." in response.text
        assert intranet_agent.client.get("/dossiers/DOS-2020-999999/confirmation").status_code == 404

    def test_unknown_page_and_wrong_method(self, intranet_agent: IntranetAgent) -> None:
        missing = intranet_agent.client.get("/inexistant")
        assert missing.status_code == 404
        assert "Page introuvable" in missing.text
        assert intranet_agent.client.delete("/dossiers").status_code == 405
