r"""The documents robot's extraction: a value out of a text, by a regular expression or a ready pattern.

The patterns and the rules (nothing or several candidates fail, never one picked silently) are the kit's
(`robots.kit.extract`), shared with the templates' `extract` and `find` filters.
"""

from __future__ import annotations

from typing import Any

from robots.kit import Expect, Kind, ReferenceShape, RegularExpression, Robot, action, extract


class ExtractionActions(Robot):
    """Extracting values from a text (mixed into the documents robot)."""

    @action(name="extract", one_of=[("pattern", "kind", "reference")])
    def extract_value(
        self,
        text: str,
        *,
        pattern: RegularExpression | None = None,
        kind: Kind | None = None,
        reference: ReferenceShape | None = None,
        expect: Expect = "one",
    ) -> Any:
        r"""Extract a value from a text: by a regular expression, a ready pattern or a reference shape.

        The same value found several times counts once. With `expect: one` (the default) the step fails
        when the text holds nothing or several different values, and the message lists them: a value is
        never picked silently.

        Args:
            text: The text to search, e.g. "{{ courrier.text }}".
            pattern: A regular expression; its named groups become the fields of the result, e.g.
                '(?P<ref>DOS-\d{4}-\d{4})' gives {ref: DOS-2026-0001}. Start it with (?i) to ignore case.
            kind: A ready pattern: siret, siren (checked by their Luhn key), iban (checked by its mod-97 key),
                date (12/03/2026, 2026-03-12, "1er mars 2026": a date) or amount ("1 234,56 €": a number).
            reference: The shape of a dossier reference: # a digit, @ a letter, * either, e.g. DOS-####-####;
                case and spaces around its separators do not matter (scans).
            expect: How many values: one (exactly one, else the step fails), first (the first in the text) or
                all (the list of every value, possibly empty).

        Returns:
            The value found (a text, a mapping of the named groups, a date or a number), or the list of
            values with `expect: all`.
        """
        return extract(text, pattern=pattern, kind=kind, reference=reference, expect=expect)
