"""Fault injection: HTTP 500 rate, slow answers, changed layout, maintenance."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest

from tests.mock_intranet import FaultConfig, MockIntranet
from tests.mock_intranet.faults import FaultInjector
from tests.mock_intranet.http_agent import IntranetAgent, csrf_token

from ._cases import VALID_CASE, wait_until


def _statuses(client: httpx.Client, path: str, count: int) -> list[int]:
    return [client.get(path).status_code for _ in range(count)]


class TestServerErrors:
    def test_failure_rate_is_respected_within_tolerance(
        self, intranet_url: str, intranet_test_api: httpx.Client
    ) -> None:
        intranet_test_api.put("/api/test/faults", json={"failure_rate": 0.3, "seed": 11})
        with httpx.Client(base_url=intranet_url) as client:
            statuses = _statuses(client, "/connexion", 400)
        assert set(statuses) == {200, 500}
        # 400 draws at p=0.3: standard deviation ~0.023; 0.08 is more than 3 of them.
        assert abs(statuses.count(500) / len(statuses) - 0.3) < 0.08

    def test_same_seed_gives_the_same_failures(
        self, intranet_url: str, intranet_test_api: httpx.Client
    ) -> None:
        runs = []
        with httpx.Client(base_url=intranet_url) as client:
            for _ in range(2):
                intranet_test_api.put("/api/test/faults", json={"failure_rate": 0.5, "seed": 3})
                runs.append(_statuses(client, "/connexion", 30))
        assert runs[0] == runs[1]

    def test_error_page_is_french_html(self, intranet_url: str, mock_intranet: MockIntranet) -> None:
        mock_intranet.set_faults(FaultConfig(failure_rate=1.0))
        response = httpx.get(f"{intranet_url}/connexion")
        assert response.status_code == 500
        assert "Erreur interne du serveur" in response.text

    def test_failure_before_processing_stores_nothing(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        token = csrf_token(intranet_agent.client.get("/dossiers/nouveau").text)
        intranet_test_api.put("/api/test/faults", json={"failure_rate": 1.0})
        response = intranet_agent.client.post("/dossiers/nouveau", data={"csrf_token": token, **VALID_CASE})
        assert response.status_code == 500
        assert intranet_test_api.get("/api/test/dossiers").json()["counts"]["total"] == 0

    def test_failure_after_processing_stores_the_case_anyway(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        token = csrf_token(intranet_agent.client.get("/dossiers/nouveau").text)
        intranet_test_api.put("/api/test/faults", json={"failure_rate": 1.0, "failure_point": "after"})
        response = intranet_agent.client.post("/dossiers/nouveau", data={"csrf_token": token, **VALID_CASE})
        assert response.status_code == 500
        assert intranet_test_api.get("/api/test/dossiers").json()["counts"]["total"] == 1

    def test_test_api_and_static_files_are_never_faulted(
        self, intranet_url: str, intranet_test_api: httpx.Client
    ) -> None:
        intranet_test_api.put("/api/test/faults", json={"failure_rate": 1.0, "maintenance_seconds": 60})
        assert intranet_test_api.get("/api/test/dossiers").status_code == 200
        assert intranet_test_api.get("/api/test/health").status_code == 200
        assert httpx.get(f"{intranet_url}/static/intranet.css").status_code == 200
        assert httpx.get(f"{intranet_url}/connexion").status_code == 503


class TestSlowAnswers:
    def test_a_slow_answer_waits_the_drawn_delay(
        self, intranet_url: str, intranet_test_api: httpx.Client
    ) -> None:
        seeded = random.Random(5)
        seeded.random()
        expected_delay = seeded.uniform(0, 0.25)
        intranet_test_api.put("/api/test/faults", json={"slow_rate": 1.0, "slow_max_delay": 0.25, "seed": 5})
        started = time.monotonic()
        response = httpx.get(f"{intranet_url}/connexion")
        assert response.status_code == 200
        assert time.monotonic() - started >= expected_delay

    def test_slow_rate_and_delay_bounds(self) -> None:
        injector = FaultInjector(FaultConfig(slow_rate=0.25, slow_max_delay=2.0, seed=1))
        delays = [injector.draw_delay() for _ in range(4000)]
        delayed = [delay for delay in delays if delay > 0]
        assert abs(len(delayed) / len(delays) - 0.25) < 0.03
        assert max(delayed) <= 2.0
        assert 0.8 < sum(delayed) / len(delayed) < 1.2


class TestChangedLayout:
    def test_the_name_label_is_renamed_but_the_field_is_the_same(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        intranet_test_api.put("/api/test/faults", json={"changed_layout": True})
        page = intranet_agent.client.get("/dossiers/nouveau").text
        assert '<label for="nom">Nom de famille du demandeur</label>' in page
        assert "Nom du demandeur" not in page
        assert ">Nom de famille du demandeur</th>" in intranet_agent.client.get("/dossiers").text
        assert intranet_agent.submit_case(VALID_CASE).numero
        intranet_test_api.post("/api/test/reset")
        intranet_agent.login("agent1", "Motdepasse-1!")
        assert (
            '<label for="nom">Nom du demandeur</label>' in intranet_agent.client.get("/dossiers/nouveau").text
        )


class TestMaintenance:
    def test_503_during_the_window_then_back_to_normal(
        self, intranet_url: str, intranet_test_api: httpx.Client
    ) -> None:
        status = intranet_test_api.put("/api/test/faults", json={"maintenance_seconds": 0.4}).json()
        assert 0 < status["maintenance_remaining"] <= 0.4
        with httpx.Client(base_url=intranet_url) as client:
            response = client.get("/connexion")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert "Maintenance en cours" in response.text
            wait_until(lambda: client.get("/connexion").status_code == 200, timeout=5)


class TestFaultSettings:
    def test_get_returns_what_was_put(self, intranet_test_api: httpx.Client) -> None:
        put = intranet_test_api.put(
            "/api/test/faults", json={"slow_rate": 0.1, "slow_max_delay": 1, "seed": 4}
        )
        assert put.status_code == 200
        got = intranet_test_api.get("/api/test/faults").json()
        assert got == put.json()
        assert got["slow_rate"] == 0.1
        assert got["failure_rate"] == 0.0

    @pytest.mark.parametrize(
        "body",
        [
            {"failure_rate": 1.5},
            {"failure_rate": "half"},
            {"failure_rate": True},
            {"slow_max_delay": -1},
            {"failure_point": "during"},
            {"changed_layout": "yes"},
            {"seed": 1.5},
            {"unknown_fault": 1},
        ],
    )
    def test_bad_settings_are_a_422(self, intranet_test_api: httpx.Client, body: dict[str, object]) -> None:
        response = intranet_test_api.put("/api/test/faults", json=body)
        assert response.status_code == 422
        assert response.json()["detail"]
        assert intranet_test_api.get("/api/test/faults").json()["failure_rate"] == 0.0

    @pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", "é".encode("latin-1")])
    def test_a_body_that_is_not_a_json_object_is_a_400(
        self, intranet_test_api: httpx.Client, content: bytes
    ) -> None:
        assert intranet_test_api.put("/api/test/faults", content=content).status_code == 400

    def test_faults_given_at_construction_are_restored_by_reset(self, tmp_path: Path) -> None:
        with MockIntranet(tmp_path, faults=FaultConfig(changed_layout=True)) as intranet:
            intranet.set_faults(FaultConfig())
            intranet.reset()
            assert intranet.state.faults.config.changed_layout is True
