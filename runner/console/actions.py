"""What an operator does from the console: run a workflow now with its inputs, retry a run's failed items, resume
an interrupted or crashed run, mark an item to check as done or to redo (with a comment), pause and resume a
schedule.

Each action is the command line's own: a run is `robo run` / `robo runs retry` started as its own detached process
(`start_in_background`; the console answers at once, the run appears in the runs list), a mark is `robo runs
mark`'s `mark_item`, a pause is `robo schedule pause`'s `set_paused`. What the console adds is checking what the
form sent (nothing from it becomes a path or a command option), and writing the action to the operators' log
BEFORE doing it: a log that refuses a record (it was tampered with) means nothing is done.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from robots.kit import N_, ConfigurationError, _
from runner.console.access import OperatorsLog, Role, client_address, current_user, operators_log_path
from runner.console.launches import Launch, start_in_background
from runner.engine import resolve_inputs
from runner.events import STOPPED_BEFORE_END, ItemStatus, RunStatus, item_status_text, run_status_text
from runner.language import Workflow, validate_file
from runner.record import RunRecord
from runner.review import mark_item as mark_item_in_store
from runner.review import reported
from runner.schedule import Catalogue, set_paused, workflow_files

if TYPE_CHECKING:
    from runner.console.pages import Console

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_FIELD = 10_000  # a value longer than this is refused unread
MAX_COMMENT = 2_000
MAX_LISTED_ACTIONS = 200
RETRYABLE = frozenset(
    {RunStatus.COMPLETED_WITH_ERRORS, RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.CRASHED}
)
UNFINISHED_ITEMS = frozenset(
    {
        ItemStatus.PENDING,
        ItemStatus.IN_PROGRESS,
        ItemStatus.FAILED_BUSINESS,
        ItemStatus.FAILED_APPLICATION,
        ItemStatus.FAILED_WORKFLOW,
        ItemStatus.TO_CHECK,
    }
)

# What the page says after an action, by the code the redirect carries (`?done=…`): never text from the request.
DONE_MESSAGES: dict[str, str] = {
    "retry": N_("The failed items are being done again: the run's status changes as it goes."),
    "resume": N_("The run is being resumed: the run's status changes as it goes."),
    "run": N_("The workflow has started: its run appears in the runs list."),
    "marked-done": N_("The item is marked as done: it will not be done again."),
    "marked-redo": N_("The item is marked to redo: the next retry does it again."),
    "paused": N_("The schedule is paused."),
    "resumed": N_("The schedule is resumed."),
}


def _no_workflows_folder() -> str:
    return _("the console was started without a workflows folder (robo dashboard --workflows FOLDER)")


ACTION_WORDS: dict[str, str] = {  # the operators' log's action names, as the run's page says them
    "run": N_("run now"),
    "retry": N_("retry failed items"),
    "resume": N_("resume"),
    "mark": N_("mark an item"),
    "pause_schedule": N_("pause the schedule"),
    "resume_schedule": N_("resume the schedule"),
    "run_schedule": N_("run the schedule now"),
}


def action_text(action: str) -> str:
    """An action of the operators' log as a person reads it (an unknown one as it is)."""
    word = ACTION_WORDS.get(action)
    return _(word) if word else action


