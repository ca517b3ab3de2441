"""Pages that exercise waiting: delayed content and dialogs (their HTML; the browser test runs them)."""

from __future__ import annotations

import httpx
import pytest


class TestDelayedPage:
    def test_delay_comes_from_the_query_string(self, intranet_url: str) -> None:
        page = httpx.get(f"{intranet_url}/attente", params={"delai": "750"}).text
        assert 'id="chargement"' in page
        assert "}, 750);" in page
        assert 'id="resultat"' not in page.split("<script>")[0]

    @pytest.mark.parametrize("delay", ["abc", "-5", "60001", "1.5"])
    def test_bad_delay_is_a_400_page(self, intranet_url: str, delay: str) -> None:
        response = httpx.get(f"{intranet_url}/attente", params={"delai": delay})
        assert response.status_code == 400
        assert "Requête invalide" in response.text


class TestDialogsPage:
    def test_has_a_dialog_element_and_a_confirm(self, intranet_url: str) -> None:
        page = httpx.get(f"{intranet_url}/dialogues").text
        assert '<dialog id="fenetre-confirmation"' in page
        assert 'confirm("Voulez-vous vraiment supprimer le brouillon ?")' in page
        assert "information.showModal(); }, " not in page
        automatic = httpx.get(f"{intranet_url}/dialogues", params={"information": "100"}).text
        assert "information.showModal(); }, 100);" in automatic
