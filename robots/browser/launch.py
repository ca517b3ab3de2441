"""Finding a Chromium or Chrome on this machine, and the launch flags for servers without a desktop."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robots.kit import N_, ConfigurationError, _

SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
HEADLESS_SHELLS = ("chromium-headless-shell", "chrome-headless-shell")
"""Chromium built for headless runs only (Debian's `chromium-headless-shell`, what Playwright itself launches for
a headless run): no window, no browser interface in a renderer of its own. The same engine as the full browser
with a lighter tree: measured in bench/README.md. Preferred for a headless run when installed, unless the
machine's administrator configured Chromium (`administered_chromium`)."""
DEBIAN_FLAG_FILES = frozenset({"README", "apikeys", "default-flags", "dev-shm", "extensions"})
"""What Debian's chromium package puts in /etc/chromium.d (the flags its /usr/bin/chromium reads)."""
ADMINISTRATION_DIRS = (Path("/etc/chromium.d"), Path("/etc/chromium/policies/managed"))
WELL_KNOWN_PATHS = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/opt/google/chrome/chrome",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)
# Chromium on a server: no sandbox (root in containers), no GPU, and none of the background traffic that a
# closed network refuses and that costs time at every start.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
INSTALL_HINT = N_(
    "install Chromium (Debian/Ubuntu: 'apt-get install chromium'; Fedora: 'dnf install chromium'), "
    "or Google Chrome, or set ROBO_BROWSER (or the workflow's 'browser: {executable: …}') to the browser's path"
)


def _playwright_browser(headless: bool) -> Path | None:
    """A Chromium that Playwright itself installed (`playwright install chromium`), if any."""
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache" / "ms-playwright"))
    if not root.is_dir():
        return None
    patterns = ["chromium-*/chrome-linux*/chrome"]
    if headless:
        patterns.insert(0, "chromium_headless_shell-*/chrome-*/*headless[_-]shell")
    for pattern in patterns:
        for candidate in sorted(root.glob(pattern), reverse=True):
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def administered_chromium() -> bool:
    """Whether this machine's Chromium carries its administrator's settings.

    Flags in /etc/chromium.d beyond Debian's own (a proxy, the intranet's single sign-on) or managed policies: the
    headless shell reads neither, so a run would miss what the full browser does for the same intranet.
    """
    for folder in ADMINISTRATION_DIRS:
        try:
            names = {entry.name for entry in folder.iterdir()}
        except OSError:
            continue
        if names - DEBIAN_FLAG_FILES:
            return True
    return False


def find_browser(
    settings: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    headless: bool = False,
) -> Path:
    """The browser to launch: configured path, then ROBO_BROWSER, the system's, then Playwright's own.

    For a `headless` run, a headless shell (`HEADLESS_SHELLS`) installed on the system comes first, unless the
    administrator configured the machine's Chromium (`administered_chromium`).
    """
    environ = os.environ if environ is None else environ
    configured = (settings or {}).get("executable") or environ.get("ROBO_BROWSER")
    if configured:
        path = Path(configured).expanduser()
        resolved = path if path.is_file() else shutil.which(str(configured))
        if resolved is None or not os.access(resolved, os.X_OK):
            raise ConfigurationError(
                _("the browser '{path}' was not found or cannot be run").format(path=configured),
                hint=_(INSTALL_HINT),
            )
        return Path(resolved)
    shell = headless and not administered_chromium()
    for name in (*HEADLESS_SHELLS, *SYSTEM_BROWSERS) if shell else SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            return Path(found)
    for candidate in WELL_KNOWN_PATHS:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    own = _playwright_browser(shell)
    if own is not None:
        return own
    raise ConfigurationError(
        _("no Chromium or Chrome browser was found on this machine"), hint=_(INSTALL_HINT)
    )