class ActionRefused(Exception):
    """An action not done, and why (a person reads it on the page)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def done_message(request: Request) -> str:
    """The message of the action just done (a template global), or nothing."""
    message = DONE_MESSAGES.get(request.query_params.get("done", ""))
    return _(message) if message else ""


def may_act(request: Request) -> bool:
    """Whether the person behind `request` is an operator (the pages show the acting buttons to them only)."""
    user = current_user(request)
    return user is not None and user.role.allows(Role.OPERATOR)


def operator_actions_about(logs_dir: Path, run_id: str) -> list[dict[str, Any]]:
    """The operators' records about a run, oldest first (what the run's page lists)."""
    path = operators_log_path(logs_dir)
    found: list[dict[str, Any]] = []
    if not path.is_file():
        return found
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the log's verdict says what is wrong with it; the page lists what it can read
            details = record.get("details") if isinstance(record, dict) else None
            if isinstance(details, dict) and details.get("run") == run_id:
                found.append(record)
    return found[-MAX_LISTED_ACTIONS:]


# ---- what the forms send, checked ---------------------------------------------------------------------------


def _field(form: FormData, name: str, *, limit: int = MAX_FIELD) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ActionRefused(_("the field '{field}' must be text, not a file").format(field=name))
    if len(value) > limit:
        raise ActionRefused(
            _("the field '{field}' is too long (at most {count} characters)").format(field=name, count=limit)
        )
    return value


def _run(request: Request, run_id: str) -> RunRecord:
    """The run named exactly by `run_id` (no beginning of an id, no `last`: a form names one run), as reported."""
    if not RUN_ID.fullmatch(run_id):
        raise ActionRefused(_("'{run_id}' is not a run id").format(run_id=run_id))
    record = _console(request).store.get_run(run_id)
    if record is None:
        raise ActionRefused(_("no run '{run_id}'").format(run_id=run_id), 404)
    return reported(record)


def _workflow_file(request: Request, name: str) -> Path:
    """The workflow file of the workflows folder whose name (without `.yaml`) or file name is `name`; a name is
    compared with the folder's files, never joined to a path."""
    folder = _console(request).workflows_dir
    if folder is None:
        raise ActionRefused(_no_workflows_folder(), 409)
    for path in workflow_files(folder):
        if name in (path.stem, path.name):
            return path
    raise ActionRefused(_("no workflow '{name}' in the workflows folder").format(name=name), 404)


# ---- the actions --------------------------------------------------------------------------------------------


def _console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def _operator(request: Request) -> str:
    user = current_user(request)
    if user is None or not user.role.allows(Role.OPERATOR):
        raise ActionRefused(_("refused: this needs the role operator"), 403)
    return user.name


def _log(request: Request, who: str, action: str, **details: Any) -> None:
    """The action written to the operators' log; a log that refuses it stops the action."""
    address = client_address(request) or (request.client.host if request.client else None)
    try:
        log: OperatorsLog = request.app.state.operators_log
        log.record(who, action, address, **details)
    except (ConfigurationError, OSError) as exc:
        reason = exc.message if isinstance(exc, ConfigurationError) else str(exc)
        raise ActionRefused(
            _("nothing was done: the operators' log refuses new records ({reason})").format(reason=reason),
            409,
        ) from None


def _start(
    request: Request, who: str, action: str, arguments: list[str], *, cwd: Path | None = None, **details: Any
) -> None:
    """A `robo` command for `action`: written to the operators' log (with the file its output will go to), then
    started in the background."""
    it = _console(request)
    launch = Launch.planned(it.logs_dir, action)
    _log(request, who, action, **details, output=launch.relative_to(it.logs_dir))
    start_in_background(launch, arguments, it.logs_dir, it.store.url, cwd=cwd or it.logs_dir)


async def _acting(request: Request, act: Callable[[Request, str, FormData], str]) -> Response:
    """Runs `act(request, who, form)` (it checks, logs, acts and returns where to go), or says why not."""
    try:
        who = _operator(request)
        async with request.form(max_files=0, max_fields=200) as form:
            target = await run_in_threadpool(act, request, who, form)
    except ActionRefused as refused:
        return _console(request).page(
            request, "refused.html.j2", status_code=refused.status_code, message=refused.message
        )
    return RedirectResponse(target, status_code=303)


def _run_url(request: Request, run_id: str, done: str) -> str:
    return f"{request.url_for('run', run_id=run_id)}?done={done}"


def retryable(record: RunRecord) -> bool:
    """Whether the run has items a retry does again (the "Retry failed items" button and its route)."""
    return record.status in RETRYABLE and any(record.items.get(status) for status in UNFINISHED_ITEMS)


