"""`robo dashboard`: the console served by uvicorn over the logs folder's run store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runner.console.access import UserStore, access_settings, check_listen
from runner.console.routes import create_app
from runner.record import RunStore

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def serve(
    store_url: str,
    logs_dir: Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workflows_dir: Path | None = None,
    secure_cookies: bool = False,
    trusted_proxies: Sequence[str] = (),
    user_header: str | None = None,
) -> None:
    """Serve the console until interrupted: with logins when the store has users; with none, on the loopback
    address only (`check_listen` refuses any other before listening)."""
    import uvicorn

    with RunStore(store_url) as store:
        users = UserStore(store.engine)
        check_listen(host, users)
        settings = access_settings(
            logs_dir, secure_cookies=secure_cookies, trusted_proxies=trusted_proxies, user_header=user_header
        )
        app = create_app(store, logs_dir, users=users, settings=settings, workflows_dir=workflows_dir)
        # The gate alone reads forwarded headers, from the trusted proxies only (not uvicorn's own rule).
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)
