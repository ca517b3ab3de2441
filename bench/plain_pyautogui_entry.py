"""The reference: a hand-written pyautogui script doing the same keystrokes and clicks as the bench workflow.

python bench/plain_pyautogui_entry.py XLSX_FILE DATABASE VALIDER_X VALIDER_Y   (DISPLAY set, from the project root)

What a careful programmer writes for the legacy client (tests/mock_desktop), step for step what
`bench/desktop_entry.yaml` does:
- start the client, wait for its login window by polling `xdotool search` every 0.1 s (the robot's poll interval),
  give it the keyboard (`xdotool windowfocus --sync`), type the account, Tab, the password, Enter; wait for
  « Nouveau dossier » the same way;
- for each row: give the form the keyboard, type the five fields with Tab between them and the type of request
  (the drop-down chooses by type-ahead), click « Valider » at its place on the screen, wait for the dialog
  « Dossier enregistré », close it as its close button would (WM_DELETE_WINDOW: the OK of a Tk message box)
  and wait until it is gone;
- close the form the same way, which ends the client.

ASCII is typed by `pyautogui.write`, which silently drops anything else ("Café" arrives as "Caf"): accented runs
go through `xdotool type` (its default 12 ms between keys), and a capital accented letter through
`xdotool key shift+U00C9`, because `xdotool type "É"` arrives as "é" in Tk (the workaround the project's own
tests use, tests/mock_desktop/xdotool.py). pyautogui.PAUSE is 0.05 s, as the desktop robot's default `pause`.
Window titles are matched on their ASCII part: `xdotool search --name` reads WM_NAME, where Tk writes the UTF-8
bytes of « é » or « — » as Latin-1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import openpyxl
import pyautogui
from Xlib import X, display, protocol

pyautogui.PAUSE = 0.05
POLL = 0.1
TIMEOUT = 15.0
ASCII_RUNS = re.compile(r"[\x20-\x7e]+|[^\x20-\x7e]+")
XDOTOOL_ENV = {**os.environ, "LC_ALL": "C.UTF-8"}


def xdotool(*args: str) -> str:
    return subprocess.run(["xdotool", *args], env=XDOTOOL_ENV, capture_output=True, text=True).stdout


def find_window(title: str) -> str | None:
    found = xdotool("search", "--onlyvisible", "--name", title).split()
    return found[-1] if found else None


def wait_window(title: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while (window := find_window(title)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(title)
        time.sleep(POLL)
    return window


def wait_gone(title: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while find_window(title) is not None:
        if time.monotonic() > deadline:
            raise TimeoutError(title)
        time.sleep(POLL)


def close_window(window: str) -> None:
    """Ask a window to close as its close button would (WM_DELETE_WINDOW)."""
    screen = display.Display()
    try:
        target = screen.create_resource_object("window", int(window))
        delete = screen.intern_atom("WM_DELETE_WINDOW")
        event = protocol.event.ClientMessage(
            window=target, client_type=screen.intern_atom("WM_PROTOCOLS"), data=(32, [delete, X.CurrentTime, 0, 0, 0])
        )
        target.send_event(event, event_mask=X.NoEventMask)
        screen.flush()
    finally:
        screen.close()


def type_text(text: str) -> None:
    for run in ASCII_RUNS.findall(text):
        if run.isascii():
            pyautogui.write(run)
            continue
        lower = ""
        for char in run:
            if char == char.lower():
                lower += char
                continue
            if lower:
                xdotool("type", "--", lower)
                lower = ""
            xdotool("key", f"shift+U{ord(char):04X}")
        if lower:
            xdotool("type", "--", lower)


def main(xlsx: str, database: str, valider_x: int, valider_y: int) -> None:
    started = time.perf_counter()
    sheet = openpyxl.load_workbook(xlsx, read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = [str(cell) for cell in next(rows)]
    records = [dict(zip(header, row, strict=False)) for row in rows if any(cell is not None for cell in row)]

    client = subprocess.Popen([sys.executable, "-m", "tests.mock_desktop", "--db", database])
    login = wait_window("Gestion des dossiers")
    xdotool("windowfocus", "--sync", login)
    type_text("agent1")
    pyautogui.press("tab")
    type_text("Motdepasse-1!")
    pyautogui.press("enter")
    form = wait_window("^Nouveau dossier$")

    for record in records:
        xdotool("windowfocus", "--sync", form)
        for column in ("Référence externe", "Nom du demandeur", "Prénom", "Ville", "Montant demandé"):
            type_text(str(record[column]))
            pyautogui.press("tab")
        type_text(str(record["Type de demande"]))
        pyautogui.click(valider_x, valider_y)
        close_window(wait_window("Dossier enregistr"))
        wait_gone("Dossier enregistr")

    close_window(form)
    client.wait(timeout=TIMEOUT)
    print(f"{len(records)} {time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
