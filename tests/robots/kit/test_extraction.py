r"""Extraction with a regular expression: named groups as fields, nothing or several said, hostile input bounded."""

from __future__ import annotations

import time

import pytest

from robots.kit import BusinessError, WorkflowBug, extract, pattern_problem
from robots.kit import extraction as extraction_module

REFERENCE = r"(?P<ref>DOS-\d{4}-\d{4})"
LETTER = "Objet : dossier DOS-2026-0001 — Madame, votre dossier DOS-2026-0001 est complet."


class TestWhatAMatchGives:
    def test_named_groups_become_the_fields(self) -> None:
        assert extract(LETTER, pattern=r"(?P<ref>DOS-(?P<annee>\d{4})-\d{4})") == {
            "ref": "DOS-2026-0001",
            "annee": "2026",
        }

    def test_a_single_unnamed_group_gives_its_text_and_no_group_the_whole_match(self) -> None:
        assert extract(LETTER, pattern=r"DOS-(\d{4})-\d{4}") == "2026"
        assert extract(LETTER, pattern=r"DOS-\d{4}-\d{4}") == "DOS-2026-0001"

    def test_accents_in_the_expression_and_the_text_match_whatever_their_unicode_form(self) -> None:
        decomposed = "Réf. dossier : e\u0301te\u0301-12"  # "été" written with combining accents
        assert extract(decomposed, pattern=r"dossier : (?P<mot>été)-(?P<n>\d+)") == {"mot": "été", "n": "12"}

    def test_a_document_reader_result_is_searched_in_its_text(self) -> None:
        assert extract({"text": LETTER, "pages": 1}, pattern=REFERENCE) == {"ref": "DOS-2026-0001"}


class TestHowManyCandidates:
    def test_the_same_value_twice_is_one_candidate(self) -> None:
        assert extract(LETTER, pattern=REFERENCE) == {"ref": "DOS-2026-0001"}

    def test_nothing_found_fails_saying_so(self) -> None:
        with pytest.raises(BusinessError) as caught:
            extract("Madame, Monsieur,", pattern=REFERENCE)
        assert caught.value.message == f"nothing in the text matches the expression {REFERENCE!r}"
        assert "(?i)" in (caught.value.hint or "")

    def test_several_different_values_fail_listing_them_all(self) -> None:
        text = "Dossiers DOS-2026-0001, DOS-2026-0002 et DOS-2026-0003."
        with pytest.raises(BusinessError) as caught:
            extract(text, pattern=REFERENCE)
        assert caught.value.message == (
            f"3 different candidates for the expression {REFERENCE!r} in the text, where one was expected: "
            "ref='DOS-2026-0001'; ref='DOS-2026-0002'; ref='DOS-2026-0003'"
        )
        assert "expect: first" in (caught.value.hint or "")

    def test_first_and_all_are_chosen_explicitly(self) -> None:
        text = "Dossiers DOS-2026-0002, DOS-2026-0001 et DOS-2026-0002."
        assert extract(text, pattern=REFERENCE, expect="first") == {"ref": "DOS-2026-0002"}
        assert extract(text, pattern=REFERENCE, expect="all") == [
            {"ref": "DOS-2026-0002"},
            {"ref": "DOS-2026-0001"},
        ]
        assert extract("rien", pattern=REFERENCE, expect="all") == []
        with pytest.raises(BusinessError):
            extract("rien", pattern=REFERENCE, expect="first")

    def test_nothing_valid_lists_what_was_seen_and_refused(self) -> None:
        with pytest.raises(BusinessError) as caught:
            extract("SIRET : 130 025 265 00014", kind="siret")
        assert caught.value.message == "no SIRET number in the text"
        assert caught.value.cause == (
            (
                "seen but refused at character 9: '130 025 265 00014': its check key is wrong: this is not a "
                "valid SIRET (a digit mistyped?)"
            ),
        )

    def test_a_long_list_of_candidates_is_cut_in_the_message(self) -> None:
        text = " ".join(f"DOS-2026-{number:04d}" for number in range(1, 40))
        with pytest.raises(BusinessError) as caught:
            extract(text, reference="DOS-####-####")
        assert caught.value.message.startswith("39 different candidates")
        assert caught.value.message.endswith("'DOS-2026-0010' …")

    def test_an_unknown_expect_or_no_pattern_is_a_workflow_bug(self) -> None:
        with pytest.raises(WorkflowBug, match="expect is 'un'"):
            extract(LETTER, pattern=REFERENCE, expect="un")
        with pytest.raises(WorkflowBug, match="needs a pattern"):
            extract(LETTER, kind="siert")