def resumable(record: RunRecord) -> bool:
    """Whether the run stopped before its end and can be continued (the "Resume this run" button and its route)."""
    return record.status in STOPPED_BEFORE_END


def _retry(request: Request, who: str, form: FormData) -> str:
    record = _run(request, request.path_params["run_id"])
    if not retryable(record):
        raise ActionRefused(
            _("run {run_id} has no failed item to do again (it is {status})").format(
                run_id=record.id, status=run_status_text(record.status)
            ),
            409,
        )
    _start(request, who, "retry", ["runs", "retry", record.id], run=record.id, workflow=record.workflow)
    return _run_url(request, record.id, "retry")


def _resume(request: Request, who: str, form: FormData) -> str:
    record = _run(request, request.path_params["run_id"])
    if not resumable(record):
        raise ActionRefused(
            _(
                "run {run_id} was not interrupted and did not crash (it is {status}): there is nothing to resume"
            ).format(run_id=record.id, status=run_status_text(record.status)),
            409,
        )
    arguments = ["run", record.workflow_file, f"--resume={record.id}"]
    _start(request, who, "resume", arguments, run=record.id, workflow=record.workflow)
    return _run_url(request, record.id, "resume")


def _mark(request: Request, who: str, form: FormData) -> str:
    record = _run(request, _field(form, "run_id"))
    key = _field(form, "key")
    loop = _field(form, "loop") or None
    outcome = _field(form, "outcome")
    comment = _field(form, "comment", limit=MAX_COMMENT).strip()
    if outcome not in ("done", "redo"):
        raise ActionRefused(_("say whether the item is done or to redo"))
    it = _console(request)
    rows = [
        row
        for row in it.store.run_items(record.id)
        if row["key"] == key and (loop is None or row["loop"] == loop)
    ]
    if not rows:
        raise ActionRefused(_("run {run_id} has no item '{key}'").format(run_id=record.id, key=key), 404)
    if len(rows) > 1:
        raise ActionRefused(
            _("several loops have an item '{key}' ({loops})").format(
                key=key, loops=", ".join(row["loop"] for row in rows)
            )
        )
    if rows[0]["status"] != ItemStatus.TO_CHECK:
        raise ActionRefused(
            _("item '{key}' of run {run_id} is not to check (it is {status})").format(
                key=key, run_id=record.id, status=item_status_text(rows[0]["status"])
            ),
            409,
        )
    loop = rows[0]["loop"]
    _log(request, who, "mark", run=record.id, key=key, loop=loop, outcome=outcome, comment=comment)
    said: list[str] = []
    if mark_item_in_store(
        it.store, record.id, key, said.append, done=outcome == "done", loop=loop, by=who, comment=comment
    ):
        raise ActionRefused("\n".join(said), 409)
    return _run_url(request, record.id, f"marked-{outcome}")


def _inputs(workflow: Workflow, form: FormData) -> dict[str, str]:
    """The `input.NAME` fields, each a declared input; an empty field leaves the input to its default."""
    given: dict[str, str] = {}
    for name in form:
        if name.startswith("input."):
            input_name = name.removeprefix("input.")
            if input_name not in workflow.inputs:
                raise ActionRefused(_("the workflow has no input '{name}'").format(name=input_name))
            value = _field(form, name)
            if value.strip():
                given[input_name] = value
    return given


def _run_now(request: Request, who: str, form: FormData) -> str:
    path = _workflow_file(request, _field(form, "workflow"))
    checked = validate_file(path)
    if checked.workflow is None or not checked.ok:
        raise ActionRefused(
            _("the workflow {file} is not valid: check it with robo validate").format(file=path.name), 409
        )
    given = _inputs(checked.workflow, form)
    try:  # as the run will: a value it would refuse is said now, on the page, not in a log file
        resolve_inputs(checked.workflow, given, path.parent, path.parent)
    except ConfigurationError as exc:
        raise ActionRefused(exc.message + (f" ({exc.hint})" if exc.hint else "")) from None
    arguments = ["run", str(path), *(f"--input={name}={value}" for name, value in given.items())]
    _start(
        request,
        who,
        "run",
        arguments,
        cwd=path.parent,
        workflow=checked.workflow.name,
        file=path.name,
        inputs=given,
    )
    return f"{request.url_for('runs')}?done=run"


