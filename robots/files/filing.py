"""Filing documents by ordered rules: which rule takes each document, where it goes, and the review folder.

Every document gets one record saying what happened to it and why: the rule that filed it (its name or its
conditions) and what the rule captured, or the reason it went to the review folder (no rule matched, its text
could not be read, a rule found several different values or an empty one). The review folder keeps a
`_motifs.csv` beside the documents, one line per document placed there, so that the person who reviews them
sees why each one is there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Literal

from robots.files.rules import (
    MIN_CONFIDENCE,
    DocumentTexts,
    FilingRule,
    Problem,
    Verdict,
    file_record,
    judge,
    nfc,
)
from robots.files.text import render_destination
from robots.kit import (
    BusinessError,
    OnConflict,
    Placement,
    RobotContext,
    Transfer,
    _,
    atomic_file,
    format_number,
    ngettext,
    one_writer,
    shared_reader,
)

Record = dict[str, Any]
Status = Placement | Literal["left", "gone"]
REASONS_FILE = "_motifs.csv"
"""The file in the review folder saying why each document is there (its name does not depend on the language)."""


@dataclass
class Step:
    """One document's fate, decided before anything is moved."""

    source: Path
    destination: Path | None = None
    rule: str | None = None
    captures: dict[str, str] = field(default_factory=dict)
    problem: Problem | None = None
    reason: str | None = None
    review: bool = False
    gone: bool = False


def _shape(path: str) -> tuple[str, int]:
    """A path's anchor and depth once "." and ".." are resolved."""
    parts = PurePath(os.path.normpath(path)).parts
    return (PurePath(path).anchor, len(parts))


def reason_text(problem: Problem, rule: str | None, detail: str, threshold: float = MIN_CONFIDENCE) -> str:
    """Why a document was not filed, as the person reviewing it reads it."""
    if problem == "unreadable":
        return _(
            "no text could be read from it (a scan without text, or an empty, damaged or protected document)"
        )
    if problem == "low_confidence":
        return _(
            "its text was read by OCR with a confidence of {confidence} %, below {threshold} %: a reference may be "
            "misread"
        ).format(confidence=detail, threshold=format_number(threshold))
    if problem == "ambiguous":
        return _("rule '{rule}' found several different values: {values}").format(rule=rule, values=detail)
    if problem == "empty_capture":
        return _("rule '{rule}' captured nothing usable: {value}").format(rule=rule, value=detail)
    return _("no rule matched")


