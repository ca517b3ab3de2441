"""The legacy desktop client Rob'O's desktop robot is tested against.

python -m tests.mock_desktop --db FILE.sqlite [--display :N]
"""

from __future__ import annotations

import argparse
import sys
import tkinter as tk
from collections.abc import Sequence
from pathlib import Path

from .client import run_client


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client until its window is closed; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tests.mock_desktop", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", type=Path, required=True, help="SQLite file of the records (created if absent)"
    )
    parser.add_argument("--display", help="X display, e.g. :99 (default: $DISPLAY)")
    args = parser.parse_args(argv)
    try:
        run_client(args.db, args.display)
    except tk.TclError as error:
        print(f"error: cannot open the client's window: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
