"""A robot's messages under a French and an English locale: the `spoken` fixture, shared by the robot tests.

The language comes from the environment as a user's would (`LANG`, the suite's `ROBO_LANG=en` removed); after the
test, the process speaks English again (the suite's language).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from robots.kit import set_language

LOCALES = {"fr": "fr_FR.UTF-8", "en": "C"}
"""The `LANG` of each language tested: French by the locale, English under `LANG=C`."""


@pytest.fixture(params=sorted(LOCALES), ids=lambda language: f"LANG={LOCALES[language]}")
def spoken(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The language ("fr" or "en") this process speaks for one test, chosen from `LANG` alone."""
    for name in ("ROBO_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", LOCALES[request.param])
    assert set_language() == request.param
    yield request.param
    set_language("en")