class TestInvalidExpressions:
    @pytest.mark.parametrize(
        ("pattern", "message", "hint"),
        [
            (
                r"(?P<ref>DOS-\d{4}",
                (
                    r"the regular expression '(?P<ref>DOS-\\d{4}' is not valid at its end: "
                    "a parenthesis is not closed"
                ),
                "add the missing ')'",
            ),
            ("DOS-[0-9", "at its end: a '[' is not closed by ']'", "write '\\['"),
            ("*DOS", "at character 1: a repetition ('*', '+', '?', '{…}') repeats nothing", "write '\\*'"),
            ("DOS)", "at character 4: a ')' closes no parenthesis", "remove it"),
            (r"(?P<1>x)", "a group's name is missing or not valid", "(?P<name>…)"),
            (r"\q", "a backslash starts an unknown sequence", "single quotes"),
        ],
    )
    def test_an_invalid_expression_says_where_what_and_how(
        self, pattern: str, message: str, hint: str
    ) -> None:
        problem = pattern_problem(pattern)
        assert problem is not None
        assert message in problem.message
        assert hint in problem.hint

    def test_an_invalid_expression_in_an_extraction_is_a_workflow_bug_pointing_at_the_place(self) -> None:
        with pytest.raises(WorkflowBug) as caught:
            extract(LETTER, pattern="DOS-(\\d{4}")
        assert caught.value.cause == ("DOS-(\\d{4}", "          ^")

    def test_a_huge_expression_is_refused_before_compiling(self) -> None:
        problem = pattern_problem("a" * 100_000)
        assert problem is not None
        assert "100,000 characters, more than the limit of 2,000" in problem.message


class TestHostileInput:
    def test_an_expression_that_backtracks_without_end_is_stopped_in_time(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(extraction_module, "SEARCH_SECONDS", 0.3)
        started = time.monotonic()
        with pytest.raises(BusinessError) as caught:
            extract("a" * 40, pattern=r"(a|aa)+c")  # about 2**40 ways to fail without the bound
        assert time.monotonic() - started < 5
        assert caught.value.message == "the search for the expression '(a|aa)+c' was stopped after 0.3 s"
        assert "nested repetitions" in (caught.value.hint or "")

    def test_a_text_beyond_the_limit_is_refused_not_cut(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(extraction_module, "MAX_TEXT_LENGTH", 1_000)
        with pytest.raises(BusinessError, match="the text has 1,001 characters, more than the 1,000"):
            extract("x" * 1_001, pattern=REFERENCE)

    def test_an_expression_matching_everywhere_stops_at_the_candidate_limit(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(extraction_module, "MAX_CANDIDATES", 50)
        with pytest.raises(BusinessError, match="more than 50 candidates"):
            extract("x" * 1_000, pattern="", expect="all")

    def test_no_text_is_said_plainly(self) -> None:
        with pytest.raises(BusinessError, match="there is no text to search"):
            extract(None, pattern=REFERENCE)

    def test_template_syntax_in_a_document_is_only_text(self) -> None:
        text = "Réf. {{ secrets.motdepasse }} DOS-2026-0001 {% for x in y %}"
        assert extract(text, pattern=r"Réf\. (?P<brut>\S+ \S+ \S+)") == {"brut": "{{ secrets.motdepasse }}"}
