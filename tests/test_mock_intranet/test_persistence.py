"""Data survives a restart; concurrent requests get unique case numbers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx

from tests.mock_intranet import WEB_ACCOUNTS, MockIntranet
from tests.mock_intranet.case_form import validate_case_form
from tests.mock_intranet.case_store import CaseStore
from tests.mock_intranet.database import Database
from tests.mock_intranet.http_agent import IntranetAgent

from ._cases import VALID_CASE


class TestRestart:
    def test_cases_documents_sessions_and_mail_survive_a_restart(self, tmp_path: Path) -> None:
        with MockIntranet(tmp_path) as intranet, IntranetAgent(intranet.url) as agent:
            agent.login("agent1", "Motdepasse-1!")
            first = agent.submit_case(VALID_CASE, ("piece.bin", b"\x00\xffdata", "application/octet-stream"))
            intranet.mail_store.save(b"Subject: test\r\n\r\nCorps\r\n", "a@example.fr", ["b@example.fr"])
            url, smtp_port = intranet.url, intranet.smtp_port

            intranet.restart()

            assert (intranet.url, intranet.smtp_port) == (url, smtp_port)
            # The same client, still logged in: the session lives in the database.
            second = agent.submit_case(VALID_CASE)
            assert first.numero and second.numero
            assert int(second.numero[-6:]) == int(first.numero[-6:]) + 1
            with httpx.Client(base_url=intranet.url, headers=intranet.test_headers) as api:
                cases = api.get("/api/test/dossiers").json()["dossiers"]
                assert [case["numero"] for case in cases] == [first.numero, second.numero]
                document = cases[0]["documents"][0]
                download = agent.client.get(f"/dossiers/{first.numero}/documents/{document['id']}")
                assert download.content == b"\x00\xffdata"
                assert api.get("/api/test/mails").json()["count"] == 1

    def test_a_new_instance_on_the_same_directory_sees_the_data(self, tmp_path: Path) -> None:
        with MockIntranet(tmp_path) as intranet, IntranetAgent(intranet.url) as agent:
            agent.login("agent1", "Motdepasse-1!")
            numero = agent.submit_case(VALID_CASE).numero
        with MockIntranet(tmp_path) as intranet, IntranetAgent(intranet.url) as agent:
            agent.login("agent1", "Motdepasse-1!")
            assert agent.client.get(f"/dossiers/{numero}").status_code == 200


class TestConcurrency:
    def test_four_agents_creating_cases_at_once_get_unique_numbers(self, mock_intranet: MockIntranet) -> None:
        cases_per_agent = 8

        def create_cases(username: str, password: str) -> list[str]:
            with IntranetAgent(mock_intranet.url) as agent:
                assert agent.login(username, password).status_code == 303
                numbers = []
                for index in range(cases_per_agent):
                    submission = agent.submit_case(VALID_CASE | {"reference_externe": f"{username}-{index}"})
                    assert submission.numero, submission.errors
                    numbers.append(submission.numero)
                return numbers

        agents = [account for account in WEB_ACCOUNTS if account.active][:4]
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda account: create_cases(account.username, account.password), agents))
        numbers = [number for result in results for number in result]
        assert len(set(numbers)) == 4 * cases_per_agent
        assert sorted(int(number[-6:]) for number in numbers) == list(range(1, 4 * cases_per_agent + 1))
        with httpx.Client(base_url=mock_intranet.url, headers=mock_intranet.test_headers) as api:
            assert api.get("/api/test/dossiers").json()["counts"]["total"] == 4 * cases_per_agent

    def test_store_used_from_many_threads_never_repeats_a_number(self, tmp_path: Path) -> None:
        store = CaseStore(Database(tmp_path / "intranet.db"))
        case, _ = validate_case_form(VALID_CASE, date.today())
        assert case is not None
        start = threading.Barrier(8)

        def create_many() -> list[str]:
            start.wait()
            return [store.create(case, created_by="test").numero for _ in range(15)]

        with ThreadPoolExecutor(max_workers=8) as pool:
            numbers = [n for result in pool.map(lambda _: create_many(), range(8)) for n in result]
        assert len(numbers) == len(set(numbers)) == 120