class Filing:
    """Files a batch of documents: plans every one first, then moves or copies them, then reports."""

    def __init__(
        self,
        context: RobotContext,
        transfer: Transfer,
        mode: Literal["move", "copy"],
        on_conflict: OnConflict,
        min_confidence: float = MIN_CONFIDENCE,
    ) -> None:
        self.context = context
        self.transfer = transfer
        self.mode = mode
        self.on_conflict = on_conflict
        self.min_confidence = min_confidence

    def plan(
        self, rules: list[FilingRule], sources: list[Path], default: str | None, review: str | None
    ) -> list[Step]:
        """Where each document goes; a document's text is read at most once, and only if a rule needs it."""
        texts = DocumentTexts(lambda: shared_reader(self.context), self.min_confidence)  # one reading process
        steps = []
        for source in sources:
            try:
                steps.append(self._plan_one(rules, source, texts, default, review))
            except FileNotFoundError:  # another run took it since it was listed
                steps.append(Step(source, gone=True))
            texts.forget(source)
        return steps

    def _plan_one(
        self,
        rules: list[FilingRule],
        source: Path,
        texts: DocumentTexts,
        default: str | None,
        review: str | None,
    ) -> Step:
        record = file_record(source)
        name = nfc(source.name)  # a name written decomposed (macOS) is filed composed, as Windows writes it
        problem: Problem | None = None
        problem_rule: str | None = None
        detail = ""
        for index, rule in enumerate(rules, start=1):
            label = rule.label(index)
            verdict = self._judge(rule, label, source, texts)
            if verdict.matched:
                destination = self._destination(rule.to, record, verdict.captures, label)
                return Step(source, destination / name, label, verdict.captures)
            if verdict.problem in ("ambiguous", "empty_capture"):  # its kind of document: a person decides
                problem, problem_rule, detail = verdict.problem, label, verdict.detail
                break
            if verdict.problem == "low_confidence":  # a later rule on its name or type may still take it
                problem, detail = "low_confidence", verdict.detail
            elif verdict.problem == "unreadable" and problem is None:
                problem = "unreadable"
        problem = problem or "no_rule"
        reason = reason_text(problem, problem_rule, detail, self.min_confidence)
        if default is not None and (problem == "no_rule" or review is None):
            folder = self._destination(default, record, {}, "default")
            return Step(source, folder / name, "default", problem=problem, reason=reason)
        if review is not None:
            folder = self.context.resolve_path(review)
            return Step(source, folder / name, None, problem=problem, reason=reason, review=True)
        return Step(source, None, None, problem=problem, reason=reason)

    @staticmethod
    def _judge(rule: FilingRule, label: str, source: Path, texts: DocumentTexts) -> Verdict:
        """The rule's verdict; a search its expression cannot finish in time stops the run, naming the rule."""
        try:
            return judge(rule, source, texts)
        except BusinessError as exc:  # the kit's bound on a regular expression's search (time, candidates)
            raise BusinessError(
                _("files.file_by_rules: rule '{rule}' on {name}: {problem}").format(
                    rule=label, name=source.name, problem=exc.message
                ),
                hint=exc.hint,
            ) from None

    def _destination(self, template: str, record: Record, captures: dict[str, str], label: str) -> Path:
        parameter = "default" if label == "default" else "rules.to"
        rendered = render_destination(template, record, captures)
        self.context.refuse_outside("files.file_by_rules", parameter, rendered, template)
        if captures:  # each made one safe name; the destination must have the shape the template alone gives
            neutral = render_destination(template, record, dict.fromkeys(captures, "x"))
            if _shape(rendered) != _shape(neutral):
                raise BusinessError(
                    _(
                        "files.file_by_rules: the captures of rule '{rule}' change the shape of its folder: {path}"
                    ).format(rule=label, path=rendered),
                    hint=_("a capture gives one folder or file name; use several groups for several folders"),
                )
        return self.context.resolve_path(rendered)

    def execute(self, steps: list[Step]) -> list[Record]:
        """Move or copy every planned document; with `on_conflict: fail`, nothing moves if one name is taken."""
        if self.on_conflict == "fail":
            self._check_free(steps)
        summary: list[Record] = []
        reviewed: list[tuple[Step, Path]] = []
        for step in steps:
            status, final = self._place(step)
            entry: Record = {
                "name": step.source.name,
                "source": str(step.source),
                "destination": str(final) if final else None,
                "rule": step.rule,
                "match": step.captures,
                "status": status,
                "review": step.review,
                "problem": step.problem,
                "reason": step.reason,
            }
            summary.append(entry)
            self._say(step, status, final)
            if step.review and final is not None and status in ("moved", "copied"):
                reviewed.append((step, final))
        if reviewed:
            self._write_reasons(reviewed)
        self._sum_up(summary)
        return summary

    def _check_free(self, steps: list[Step]) -> None:
        reserved: set[Path] = set()
        clashes: list[str] = []
        for step in steps:
            if step.destination is None:
                continue
            try:
                final = self.transfer.destination(step.source, step.destination, "fail", reserved)
            except BusinessError:
                clashes.append(str(step.destination))
                final = step.destination
            if final is not None:
                reserved.add(final)
        if clashes:
            shown = ", ".join(clashes[:5]) + (" …" if len(clashes) > 5 else "")
            raise BusinessError(
                ngettext(
                    "files.file_by_rules: {n} destination already taken, nothing was filed: {paths}",
                    "files.file_by_rules: {n} destinations already taken, nothing was filed: {paths}",
                    len(clashes),
                ).format(n=len(clashes), paths=shown),
                hint=_(
                    "choose `on_conflict: skip_identical` (files the same bytes once, keeps different ones as "
                    "'name (2).ext'), `rename` (keeps both), `skip` or `overwrite`"
                ),
            )

    def _place(self, step: Step) -> tuple[Status, Path | None]:
        if step.gone:
            return "gone", None
        if step.destination is None:
            return "left", None
        try:
            final, placement = self.transfer.place_file(
                step.source, step.destination, self.on_conflict, keep_source=self.mode == "copy"
            )
            return placement, final
        except FileNotFoundError:
            if step.source.exists():
                raise
            return "gone", None  # another run filed it meanwhile

    def _say(self, step: Step, status: Status, final: Path | None) -> None:
        name = step.source.name
        if status == "gone":
            line = _("files.file_by_rules: {name} is no longer there (another run took it)")
        elif status == "left":
            line = _("files.file_by_rules: {name} left in place: {reason}")
        elif status == "identical":
            line = _("files.file_by_rules: {name} was already there, the same bytes: {folder}")
        elif status == "skipped":
            line = _("files.file_by_rules: {name} skipped, its name is taken in {folder}")
        elif step.review:
            line = _("files.file_by_rules: {name} to review in {folder}: {reason}")
        elif step.problem is not None:
            line = _("files.file_by_rules: {name} to the default folder {folder}: {reason}")
        else:
            line = _("files.file_by_rules: {name} filed by rule '{rule}' in {folder}")
        folder = (final or step.destination or step.source).parent
        self.context.log(line.format(name=name, reason=step.reason, folder=folder, rule=step.rule))

    def _write_reasons(self, reviewed: list[tuple[Step, Path]]) -> None:
        """Add one line per document placed in a review folder to its `_motifs.csv` (written whole, atomically)."""
        by_folder: dict[Path, list[tuple[Step, Path]]] = {}
        for step, final in reviewed:
            by_folder.setdefault(final.parent, []).append((step, final))
        moment = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        for folder, entries in by_folder.items():
            path = folder / REASONS_FILE
            with one_writer(path, self.context.run_id, "files"):
                previous = path.read_text(encoding="utf-8-sig") if path.exists() else ""
                buffer = io.StringIO()
                writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
                if not previous:
                    writer.writerow(
                        [_("date"), _("document"), _("reason"), _("original place"), _("problem code")]
                    )
                for step, final in entries:
                    writer.writerow([moment, final.name, step.reason, str(step.source), step.problem])
                with atomic_file(
                    path, "w", run_id=self.context.run_id, encoding="utf-8-sig", newline=""
                ) as out:
                    out.write(previous + buffer.getvalue())

    def _sum_up(self, summary: list[Record]) -> None:
        by_rule = Counter(
            entry["rule"] for entry in summary if entry["rule"] and entry["status"] in ("moved", "copied")
        )
        to_review = sum(1 for entry in summary if entry["review"] and entry["status"] in ("moved", "copied"))
        identical = sum(1 for entry in summary if entry["status"] == "identical")
        parts = [f"{rule} {count}" for rule, count in by_rule.items()]
        if parts or to_review or identical:
            self.context.log(
                _(
                    "files.file_by_rules: by rule: {rules}; to review: {review}; already filed: {identical}"
                ).format(rules=", ".join(parts) or "0", review=to_review, identical=identical)
            )
        done = sum(1 for entry in summary if entry["status"] in ("moved", "copied"))
        if self.mode == "copy":
            line = ngettext(
                "files.file_by_rules: {done} of {n} file copied",
                "files.file_by_rules: {done} of {n} files copied",
                len(summary),
            )
        else:
            line = ngettext(
                "files.file_by_rules: {done} of {n} file moved",
                "files.file_by_rules: {done} of {n} files moved",
                len(summary),
            )
        self.context.log(line.format(done=done, n=len(summary)))
