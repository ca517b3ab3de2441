"""One recording from start to file, as `robo record` does it: the browser opened on the address, the person's
actions heard until the browser is closed (or Ctrl+C, or the end of a test's `drive`), the workflow built,
checked and written atomically, and what happened said in the reader's language."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from robots.kit import ConfigurationError, _
from runner.language import render_all
from runner.recorder.data import ITEM_NAME, Sheet, jinja_string, read_sheet
from runner.recorder.document import RecordedWorkflow, build_workflow
from runner.recorder.session import Recorder

Drive = Callable[[Any], Awaitable[None]]
"""What a test does in the recording browser, given its page, in place of a person (`headless=True`)."""


@dataclass(frozen=True)
class RecordingRequest:
    """What `robo record` was asked: the address, the output file, the data file, folding, and a test's hooks."""

    url: str
    output: Path
    data: Path | None = None
    fold: bool = True
    headless: bool = False
    settings: dict[str, Any] | None = None


async def record(
    request: RecordingRequest, say: Callable[[str], None], drive: Drive | None = None
) -> RecordedWorkflow:
    """Record until the browser is closed (or the task is cancelled: Ctrl+C), then write the workflow."""
    request = replace(request, url=recording_address(request.url))
    sheet: Sheet | None = read_sheet(request.data) if request.data is not None else None
    _check_writable(request.output)  # before the person spends time on a recording that could not be saved
    recorder = Recorder(request.url, headless=request.headless, say=say, settings=request.settings)
    try:
        page = await recorder.start()
        say(_("Recording: do what the workflow must do, then close the browser (or press Ctrl+C here)."))
        if drive is not None:
            await drive(page)
        else:
            await recorder.closed()
    except asyncio.CancelledError:  # Ctrl+C: what was recorded so far is still written
        say(_("Interrupted: writing what was recorded so far."))
    finally:
        actions = await recorder.stop()
    workflow = build_workflow(actions, url=request.url, output=request.output, sheet=sheet, fold=request.fold)
    workflow.write(request.output)
    for replacement in workflow.replaced:
        say(
            _("'{value}' replaced by {expression}").format(
                value=replacement.value,
                expression="{{ " + ITEM_NAME + "[" + jinja_string(replacement.column) + "] }}",
            )
        )
    if sheet is not None and not workflow.looped:
        say(_("no value typed is in the first row of {path}: no loop was made").format(path=sheet.path))
    for note in recorder.notes:
        say(_("warning: {note}").format(note=note))
    steps = len(actions)
    say(_("{count} actions recorded in {path}").format(count=steps, path=request.output))
    if not workflow.valid:
        say(render_all(workflow.diagnostics, {str(request.output): workflow.text.splitlines()}))
    return workflow


def recording_address(url: str) -> str:
    """The address the recording opens: as given when it is a web or file address, with `http://` before a bare
    host name (`intranet.local/connexion`, `127.0.0.1:8700`); anything else is refused before a browser opens."""
    address = url.strip()
    if "://" in address:
        scheme = urlsplit(address).scheme.lower()
    elif re.match(r"[a-z][a-z0-9+.-]*:(?!\d)", address, re.IGNORECASE):  # javascript:, mailto:, data:
        scheme = address.split(":", 1)[0].lower()
    elif address and not any(c.isspace() for c in address):
        address, scheme = f"http://{address}", "http"
    else:
        scheme = ""
    parts = urlsplit(address)
    try:
        parts.port  # noqa: B018 (a port that is not a number raises)
    except ValueError:
        scheme = ""
    if scheme not in ("http", "https", "file") or (scheme != "file" and not parts.hostname):
        raise ConfigurationError(
            _("'{url}' is not a web address").format(url=url),
            hint=_("give the first page's address, e.g. http://intranet/connexion"),
        )
    return address


def _check_writable(output: Path) -> None:
    folder = output.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            _("the folder {folder} cannot be created: {reason}").format(
                folder=folder, reason=exc.strerror or exc
            )
        ) from None
    if not os.access(folder, os.W_OK) or output.is_dir():
        raise ConfigurationError(
            _("the workflow cannot be written to {path}").format(path=output),
            hint=_("choose a file in a folder you may write to, with -o"),
        )


def run_recording(request: RecordingRequest, say: Callable[[str], None]) -> RecordedWorkflow:
    """`record` on an event loop of its own (the command line's entry point)."""
    return asyncio.run(record(request, say))
