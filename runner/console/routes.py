"""The console's one route table (each path with its methods and the role it needs) and the app built from it: the
pages, the login and logout routes, the static files served from the package (no CDN), a strict
Content-Security-Policy, and the gate in front (`AccessGate` when the store has users, `LocalViewerGate` else)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from robots.kit import (
    LANGUAGES,
    _,
    current_language,
    format_duration,
    format_number,
    page_templates,
)
from runner.console import actions, pages
from runner.console.access import (
    LOGIN_PATH,
    LOGOUT_PATH,
    METRICS_PATH,
    PUBLIC,
    AccessGate,
    AccessSettings,
    LocalViewerGate,
    OperatorsLog,
    Role,
    UserStore,
    access_settings,
    csrf_field,
    current_user,
    log_in,
    log_out,
    login_page,
)
from runner.console.language import RequestLanguage, language_link
from runner.console.queries import trigger_text
from runner.console.texts import moment
from runner.events import item_status_text, run_status_text, step_status_text
from runner.fleet import worker_state_text
from runner.record import RunStore
from runner.review import RUN_PAGE_PATH
from runner.schedule import ScheduleDatabase

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    b"content-security-policy": CONTENT_SECURITY_POLICY.encode(),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
}
NO_STORE = (
    b"cache-control",
    b"no-store",
)  # pages and files of the store: kept by no cache, nor after logging out


Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Page:
    """One route: its path, its name (for `url_for`), what answers it, the role it needs (`PUBLIC`: anyone) and
    its HTTP methods."""

    path: str
    name: str
    endpoint: Endpoint
    role: Role | None
    methods: tuple[str, ...] = ("GET",)


PAGES: tuple[Page, ...] = (
    Page("/", "home", pages.home, Role.VIEWER),
    Page("/runs", "runs", pages.runs_list, Role.VIEWER),
    Page(RUN_PAGE_PATH, "run", pages.run_detail, Role.VIEWER),  # the page links from e-mails point to
    Page("/runs/{run_id}/live.json", "run_live", pages.run_live, Role.VIEWER),
    Page("/runs/{run_id}/export.{format:str}", "export_run", pages.export_run, Role.VIEWER),
    Page("/items", "items", pages.items_list, Role.VIEWER),
    Page("/schedules", "schedules", pages.schedules, Role.VIEWER),
    Page("/fleet", "fleet", pages.fleet, Role.VIEWER),
    Page("/export/runs.{format:str}", "export_runs", pages.export_runs, Role.VIEWER),
    Page("/artifacts/{path:path}", "artifact", pages.artifact, Role.VIEWER),
    Page(METRICS_PATH, "metrics", pages.metrics, Role.VIEWER),  # or a scraper's token (ROBO_METRICS_TOKEN)
    Page("/healthz", "healthz", pages.healthz, PUBLIC),
    Page(LOGIN_PATH, "login", login_page, PUBLIC),
    Page(LOGIN_PATH, "log_in", log_in, PUBLIC, ("POST",)),
    Page(LOGOUT_PATH, "logout", log_out, Role.VIEWER, ("POST",)),
    Page("/workflows", "workflows", actions.workflows_page, Role.VIEWER),
    Page("/workflows/run", "run_workflow", actions.run_workflow, Role.OPERATOR, ("POST",)),
    Page("/runs/{run_id}/retry", "retry_run", actions.retry_run, Role.OPERATOR, ("POST",)),
    Page("/runs/{run_id}/resume", "resume_run", actions.resume_run, Role.OPERATOR, ("POST",)),
    Page("/items/mark", "mark_item", actions.mark_item, Role.OPERATOR, ("POST",)),
    Page("/schedules/{name:path}/pause", "pause_schedule", actions.pause_schedule, Role.OPERATOR, ("POST",)),
    Page(
        "/schedules/{name:path}/resume", "resume_schedule", actions.resume_schedule, Role.OPERATOR, ("POST",)
    ),
    Page("/schedules/{name:path}/run", "run_schedule", actions.run_schedule, Role.OPERATOR, ("POST",)),
)
STATIC_ROLE: Role | None = PUBLIC  # the console's own CSS and script: nothing from the store
EXPORT_FORMATS = {"export_run": {"csv", "json", "junit"}, "export_runs": {"csv", "json"}}


def needed_role(routes: list[BaseRoute], roles: dict[str, Role | None], scope: Scope) -> Role | None:
    """The role (from `roles`, by route name) the route answering `scope` needs, as Starlette picks the route:
    the first full match, else the first route of that path with another method (it answers 405). A path no route
    answers, or an export format not listed, needs `Role.ADMIN`: closed."""
    partial: tuple[BaseRoute, Scope] | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match == Match.FULL:
            return _role_of(route, child, roles)
        if match == Match.PARTIAL and partial is None:
            partial = (route, child)
    return _role_of(*partial, roles) if partial else Role.ADMIN


def _role_of(route: BaseRoute, child: Scope, roles: dict[str, Role | None]) -> Role | None:
    name = getattr(route, "name", None) or ""
    if name in EXPORT_FORMATS and child.get("path_params", {}).get("format") not in EXPORT_FORMATS[name]:
        return Role.ADMIN
    return roles.get(name, Role.ADMIN)


class SecurityHeaders:
    """Adds the Content-Security-Policy and its companions to every response, and `Cache-Control: no-store` to
    every one but the console's own static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        static = scope["type"] == "http" and scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name not in SECURITY_HEADERS and (static or name != NO_STORE[0])
                ]
                message["headers"] = headers + list(SECURITY_HEADERS.items()) + ([] if static else [NO_STORE])
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def server_error(request: Request, error: Exception) -> Response:
    """What the browser reads when the console itself fails: a short sentence, never the traceback (uvicorn writes
    that to the console's output, for whoever runs it)."""
    return PlainTextResponse(
        _("the console met an error; it is written in the output of robo dashboard"),
        status_code=500,
        headers={name.decode(): value.decode() for name, value in (*SECURITY_HEADERS.items(), NO_STORE)},
    )


