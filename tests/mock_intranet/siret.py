"""SIRET numbers: 14 digits whose Luhn checksum is valid."""

from __future__ import annotations

SIRET_LENGTH = 14


def luhn_checksum(digits: str) -> int:
    """Luhn sum modulo 10 of a string of digits (0 means valid)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10


def luhn_check_digit(digits_without_check: str) -> str:
    """The digit to append to `digits_without_check` so that the whole passes the Luhn check."""
    return str((10 - luhn_checksum(digits_without_check + "0")) % 10)


def normalize_siret(value: str) -> str:
    """Remove the spaces (and non-breaking spaces) agents type between digit groups."""
    return "".join(value.split())


def is_valid_siret(value: str) -> bool:
    """True when `value` (spaces ignored) is 14 digits with a valid Luhn checksum."""
    digits = normalize_siret(value)
    return (
        len(digits) == SIRET_LENGTH and digits.isascii() and digits.isdigit() and luhn_checksum(digits) == 0
    )