def _schedule(request: Request) -> tuple[str, Path]:
    """The schedule named by the path, and the workflows folder: one schedule id of the folder (a workflow's
    name, which would mean all of its schedules, is not one)."""
    name: str = request.path_params["name"]
    it = _console(request)
    if it.workflows_dir is None:
        raise ActionRefused(_no_workflows_folder(), 409)
    catalogue = Catalogue.open(it.workflows_dir, it.store.url)
    try:
        known = name in catalogue.jobs()
    finally:
        catalogue.close()
    if not known:
        raise ActionRefused(_("no schedule '{name}'").format(name=name), 404)
    return name, it.workflows_dir


def _pausing(paused: bool) -> Callable[[Request, str, FormData], str]:
    def act(request: Request, who: str, form: FormData) -> str:
        name, folder = _schedule(request)
        it = _console(request)
        _log(request, who, "pause_schedule" if paused else "resume_schedule", schedule=name)
        said: list[str] = []
        if set_paused(name, folder, it.store.url, paused, said.append, said.append, by=who):
            raise ActionRefused("\n".join(said), 409)
        return f"{request.url_for('schedules')}?done={'paused' if paused else 'resumed'}"

    return act


def _run_schedule(request: Request, who: str, form: FormData) -> str:
    """`robo schedule run-now`: through the schedule service when one is alive, else fired by that process, under
    the same fire lock as a scheduled fire (refused while a run of the workflow lasts)."""
    name, folder = _schedule(request)
    arguments = ["schedule", "run-now", "--workflows", str(folder), "--", name]
    _start(request, who, "run_schedule", arguments, cwd=folder, schedule=name)
    return f"{request.url_for('schedules')}?done=run"


async def retry_run(request: Request) -> Response:
    return await _acting(request, _retry)


async def resume_run(request: Request) -> Response:
    return await _acting(request, _resume)


async def mark_item(request: Request) -> Response:
    return await _acting(request, _mark)


async def run_workflow(request: Request) -> Response:
    return await _acting(request, _run_now)


async def pause_schedule(request: Request) -> Response:
    return await _acting(request, _pausing(True))


async def resume_schedule(request: Request) -> Response:
    return await _acting(request, _pausing(False))


async def run_schedule(request: Request) -> Response:
    return await _acting(request, _run_schedule)


def declared_inputs(workflow: Workflow) -> list[dict[str, Any]]:
    """A workflow's inputs as the run form shows them: name, type, description, default, choices, required."""
    return [
        {
            "name": name,
            "type": spec.type,
            "description": spec.description,
            "default": "" if spec.default is None else str(spec.default),
            "choices": [str(choice) for choice in spec.choices or []],
            "required": spec.is_required,
        }
        for name, spec in workflow.inputs.items()
    ]


async def workflows_page(request: Request) -> Response:
    """The workflows of the workflows folder, each with its inputs as a form (buttons for operators)."""
    it = _console(request)

    def read() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for path in workflow_files(it.workflows_dir) if it.workflows_dir else []:
            checked = validate_file(path)
            workflow = checked.workflow if checked.ok else None
            rows.append(
                {
                    "name": path.stem,
                    "title": workflow.name if workflow else path.name,
                    "valid": workflow is not None,
                    "inputs": declared_inputs(workflow) if workflow else [],
                }
            )
        return rows

    return it.page(
        request, "workflows.html.j2", workflows=await run_in_threadpool(read), folder=it.workflows_dir
    )


def template_globals() -> Mapping[str, Callable[..., Any]]:
    """What the pages' templates call to show the acting parts (see `routes.templates`)."""
    return {"may_act": may_act, "done_message": done_message, "retryable": retryable, "resumable": resumable}
