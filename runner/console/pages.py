"""The console's pages and files: each a function of the request returning a response, over the `Console` (the
store, the schedule database, the logs folder). Which role each needs is declared beside its path in `routes.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from robots.kit import RoboError, _
from runner.console.actions import operator_actions_about
from runner.console.artifacts import artifact_path, content_type
from runner.console.exports import ITEM_COLUMNS, RUN_COLUMNS, as_csv, as_json, as_junit
from runner.console.launches import launches_folder
from runner.console.live import LiveProgress, LoopTotalsReader, audit_log_of, live_progress
from runner.console.metrics import metrics_text
from runner.console.queries import (
    Trigger,
    items_needing_attention,
    matching_runs,
    parse_filter,
    query_value,
    run_folder_holding,
    run_items_for_export,
    run_page,
)
from runner.events import RunStatus
from runner.fleet import FleetStatus, fleet_status, needs_postgres
from runner.record import AUDIT_LOG_NAME, RunRecord, RunStore, verify_audit_log
from runner.review import reported
from runner.schedule import list_schedules, service_status

MAX_EXPORT_RUNS = 10_000
MAX_LISTED_FILES = 500
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})


@dataclass
class Console:
    """What the pages read: the run store (whose database also holds the schedules), the logs folder, and the
    folder of scheduled workflows (None: the schedules page lists the services only)."""

    store: RunStore
    logs_dir: Path
    workflows_dir: Path | None
    templates: Environment
    loop_totals: LoopTotalsReader = field(default_factory=LoopTotalsReader)

    def progress(self, record: RunRecord) -> LiveProgress:
        """The progress of a run (its record as reported), for its page and `live.json`."""
        audit_log = audit_log_of(record)
        totals = self.loop_totals.totals(audit_log) if audit_log else {}
        return live_progress(self.store.engine, record, totals)

    def page(self, request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
        runs_url = str(request.url_for("runs"))  # the run links, built once (url_for per row is slow)
        html = self.templates.get_template(template).render(request=request, runs_url=runs_url, **values)
        return Response(html, status_code=status_code, media_type="text/html; charset=utf-8")


def console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


async def home(request: Request) -> Response:
    # A path, not a URL: the request's Host header (anyone's to write) never chooses where the browser goes.
    return RedirectResponse(request.url_for("runs").path, status_code=303)


async def runs_list(request: Request) -> Response:
    it = console(request)
    wanted = parse_filter(request.query_params)
    found = run_page(it.store.engine, wanted)
    for row in found.rows:
        if row["status"] == "running":
            record = it.store.get_run(row["id"])
            row["status"] = reported(record).status if record else row["status"]
    return it.page(
        request, "runs.html.j2", found=found, wanted=wanted, triggers=list(Trigger), statuses=list(RunStatus)
    )


def _run_files(run_dir: Path, logs_dir: Path) -> list[dict[str, Any]]:
    """The files a run left in its folder (bounded), each with its path relative to the logs folder."""
    root = logs_dir.resolve()
    files: list[dict[str, Any]] = []
    if run_dir.is_dir() and run_dir.resolve().is_relative_to(root):
        for path in sorted(run_dir.rglob("*")):
            if len(files) >= MAX_LISTED_FILES:
                break
            if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
                relative = path.resolve().relative_to(root).as_posix()
                files.append(
                    {
                        "name": path.relative_to(run_dir).as_posix(),
                        "path": quote(relative),  # as written in the link (a `#` or `?` of the name kept)
                        "image": path.suffix.lower() in IMAGE_SUFFIXES,
                        "size": path.stat().st_size,
                    }
                )
    return files


async def run_detail(request: Request) -> Response:
    it = console(request)
    record = it.store.get_run(request.path_params["run_id"])
    if record is None:
        return it.page(request, "missing.html.j2", status_code=404, what=request.path_params["run_id"])
    record = reported(record)
    steps_by_item: dict[str | None, list[dict[str, Any]]] = {}
    for step in it.store.run_steps(record.id):
        steps_by_item.setdefault(step["item"], []).append(step)
    run_dir = Path(record.run_dir) if record.run_dir else None
    verdict = None
    if run_dir and (run_dir / AUDIT_LOG_NAME).is_file():
        verdict = verify_audit_log(run_dir / AUDIT_LOG_NAME, record.last_hash)
    run_items = it.store.run_items(record.id)
    return it.page(
        request,
        "run.html.j2",
        run=record,
        items=run_items,
        by_workers=any(item["worker"] for item in run_items),  # a distributed loop's: each says its worker
        steps=steps_by_item,
        files=_run_files(run_dir, it.logs_dir) if run_dir else [],
        verdict=verdict,
        operator_actions=operator_actions_about(it.logs_dir, record.id),
        # In a worker thread: the first look at a long run's audit log reads it whole (1.8 s for a million
        # records, 360 MB), then only what was appended.
        live=await run_in_threadpool(it.progress, record),
    )


async def run_live(request: Request) -> Response:
    """The run's progress as JSON, for the run page's script while the run is running."""
    it = console(request)
    record = it.store.get_run(request.path_params["run_id"])
    if record is None:
        return JSONResponse({"error": _("no such run")}, status_code=404)
    progress = await run_in_threadpool(it.progress, reported(record))
    return JSONResponse(progress.as_json(), headers={"Cache-Control": "no-store"})


async def items_list(request: Request) -> Response:
    it = console(request)
    key = query_value(request.query_params, "item")
    return it.page(request, "items.html.j2", rows=items_needing_attention(it.store.engine, key=key), key=key)


def has_fleet(request: Request) -> bool:
    """Whether the console's store can hold a fleet (PostgreSQL): the header links to the fleet page then."""
    return console(request).store.engine.dialect.name == "postgresql"


