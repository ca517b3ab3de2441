"""Documents of a case: upload to the GED and download byte for byte."""

from __future__ import annotations

import hashlib
import os
import re
from urllib.parse import unquote

import httpx

from tests.mock_intranet.http_agent import IntranetAgent, csrf_token

from ._cases import VALID_CASE


def _upload(agent: IntranetAgent, numero: str, files: dict[str, tuple[str, bytes, str]]) -> httpx.Response:
    token = csrf_token(agent.client.get(f"/dossiers/{numero}").text)
    return agent.client.post(f"/dossiers/{numero}/documents", data={"csrf_token": token}, files=files)


class TestDocuments:
    def test_upload_then_download_gives_the_same_bytes(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        numero = intranet_agent.submit_case(VALID_CASE).numero
        assert numero
        content = os.urandom(300_000) + b"\x00\r\n\x00"
        response = _upload(
            intranet_agent, numero, {"document": ("Relevé d'identité été.pdf", content, "application/pdf")}
        )
        assert response.status_code == 303
        page = intranet_agent.client.get(response.headers["location"]).text
        assert "Document « Relevé d&#39;identité été.pdf » téléversé." in page
        link = re.search(rf'<a href="(/dossiers/{numero}/documents/[0-9a-f]{{32}})"', page)
        assert link
        download = intranet_agent.client.get(link.group(1))
        assert download.status_code == 200
        assert download.content == content
        assert download.headers["content-type"] == "application/pdf"
        disposition = download.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert unquote(disposition.split("filename*=utf-8''")[1]) == "Relevé d'identité été.pdf"
        stored = intranet_test_api.get(f"/api/test/dossiers/{numero}").json()["documents"]
        assert [(d["nom_fichier"], d["taille"]) for d in stored] == [
            ("Relevé d'identité été.pdf", len(content))
        ]

    def test_several_documents_and_an_empty_file(self, intranet_agent: IntranetAgent) -> None:
        numero = intranet_agent.submit_case(VALID_CASE).numero
        assert numero
        for name, content in [("a.txt", b"premier"), ("vide.bin", b""), ("c.csv", "é;à\n".encode())]:
            assert _upload(intranet_agent, numero, {"document": (name, content, "")}).status_code == 303
        page = intranet_agent.client.get(f"/dossiers/{numero}").text
        links = re.findall(
            rf'<a href="(/dossiers/{numero}/documents/[0-9a-f]{{32}})" download="([^"]+)"', page
        )
        assert [name for _, name in links] == ["a.txt", "vide.bin", "c.csv"]
        assert [intranet_agent.client.get(url).content for url, _ in links] == [
            b"premier",
            b"",
            "é;à\n".encode(),
        ]

    def test_the_page_lists_each_document_with_its_size_and_sha256(
        self, intranet_agent: IntranetAgent
    ) -> None:
        numero = intranet_agent.submit_case(VALID_CASE).numero
        assert numero
        content = "Courrier reçu : DOS-2026-000001".encode()
        assert _upload(intranet_agent, numero, {"document": ("lettre.txt", content, "")}).status_code == 303
        page = intranet_agent.client.get(f"/dossiers/{numero}").text
        digest = hashlib.sha256(content).hexdigest()
        assert f'<table id="documents" class="tableau" data-dossier="{numero}">' in page
        row = re.search(rf'<tr data-sha256="{digest}">(.*?)</tr>', page, re.S)
        assert row, page
        assert ">lettre.txt</a>" in row.group(1)
        assert f'<td class="empreinte"><code>{digest}</code></td>' in row.group(1)
        assert "Empreinte (SHA-256)" in page

    def test_the_same_bytes_are_kept_once_per_case_whatever_their_name(
        self, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        numero = intranet_agent.submit_case(VALID_CASE).numero
        other = intranet_agent.submit_case(VALID_CASE).numero
        assert numero and other
        content = b"%PDF-1.4 scan"
        assert _upload(intranet_agent, numero, {"document": ("scan.pdf", content, "")}).status_code == 303
        again = _upload(intranet_agent, numero, {"document": ("scan (2).pdf", content, "")})
        assert again.status_code == 200
        refused = re.search(r'<p class="erreur" id="erreur-document" role="alert">([^<]*)</p>', again.text)
        assert refused, again.text
        assert refused.group(1).startswith(
            "Ce document est déjà dans le dossier : « scan.pdf », téléversé le "
        )
        assert f"empreinte {hashlib.sha256(content).hexdigest()[:12]}" in refused.group(1)
        # Another content under the same name is another document; the same bytes in another case too.
        assert (
            _upload(intranet_agent, numero, {"document": ("scan.pdf", b"%PDF autre", "")}).status_code == 303
        )
        assert _upload(intranet_agent, other, {"document": ("scan.pdf", content, "")}).status_code == 303
        stored = intranet_test_api.get(f"/api/test/dossiers/{numero}").json()["documents"]
        assert [(d["nom_fichier"], d["taille"]) for d in stored] == [("scan.pdf", 13), ("scan.pdf", 10)]
        assert intranet_test_api.get("/api/test/dossiers").json()["counts"]["documents"] == 3

    def test_path_in_the_file_name_is_dropped(self, intranet_agent: IntranetAgent) -> None:
        numero = intranet_agent.submit_case(VALID_CASE).numero
        assert numero
        _upload(intranet_agent, numero, {"document": ("..\\..\\C:\\secret/../passwd", b"x", "text/plain")})
        assert 'download="passwd"' in intranet_agent.client.get(f"/dossiers/{numero}").text

    def test_no_file_chosen_is_a_form_error(self, intranet_agent: IntranetAgent) -> None:
        numero = intranet_agent.submit_case(VALID_CASE).numero
        assert numero
        response = _upload(intranet_agent, numero, {"document": ("", b"", "application/octet-stream")})
        assert response.status_code == 200
        assert (
            '<p class="erreur" id="erreur-document" role="alert">Veuillez choisir un fichier' in response.text
        )

    def test_unknown_document_or_case(self, intranet_agent: IntranetAgent) -> None:
        numero = intranet_agent.submit_case(VALID_CASE).numero
        assert intranet_agent.client.get(f"/dossiers/{numero}/documents/{'0' * 32}").status_code == 404
        assert intranet_agent.client.get(f"/dossiers/{numero}/documents/../../etc").status_code == 404
        assert _upload_to_missing_case(intranet_agent).status_code == 404

    def test_download_requires_login(self, intranet_url: str, intranet_agent: IntranetAgent) -> None:
        numero = intranet_agent.submit_case(VALID_CASE, ("p.txt", b"secret", "text/plain")).numero
        link = re.search(
            r'href="(/dossiers/[^"]+/documents/[0-9a-f]{32})"',
            intranet_agent.client.get(f"/dossiers/{numero}").text,
        )
        assert link
        assert httpx.get(intranet_url + link.group(1)).status_code == 303


def _upload_to_missing_case(agent: IntranetAgent) -> httpx.Response:
    token = csrf_token(agent.client.get("/").text)
    return agent.client.post(
        "/dossiers/DOS-2000-000001/documents",
        data={"csrf_token": token},
        files={"document": ("a", b"a", "text/plain")},
    )
