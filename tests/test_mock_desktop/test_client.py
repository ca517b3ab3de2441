"""The legacy client driven as an agent would, from outside, with xdotool only: log in, type, click « Valider »."""

from __future__ import annotations

import pytest

from tests.mock_desktop import (
    ERROR_TITLE,
    FORM_TITLE,
    FOUND_TITLE,
    LOGIN_ERROR_TITLE,
    NOT_FOUND_TITLE,
    SAVED_TITLE,
    SEARCH_TITLE,
    TEXT_FIELDS,
    VALIDER_POSITION,
    StoredCase,
)
from tests.mock_desktop.fixtures import MockDesktop
from tests.mock_intranet import DEFAULT_ACCOUNT

RECORDS = [
    {
        "reference": "REF-2026-001",
        "nom": "Dupré",
        "prenom": "Hélène",
        "commune": "Saint-Étienne",
        "montant": "1 250,50",
        "type_demande": "Aide à l'emploi",
    },
    {
        "reference": "REF-2026-002",
        "nom": "Öztürk",
        "prenom": "Çağla",
        "commune": "Besançon",
        "montant": "980",
        "type_demande": "Formation",
    },
    {
        "reference": "REF-2026-003",
        "nom": "Lefèvre-Noël",
        "prenom": "Aïcha",
        "commune": "L'Haÿ-les-Roses",
        "montant": "12.30",
        "type_demande": "Autre",
    },
]


def log_in(desktop: MockDesktop, username: str, password: str) -> None:
    """Type the credentials into the login window and press Return."""
    desktop.xdotool.focus(desktop.login_window)
    desktop.xdotool.type(username)
    desktop.xdotool.key("Tab")
    desktop.xdotool.type(password)
    desktop.xdotool.key("Return")


def open_form(desktop: MockDesktop) -> str:
    """Log in as agent1; the form window's id."""
    log_in(desktop, DEFAULT_ACCOUNT.username, DEFAULT_ACCOUNT.password)
    return desktop.xdotool.wait_for_window(FORM_TITLE)


def fill_and_validate(desktop: MockDesktop, form: str, values: dict[str, str]) -> None:
    """Type each field from « Référence » on (Tab between them), choose the type, click « Valider »."""
    xdotool = desktop.xdotool
    xdotool.focus(form)
    for key, _label in TEXT_FIELDS:
        xdotool.type(values[key])
        xdotool.key("Tab")
    xdotool.type(values["type_demande"])
    xdotool.click_at(form, VALIDER_POSITION)


def close_dialog(desktop: MockDesktop, title: str) -> None:
    """Wait for the dialog titled `title`, press its OK button (Return), wait until it is gone."""
    desktop.xdotool.wait_for_window(title)
    desktop.xdotool.key("Return")
    desktop.xdotool.wait_until_closed(title)


def stored(number: int, values: dict[str, str], cents: int) -> StoredCase:
    """The row the client should have written for `values`."""
    return StoredCase(
        f"DOS-{number:06d}",
        values["reference"],
        values["nom"],
        values["prenom"],
        values["commune"],
        cents,
        values["type_demande"],
        DEFAULT_ACCOUNT.username,
    )


class TestEntry:
    def test_three_records_with_accents_are_stored_exactly(self, mock_desktop: MockDesktop) -> None:
        form = open_form(mock_desktop)
        for values in RECORDS:
            fill_and_validate(mock_desktop, form, values)
            close_dialog(mock_desktop, SAVED_TITLE)
        assert mock_desktop.cases() == [
            stored(1, RECORDS[0], 125050),
            stored(2, RECORDS[1], 98000),
            stored(3, RECORDS[2], 1230),
        ]

    @pytest.mark.parametrize(("field", "wrong"), [("nom", ""), ("montant", "douze")])
    def test_a_refused_record_is_stored_once_corrected_with_everything_else_as_typed(
        self, mock_desktop: MockDesktop, field: str, wrong: str
    ) -> None:
        form = open_form(mock_desktop)
        fill_and_validate(mock_desktop, form, {**RECORDS[0], field: wrong})
        close_dialog(mock_desktop, ERROR_TITLE)
        assert mock_desktop.cases() == []
        # The client puts the cursor back in the field to correct; the other fields keep what was typed.
        mock_desktop.xdotool.focus(form)
        mock_desktop.xdotool.key("End", *["BackSpace"] * len(wrong))
        mock_desktop.xdotool.type(RECORDS[0][field])
        mock_desktop.xdotool.click_at(form, VALIDER_POSITION)
        close_dialog(mock_desktop, SAVED_TITLE)
        assert mock_desktop.cases() == [stored(1, RECORDS[0], 125050)]

    def test_a_reference_entered_twice_is_refused(self, mock_desktop: MockDesktop) -> None:
        form = open_form(mock_desktop)
        fill_and_validate(mock_desktop, form, RECORDS[0])
        close_dialog(mock_desktop, SAVED_TITLE)
        fill_and_validate(mock_desktop, form, {**RECORDS[1], "reference": RECORDS[0]["reference"]})
        close_dialog(mock_desktop, ERROR_TITLE)
        assert mock_desktop.cases() == [stored(1, RECORDS[0], 125050)]


class TestSearch:
    def test_ctrl_f_tells_an_entered_reference_from_a_new_one(self, mock_desktop: MockDesktop) -> None:
        form = open_form(mock_desktop)
        fill_and_validate(mock_desktop, form, RECORDS[0])
        close_dialog(mock_desktop, SAVED_TITLE)
        xdotool = mock_desktop.xdotool
        for reference, answer in [(RECORDS[0]["reference"], FOUND_TITLE), ("REF-INCONNUE", NOT_FOUND_TITLE)]:
            xdotool.focus(form)
            xdotool.key("ctrl+f")
            xdotool.focus(xdotool.wait_for_window(SEARCH_TITLE))
            xdotool.type(reference)
            xdotool.key("Return")
            close_dialog(mock_desktop, answer)
            xdotool.wait_until_closed(SEARCH_TITLE)
        # Back in the form, the cursor in « Référence »: the next record goes in as usual.
        fill_and_validate(mock_desktop, form, RECORDS[1])
        close_dialog(mock_desktop, SAVED_TITLE)
        assert [case.reference for case in mock_desktop.cases()] == [
            RECORDS[0]["reference"],
            RECORDS[1]["reference"],
        ]


class TestLogin:
    def test_a_wrong_password_is_refused_and_the_form_stays_closed(self, mock_desktop: MockDesktop) -> None:
        log_in(mock_desktop, DEFAULT_ACCOUNT.username, "mauvais")
        close_dialog(mock_desktop, LOGIN_ERROR_TITLE)
        assert mock_desktop.xdotool.windows(FORM_TITLE) == []

    def test_a_disabled_account_is_refused(self, mock_desktop: MockDesktop) -> None:
        log_in(mock_desktop, "agent.inactif", "Motdepasse-0!")
        close_dialog(mock_desktop, LOGIN_ERROR_TITLE)
        assert mock_desktop.xdotool.windows(FORM_TITLE) == []
