"""Procrastinate, the fleet's transport: the app that defers jobs to the workers' queues and runs them.

Procrastinate's jobs live in the run store's PostgreSQL database (`robo db upgrade` makes their tables), so the IT
department runs one server and no broker. A job carries a run, or a batch of a run's items, to a worker of the
queue that can do it (`browser`, `desktop`, a named intranet); whether an item is done once is decided by the
item leases in the run store, never by the job: a job may run twice, an item may not be entered twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    import procrastinate


def libpq_url(url: str) -> str:
    """The run store's SQLAlchemy URL (`postgresql+psycopg://…`) as psycopg's connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def job_app(url: str) -> procrastinate.App:
    """A Procrastinate app on the run store's database, to open (`with app.open(): …`) before use."""
    import procrastinate

    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(url)))
