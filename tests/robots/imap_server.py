"""A real IMAP server for the email robot's tests: Dovecot on 127.0.0.1, with a throwaway configuration.

The server runs from a temporary folder (its own config file, passwd-file users, Maildir mailboxes, logs) and
listens on two free ports: IMAP (plain, with STARTTLS) and IMAPS, both with a self-signed certificate valid for
127.0.0.1. It is started once per test session; each test gets a mailbox of its own (`imap_account`).

Fixtures (import them in a test module): `dovecot` (session) and `imap_account` (function). When Dovecot is not
installed, the tests that use them are skipped and say how to install it (`scripts/install-system-deps.sh`).
"""

from __future__ import annotations

import imaplib
import itertools
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.mock_intranet.tls import ensure_self_signed_certificate

START_TIMEOUT_SECONDS = 15.0
ACCOUNT_POOL = 200
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ImapAccount:
    """A mailbox on the test server, and how to reach it."""

    host: str
    port: int
    ssl_port: int
    user: str
    password: str
    certificate: Path

    def client(self) -> imaplib.IMAP4:
        """A logged-in imaplib client (plain connection), for tests to set up and check mailboxes."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            client.login(self.user, self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX", seen: bool = False) -> None:
        """Put a message in a folder (IMAP APPEND), as if it had just arrived."""
        client = self.client()
        try:
            status, reply = client.append(folder, r"(\Seen)" if seen else "", None, raw)
            assert status == "OK", reply
        finally:
            client.logout()

    def create_folder(self, name: str) -> None:
        """Create a folder (name in ASCII, or already in IMAP's modified UTF-7)."""
        client = self.client()
        try:
            status, reply = client.create(name)
            assert status == "OK", reply
        finally:
            client.logout()

    def messages(self, folder: str = "INBOX") -> list[tuple[bytes, bytes]]:
        """(flags, raw message) of every message in a folder, oldest first."""
        client = self.client()
        try:
            status, reply = client.select(folder, readonly=True)
            assert status == "OK", reply
            status, data = client.uid("SEARCH", "ALL")
            found = []
            for uid in data[0].split():
                status, parts = client.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                header, raw = parts[0]
                found.append((header, raw))
            return found
        finally:
            client.logout()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _answers(port: int, greets: bool = True) -> bool:
    """Whether the port accepts connections (and greets in plain text, unless it speaks TLS from the start)."""
    try:
        with socket.create_connection((HOST, port), timeout=1) as connection:
            return connection.recv(64).startswith(b"* OK") if greets else True
    except OSError:
        return False


class DovecotServer:
    """Dovecot running in the foreground from a folder of its own; `stop()` ends it and removes the folder."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        # Not pytest's tmp_path: Dovecot's unprivileged processes must be able to enter it.
        self.root = Path(tempfile.mkdtemp(prefix="robo-dovecot-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        self.ssl_port = _free_port()
        self.passwd = self.root / "passwd"
        self.certificate = ensure_self_signed_certificate(self.root / "tls")
        self._process: subprocess.Popen[bytes] | None = None
        self._numbers = itertools.count(1)

    def _users(self) -> tuple[str, str, str]:
        """(login user, internal user, mail user): Dovecot refuses to run its login processes as root."""
        me = pwd.getpwuid(os.getuid()).pw_name
        if os.getuid() != 0:
            return me, me, me
        names = {entry.pw_name for entry in pwd.getpwall()}
        login = "dovenull" if "dovenull" in names else "nobody"
        internal = "dovecot" if "dovecot" in names else "nobody"
        return login, internal, internal

    def _write_configuration(self) -> Path:
        login, internal, mail_user = self._users()
        mail = self.root / "mail"
        mail.mkdir()
        entry = pwd.getpwnam(mail_user)
        if os.getuid() == 0:
            os.chown(mail, entry.pw_uid, entry.pw_gid)
        self.passwd.write_text(
            "".join(f"{_user(n)}:{{PLAIN}}{_password(n)}\n" for n in range(1, ACCOUNT_POOL + 1))
        )
        self.passwd.chmod(0o644)
        for folder in ("base", "state"):
            (self.root / folder).mkdir()
        configuration = self.root / "dovecot.conf"
        configuration.write_text(
            f"""
protocols = imap
listen = {HOST}
base_dir = {self.root}/base
state_dir = {self.root}/state
instance_name = robo-test-{self.port}
log_path = {self.root}/dovecot.log
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {_group_name(internal)}
first_valid_uid = 1
ssl = yes
ssl_cert = <{self.certificate.certificate}
ssl_key = <{self.certificate.private_key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{mail}/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = static
  args = uid={entry.pw_uid} gid={entry.pw_gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # No growing delay after a failed login: the tests try wrong passwords on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
""".lstrip()
        )
        return configuration

    def start(self) -> None:
        """Start Dovecot and wait until both ports greet; raises RuntimeError with its log otherwise."""
        configuration = self._write_configuration()
        with open(self.root / "console.log", "wb") as console:
            self._process = subprocess.Popen(
                [self.executable, "-F", "-c", str(configuration)], stdout=console, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (_answers(self.port) and _answers(self.ssl_port, greets=False)):
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"Dovecot did not start:\n{log}")
            time.sleep(0.05)

    def log(self) -> str:
        """What Dovecot wrote to its console and log file."""
        texts = []
        for name in ("console.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                texts.append(path.read_text(errors="replace"))
        return "\n".join(texts)

    def stop(self) -> None:
        """Stop Dovecot (and its children) and delete its folder."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def add_account(self) -> ImapAccount:
        """A new, empty mailbox of the pool written before the server started.

        Dovecot rereads its passwd-file at most once a second, so accounts added while it runs may not be known
        yet: they are all written up front.
        """
        number = next(self._numbers)
        if number > ACCOUNT_POOL:
            raise RuntimeError(f"the test IMAP server has only {ACCOUNT_POOL} accounts: raise ACCOUNT_POOL")
        return ImapAccount(
            HOST, self.port, self.ssl_port, _user(number), _password(number), self.certificate.certificate
        )


def _user(number: int) -> str:
    return f"agent{number}@mairie.test"


def _password(number: int) -> str:
    return f"Mot-de-passe-IMAP-{number}"


def _group_name(user: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def find_dovecot() -> str | None:
    """The dovecot program, or None when it is not installed."""
    return shutil.which("dovecot") or next(
        (place for place in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(place, os.X_OK)),
        None,
    )


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A Dovecot IMAP server on 127.0.0.1 for the whole session."""
    executable = find_dovecot()
    if executable is None:
        pytest.skip(
            "Dovecot is not installed: run scripts/install-system-deps.sh (Debian package dovecot-imapd)"
        )
    server = DovecotServer(executable)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def imap_account(dovecot: DovecotServer) -> ImapAccount:
    """An empty mailbox of its own on the session's Dovecot server."""
    return dovecot.add_account()


def client_context(account: ImapAccount) -> ssl.SSLContext:
    """A TLS context that trusts the test server's certificate."""
    return ssl.create_default_context(cafile=str(account.certificate))
