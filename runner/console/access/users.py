"""The console's users and their roles, kept in the run store's `users` table with argon2 hashes of their
passwords (never the passwords, never the hashes in a message or a log)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from robots.kit import ConfigurationError, _
from runner.record import users

MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"[\w.@+-]{1,200}")


class Role(IntEnum):
    """What a person may do in the console, each role allowed what the ones below it are. Stored by its `word`."""

    VIEWER = 1  # reads every page
    OPERATOR = 2  # also acts: runs, retries, resumes, marks items, pauses schedules
    ADMIN = 3  # also manages users

    @property
    def word(self) -> str:
        """The role's name in the store, on the command line and in messages: viewer, operator, admin."""
        return self.name.lower()

    def allows(self, needed: Role) -> bool:
        return self >= needed


PUBLIC: Role | None = None  # the role of a route anyone may open (the login page, `/healthz`, static files)


class UserError(ConfigurationError):
    """A user command that cannot be done: an unknown or existing name, a bad role or password."""


@dataclass(frozen=True)
class User:
    """A user as the console knows them (no hash)."""

    name: str
    role: Role
    created_at: dt.datetime
    changed_at: dt.datetime
    stamp: str = field(default="", repr=False, compare=False)
    """A digest of the password's hash (not the hash): it changes with the password, and with the user when a
    name is removed and given again, so a session opened before ends."""


def parse_role(text: str) -> Role:
    try:
        return Role[text.strip().upper()]
    except KeyError:
        raise UserError(
            _("unknown role {role!r}").format(role=text),
            hint=_("one of: {roles}").format(roles=", ".join(role.word for role in Role)),
        ) from None


def check_password(password: str) -> None:
    """A new password is refused when too short or empty of anything but spaces."""
    if len(password) < MIN_PASSWORD_LENGTH or not password.strip():
        raise UserError(
            _("the password is too short: at least {count} characters").format(count=MIN_PASSWORD_LENGTH)
        )


class UserStore:
    """The users of a run store's database; `hasher` carries argon2's parameters (a hash made with other
    parameters is made again at the next successful login)."""

    def __init__(self, engine: Engine, hasher: PasswordHasher | None = None) -> None:
        self.engine = engine
        self.hasher = hasher or PasswordHasher()
        self._decoy: str | None = None  # verified for an unknown name: it takes as long as a wrong password

    def add(self, name: str, role: Role, password: str) -> User:
        if not _NAME.fullmatch(name):
            raise UserError(
                _("the user name {name!r} is not allowed").format(name=name),
                hint=_("letters, digits and . _ - @ + only, at most 200 characters"),
            )
        check_password(password)
        now = dt.datetime.now(dt.UTC)
        row = {"name": name, "role": role.word, "password_hash": self.hasher.hash(password)}
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(users).values(**row, created_at=now.isoformat(), changed_at=now.isoformat())
                )
        except IntegrityError:
            raise UserError(_("the user {name} already exists").format(name=name)) from None
        return User(name, role, now, now)

    def list(self) -> list[User]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(users.c.name, users.c.role, users.c.created_at, users.c.changed_at).order_by(
                    users.c.name
                )
            ).all()
        return [
            User(row.name, parse_role(row.role), _moment(row.created_at), _moment(row.changed_at))
            for row in rows
        ]

    def get(self, name: str) -> User | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.name == name)).first()
        return None if row is None else _user(row, str(row.password_hash))

    def existing(self, name: str) -> User:
        """The user named `name`; `UserError` when there is none."""
        user = self.get(name)
        if user is None:
            raise _unknown(name)
        return user

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(users)).scalar_one())

    def remove(self, name: str) -> None:
        with self.engine.begin() as connection:
            if not connection.execute(delete(users).where(users.c.name == name)).rowcount:
                raise _unknown(name)

    def set_role(self, name: str, role: Role) -> None:
        self._update(name, role=role.word)

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        self._update(name, password_hash=self.hasher.hash(password))

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is theirs, else None; the hash is made again when argon2's parameters
        changed. The comparison is argon2's, in constant time; an unknown name costs one verification too."""
        with self.engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.name == name)).first()
        if row is not None:
            stored = str(row.password_hash)
        else:
            if self._decoy is None:
                self._decoy = self.hasher.hash("decoy password, never anyone's")
            stored = self._decoy
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(stored):
            stored = self.hasher.hash(password)
            self._update(name, password_hash=stored, touch=False)
        return _user(row, stored)

    def _update(self, name: str, *, touch: bool = True, **values: str) -> None:
        if touch:
            values_changed: dict[str, object] = {**values, "changed_at": dt.datetime.now(dt.UTC).isoformat()}
        else:
            values_changed = dict(values)
        with self.engine.begin() as connection:
            if not connection.execute(
                update(users).where(users.c.name == name).values(**values_changed)
            ).rowcount:
                raise _unknown(name)


def _unknown(name: str) -> UserError:
    return UserError(_("there is no user {name}").format(name=name), hint=_("see 'robo users list'"))


def _user(row: Any, password_hash: str) -> User:
    stamp = hashlib.sha256(password_hash.encode()).hexdigest()
    return User(row.name, parse_role(row.role), _moment(row.created_at), _moment(row.changed_at), stamp)


def _moment(value: dt.datetime | str) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
