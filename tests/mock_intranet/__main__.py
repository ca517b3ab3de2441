"""Command line of the mock intranet.

python -m tests.mock_intranet serve [--port N] [--smtp-port N] [--data DIR] [--json] ...
python -m tests.mock_intranet sample-data [--out workflows/data]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from .accounts import TEST_TOKEN_HEADER
from .faults import FaultConfig
from .sample_data import DEFAULT_SEED, write_example_inputs, write_sample_data
from .server import MockIntranet
from .state import DEFAULT_SESSION_TTL_SECONDS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.mock_intranet", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web app and the mail server until SIGTERM or Ctrl+C")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="web port (default: a free one)")
    serve.add_argument("--smtp-port", type=int, default=0, help="SMTP port (default: a free one)")
    serve.add_argument("--data", type=Path, help="data directory (default: a temporary one, removed at exit)")
    serve.add_argument("--session-ttl", type=float, default=DEFAULT_SESSION_TTL_SECONDS, help="seconds")
    serve.add_argument("--failure-rate", type=float, default=0.0, help="probability of HTTP 500")
    serve.add_argument("--slow-rate", type=float, default=0.0, help="probability of a slow answer")
    serve.add_argument("--slow-max-delay", type=float, default=0.0, help="longest delay, seconds")
    serve.add_argument("--changed-layout", action="store_true", help="rename field labels")
    serve.add_argument("--seed", type=int, help="seed of the fault draws")
    serve.add_argument("--smtp-auth-required", action="store_true", help="refuse unauthenticated mail")
    serve.add_argument("--smtp-plain-auth", action="store_true", help="allow AUTH without STARTTLS")
    serve.add_argument("--json", action="store_true", help="print one JSON line with URLs and accounts")

    sample = commands.add_parser("sample-data", help="write the example workflows' input files")
    sample.add_argument("--out", type=Path, default=Path("workflows/data"))
    sample.add_argument("--rows", type=int, help="write only dossiers.xlsx/.csv with this many rows")
    sample.add_argument("--invalid-ratio", type=float, default=0.0)
    sample.add_argument("--seed", type=int, default=DEFAULT_SEED)
    return parser


def _print_banner(intranet: MockIntranet) -> None:
    accounts = ", ".join(f"{a.username} / {a.password}" for a in intranet.accounts if a.active)
    smtp = intranet.smtp_account
    print(
        "Intranet fictif démarré\n"
        f"  Web            : {intranet.url}\n"
        f"  SMTP           : {intranet.smtp_host}:{intranet.smtp_port} (STARTTLS, AUTH {smtp.username} / {smtp.password})\n"
        f"  Certificat     : {intranet.certificate.certificate}\n"
        f"  Comptes        : {accounts}\n"
        f"  API de test    : {TEST_TOKEN_HEADER}: {intranet.test_token}\n"
        f"  Données        : {intranet.data_dir}\n"
        "Ctrl+C (ou SIGTERM) pour arrêter.",
        flush=True,
    )


def _serve(args: argparse.Namespace) -> int:
    try:
        faults = FaultConfig(
            failure_rate=args.failure_rate,
            slow_rate=args.slow_rate,
            slow_max_delay=args.slow_max_delay,
            changed_layout=args.changed_layout,
            seed=args.seed,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="mock_intranet_") as temporary:
        intranet = MockIntranet(
            args.data or Path(temporary),
            session_ttl=args.session_ttl,
            faults=faults,
            host=args.host,
            port=args.port,
            smtp_port=args.smtp_port,
            smtp_auth_required=args.smtp_auth_required,
            smtp_auth_require_tls=not args.smtp_plain_auth,
        )
        with intranet:
            if args.json:
                print(json.dumps(intranet.describe()), flush=True)
            else:
                _print_banner(intranet)
            while not stop.wait(0.5):
                pass
    print("Intranet fictif arrêté.", file=sys.stderr, flush=True)
    return 0


def _sample_data(args: argparse.Namespace) -> int:
    if args.rows is None:
        written = write_example_inputs(args.out, seed=args.seed)
    else:
        files = write_sample_data(args.out, args.rows, args.invalid_ratio, seed=args.seed)
        written = [files.xlsx, files.csv, files.letter_template]
    for path in written:
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _sample_data(args)


if __name__ == "__main__":
    sys.exit(main())
