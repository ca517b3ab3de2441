"""LibreOffice as `word.to_pdf` runs it: finding its program, and running one conversion, stopped if it hangs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robots.kit import ApplicationError, ConfigurationError, _

LIBREOFFICE_PACKAGE = "libreoffice-writer-nogui"
_SOFFICE_NAMES = ("soffice", "libreoffice")
_SOFFICE_PLACES = (
    "/usr/lib/libreoffice/program/soffice",
    "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
)


def find_soffice(settings: Mapping[str, Any]) -> str:
    """The LibreOffice program: the `word: soffice` setting, else ROBO_SOFFICE, else the usual places."""
    configured = settings.get("soffice") or os.environ.get("ROBO_SOFFICE")
    if configured:
        found = shutil.which(str(configured))
        if found is None:
            raise ConfigurationError(
                _("LibreOffice was not found at {path}").format(path=configured),
                hint=_(
                    "install the Debian package {package}, or correct the path of soffice "
                    "(ROBO_SOFFICE or the word: soffice setting)"
                ).format(package=LIBREOFFICE_PACKAGE),
            )
        return found
    for name in _SOFFICE_NAMES:
        if found := shutil.which(name):
            return found
    for place in _SOFFICE_PLACES:
        if os.access(place, os.X_OK):
            return place
    raise ConfigurationError(
        _("LibreOffice is not installed: word.to_pdf needs it to convert documents to PDF"),
        hint=_(
            "install it (Debian: apt-get install -y --no-install-recommends {package}), "
            "or set ROBO_SOFFICE to the soffice program"
        ).format(package=LIBREOFFICE_PACKAGE),
    )


def run_soffice(command: list[str], source: Path, timeout: float) -> tuple[str, str]:
    """Run one LibreOffice `command` on `source`; its output and errors. Stopped with its children past `timeout`."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=os.name == "posix",  # so a hung soffice.bin child is stopped with it
        )
    except OSError as exc:
        raise ConfigurationError(
            _("LibreOffice could not be started ({path}): {reason}").format(
                path=command[0], reason=exc.strerror or exc
            ),
            hint=_("install the Debian package {package}, or set ROBO_SOFFICE").format(
                package=LIBREOFFICE_PACKAGE
            ),
        ) from None
    with process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            if os.name == "posix":
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
            process.communicate()
            raise ApplicationError(
                _("LibreOffice did not convert {name} within {seconds} s").format(
                    name=source.name, seconds=f"{timeout:g}"
                ),
                hint=_("a very large document needs a longer timeout; a stuck LibreOffice was stopped"),
            ) from None
    return stdout, stderr
