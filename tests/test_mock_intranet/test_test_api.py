"""The test API: token, cases as JSON, reset, settings, login shortcut."""

from __future__ import annotations

import httpx
import pytest

from tests.mock_intranet import TEST_TOKEN, MockIntranet
from tests.mock_intranet.http_agent import IntranetAgent

from ._cases import VALID_CASE


class TestToken:
    @pytest.mark.parametrize("headers", [{}, {"X-Test-Token": "faux"}])
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/test/dossiers"),
            ("GET", "/api/test/mails"),
            ("POST", "/api/test/reset"),
            ("PUT", "/api/test/faults"),
            ("POST", "/api/test/sessions/expire"),
            ("GET", "/api/test/login?identifiant=agent1"),
        ],
    )
    def test_missing_or_wrong_token_is_a_403(
        self, intranet_url: str, headers: dict[str, str], method: str, path: str
    ) -> None:
        response = httpx.request(method, intranet_url + path, headers=headers)
        assert response.status_code == 403
        assert response.json() == {"detail": "missing or wrong X-Test-Token header"}

    def test_health_needs_no_token(self, intranet_url: str) -> None:
        assert httpx.get(f"{intranet_url}/api/test/health").json() == {"status": "ok"}


class TestCasesJson:
    def test_counts_by_type_and_priority(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        intranet_agent.submit_case(VALID_CASE)
        intranet_agent.submit_case(VALID_CASE | {"type_demande": "Formation", "priorite": "Normale"})
        data = intranet_test_api.get("/api/test/dossiers").json()
        assert data["counts"] == {
            "total": 2,
            "par_type": {"Aide à l'emploi": 1, "Formation": 1},
            "par_priorite": {"Normale": 1, "Urgente": 1},
            "documents": 0,
        }
        assert [case["numero"][-6:] for case in data["dossiers"]] == ["000001", "000002"]

    def test_unknown_case_is_a_json_404(self, intranet_test_api: httpx.Client) -> None:
        response = intranet_test_api.get("/api/test/dossiers/DOS-1999-000001")
        assert response.status_code == 404
        assert response.json() == {"detail": "no such case"}


class TestReset:
    def test_reset_forgets_cases_sessions_and_numbers(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client, mock_intranet: MockIntranet
    ) -> None:
        intranet_agent.submit_case(VALID_CASE, ("a.txt", b"a", "text/plain"))
        intranet_test_api.put("/api/test/settings", json={"session_ttl": 5})
        assert intranet_test_api.post("/api/test/reset").json() == {"status": "reset"}
        assert intranet_test_api.get("/api/test/dossiers").json()["counts"]["total"] == 0
        assert intranet_test_api.get("/api/test/settings").json() == {"session_ttl": 1800.0}
        assert list(mock_intranet.state.documents.root.iterdir()) == []
        assert intranet_agent.client.get("/dossiers").status_code == 303
        intranet_agent.login("agent1", "Motdepasse-1!")
        assert intranet_agent.submit_case(VALID_CASE).numero.endswith("-000001")  # type: ignore[union-attr]


class TestSettings:
    @pytest.mark.parametrize("body", [{"session_ttl": 0}, {"session_ttl": "long"}, {"other": 1}])
    def test_bad_settings_are_a_422(self, intranet_test_api: httpx.Client, body: dict[str, object]) -> None:
        assert intranet_test_api.put("/api/test/settings", json=body).status_code == 422


class TestLoginShortcut:
    def test_logs_in_and_redirects(self, mock_intranet: MockIntranet) -> None:
        with httpx.Client(base_url=mock_intranet.url) as client:
            response = client.get(
                "/api/test/login",
                params={"identifiant": "agent3", "suivant": "/dossiers/nouveau", "jeton": TEST_TOKEN},
                follow_redirects=True,
            )
            assert response.url.path == "/dossiers/nouveau"
            assert "Sophie Petit" in response.text

    def test_unknown_or_disabled_account_is_a_404(self, intranet_test_api: httpx.Client) -> None:
        for username in ("personne", "agent.inactif"):
            assert (
                intranet_test_api.get("/api/test/login", params={"identifiant": username}).status_code == 404
            )
