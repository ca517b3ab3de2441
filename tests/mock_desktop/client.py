"""The legacy client's windows (Tk): « Connexion — Gestion des dossiers », then « Nouveau dossier ».

It is meant to be driven from outside, by a robot or xdotool, in its own process: keyboard remapping by xdotool
(how accented text is typed) does not reach a Tk loop running in the process that remaps. Every window has a
fixed size and the « Valider » button a fixed place relative to it, so a driver can click it from the window's
geometry alone.
"""

from __future__ import annotations

import time
import tkinter as tk
from pathlib import Path
from tkinter import ttk

from tests.mock_intranet import TYPES_DEMANDE, WEB_ACCOUNTS

from .case_store import CaseStore
from .entry_rules import EntryRefused, check_entry

LOGIN_TITLE = "Connexion — Gestion des dossiers"
FORM_TITLE = "Nouveau dossier"
ERROR_TITLE = "Erreur de saisie"
LOGIN_ERROR_TITLE = "Connexion refusée"
SAVED_TITLE = "Dossier enregistré"
SAVED_MESSAGE = "Dossier enregistré : {numero}"
BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."
SEARCH_TITLE = "Rechercher un dossier"
FOUND_TITLE = "Dossier trouvé"
FOUND_MESSAGE = "{numero} : {nom} {prenom}, {commune}"
NOT_FOUND_TITLE = "Aucun dossier"
NOT_FOUND_MESSAGE = "Aucun dossier pour la référence {reference}."
DISABLED_ACCOUNT = "Ce compte est désactivé. Adressez-vous à votre administrateur."

LOGIN_SIZE = (420, 200)
SEARCH_SIZE = (420, 120)
FORM_SIZE = (460, 340)
# Where « Valider » and « Se connecter » are, as fractions of their window's width and height.
VALIDER_POSITION = (0.5, 0.88)
LOGIN_BUTTON_POSITION = (0.5, 0.8)

# The form's text fields in tab order (key, label); the drop-down « Type de demande » comes after them.
TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("reference", "Référence"),
    ("nom", "Nom"),
    ("prenom", "Prénom"),
    ("commune", "Commune"),
    ("montant", "Montant"),
)
TYPE_LABEL = "Type de demande"
# Letters typed on the closed drop-down within this delay make one prefix (« Au » chooses « Autre »).
TYPE_AHEAD_SECONDS = 1.0


