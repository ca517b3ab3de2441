"""The audit key and what it signs: each record's MAC and the seal of the log's head.

This is the format of an audit log that both its writer (`audit.py`) and its verifier (`audit_verify.py`) follow.
The key is kept outside the run folder and the run store (a 0600 file created at first use, see `audit_key_path`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from robots.kit import ConfigurationError, _, create_private_file

GENESIS = "0" * 64  # the `prev` of a log's first record

AUDIT_SEAL_NAME = "audit.seal"  # beside the log: the head of the log, sealed with the key
AUDIT_KEY_VARIABLE = "ROBO_AUDIT_KEY_FILE"  # where the audit key is, when not in its default place
_KEY_FILE_NAME = "audit.key"
RECORDS_LOST_EVENT = (
    "audit_records_lost"  # written by a resume after a system crash lost the log's last records
)
_MAC_SUFFIX = re.compile(rb',"mac":"([0-9a-f]{64})"\}$')
_HASH_SUFFIX = re.compile(rb',"hash":"([0-9a-f]{64})"\}$')  # the older, unkeyed format


# --- the key ---------------------------------------------------------------------------------------------------


def audit_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the audit key is: `ROBO_AUDIT_KEY_FILE`, else `$XDG_STATE_HOME/robo/audit.key`, else (root)
    `/var/lib/robo/audit.key`, else `~/.local/state/robo/audit.key`."""
    env = os.environ if environ is None else environ
    if env.get(AUDIT_KEY_VARIABLE):
        return Path(env[AUDIT_KEY_VARIABLE]).expanduser()
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]) / "robo" / _KEY_FILE_NAME
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/robo") / _KEY_FILE_NAME
    return Path.home() / ".local" / "state" / "robo" / _KEY_FILE_NAME


@dataclass(frozen=True)
class AuditKey:
    """The secret that signs audit records, and a short id that names it without revealing it."""

    secret: bytes
    path: Path

    @functools.cached_property
    def key_id(self) -> str:
        return hmac.new(self.secret, b"robo-audit-key-id", hashlib.sha256).hexdigest()[:16]

    def mac(self, body: bytes) -> str:
        return hmac.digest(self.secret, body, "sha256").hex()


class AuditKeyError(ConfigurationError):
    """The audit key cannot be created or read, or others can read it."""


def load_audit_key(*, create: bool = False, environ: Mapping[str, str] | None = None) -> AuditKey | None:
    """The audit key, created (0600, 32 random bytes) at first use when `create`; None when it does not exist."""
    path = audit_key_path(environ)
    hint = _("set {variable} to the path of the key file (created at first use, mode 0600)").format(
        variable=AUDIT_KEY_VARIABLE
    )
    try:
        if create and not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the user's key folder: theirs only
            create_private_file(path, secrets.token_hex(32) + "\n")  # or another first run's
        if not path.exists():
            return None
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise AuditKeyError(
                _(
                    "the audit key {path} can be read by other users (mode {mode}): whoever reads it can forge"
                    " audit logs"
                ).format(path=path, mode=f"{stat.S_IMODE(path.stat().st_mode):04o}"),
                hint=f"chmod 600 {path}",
            )
        text = path.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(
            _("the audit key {path} cannot be used: {error}").format(path=path, error=exc), hint=hint
        ) from None
    except ValueError:
        raise AuditKeyError(
            _("the audit key {path} is not a key (64 hexadecimal digits)").format(path=path), hint=hint
        ) from None
    if len(secret) < 32:
        raise AuditKeyError(
            _("the audit key {path} is too short (32 bytes are needed)").format(path=path), hint=hint
        )
    return AuditKey(secret, path)


# --- records and seal ------------------------------------------------------------------------------------------


def seal(body: bytes, key: AuditKey) -> tuple[bytes, str]:
    """A record's line (its JSON with `mac` appended) and that MAC."""
    digest = key.mac(body)
    return body[:-1] + b',"mac":"' + digest.encode() + b'"}', digest


def unseal(line: bytes) -> tuple[bytes, str] | None:
    """The record's bytes as they were signed and the MAC it carries, or None when it carries none."""
    match = _MAC_SUFFIX.search(line)
    if match is None:
        return None
    return line[: match.start()] + b"}", match.group(1).decode()


def unseal_unkeyed(line: bytes) -> tuple[bytes, str] | None:
    match = _HASH_SUFFIX.search(line)
    if match is None:
        return None
    return line[: match.start()] + b"}", match.group(1).decode()


def record_run_id(line: bytes) -> str | None:
    """The run id a record names, in either format (to find the run of a log given by its path)."""
    sealed = unseal(line) or unseal_unkeyed(line)
    try:
        run_id = json.loads(sealed[0]).get("run_id") if sealed else None
    except (ValueError, AttributeError):
        return None
    return run_id if isinstance(run_id, str) else None


def _seal_mac(key: AuditKey, seq: int, head: str, durable: int, durable_head: str) -> str:
    return key.mac(b"robo-audit-seal\0%d\0%s\0%d\0%s" % (seq, head.encode(), durable, durable_head.encode()))


def seal_text(key: AuditKey, seq: int, head: str, durable: int, durable_head: str) -> bytes:
    """The content of `audit.seal` for a log of `seq` records whose last MAC is `head`, of which the first
    `durable` (the last MAC `durable_head`) are known to be on disk (fsynced)."""
    body = {
        "seq": seq,
        "head": head,
        "durable": durable,
        "durable_head": durable_head,
        "key": key.key_id,
        "mac": _seal_mac(key, seq, head, durable, durable_head),
    }
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Seal:
    seq: int
    head: str
    durable: int
    durable_head: str
    key_id: str
    mac: str

    def signed_by(self, key: AuditKey) -> bool:
        expected = _seal_mac(key, self.seq, self.head, self.durable, self.durable_head)
        return self.key_id == key.key_id and hmac.compare_digest(expected, self.mac)


def read_seal(path: Path) -> Seal | str | None:
    """The seal file's content; a text saying what is wrong with it; None when there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _("the seal {seal} cannot be read: {error}").format(seal=path.name, error=exc)
    try:
        data = json.loads(raw)
        result = Seal(
            int(data["seq"]),
            str(data["head"]),
            int(data["durable"]),
            str(data["durable_head"]),
            str(data["key"]),
            str(data["mac"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return _("the seal {seal} is not a seal (edited or damaged)").format(seal=path.name)
    if isinstance(data["seq"], bool) or not 0 <= result.durable <= result.seq:
        return _("the seal {seal} is not a seal (edited or damaged)").format(seal=path.name)
    return result
