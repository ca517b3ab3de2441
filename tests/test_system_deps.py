"""scripts/install-system-deps.sh: which optional packages it asks for, read from the machine's package lists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install-system-deps.sh"


def optional_wanted(tmp_path: Path, policy: str) -> str:
    """What the script's `optional_wanted` prints, strict shell options on, where `apt-cache policy` prints `policy`
    and no headless shell is installed (a PATH of a fake apt-cache and the real grep only)."""
    match = re.search(r"^optional_wanted\(\) \{\n.*?^\}\n", SCRIPT.read_text(encoding="utf-8"), re.M | re.S)
    assert match is not None, "install-system-deps.sh has no optional_wanted function"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "policy.txt").write_text(policy, encoding="utf-8")
    apt_cache = bin_dir / "apt-cache"
    apt_cache.write_text(f"#!/bin/sh\nexec cat {tmp_path / 'policy.txt'}\n", encoding="utf-8")
    apt_cache.chmod(0o755)
    for tool in ("grep", "cat"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(
        [bash, "-c", f"set -euo pipefail\n{match.group(0)}optional_wanted"],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# The list a package's policy ends with can be long (every version, every source): enough lines that `apt-cache`
# is still writing when a reader that stops at the first match has gone (it then dies of SIGPIPE).
SOURCES = "".join(
    f"        500 http://deb.debian.org/debian bookworm/main amd64 Packages {n}\n" for n in range(20000)
)


@pytest.mark.parametrize(
    ("candidate", "wanted"),
    [("156.0.8078.114-1~deb12u1", "chromium-headless-shell\n"), ("(none)", "")],
)
def test_the_headless_shell_is_asked_for_exactly_when_the_package_lists_offer_it(
    tmp_path: Path, candidate: str, wanted: str
) -> None:
    policy = (
        "chromium-headless-shell:\n  Installed: (none)\n"
        f"  Candidate: {candidate}\n  Version table:\n     {candidate}\n{SOURCES}"
    )
    assert optional_wanted(tmp_path, policy) == wanted