def templates() -> Environment:
    """The pages' Jinja environment: autoescaped (every text from workflows, data and pages is data), translated
    through the same gettext catalogs as the rest of Rob'O."""
    environment = page_templates("runner.console")
    environment.filters["moment"] = moment
    environment.filters["duration"] = lambda value: format_duration(value) if value is not None else ""
    environment.filters["number"] = format_number
    environment.globals["language"] = current_language
    environment.globals["language_link"] = language_link
    environment.globals["languages"] = LANGUAGES
    environment.filters["run_status"] = run_status_text
    environment.filters["trigger"] = trigger_text
    environment.filters["item_status"] = item_status_text
    environment.filters["step_status"] = step_status_text
    environment.filters["worker_state"] = worker_state_text
    environment.globals["csrf_field"] = csrf_field  # every form: {{ csrf_field(request) }}
    environment.globals["current_user"] = current_user
    environment.globals["has_fleet"] = pages.has_fleet
    environment.globals.update(actions.template_globals())
    environment.filters["operator_action"] = actions.action_text
    return environment


def create_app(
    store: RunStore,
    logs_dir: Path,
    *,
    users: UserStore | None = None,
    settings: AccessSettings | None = None,
    operators_log: OperatorsLog | None = None,
    workflows_dir: Path | None = None,
    route_table: Sequence[Page] = PAGES,
) -> Starlette:
    """The console over `store` and the logs folder. When the store has users (`users`, by default the store's),
    every request passes the `AccessGate` (sessions signed with `settings`, by default `access_settings`: the
    kept secret); with none, the `LocalViewerGate` (viewers on the loopback address only). `route_table`: the
    routes (the console's `PAGES`; tests add routes of their own)."""
    # The schedule service's tables, made on the store's engine if no service made them yet (fires, services).
    ScheduleDatabase(store.url, engine=store.engine)
    routes: list[BaseRoute] = [
        Route(page.path, page.endpoint, name=page.name, methods=list(page.methods)) for page in route_table
    ]
    routes.append(Mount("/static", StaticFiles(packages=[("runner.console", "static")]), name="static"))

    roles = {page.name: page.role for page in route_table} | {"static": STATIC_ROLE}

    def needed_for(scope: Scope) -> Role | None:
        return needed_role(routes, roles, scope)

    users = UserStore(store.engine) if users is None else users
    operators_log = OperatorsLog(logs_dir) if operators_log is None else operators_log
    gate = (
        Middleware(
            AccessGate,
            needed_for=needed_for,
            users=users,
            settings=settings or access_settings(logs_dir),
            log=operators_log,
        )
        if users.count()
        else Middleware(LocalViewerGate, needed_for=needed_for)
    )
    app = Starlette(
        routes=routes,
        # The language outermost: refusals and the login page are in the reader's language too.
        middleware=[Middleware(RequestLanguage), Middleware(SecurityHeaders), gate],
    )
    app.state.console = pages.Console(store, logs_dir.resolve(), workflows_dir, templates())
    app.state.operators_log = operators_log
    app.add_exception_handler(Exception, server_error)  # the browser never reads a traceback
    return app
