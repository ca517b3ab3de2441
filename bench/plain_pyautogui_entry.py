"""The reference: a hand-written pyautogui script doing the same keystrokes and clicks as the bench workflow.

python bench/plain_pyautogui_entry.py XLSX_FILE DATABASE VALIDER_X VALIDER_Y   (DISPLAY set, from the project root)

What a careful programmer writes for the legacy client (tests/mock_desktop), step for step what
`bench/desktop_entry.yaml` does:
- start the client, wait for its login window by polling the X display's top-level windows every 0.1 s (the
  robot's poll interval; titles read from _NET_WM_NAME with python-xlib), give it the keyboard
  (`xdotool windowfocus --sync`), type the account, Tab, the password, Enter; wait for « Nouveau dossier »;
- for each row: give the form the keyboard, type the five fields with Tab between them and the type of request
  (the drop-down chooses by type-ahead), click « Valider » at its place on the screen, wait for the dialog
  « Dossier enregistré », close it as its close button would (WM_DELETE_WINDOW: the OK of a Tk message box,
  sent once the window lists it in WM_PROTOCOLS, asked again if still there after 2 s) and wait until it is gone;
- close the form the same way, which ends the client.

ASCII is typed by `pyautogui.write`, which silently drops anything else ("Café" arrives as "Caf"). The first
version typed accented runs with `xdotool type` (and a capital accented letter with `xdotool key shift+U00C9`,
since `xdotool type "É"` arrives as "é" in Tk): the benchmark's check caught it losing letters ("Jérôme" stored as
"Jrôme", "Amélie" as "Amlie", in one run of 20 records), because xdotool gives a spare key the character, presses
it and takes the key back at once, before Tk has read it. So each accented character is pressed through the X test extension
(python-xlib) on a key that makes it: one the display has already (the benchmark maps them before its rounds, see
`bench_desktop.map_accented_keys`), else a spare key given it now and kept: the fix a careful programmer ends up
with, and what the desktop robot does.
pyautogui.PAUSE is 0.05 s, as the desktop robot's default `pause`.
Windows are not polled with `xdotool search --name` (which reads WM_NAME, where Tk writes « é » and « — » as
Latin-1 bytes of their UTF-8, so only the ASCII part of a title can be matched): with it the Tk client left a
confirmation open now and then, its close request lost (5 runs of 9 failed on the benchmark's display; 0 of 3 with
python-xlib polling, whose cause is not understood, the client idle in its dialog loop).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import openpyxl
import pyautogui
from Xlib import X, display, error, protocol
from Xlib.ext import xtest

pyautogui.PAUSE = 0.05
POLL = 0.1
TIMEOUT = 15.0
ASCII_RUNS = re.compile(r"[\x20-\x7e]+|[^\x20-\x7e]+")
XDOTOOL_ENV = {**os.environ, "LC_ALL": "C.UTF-8"}


def xdotool(*args: str) -> str:
    return subprocess.run(
        ["xdotool", *args], env=XDOTOOL_ENV, capture_output=True, text=True, timeout=TIMEOUT
    ).stdout


def find_window(title: str) -> str | None:
    """The newest shown top-level window whose title (_NET_WM_NAME, UTF-8) contains `title`."""
    screen = display.Display()
    try:
        name, utf8 = screen.intern_atom("_NET_WM_NAME"), screen.intern_atom("UTF8_STRING")
        found = None
        for window in screen.screen().root.query_tree().children:
            try:
                if window.get_attributes().map_state != X.IsViewable:
                    continue
                shown = window.get_full_property(name, utf8)
            except error.XError:  # closed meanwhile
                continue
            if shown is not None and title in bytes(shown.value).decode("utf-8", "replace"):
                found = str(window.id)
        return found
    finally:
        screen.close()


def wait_window(title: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while (window := find_window(title)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(title)
        time.sleep(POLL)
    return window


def wait_gone(title: str, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while find_window(title) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


def ask_to_close(window: str) -> None:
    """Send WM_DELETE_WINDOW (what a close button does) once the window says it accepts it: Tk says so just
    after showing it, and a request sent before is lost."""
    screen = display.Display()
    try:
        target = screen.create_resource_object("window", int(window))
        delete = screen.intern_atom("WM_DELETE_WINDOW")
        deadline = time.monotonic() + 2.0
        while delete not in (target.get_wm_protocols() or []) and time.monotonic() < deadline:
            time.sleep(POLL)
        event = protocol.event.ClientMessage(
            window=target,
            client_type=screen.intern_atom("WM_PROTOCOLS"),
            data=(32, [delete, X.CurrentTime, 0, 0, 0]),
        )
        target.send_event(event, event_mask=X.NoEventMask)
        screen.flush()
    finally:
        screen.close()


def close_window(title: str) -> None:
    """Wait for a window, close it as its close button would, and wait until it is gone (asked again after 2 s)."""
    window = wait_window(title)
    ask_to_close(window)
    if not wait_gone(title, 2.0):
        ask_to_close(window)
        if not wait_gone(title):
            raise TimeoutError(f"{title} ({window}) did not close")


class AccentKeys:
    """Keys for the characters the keyboard lacks: a spare keycode given each one on first use, kept till the end."""

    def __init__(self) -> None:
        self.screen = display.Display()
        first = self.screen.display.info.min_keycode
        mapping = self.screen.get_keyboard_mapping(first, self.screen.display.info.max_keycode - first + 1)
        self.spare = [first + index for index, syms in enumerate(mapping) if not any(syms)]
        self.keys: dict[str, int] = {}

    def type(self, char: str) -> None:
        if char not in self.keys:
            keysym = ord(char) if ord(char) < 0x100 else 0x01000000 + ord(char)
            code = self.screen.keysym_to_keycode(keysym)
            if code and self.screen.keycode_to_keysym(code, 0) == keysym:  # mapped already (an earlier run)
                self.keys[char] = code
                return self._press(code)
            self.keys[char] = self.spare.pop()
            # The same keysym on both levels: unshifted, X would make a capital lower case.
            self.screen.change_keyboard_mapping(self.keys[char], [(keysym, keysym)])
            self.screen.sync()
        self._press(self.keys[char])

    def _press(self, code: int) -> None:
        xtest.fake_input(self.screen, X.KeyPress, code)
        xtest.fake_input(self.screen, X.KeyRelease, code)
        self.screen.sync()


def type_text(text: str, accents: AccentKeys) -> None:
    for run in ASCII_RUNS.findall(text):
        if run.isascii():
            pyautogui.write(run)
        else:
            for char in run:
                accents.type(char)


def main(xlsx: str, database: str, valider_x: int, valider_y: int) -> None:
    started = time.perf_counter()
    sheet = openpyxl.load_workbook(xlsx, read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = [str(cell) for cell in next(rows)]
    records = [dict(zip(header, row, strict=False)) for row in rows if any(cell is not None for cell in row)]

    client = subprocess.Popen(
        [sys.executable, "-m", "tests.mock_desktop", "--db", database],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        enter(records, client, valider_x, valider_y)
    finally:
        if client.poll() is None:
            client.kill()
    print(f"{len(records)} {time.perf_counter() - started:.3f}")


def enter(
    records: list[dict[str, object]], client: subprocess.Popen[bytes], valider_x: int, valider_y: int
) -> None:
    login = wait_window("Connexion — Gestion des dossiers")
    xdotool("windowfocus", "--sync", login)
    accents = AccentKeys()
    type_text("agent1", accents)
    pyautogui.press("tab")
    type_text("Motdepasse-1!", accents)
    pyautogui.press("enter")
    form = wait_window("Nouveau dossier")

    for record in records:
        xdotool("windowfocus", "--sync", form)
        for column in ("Référence externe", "Nom du demandeur", "Prénom", "Ville", "Montant demandé"):
            type_text(str(record[column]), accents)
            pyautogui.press("tab")
        type_text(str(record["Type de demande"]), accents)
        pyautogui.click(valider_x, valider_y)
        close_window("Dossier enregistré")

    close_window("Nouveau dossier")
    client.wait(timeout=TIMEOUT)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
