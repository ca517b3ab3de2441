"""The console: every run of every workflow in one web page (`robo dashboard`), read from the run store and the
schedule database; each route declares the role it needs in the one route table `PAGES`, and the gates of
`runner.console.access` decide who asks."""

from runner.console.artifacts import artifact_path, content_type
from runner.console.routes import CONTENT_SECURITY_POLICY, PAGES, STATIC_ROLE, Page, create_app
from runner.console.server import DEFAULT_HOST, DEFAULT_PORT, serve

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "PAGES",
    "STATIC_ROLE",
    "Page",
    "artifact_path",
    "content_type",
    "create_app",
    "serve",
]
