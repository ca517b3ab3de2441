"""Typing characters no key of the keyboard makes (é, à, «, €…), through the X test extension.

pyautogui types only what the keyboard map has (`pyautogui.write("Café")` drops the "é" silently), and xdotool
maps a spare key for each such character but restores the map as soon as it has typed: an application that reads
the key after that reads nothing (measured: an "à" lost now and then in xterm). Here a spare key is given the
character for the rest of the session instead (both its plain and shifted levels, so that case holds), and only
then pressed; the application reads the new map before the key, since the X server sends both in that order.
"""

from __future__ import annotations

import time
from typing import Any

from robots.desktop.display import require_display
from robots.kit import ApplicationError, _


def keysym_of(char: str) -> int:
    """The X keysym of a character: its Latin-1 code below 256, else its Unicode keysym."""
    code = ord(char)
    return code if 0x20 <= code < 0x100 else 0x01000000 + code


def _key_for(screen: Any, keysym: int) -> int:
    """A key that makes `keysym` unshifted: one of the keyboard's, or a spare key given it now."""
    code = int(screen.keysym_to_keycode(keysym))
    if code and screen.keycode_to_keysym(code, 0) == keysym:
        return code
    first = screen.display.info.min_keycode
    mapping = screen.get_keyboard_mapping(first, screen.display.info.max_keycode - first + 1)
    spare = [first + index for index, syms in enumerate(mapping) if not any(syms)]
    if not spare:
        raise ApplicationError(
            _("the keyboard map has no spare key left to type '{char}'").format(char=chr(keysym))
        )
    chosen = int(spare[-1])
    screen.change_keyboard_mapping(chosen, [(keysym, keysym)])
    screen.sync()
    return chosen


def type_characters(text: str, delay: float) -> None:
    """Type each character of `text` into the window that has the keyboard, `delay` seconds apart."""
    from Xlib import X, display
    from Xlib.ext import xtest

    require_display()
    screen = display.Display()
    try:
        for char in text:
            code = _key_for(screen, keysym_of(char))
            xtest.fake_input(screen, X.KeyPress, code)
            xtest.fake_input(screen, X.KeyRelease, code)
            screen.sync()
            if delay:
                time.sleep(delay)
    finally:
        screen.close()
