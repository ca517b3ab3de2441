"""The ready patterns: SIRET, SIREN, IBAN, French dates and amounts in euros, found in texts and checked."""

from __future__ import annotations

import datetime as dt
import typing
from decimal import Decimal

import pytest

from robots.kit import READY_PATTERNS, Kind, extract, is_valid
from robots.kit.patterns import ready_candidates, reference_expression, reference_value

# Public numbers: DINUM (the State's digital directorate) and La Poste's head office; Google France's SIREN.
DINUM_SIRET = "13002526500013"
LA_POSTE_HEAD_OFFICE = "35600000000048"
LA_POSTE_OFFICE = (
    "35600000049837"  # an establishment of La Poste: no Luhn key, its digits sum to a multiple of 5
)
GOOGLE_FRANCE_SIREN = "443061841"
IBAN_EXAMPLE = "FR1420041010050500013M02606"  # the ECBS example, letters in its account number
IBAN_SPACED = "FR76 3000 6000 0112 3456 7890 189"


def values(kind: str, text: str) -> list[object]:
    return [candidate.value for candidate in ready_candidates(kind, text) if candidate.refused is None]


def refusals(kind: str, text: str) -> list[str]:
    return [candidate.refused for candidate in ready_candidates(kind, text) if candidate.refused is not None]


class TestSiret:
    @pytest.mark.parametrize(
        "written",
        [
            "13002526500013",
            "130 025 265 00013",
            "130\u00a0025\u00a0265\u00a000013",
            "130\u202f025\u202f265\u202f00013",
        ],
    )
    def test_a_public_siret_is_found_however_its_groups_are_spaced(self, written: str) -> None:
        assert values("siret", f"DINUM, SIRET : {written}.") == [DINUM_SIRET]
        assert is_valid("siret", written)

    def test_la_poste_establishments_use_their_own_rule(self) -> None:
        assert is_valid("siret", LA_POSTE_HEAD_OFFICE)
        assert is_valid("siret", LA_POSTE_OFFICE)
        # the same digits outside La Poste's SIREN fail the Luhn key
        assert not is_valid("siret", "35600000149837")

    def test_a_digit_off_by_one_is_refused_with_its_reason(self) -> None:
        text = "SIRET 130 025 265 00014"
        assert values("siret", text) == []
        assert refusals("siret", text) == [
            "its check key is wrong: this is not a valid SIRET (a digit mistyped?)"
        ]
        assert not is_valid("siret", "13002526500014")

    @pytest.mark.parametrize(
        "value", ["1300252650001", "130025265000130", "13002526500O13", "SIRET", "", None, 13002526500013.0]
    )
    def test_a_wrong_length_letters_or_no_text_are_not_a_siret(self, value: object) -> None:
        assert not is_valid("siret", value)

    def test_a_siret_is_not_read_out_of_a_longer_number(self) -> None:
        assert values("siret", "compte 9913002526500013 ") == []
        assert values("siret", "tél. 13002526500013999") == []


class TestSiren:
    def test_a_siren_is_found_and_checked(self) -> None:
        assert values("siren", "RCS Paris 443 061 841") == [GOOGLE_FRANCE_SIREN]
        assert is_valid("siren", "443 061 841")
        assert not is_valid("siren", "443 061 842")
        assert not is_valid("siren", "44306184")

    def test_the_siren_inside_a_siret_is_not_a_siren_of_its_own(self) -> None:
        assert values("siren", "SIRET 130 025 265 00013") == []
        assert values("siren", "SIRET 13002526500013") == []


class TestIban:
    @pytest.mark.parametrize("written", [IBAN_SPACED, IBAN_SPACED.replace(" ", "")])
    def test_a_french_iban_is_found_spaced_or_not_followed_by_its_bic(self, written: str) -> None:
        assert values("iban", f"IBAN : {written} BIC : AGRIFRPP") == ["FR7630006000011234567890189"]

    def test_an_iban_with_letters_and_ibans_of_other_countries(self) -> None:
        assert is_valid("iban", IBAN_EXAMPLE)
        assert is_valid("iban", "DE89 3704 0044 0532 0130 00")
        assert is_valid("iban", "GB82 WEST 1234 5698 7654 32")
        assert is_valid("iban", "BE71 0961 2345 6769")

    def test_a_wrong_key_a_wrong_length_and_letters_are_refused(self) -> None:
        assert refusals("iban", "FR76 3000 6000 0112 3456 7890 188") == [
            "its check key is wrong: this is not a valid IBAN (a digit mistyped?)"
        ]
        assert refusals("iban", "FR76 3000 6000 0112 3456 7890 18") == [
            "an IBAN starting with FR has 27 characters, this one has 26"
        ]
        assert not is_valid("iban", "FR76 3000 6000 0112 3456 7890 1")
        assert not is_valid("iban", "fr76 3000 6000 0112 3456 7890 189")
        assert refusals("iban", "XX76 3000 6000 0112 3456 7890 189") == [
            "XX is not the code of a country that has IBANs"
        ]


