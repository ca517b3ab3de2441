"""The peers: Robot Framework with robotframework-browser (Playwright) and with SeleniumLibrary, same records.

Each peer is installed by the benchmark in its own virtualenv under bench/.peers/ (git-ignored, kept between
runs), from PyPI; robotframework-browser's Node side with `rfbrowser init --skip-browsers` (npm, no browser
download): both drive Debian's Chromium (robotframework-browser through New Browser's executablePath,
SeleniumLibrary through Debian's chromedriver, installed by `make sysdeps`). A peer that cannot be installed is
skipped with the reason. Each suite enters the records the way its library's users write it: fields by their `id`
(which favours the peers: Rob'O's workflow finds them by their labels), the date input through JavaScript for
Selenium (typing into an <input type="date"> depends on the browser's locale).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robots.browser import LAUNCH_ARGS, find_browser

PEERS_DIR = Path(__file__).resolve().parent / ".peers"


@dataclass(frozen=True)
class Peer:
    name: str
    title: str
    packages: tuple[str, ...]
    init: tuple[str, ...] = ()  # a command run once in the virtualenv after pip (its bin/ first)


ROBOTFRAMEWORK_BROWSER = Peer(
    "robotframework_browser",
    "Robot Framework + robotframework-browser",
    ("robotframework-browser",),
    ("rfbrowser", "init", "--skip-browsers"),
)
SELENIUM_LIBRARY = Peer(
    "robotframework_selenium", "Robot Framework + SeleniumLibrary", ("robotframework-seleniumlibrary",)
)
PEERS = (ROBOTFRAMEWORK_BROWSER, SELENIUM_LIBRARY)


def install(peer: Peer) -> Path | str:
    """The peer's virtualenv (installed once, then reused), or why it cannot be installed here."""
    if peer is SELENIUM_LIBRARY and shutil.which("chromedriver") is None:
        return "no chromedriver: run 'make sysdeps' (Debian's chromium-driver)"
    home = PEERS_DIR / peer.name
    done = home / ".installed"
    if done.is_file():
        return home
    log = PEERS_DIR / f"{peer.name}.log"
    PEERS_DIR.mkdir(exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(home)],
        [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", *peer.packages],
    ]
    if peer.init:
        steps.append([str(home / "bin" / peer.init[0]), *peer.init[1:]])
    print(f"   … installing {peer.title} in {home}", flush=True)
    with log.open("w", encoding="utf-8") as output:
        for step in steps:
            try:
                status = subprocess.run(
                    step, stdout=output, stderr=subprocess.STDOUT, timeout=1200, check=False
                ).returncode
            except (OSError, subprocess.TimeoutExpired) as error:
                return f"'{' '.join(step[:3])}' failed: {error} (see {log})"
            if status != 0:
                tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
                return f"'{' '.join(step[:3])}' failed ({status}): {' '.join(tail)[:300]} (see {log})"
    done.touch()
    return home


def records_file(cases: list[Any], path: Path) -> Path:
    """The records as a Robot Framework variable file (JSON), fields by the form's `id` (the sample's field names)."""
    from tests.mock_intranet import field_labels

    name_of = {label: name for name, label in field_labels().items()}
    records = [
        {
            **{name_of[label]: value for label, value in case.csv_row().items()},
            "priorite_id": f"priorite-{case.priorite.lower()}",
            "pieces": bool(case.pieces_fournies),
        }
        for case in cases
    ]
    path.write_text(json.dumps({"RECORDS": records}, ensure_ascii=False), encoding="utf-8")
    return path


TEXT_IDS = (
    "nom",
    "prenom",
    "siret",
    "adresse",
    "code_postal",
    "ville",
    "courriel",
    "montant",
    "reference_externe",
)

