"""Helpers for end-to-end tests: run a workflow against the mock intranet and read what it stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from runner.run import RunOptions, RunOutcome, run_workflow
from tests.mock_intranet.accounts import DEFAULT_ACCOUNT
from tests.mock_intranet.server import MockIntranet
from tests.running import EventRecorder

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
SECRETS = {
    "ROBO_SECRET_IDENTIFIANT": DEFAULT_ACCOUNT.username,
    "ROBO_SECRET_MOT_DE_PASSE": DEFAULT_ACCOUNT.password,
}


class Bot:
    """Runs workflows in-process against one mock intranet, each run with its own logs folder."""

    def __init__(self, intranet: MockIntranet, tmp_path: Path) -> None:
        self.intranet = intranet
        self.tmp_path = tmp_path
        self.runs = 0

    def run(self, workflow: Path | str, **inputs: Any) -> tuple[RunOutcome, EventRecorder]:
        self.runs += 1
        if isinstance(workflow, str):
            path = self.tmp_path / f"workflow-{self.runs}.yaml"
            path.write_text(workflow, encoding="utf-8")
        else:
            path = workflow
        recorder = EventRecorder()
        options = RunOptions(
            inputs={"intranet": self.intranet.url, **inputs},
            logs_dir=self.tmp_path / "logs",
            environ=SECRETS,
            extra_sinks=[recorder],
        )
        return run_workflow(path, options), recorder

    def stored(self) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.intranet.url}/api/test/dossiers", headers=self.intranet.test_headers, timeout=10
        )
        response.raise_for_status()
        cases: list[dict[str, Any]] = response.json()["dossiers"]
        return cases


@pytest.fixture
def bot(mock_intranet: MockIntranet, tmp_path: Path) -> Bot:
    return Bot(mock_intranet, tmp_path)