class LegacyClient:
    """The application: a hidden Tk root, the login window, then the form."""

    def __init__(self, store: CaseStore, *, display: str | None = None) -> None:
        self.store = store
        self.root = tk.Tk(screenName=display, className="GestionDossiers")
        self.root.withdraw()
        self.agent = ""
        self.login_window = self._build_login()

    def run(self) -> None:
        """Run until the last window is closed."""
        self.root.mainloop()

    def _window(self, title: str, size: tuple[int, int]) -> tk.Toplevel:
        window = tk.Toplevel(self.root)
        window.title(title)
        window.geometry(f"{size[0]}x{size[1]}+40+40")
        window.resizable(False, False)
        window.protocol("WM_DELETE_WINDOW", self.root.destroy)
        return window

    def _build_login(self) -> tk.Toplevel:
        window = self._window(LOGIN_TITLE, LOGIN_SIZE)
        frame = ttk.Frame(window, padding=16)
        frame.place(relx=0, rely=0, relwidth=1, relheight=0.65)
        self.username = tk.StringVar(window)
        self.password = tk.StringVar(window)
        ttk.Label(frame, text="Identifiant").grid(row=0, column=0, sticky="w", pady=4)
        username = ttk.Entry(frame, textvariable=self.username, width=28)
        username.grid(row=0, column=1, pady=4)
        ttk.Label(frame, text="Mot de passe").grid(row=1, column=0, sticky="w", pady=4)
        password = ttk.Entry(frame, textvariable=self.password, show="•", width=28)
        password.grid(row=1, column=1, pady=4)
        button = ttk.Button(window, text="Se connecter", command=self._log_in)
        button.place(relx=LOGIN_BUTTON_POSITION[0], rely=LOGIN_BUTTON_POSITION[1], anchor="center")
        for widget in (username, password, button):
            widget.bind("<Return>", lambda _event: self._log_in())
        self._take_focus(window, username)
        return window

    def _take_focus(self, window: tk.Toplevel, widget: tk.Misc) -> None:
        # No window manager under Xvfb gives a new window the keyboard: the client takes it, as it would under a
        # desktop where the window just opened is the active one.
        window.update_idletasks()
        window.focus_force()
        widget.focus_set()

    def _dialog(self, title: str, message: str, *, parent: tk.Toplevel) -> None:
        """A modal message with an OK button, closed by OK, Enter, Escape or a window-close request.

        Tk's own messagebox waits on a variable: a close request that arrived as it opened was handled before the
        wait began, and the wait never ended (the client hung with its dialog open, about one run in ten under
        load). Waiting for the window itself cannot miss it: `wait_window` returns at once for a closed window.
        """
        dialog = tk.Toplevel(parent)
        dialog.title(title)
        dialog.resizable(False, False)
        dialog.transient(parent)
        frame = ttk.Frame(dialog, padding=16)
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=message, wraplength=380, justify="left").pack(anchor="w", pady=(0, 12))
        button = ttk.Button(frame, text="OK", command=dialog.destroy)
        button.pack()
        for key in ("<Return>", "<KP_Enter>", "<Escape>"):
            dialog.bind(key, lambda _event: dialog.destroy())
        dialog.protocol("WM_DELETE_WINDOW", dialog.destroy)
        dialog.geometry(f"+{parent.winfo_rootx() + 60}+{parent.winfo_rooty() + 60}")
        self._take_focus(dialog, button)
        dialog.grab_set()
        self.root.wait_window(dialog)

    def _log_in(self) -> None:
        username = self.username.get().strip()
        account = next((a for a in WEB_ACCOUNTS if a.username == username), None)
        if account is None or account.password != self.password.get():
            self._dialog(LOGIN_ERROR_TITLE, BAD_CREDENTIALS, parent=self.login_window)
            self.password.set("")
            return
        if not account.active:
            self._dialog(LOGIN_ERROR_TITLE, DISABLED_ACCOUNT, parent=self.login_window)
            return
        self.agent = account.username
        self.login_window.destroy()
        self._build_form()

    def _build_form(self) -> None:
        window = self._window(FORM_TITLE, FORM_SIZE)
        self.form_window = window
        frame = ttk.Frame(window, padding=16)
        frame.place(relx=0, rely=0, relwidth=1, relheight=0.78)
        self.values = {key: tk.StringVar(window) for key, _label in TEXT_FIELDS}
        self.widgets: dict[str, tk.Widget] = {}
        for row, (key, label) in enumerate(TEXT_FIELDS):
            ttk.Label(frame, text=label).grid(row=row, column=0, sticky="w", pady=3)
            entry = ttk.Entry(frame, textvariable=self.values[key], width=32)
            entry.grid(row=row, column=1, pady=3)
            self.widgets[key] = entry
        self.values["type_demande"] = tk.StringVar(window)
        ttk.Label(frame, text=TYPE_LABEL).grid(row=len(TEXT_FIELDS), column=0, sticky="w", pady=3)
        combobox = ttk.Combobox(
            frame, textvariable=self.values["type_demande"], values=TYPES_DEMANDE, state="readonly", width=30
        )
        combobox.grid(row=len(TEXT_FIELDS), column=1, pady=3)
        combobox.bind("<KeyPress>", self._type_ahead)
        combobox.bind("<FocusIn>", lambda _event: self._forget_typed())
        self._typed = ("", 0.0)
        self.widgets["type_demande"] = combobox
        button = ttk.Button(window, text="Valider", command=self._submit)
        button.place(relx=VALIDER_POSITION[0], rely=VALIDER_POSITION[1], anchor="center")
        window.bind("<Return>", lambda _event: self._submit())
        # Ctrl+F looks a reference up, as a robot does before entering a record again after a crash.
        window.bind("<Control-f>", lambda _event: self._open_search())
        self._take_focus(window, self.widgets["reference"])

    def _open_search(self) -> None:
        window = self._window(SEARCH_TITLE, SEARCH_SIZE)
        window.protocol("WM_DELETE_WINDOW", lambda: self._close_search(window))
        frame = ttk.Frame(window, padding=16)
        frame.pack(fill="both", expand=True)
        reference = tk.StringVar(window)
        ttk.Label(frame, text="Référence").grid(row=0, column=0, sticky="w", pady=4)
        entry = ttk.Entry(frame, textvariable=reference, width=28)
        entry.grid(row=0, column=1, pady=4)
        ttk.Button(frame, text="Rechercher", command=lambda: self._search(window, reference.get())).grid(
            row=1, column=1, pady=8
        )
        window.bind("<Return>", lambda _event: self._search(window, reference.get()))
        window.bind("<Escape>", lambda _event: self._close_search(window))
        self._take_focus(window, entry)

    def _search(self, window: tk.Toplevel, reference: str) -> None:
        found = self.store.find(reference)
        if found is None:
            self._dialog(
                NOT_FOUND_TITLE, NOT_FOUND_MESSAGE.format(reference=reference.strip()), parent=window
            )
        else:
            message = FOUND_MESSAGE.format(
                numero=found.numero, nom=found.nom, prenom=found.prenom, commune=found.commune
            )
            self._dialog(FOUND_TITLE, message, parent=window)
        self._close_search(window)

    def _close_search(self, window: tk.Toplevel) -> None:
        window.destroy()
        self._take_focus(self.form_window, self.widgets["reference"])

    def _forget_typed(self) -> None:
        self._typed = ("", 0.0)

    def _type_ahead(self, event: tk.Event[ttk.Combobox]) -> None:
        # A readonly Tk drop-down ignores letters; the legacy clients it stands for choose the first value that
        # starts with what was just typed, so that a keyboard-only agent (or robot) can fill it.
        if not event.char or not event.char.isprintable():
            return
        prefix, last = self._typed
        now = time.monotonic()
        prefix = (prefix if now - last < TYPE_AHEAD_SECONDS else "") + event.char
        match = _first_starting_with(prefix)
        if match is None:  # a new word, typed right after the last one
            prefix = event.char
            match = _first_starting_with(prefix)
        self._typed = (prefix, now)
        if match is not None:
            self.values["type_demande"].set(match)

    def _submit(self) -> None:
        values = {key: variable.get() for key, variable in self.values.items()}
        try:
            numero = self.store.add(check_entry(values), self.agent)
        except EntryRefused as refused:
            self._dialog(ERROR_TITLE, refused.message, parent=self.form_window)
            self.widgets[refused.field].focus_set()
            return
        self._dialog(SAVED_TITLE, SAVED_MESSAGE.format(numero=numero), parent=self.form_window)
        for variable in self.values.values():
            variable.set("")
        self.widgets["reference"].focus_set()


def _first_starting_with(prefix: str) -> str | None:
    folded = prefix.casefold()
    return next((value for value in TYPES_DEMANDE if value.casefold().startswith(folded)), None)


def run_client(database: Path, display: str | None = None) -> None:
    """Open the client on `display` (default: $DISPLAY) with its records in `database`; return when it is closed."""
    LegacyClient(CaseStore(database), display=display).run()