BROWSER_SUITE = (
    """*** Settings ***
Library    Browser    timeout=10s    auto_closing_level=SUITE

*** Test Cases ***
Saisie
    New Browser    chromium    headless=True    executablePath=${CHROMIUM}    args=${ARGS}
    New Context
    New Page    ${URL}/connexion
    Fill Text    id=identifiant    agent1
    Fill Text    id=mot_de_passe    Motdepasse-1!
    Click    css=button[type=submit]
    Wait For Load State    load
    FOR    ${d}    IN    @{RECORDS}
        Go To    ${URL}/dossiers/nouveau
"""
    + "".join(f"        Fill Text    id={name}    ${{d}}[{name}]\n" for name in TEXT_IDS)
    + """        Fill Text    id=date_demande    ${d}[date_demande]
        Fill Text    id=observations    ${d}[observations]
        Select Options By    id=type_demande    value    ${d}[type_demande]
        Check Checkbox    id=${d}[priorite_id]
        IF    ${d}[pieces]    Check Checkbox    id=pieces_fournies
        Click    css=button.bouton-principal
        Wait For Load State    load
        ${numero}=    Get Text    id=numero-dossier
    END
    Close Browser
"""
)

SELENIUM_SUITE = (
    """*** Settings ***
Library    SeleniumLibrary    timeout=10s

*** Test Cases ***
Saisie
    Open Browser    ${URL}/connexion    headlesschrome    options=${OPTIONS}    executable_path=${DRIVER}
    Input Text    id:identifiant    agent1
    Input Password    id:mot_de_passe    Motdepasse-1!
    Click Button    css:button[type=submit]
    Wait Until Location Does Not Contain    /connexion
    FOR    ${d}    IN    @{RECORDS}
        Go To    ${URL}/dossiers/nouveau
"""
    + "".join(f"        Input Text    id:{name}    ${{d}}[{name}]\n" for name in TEXT_IDS)
    + """        Execute Javascript    document.getElementById('date_demande').value = arguments[0]
        ...    ARGUMENTS    ${d}[date_demande]
        Input Text    id:observations    ${d}[observations]
        Select From List By Value    id:type_demande    ${d}[type_demande]
        Click Element    id:${d}[priorite_id]
        IF    ${d}[pieces]    Select Checkbox    id:pieces_fournies
        Click Button    css:button.bouton-principal
        Wait Until Page Contains Element    id:numero-dossier
        ${numero}=    Get Text    id:numero-dossier
    END
    Close Browser
"""
)


# Selenium Manager looks for drivers and sends statistics over the network: the driver is given, the network closed.
ENVIRONMENT = {"SE_OFFLINE": "true", "SE_AVOID_STATS": "true"}


def command(peer: Peer, home: Path, work: Path, url: str, records: Path) -> list[str]:
    """`robot` running the peer's suite on the records, against the intranet at `url`."""
    suite = work / f"{peer.name}.robot"
    suite.write_text(BROWSER_SUITE if peer is ROBOTFRAMEWORK_BROWSER else SELENIUM_SUITE, encoding="utf-8")
    chromium = str(find_browser(headless=True))  # the peers run headless, as Rob'O and the script do
    (work / f"{peer.name}-out").mkdir(exist_ok=True)
    if peer is ROBOTFRAMEWORK_BROWSER:
        variables = [
            "--variable",
            f"CHROMIUM:{chromium}",
            "--variable",
            f"ARGS:{json.dumps(list(LAUNCH_ARGS))}",
        ]
    else:
        options = ";".join(
            [f'binary_location="{chromium}"', *(f'add_argument("{arg}")' for arg in LAUNCH_ARGS)]
        )
        variables = [
            "--variable",
            f"OPTIONS:{options}",
            "--variable",
            f"DRIVER:{shutil.which('chromedriver')}",
        ]
    return [
        str(home / "bin" / "robot"), "--output", "NONE", "--report", "NONE", "--log", "NONE",
        "--outputdir", str(work / f"{peer.name}-out"), "--console", "dotted",
        "--variable", f"URL:{url}", "--variablefile", str(records), *variables, str(suite),
    ]  # fmt: skip