class TestDates:
    @pytest.mark.parametrize(
        ("written", "day"),
        [
            ("12/03/2026", dt.date(2026, 3, 12)),
            ("12-03-26", dt.date(2026, 3, 12)),
            ("12.03.2026", dt.date(2026, 3, 12)),
            ("2026-03-12", dt.date(2026, 3, 12)),
            ("1/2/2026", dt.date(2026, 2, 1)),
            ("3 mars 2026", dt.date(2026, 3, 3)),
            ("1er janvier 2026", dt.date(2026, 1, 1)),
            ("1ᵉʳ février 2026", dt.date(2026, 2, 1)),
            ("lundi 12 mars 2026", dt.date(2026, 3, 12)),
            ("15 août 2026", dt.date(2026, 8, 15)),
            ("15 aout 2026", dt.date(2026, 8, 15)),
            ("25 décembre 2026", dt.date(2026, 12, 25)),
            ("25 DÉCEMBRE 2026", dt.date(2026, 12, 25)),
            ("2 févr. 2026", dt.date(2026, 2, 2)),
            ("30 sept. 2026", dt.date(2026, 9, 30)),
        ],
    )
    def test_a_french_date_in_digits_or_in_words_gives_the_day(self, written: str, day: dt.date) -> None:
        assert values("date", f"Fait à Lyon, le {written}.") == [day]

    def test_decomposed_accents_are_read_like_composed_ones(self) -> None:
        decomposed = "1er fe\u0301vrier 2026"  # é as e + combining accent, as some PDFs give it
        assert extract(decomposed, kind="date") == dt.date(2026, 2, 1)

    def test_a_day_that_does_not_exist_is_refused(self) -> None:
        assert refusals("date", "le 31/02/2026") == ["there is no such day in the calendar"]
        assert refusals("date", "le 30 février 2026") == ["there is no such day in the calendar"]

    def test_words_that_are_not_a_month_and_numbers_that_are_not_dates_give_nothing(self) -> None:
        assert ready_candidates("date", "3 pommes 2026, version 1.2.3, tél. 01/02/03/04") == []


class TestAmounts:
    @pytest.mark.parametrize(
        ("written", "amount"),
        [
            ("1 234,56 €", Decimal("1234.56")),
            ("1\u00a0234,56\u00a0€", Decimal("1234.56")),
            ("1\u202f234,56\u202f€", Decimal("1234.56")),
            ("1.234,56 EUR", Decimal("1234.56")),
            ("1234,56€", Decimal("1234.56")),
            ("12 €", Decimal("12")),
            ("12 euros", Decimal("12")),
            ("1 euro", Decimal("1")),
            ("12,5 Euros", Decimal("12.5")),
            ("12.50 €", Decimal("12.50")),
            ("EUR 12,50", Decimal("12.50")),
            ("€ 1 000", Decimal("1000")),
            ("1 000 000 €", Decimal("1000000")),
            ("-45,10 €", Decimal("-45.10")),
        ],
    )
    def test_an_amount_in_any_french_writing_gives_its_number(self, written: str, amount: Decimal) -> None:
        assert values("amount", f"Montant à régler : {written} TTC") == [amount]

    def test_numbers_without_a_currency_are_not_amounts(self) -> None:
        assert values("amount", "Dossier 1 234, page 12, 3,5 kg") == []

    def test_several_amounts_are_all_candidates_in_order(self) -> None:
        assert values("amount", "HT 100,00 € ; TVA 20,00 € ; TTC 120,00 €") == [
            Decimal("100.00"),
            Decimal("20.00"),
            Decimal("120.00"),
        ]


class TestReferenceShapes:
    def test_a_shape_finds_its_references_and_gives_them_in_its_form(self) -> None:
        text = "Votre dossier DOS-2026-0001 ; rappel : dos - 2026 - 0002 (scan) ; pas XDOS-2026-0003"
        assert extract(text, reference="DOS-####-####", expect="all") == ["DOS-2026-0001", "DOS-2026-0002"]

    def test_letters_and_either_in_a_shape(self) -> None:
        assert extract("réf. AB/12-X9", reference="@@/##-**") == "AB/12-X9"
        assert reference_value("@@/##-**", "ab / 12-x9") == "AB/12-X9"

    def test_a_shape_with_regular_expression_characters_stays_literal(self) -> None:
        assert extract("n° (A.1) et n° (AB1)", reference="(@.#)", expect="all") == ["(A.1)"]
        assert "\\(" in reference_expression("(@.#)")


class TestDeclarations:
    def test_the_kinds_an_action_accepts_are_the_ready_patterns(self) -> None:
        assert set(typing.get_args(Kind)) == set(READY_PATTERNS)

    def test_spaced_digits_without_a_currency_are_read_in_linear_time(self) -> None:
        # "123 123 123 …" once made the amount expression try every start against all the groups after it
        assert extract("123 " * 100_000, kind="amount", expect="all") == []