async def fleet(request: Request) -> Response:
    """The fleet's workers, queues, stalled jobs and distributed loops; on a store other than PostgreSQL, a
    sentence saying a fleet needs one."""
    it = console(request)
    status: FleetStatus | None = None
    problem: RoboError | None = None
    if not has_fleet(request):
        problem = needs_postgres()
    else:
        try:
            status = await run_in_threadpool(fleet_status, it.store)
        except RoboError as exc:
            problem = exc
    return it.page(request, "fleet.html.j2", status=status, problem=problem)


async def schedules(request: Request) -> Response:
    it = console(request)
    rows: list[dict[str, Any]] = []
    if it.workflows_dir is not None:
        rows, catalogue = list_schedules(it.workflows_dir, it.store.url)
        catalogue.close()
    return it.page(request, "schedules.html.j2", rows=rows, status=service_status(it.store.url))


def _a_runs_file(it: Console, path: Path) -> bool:
    """Whether the console serves `path` (a file inside the logs folder): a file of a recorded run's folder, or
    what a process started from the console printed; never the rest (the run store's database with the users'
    password hashes, the operators' log)."""
    return (
        path.parent == launches_folder(it.logs_dir).resolve()
        or run_folder_holding(it.store.engine, path, it.logs_dir) is not None
    )


async def artifact(request: Request) -> Response:
    it = console(request)
    path = artifact_path(it.logs_dir, request.path_params["path"])
    if path is None or not _a_runs_file(it, path):
        return PlainTextResponse(_("no such file in the logs folder"), status_code=404)
    media_type, download = content_type(path)
    return FileResponse(
        path,
        media_type=media_type,
        content_disposition_type="attachment" if download else "inline",
        filename=path.name,
        headers={"X-Content-Type-Options": "nosniff"},
    )


def _attachment(body: str | bytes, media_type: str, name: str) -> Response:
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


async def export_runs(request: Request) -> Response:
    it = console(request)
    rows = matching_runs(it.store.engine, parse_filter(request.query_params), limit=MAX_EXPORT_RUNS)
    if request.path_params["format"] == "csv":
        return _attachment(as_csv(rows, RUN_COLUMNS), "text/csv; charset=utf-8", "runs.csv")
    return _attachment(as_json(rows), "application/json", "runs.json")


async def export_run(request: Request) -> Response:
    it = console(request)
    record = it.store.get_run(request.path_params["run_id"])
    if record is None:
        return PlainTextResponse(_("no such run"), status_code=404)
    run = {column: getattr(record, column) for column in RUN_COLUMNS}
    run_items = run_items_for_export(it.store.engine, [record.id])
    kind = request.path_params["format"]
    name = f"run-{record.id[:12]}"
    if kind == "csv":
        return _attachment(as_csv(run_items, ITEM_COLUMNS), "text/csv; charset=utf-8", f"{name}.csv")
    if kind == "junit":
        return _attachment(as_junit(run, run_items), "application/xml", f"{name}-junit.xml")
    return _attachment(as_json({"run": run, "items": run_items}), "application/json", f"{name}.json")


async def healthz(request: Request) -> Response:
    it = console(request)
    with it.store.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    return PlainTextResponse("ok")


async def metrics(request: Request) -> Response:
    it = console(request)
    fleet: FleetStatus | None = None
    if it.store.engine.dialect.name == "postgresql":
        try:
            fleet = await run_in_threadpool(fleet_status, it.store)
        except RoboError:
            fleet = None  # the fleet's tables not made yet (robo db upgrade): no fleet gauges
    body = metrics_text(it.store.engine, service_status(it.store.url)["services"], fleet)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
