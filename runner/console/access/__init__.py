"""Who may see and act in the console: roles and users (argon2 hashes in the run store), the gates every request
passes (signed sessions, CSRF tokens, the role each route needs; a viewer on the loopback address when no user is
configured), login and its rate limiting, where the console may listen, the kept session secret, and the
operators' audit log (chained like a run's). See `docs/console-access.md`.
"""

from runner.console.access.gate import (
    LOGIN_PATH,
    METRICS_PATH,
    AccessGate,
    Gate,
    LocalViewerGate,
    NeededRole,
    client_address,
    csrf_token,
    current_user,
)
from runner.console.access.listening import ListenRefused, check_listen, is_loopback
from runner.console.access.login import LOGOUT_PATH, csrf_field, log_in, log_out, login_page, safe_next
from runner.console.access.operators_log import (
    OPERATOR_ACTION_EVENT,
    OperatorsLog,
    operators_log_path,
    verify_operators_log,
)
from runner.console.access.secret import (
    METRICS_TOKEN_ENV,
    SECRET_ENV,
    SECRET_FILE,
    access_settings,
    console_secret,
)
from runner.console.access.sessions import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, AccessSettings, Session
from runner.console.access.throttle import LoginThrottle
from runner.console.access.users import (
    MIN_PASSWORD_LENGTH,
    PUBLIC,
    Role,
    User,
    UserError,
    UserStore,
    parse_role,
)

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_PATH",
    "LOGOUT_PATH",
    "METRICS_PATH",
    "METRICS_TOKEN_ENV",
    "MIN_PASSWORD_LENGTH",
    "OPERATOR_ACTION_EVENT",
    "PUBLIC",
    "SECRET_ENV",
    "SECRET_FILE",
    "SESSION_COOKIE",
    "AccessGate",
    "AccessSettings",
    "Gate",
    "ListenRefused",
    "LocalViewerGate",
    "LoginThrottle",
    "NeededRole",
    "OperatorsLog",
    "Role",
    "Session",
    "User",
    "UserError",
    "UserStore",
    "access_settings",
    "check_listen",
    "client_address",
    "console_secret",
    "csrf_field",
    "csrf_token",
    "current_user",
    "is_loopback",
    "log_in",
    "log_out",
    "login_page",
    "operators_log_path",
    "parse_role",
    "safe_next",
    "verify_operators_log",
]
