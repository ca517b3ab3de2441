"""A small Tk window the desktop robot's tests point at, run as its own process (as a real application would be).

    python desktop_target.py TITLE PICTURE.png CLICKS.txt X Y

It shows a sentence in large letters, a button made of PICTURE and a button "Valider"; each click on a button
adds a line to CLICKS.txt ("image" or "valider"). The window stands at X, Y on the screen.
"""

from __future__ import annotations

import sys
import tkinter as tk
from pathlib import Path

SENTENCE = "Enregistrement effectué"


def main() -> None:
    title, picture, clicks, x, y = sys.argv[1:6]

    def record(what: str) -> None:
        with Path(clicks).open("a", encoding="utf-8") as out:
            out.write(what + "\n")

    root = tk.Tk()
    root.title(title)
    root.geometry(f"+{x}+{y}")
    root.configure(background="white")
    tk.Label(root, text=SENTENCE, font=("DejaVu Sans", 28), background="white").pack(padx=20, pady=20)
    image = tk.PhotoImage(file=picture)
    tk.Button(root, image=image, command=lambda: record("image"), borderwidth=0).pack(pady=10)
    tk.Button(root, text="Valider", font=("DejaVu Sans", 22), command=lambda: record("valider")).pack(pady=20)
    root.mainloop()


if __name__ == "__main__":
    main()
