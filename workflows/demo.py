"""`make demo`: a bot enters the sample spreadsheet's case files into the built-in mock intranet.

Starts the mock intranet and its mail server, runs `robo run workflows/saisie_dossiers.yaml` against them (the
confirmation numbers go into a copy of the spreadsheet among the run's artifacts), says where the run's
report and records are, and stops the servers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "workflows" / "saisie_dossiers.yaml"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from tests.mock_intranet.accounts import DEFAULT_ACCOUNT
    from tests.mock_intranet.server import MockIntranet

    headed = "--headed" in sys.argv[1:]
    with (
        tempfile.TemporaryDirectory(prefix="robo-demo-") as data_dir,
        MockIntranet(Path(data_dir)) as intranet,
    ):
        print(f"Intranet fictif : {intranet.url}  (compte {DEFAULT_ACCOUNT.username})", flush=True)
        env = {
            **os.environ,
            "ROBO_SECRET_IDENTIFIANT": DEFAULT_ACCOUNT.username,
            "ROBO_SECRET_MOT_DE_PASSE": DEFAULT_ACCOUNT.password,
        }
        command = [
            sys.executable,
            "-m",
            "runner.cli",
            "run",
            str(WORKFLOW),
            "--input",
            f"intranet={intranet.url}",
        ]
        if headed:
            command.append("--headed")
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)
        import httpx

        stored = httpx.get(
            f"{intranet.url}/api/test/dossiers", headers=intranet.test_headers, timeout=30
        ).json()
        print(f"\nL'intranet fictif a enregistré {stored['counts']['total']} dossiers.", flush=True)
        print("Revoir l'exécution : ouvrir le rapport indiqué plus haut (report: …/report.html),")
        print("ou bien .venv/bin/robo runs list   puis   .venv/bin/robo runs show last")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
