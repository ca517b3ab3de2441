"""`robo intranet`: the training intranet, its mail server and the training desktop client, for trying a project.

They are the mock systems Rob'O's own tests run against (`tests/mock_intranet`, `tests/mock_desktop`), part of its
source tree and not of an installed package: they are imported from the source tree this `runner` package sits in
(an editable install, `pip install -e .`), and a clear error says so when it is not there.

The intranet listens on fixed ports by default (8700 for the web, 8725 for SMTP), the ones the templates' workflows
name, so that a new project runs against it as written. The mail server takes a login without TLS: training only.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from robots.kit import ConfigurationError, _

if TYPE_CHECKING:
    from tests.mock_intranet import MockIntranet

INTRANET_HOST = "127.0.0.1"
INTRANET_PORT = 8700
MAIL_PORT = 8725
DESKTOP_DATABASE = "dossiers.sqlite"
"""The training desktop client's records, in its `--data` folder."""
SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The source tree `runner` comes from, where `tests/` is when Rob'O was installed from its sources."""


@dataclass(frozen=True)
class TrainingSecret:
    """A secret the templates' workflows declare, and its value on the training systems."""

    name: str
    value: str

    @property
    def variable(self) -> str:
        from runner.engine import secret_variable  # the engine, not needed to start `robo` (its --help)

        return secret_variable(self.name)


def _source_tree(root: Path, package: str) -> None:
    """Make `tests.<package>` importable from `root`, or say why it cannot be."""
    if not (root / "tests" / package / "__init__.py").is_file():
        raise ConfigurationError(
            _(
                "the training systems are not installed here: they are part of Rob'O's sources ({folder})"
            ).format(folder=f"tests/{package}"),
            hint=_(
                "install Rob'O from its sources (git clone, then pip install -e '.[dev]' in that folder) and run"
                " robo intranet from that installation"
            ),
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


def _missing_library(exc: ImportError) -> ConfigurationError:
    return ConfigurationError(
        _("the training systems need a library that is not installed: {name}").format(
            name=exc.name or str(exc)
        ),
        hint=_("install Rob'O's development extras: pip install -e '.[dev]'"),
    )


def training_secrets(intranet: MockIntranet) -> list[TrainingSecret]:
    """The secrets of the templates' workflows as the training intranet and mail server accept them."""
    from tests.mock_intranet.accounts import DEFAULT_ACCOUNT

    return [
        TrainingSecret("identifiant", DEFAULT_ACCOUNT.username),
        TrainingSecret("mot_de_passe", DEFAULT_ACCOUNT.password),
        TrainingSecret("smtp_mot_de_passe", intranet.smtp_account.password),
    ]


def banner(intranet: MockIntranet, *, data_kept: bool) -> str:
    """What `robo intranet` says once its servers listen: where, with which accounts, which secrets to set."""
    from tests.mock_intranet.accounts import DEFAULT_ACCOUNT

    others = ", ".join(
        f"{account.username} / {account.password}"
        for account in intranet.accounts
        if account.active and account.username != DEFAULT_ACCOUNT.username
    )
    lines = [
        _("Training intranet started (Ctrl+C to stop it)"),
        "  " + _("address: {url}").format(url=intranet.url),
        "  "
        + _("account: {user} / {password}").format(
            user=DEFAULT_ACCOUNT.username, password=DEFAULT_ACCOUNT.password
        ),
        "  " + _("other accounts: {accounts}").format(accounts=others),
        "  "
        + _("mail server (SMTP): {host}, port {port}, security none, account {user} / {password}").format(
            host=intranet.smtp_host,
            port=intranet.smtp_port,
            user=intranet.smtp_account.username,
            password=intranet.smtp_account.password,
        ),
        "  " + _("mail sent, to read: {url}/messagerie").format(url=intranet.url),
        "  "
        + (
            _("data: {folder} (kept)").format(folder=intranet.data_dir)
            if data_kept
            else _("data: {folder} (removed when stopped; --data FOLDER to keep it)").format(
                folder=intranet.data_dir
            )
        ),
        "",
        _(
            "The secrets of the workflows of robo new, for this intranet (in a .env file beside the workflow, or exported):"
        ),
        *(f"  {secret.variable}={secret.value}" for secret in training_secrets(intranet)),
    ]
    return "\n".join(lines)


def serve_intranet(
    say: Callable[[str], None],
    *,
    port: int = INTRANET_PORT,
    mail_port: int = MAIL_PORT,
    data: Path | None = None,
    root: Path = SOURCE_ROOT,
) -> None:
    """Run the training intranet and its mail server until Ctrl+C or SIGTERM; `say` prints its banner."""
    _source_tree(root, "mock_intranet")
    try:
        from tests.mock_intranet import MockIntranet
    except ImportError as exc:
        raise _missing_library(exc) from None

    with _until_stopped() as stopped, tempfile.TemporaryDirectory(prefix="robo-intranet-") as temporary:
        folder = data if data is not None else Path(temporary)
        intranet = MockIntranet(
            folder,
            host=INTRANET_HOST,
            port=port,
            smtp_port=mail_port,
            smtp_auth_require_tls=False,  # training only: the templates' mail settings say security none
        )
        try:
            intranet.start()
        except OSError as exc:
            intranet.stop()
            raise ConfigurationError(
                _(
                    "the training intranet cannot listen on {host}, port {port} or {mail_port}: {reason}"
                ).format(host=INTRANET_HOST, port=port, mail_port=mail_port, reason=exc.strerror or exc),
                hint=_(
                    "is another robo intranet running? Stop it, or choose other ports (--port, --mail-port) and"
                    " give them to the workflow: robo run saisie.yaml -i intranet=http://127.0.0.1:PORT"
                ),
            ) from None
        try:
            say(banner(intranet, data_kept=data is not None))
            stopped.wait()
        finally:
            intranet.stop()
    say(_("Training intranet stopped."))


def serve_desktop(say: Callable[[str], None], *, data: Path | None = None, root: Path = SOURCE_ROOT) -> None:
    """Run the training desktop client on the display until its window is closed (or Ctrl+C, SIGTERM)."""
    _source_tree(root, "mock_desktop")
    folder = data if data is not None else Path()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        from tests.mock_desktop.client import run_client
    except ImportError as exc:
        if exc.name in ("tkinter", "_tkinter"):
            raise ConfigurationError(
                _("the training desktop client needs Tk, which this Python does not have"),
                hint=_("install it (Debian, Ubuntu: apt install python3-tk)"),
            ) from None
        raise _missing_library(exc) from None
    except OSError as exc:
        raise ConfigurationError(
            _("the folder {folder} cannot be created: {reason}").format(
                folder=folder, reason=exc.strerror or exc
            )
        ) from None
    import tkinter

    say(
        _("Training desktop client « Gestion des dossiers »: its records in {file}").format(
            file=folder / DESKTOP_DATABASE
        )
    )
    try:
        run_client(folder / DESKTOP_DATABASE)
    except tkinter.TclError as exc:
        raise ConfigurationError(
            _("the training desktop client cannot open its window: {reason}").format(reason=exc),
            hint=_("run it in a graphical session (DISPLAY set), or: robo run bureau.yaml --virtual-display"),
        ) from None


@contextmanager
def _until_stopped() -> Iterator[threading.Event]:
    """An event set by Ctrl+C (SIGINT) or SIGTERM while the block runs; the previous handlers restored after."""
    stopped = threading.Event()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        stopped.set()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopped
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
