"""Login, logout, CSRF and session expiry of the mock intranet."""

from __future__ import annotations

import httpx

from tests.mock_intranet import WEB_ACCOUNTS, MockIntranet, TestAccount
from tests.mock_intranet.http_agent import IntranetAgent, csrf_token

from ._cases import wait_until


class TestLoginPage:
    def test_shows_labelled_fields_and_button(self, intranet_url: str) -> None:
        page = httpx.get(f"{intranet_url}/connexion")
        assert page.status_code == 200
        assert '<label for="identifiant">Identifiant (nom d’utilisateur)</label>' in page.text
        assert '<label for="mot_de_passe">Mot de passe</label>' in page.text
        assert ">Se connecter</button>" in page.text
        assert csrf_token(page.text)

    def test_protected_page_redirects_to_login_with_next_path(self, intranet_url: str) -> None:
        response = httpx.get(f"{intranet_url}/dossiers/nouveau")
        assert response.status_code == 303
        assert response.headers["location"] == "/connexion?suivant=%2Fdossiers%2Fnouveau"


class TestLogin:
    def test_good_credentials_redirect_to_next_path(self, mock_intranet: MockIntranet) -> None:
        with IntranetAgent(mock_intranet.url) as agent:
            response = agent.login("agent2", "Motdepasse-2!", next_path="/dossiers")
            assert response.status_code == 303
            assert response.headers["location"] == "/dossiers"
            home = agent.client.get("/")
            assert home.status_code == 200
            assert "Julien Bernard" in home.text
            assert ">Se déconnecter</button>" in home.text

    def test_every_active_account_can_log_in(self, mock_intranet: MockIntranet) -> None:
        for account in WEB_ACCOUNTS:
            with IntranetAgent(mock_intranet.url) as agent:
                response = agent.login(account.username, account.password)
                assert (response.status_code == 303) is account.active, account

    def test_wrong_password_shows_an_error_and_keeps_the_username(self, intranet_url: str) -> None:
        with IntranetAgent(intranet_url) as agent:
            response = agent.login("agent1", "mauvais")
            assert response.status_code == 200
            assert '<p class="erreur" id="erreur-connexion" role="alert">' in response.text
            assert "Identifiant ou mot de passe incorrect." in response.text
            assert 'value="agent1"' in response.text
            assert agent.client.get("/").status_code == 303

    def test_disabled_account_is_refused(self, intranet_url: str) -> None:
        with IntranetAgent(intranet_url) as agent:
            response = agent.login("agent.inactif", "Motdepasse-0!")
            assert "Ce compte est désactivé" in response.text

    def test_login_session_id_changes(self, intranet_url: str, intranet_account: TestAccount) -> None:
        with IntranetAgent(intranet_url) as agent:
            agent.client.get("/connexion")
            anonymous = agent.client.cookies["intranet_session"]
            agent.login(intranet_account.username, intranet_account.password)
            assert agent.client.cookies["intranet_session"] != anonymous

    def test_next_path_cannot_leave_the_site(self, intranet_url: str, intranet_account: TestAccount) -> None:
        with IntranetAgent(intranet_url) as agent:
            response = agent.login(intranet_account.username, intranet_account.password, "//evil.example/")
            assert response.headers["location"] == "/"


class TestCsrf:
    def test_login_without_token_is_rejected(self, intranet_url: str) -> None:
        with httpx.Client(base_url=intranet_url) as client:
            client.get("/connexion")
            response = client.post(
                "/connexion", data={"identifiant": "agent1", "mot_de_passe": "Motdepasse-1!"}
            )
        assert response.status_code == 403
        assert "Jeton de sécurité absent ou invalide" in response.text

    def test_login_with_another_session_token_is_rejected(self, intranet_url: str) -> None:
        with httpx.Client(base_url=intranet_url) as first, httpx.Client(base_url=intranet_url) as second:
            token_of_first = csrf_token(first.get("/connexion").text)
            second.get("/connexion")
            response = second.post(
                "/connexion",
                data={"csrf_token": token_of_first, "identifiant": "agent1", "mot_de_passe": "Motdepasse-1!"},
            )
        assert response.status_code == 403

    def test_case_form_without_token_is_rejected(self, intranet_agent: IntranetAgent) -> None:
        response = intranet_agent.client.post("/dossiers/nouveau", data={"nom": "Sans jeton"})
        assert response.status_code == 403

    def test_logout_needs_the_token(self, intranet_agent: IntranetAgent) -> None:
        assert intranet_agent.client.post("/deconnexion", data={"csrf_token": "faux"}).status_code == 403
        assert intranet_agent.client.get("/").status_code == 200


class TestLogout:
    def test_logout_ends_the_session(self, intranet_agent: IntranetAgent) -> None:
        token = csrf_token(intranet_agent.client.get("/").text)
        response = intranet_agent.client.post("/deconnexion", data={"csrf_token": token})
        assert response.status_code == 303
        assert response.headers["location"] == "/connexion?deconnecte=1"
        assert "Vous êtes déconnecté." in intranet_agent.client.get("/connexion?deconnecte=1").text
        assert intranet_agent.client.get("/dossiers").status_code == 303


class TestSessionExpiry:
    def test_expired_session_redirects_with_a_visible_message(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        assert intranet_agent.client.get("/dossiers").status_code == 200
        assert intranet_test_api.post("/api/test/sessions/expire").json() == {"expired": 1}
        response = intranet_agent.client.get("/dossiers", follow_redirects=True)
        assert response.url.path == "/connexion"
        assert response.url.params["expiree"] == "1"
        assert response.url.params["suivant"] == "/dossiers"
        assert "Votre session a expiré" in response.text

    def test_session_expires_after_the_configured_lifetime(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client, intranet_account: TestAccount
    ) -> None:
        assert intranet_test_api.put("/api/test/settings", json={"session_ttl": 0.3}).status_code == 200
        wait_until(lambda: intranet_agent.client.get("/dossiers").status_code == 303, timeout=5)
        # Logging in again gives a working session (with a longer lifetime).
        intranet_test_api.put("/api/test/settings", json={"session_ttl": 60})
        response = intranet_agent.login(intranet_account.username, intranet_account.password, "/dossiers")
        assert response.headers["location"] == "/dossiers"
        assert intranet_agent.client.get("/dossiers").status_code == 200

    def test_form_posted_with_an_expired_session_goes_to_login(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        token = csrf_token(intranet_agent.client.get("/dossiers/nouveau").text)
        intranet_test_api.post("/api/test/sessions/expire")
        response = intranet_agent.client.post("/dossiers/nouveau", data={"csrf_token": token, "nom": "X"})
        assert response.status_code == 303
        assert response.headers["location"] == "/connexion?suivant=%2Fdossiers%2Fnouveau&expiree=1"
        assert intranet_test_api.get("/api/test/dossiers").json()["counts"]["total"] == 0


class TestRefusedLoginsAreCounted:
    def test_each_refused_login_is_counted_and_a_reset_forgets_them(
        self, mock_intranet: MockIntranet
    ) -> None:
        headers = mock_intranet.test_headers
        with IntranetAgent(mock_intranet.url) as agent:
            agent.login("agent1", "mauvais")
            agent.login("agent.inactif", "Motdepasse-0!")
            agent.login("agent1", "Motdepasse-1!")
        count = httpx.get(f"{mock_intranet.url}/api/test/logins", headers=headers).json()
        assert count == {"refused": 2}
        httpx.post(f"{mock_intranet.url}/api/test/reset", headers=headers).raise_for_status()
        assert httpx.get(f"{mock_intranet.url}/api/test/logins", headers=headers).json() == {"refused": 0}
