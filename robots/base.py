"""The `Robot` base class, the `@action` decorator and `ActionSpec`, the single source of truth of an action.

An action is a typed method with a Google-style docstring. `@action` attaches an `ActionSpec` built from the
signature and the docstring's `Args:` section, and returns the method unchanged so tests can call it directly.
The spec's pydantic model drives static validation, `robo actions`, `robo schema` and run-time conversion.
"""

from __future__ import annotations

import errno
import inspect
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any, ClassVar, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from runner.durations import Duration
from runner.errors import BusinessError

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class _SecretMarker:
    """Marks a parameter whose value must be redacted wherever it is recorded."""

    def __repr__(self) -> str:
        return "Secret"


SECRET = _SecretMarker()

Seconds = Annotated[Duration, Field(gt=0, le=86_400)]
"""A duration in seconds (a positive number)."""

Secret = Annotated[str, SECRET]
"""A text value that is redacted in every log, report and trace."""


class FlatParameters:
    """Parameters that several actions share, declared once: a dataclass whose fields become the action's own.

    An action takes one argument of such a class (e.g. `target: Target`, how to find an element on a page);
    in a workflow its fields are written as ordinary parameters (`label: Nom`), documented by the class's
    `Args:` section, and gathered into one instance before the call. `choose_one` names the fields of which
    exactly one must be given (at most one when the argument is optional).
    """

    choose_one: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def problems(cls, given: Mapping[str, Any], optional: bool) -> list[tuple[str, str]]:
        """What is wrong with these written fields beyond their types: (field, message) pairs, for validation.

        `given` holds the fields a step writes (a template as its text); `optional` is whether the action may
        go without the argument.
        """
        return []


@dataclass(frozen=True)
class FlatGroup:
    """Where an action's flattened parameters come from."""

    argument: str
    cls: type[FlatParameters]
    fields: tuple[str, ...]
    optional: bool


TEMPORARY_SUFFIX = ".part"


def temporary_path(path: Path, run_id: str | None = None) -> Path:
    """A hidden name beside `path` for a file being written (not created here): `.NAME.RUN.TOKEN.part`.

    The run's id in the name lets the run remove what a crash left behind when it is resumed or ends, and only
    its own: another run's write in progress beside it is left alone.
    """
    import secrets

    tag = f".{run_id}" if run_id else ""
    return path.with_name(f".{path.name}{tag}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")


def remove_leftovers(run_id: str, folders: Iterable[Path]) -> list[Path]:
    """Remove the temporary files of run `run_id` left in these folders or their direct subfolders."""
    import glob

    if not run_id:
        return []
    pattern = f".*.{glob.escape(run_id)}.*{TEMPORARY_SUFFIX}"
    removed = []
    for folder in folders:
        try:
            candidates = [*folder.glob(pattern), *folder.glob(f"*/{pattern}")]
        except OSError:
            continue
        for candidate in candidates:
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:
                continue
    return removed


class SharedResources:
    """Things the robots of one run share across parallel lanes (one browser for N lanes), closed at its end."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._items: dict[str, Any] = {}
        self._closers: list[tuple[str, Callable[[Any], None]]] = []

    def get_or_create(self, key: str, create: Callable[[], T], close: Callable[[T], None]) -> T:
        """The resource under `key`, created on first use; `close` is called on it when the run ends."""
        with self._lock:
            if key not in self._items:
                self._items[key] = create()
                self._closers.append((key, close))
            return self._items[key]  # type: ignore[no-any-return]

    def close(self) -> list[str]:
        """Close everything, newest first; returns the problems met (never raises)."""
        problems = []
        with self._lock:
            closers, self._closers = self._closers, []
            items, self._items = self._items, {}
        for key, close in reversed(closers):
            try:
                close(items[key])
            except Exception as exc:
                problems.append(f"closing {key} failed: {exc}")
        return problems


@dataclass
class RobotContext:
    """What a robot may know of the run it serves; passed to the robot when it is created."""

    run_id: str
    workflow_name: str
    workflow_dir: Path
    artifacts_dir: Path
    settings: Mapping[str, Any] = field(default_factory=dict)
    lane: int = 0
    record_artifact: Callable[[Path, str, str], None] = lambda path, kind, description: None
    log: Callable[[str], None] = lambda message: None
    redact: Callable[[str], str] = lambda text: text
    shared: SharedResources = field(default_factory=SharedResources)

    def resolve_path(self, value: str | Path) -> Path:
        """A path from a workflow, relative to the workflow file's folder unless absolute."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.workflow_dir / path)

    def artifact_path(self, name: str) -> Path:
        """A fresh path under the run's artifacts folder (created on demand); a secret in `name` is masked."""
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.\-]+", "_", self.redact(name)).strip("_") or "artifact"
        candidate = self.artifacts_dir / safe
        stem, suffix, counter = candidate.stem, candidate.suffix, 1
        while candidate.exists():
            counter += 1
            candidate = self.artifacts_dir / f"{stem}-{counter}{suffix}"
        return candidate


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of an action, as the signature and docstring declare it."""

    name: str
    annotation: Any
    required: bool
    default: Any
    description: str
    keyword_only: bool
    secret: bool

    def type_text(self) -> str:
        """The parameter's type in words."""
        return describe_type(self.annotation)


@dataclass
class ActionSpec:
    """Everything known about an action, derived once from its method."""

    name: str
    method_name: str
    summary: str
    description: str
    returns: str
    parameters: dict[str, ParameterSpec]
    side_effects: bool
    one_of: tuple[tuple[str, ...], ...]
    together: tuple[tuple[str, ...], ...]
    at_most_one: tuple[tuple[str, ...], ...] = ()
    flat_groups: tuple[FlatGroup, ...] = ()
    robot: str = ""
    idempotent: bool = False
    _model: type[BaseModel] | None = field(default=None, repr=False)
    _adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict, repr=False)

    @property
    def qualified_name(self) -> str:
        """`robot.action`, as workflows write it."""
        return f"{self.robot}.{self.name}"

    @property
    def may_enter_twice(self) -> bool:
        """Whether calling it again may make a duplicate (a submit, a send, an append, a move).

        Such a call is what the work-item ledger records, so that an item that fails after it is never done
        again blindly.
        """
        return self.side_effects and not self.idempotent

    @property
    def model(self) -> type[BaseModel]:
        """The pydantic model of the parameters (built on first use)."""
        if self._model is None:
            fields: dict[str, Any] = {}
            for param in self.parameters.values():
                default = ... if param.required else param.default
                fields[param.name] = (param.annotation, Field(default, description=param.description or None))
            model_name = "".join(part.title() for part in re.split(r"[._]", self.qualified_name)) + "Params"
            self._model = create_model(
                model_name,
                __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
                **fields,
            )
        return self._model

    def adapter(self, name: str) -> TypeAdapter[Any]:
        """A validator for one parameter (cached)."""
        if name not in self._adapters:
            self._adapters[name] = TypeAdapter(self.parameters[name].annotation)
        return self._adapters[name]

    def convert(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and convert rendered parameters; raises pydantic's `ValidationError`."""
        instance = self.model.model_validate(dict(params))
        values = {
            name: getattr(instance, name) for name in self.parameters if name in instance.model_fields_set
        }
        for group in self.flat_groups:
            given = {name: values.pop(name) for name in group.fields if name in values}
            if given or not group.optional:
                values[group.argument] = group.cls(**given)
        return values

    def check_value(self, name: str, value: Any) -> str | None:
        """A message when `value` does not fit parameter `name`, else None."""
        try:
            self.adapter(name).validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            return str(first.get("msg", "invalid value"))
        return None

    @property
    def secret_parameters(self) -> frozenset[str]:
        """Names of the parameters whose values are redacted."""
        return frozenset(name for name, p in self.parameters.items() if p.secret)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameters, for editors."""
        schema = self.model.model_json_schema()
        schema["description"] = self.summary
        schema.pop("title", None)
        return schema


@overload
def action(func: F) -> F: ...


@overload
def action(
    *,
    side_effects: bool = False,
    idempotent: bool = False,
    one_of: Sequence[Sequence[str]] = (),
    together: Sequence[Sequence[str]] = (),
    at_most_one: Sequence[Sequence[str]] = (),
    name: str | None = None,
) -> Callable[[F], F]: ...


def action(
    func: F | None = None,
    *,
    side_effects: bool = False,
    idempotent: bool = False,
    one_of: Sequence[Sequence[str]] = (),
    together: Sequence[Sequence[str]] = (),
    at_most_one: Sequence[Sequence[str]] = (),
    name: str | None = None,
) -> Any:
    """Declare a robot method as a workflow action; the method itself is returned unchanged.

    Args:
        func: The method (when used without parentheses).
        side_effects: Whether the action may change something outside the run: submit or send something, write,
            move or delete a file (skipped by `--dry-run`). Filling a page is not a change (nothing leaves it);
            a click or a key press may submit, so it is one.
        idempotent: With `side_effects`: doing it again with the same parameters makes no duplicate, it only
            writes the same result again (a document rendered to a file, a value set in a cell). Otherwise
            (a submit, a send, an append, a move) the work-item ledger records the call before and after it,
            and an item that fails after it is never done again blindly.
        one_of: Groups of parameters of which exactly one must be given.
        together: Groups of parameters that must be given all together or not at all.
        at_most_one: Groups of parameters of which at most one may be given.
        name: The action's name in workflows, when it differs from the method's.
    """

    def decorate(method: F) -> F:
        method.__robo_action__ = build_action_spec(  # type: ignore[attr-defined]
            method,
            side_effects=side_effects,
            idempotent=idempotent,
            one_of=tuple(tuple(group) for group in one_of),
            together=tuple(tuple(group) for group in together),
            at_most_one=tuple(tuple(group) for group in at_most_one),
            name=name,
        )
        return method

    if func is not None:
        return decorate(func)
    return decorate


def build_action_spec(
    method: Callable[..., Any],
    *,
    side_effects: bool,
    one_of: tuple[tuple[str, ...], ...],
    together: tuple[tuple[str, ...], ...],
    at_most_one: tuple[tuple[str, ...], ...] = (),
    name: str | None,
    idempotent: bool = False,
) -> ActionSpec:
    """Derive an action's spec from its signature and docstring; raises `TypeError` for a bad declaration."""
    doc = inspect.getdoc(method) or ""
    summary, description, arg_docs, returns = parse_docstring(doc)
    hints = typing.get_type_hints(method, include_extras=True)
    parameters: dict[str, ParameterSpec] = {}
    flat_groups: list[FlatGroup] = []
    one_of_groups = list(one_of)
    at_most_one_groups = list(at_most_one)
    for param in list(inspect.signature(method).parameters.values())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"action {method.__qualname__} may not take *args or **kwargs")
        annotation = hints.get(param.name, Any)
        flat_cls, optional = _flat_class(annotation)
        if flat_cls is not None:
            flat_groups.append(_expand_flat(flat_cls, param.name, optional, parameters))
            arg_docs.setdefault(param.name, "")
            if flat_cls.choose_one:
                (at_most_one_groups if optional else one_of_groups).append(flat_cls.choose_one)
            continue
        parameters[param.name] = ParameterSpec(
            name=param.name,
            annotation=annotation,
            required=param.default is inspect.Parameter.empty,
            default=None if param.default is inspect.Parameter.empty else param.default,
            description=arg_docs.get(param.name, ""),
            keyword_only=param.kind == param.KEYWORD_ONLY,
            secret=_is_secret(annotation),
        )
    undocumented = [p for p, spec in parameters.items() if p not in arg_docs and not spec.description]
    if undocumented:
        raise TypeError(f"action {method.__qualname__} does not document {', '.join(undocumented)} in Args:")
    for names in (*one_of_groups, *together, *at_most_one):
        unknown = [p for p in names if p not in parameters]
        if unknown:
            raise TypeError(f"action {method.__qualname__}: unknown parameter(s) in group: {unknown}")
    return ActionSpec(
        name=name or method.__name__.rstrip("_"),
        method_name=method.__name__,
        summary=summary,
        description=description,
        returns=returns,
        parameters=parameters,
        side_effects=side_effects,
        idempotent=side_effects and idempotent,
        one_of=tuple(one_of_groups),
        together=together,
        at_most_one=tuple(at_most_one_groups),
        flat_groups=tuple(flat_groups),
    )


def _flat_class(annotation: Any) -> tuple[type[FlatParameters] | None, bool]:
    """The FlatParameters class an annotation names (directly or as `X | None`), and whether it is optional."""
    if isinstance(annotation, type) and issubclass(annotation, FlatParameters):
        return annotation, False
    args = typing.get_args(annotation)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and isinstance(rest[0], type) and issubclass(rest[0], FlatParameters):
            return rest[0], True
    return None, False


def _expand_flat(
    cls: type[FlatParameters], argument: str, optional: bool, parameters: dict[str, ParameterSpec]
) -> FlatGroup:
    import dataclasses

    _, _, docs, _ = parse_docstring(inspect.getdoc(cls) or "")
    hints = typing.get_type_hints(cls, include_extras=True)
    names = []
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if item.name in parameters:
            raise TypeError(f"{cls.__name__}.{item.name} clashes with a parameter of the same name")
        if item.name not in docs:
            raise TypeError(f"{cls.__name__} does not document {item.name} in Args:")
        parameters[item.name] = ParameterSpec(
            name=item.name,
            annotation=hints[item.name],
            required=False,
            default=item.default if item.default is not dataclasses.MISSING else None,
            description=docs[item.name],
            keyword_only=True,
            secret=_is_secret(hints[item.name]),
        )
        names.append(item.name)
    return FlatGroup(argument, cls, tuple(names), optional)


_SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Yields|Example|Examples|Note|Notes):\s*$")
_ARG_LINE = re.compile(r"^(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def parse_docstring(doc: str) -> tuple[str, str, dict[str, str], str]:
    """Split a Google-style docstring into summary, description, per-argument text and returns text."""
    lines = doc.splitlines()
    summary = lines[0].strip() if lines else ""
    description: list[str] = []
    args: dict[str, str] = {}
    returns: list[str] = []
    section = "description"
    current: str | None = None
    for raw in lines[1:]:
        heading = _SECTION.match(raw.strip()) if not raw.startswith(" ") else None
        if heading:
            section = heading.group(1)
            current = None
            continue
        text = raw.strip()
        if section == "description":
            description.append(raw)
        elif section in ("Args", "Arguments"):
            match = _ARG_LINE.match(text)
            if match and raw.startswith("    ") and not raw.startswith("        "):
                current = match.group(1)
                args[current] = match.group(2)
            elif current and text:
                args[current] = f"{args[current]} {text}".strip()
        elif section == "Returns" and text:
            returns.append(text)
    return summary, "\n".join(description).strip(), args, " ".join(returns)


def _is_secret(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        return any(isinstance(meta, _SecretMarker) for meta in typing.get_args(annotation)[1:])
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


def describe_type(annotation: Any) -> str:
    """A short, readable name for a parameter's type (for `robo actions` and error messages)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        base = describe_type(args[0])
        if any(isinstance(meta, _SecretMarker) for meta in args[1:]):
            return "secret text"
        if annotation == Seconds:
            return "seconds or a duration (90s, 15m, 1h30)"
        return base
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [describe_type(a) for a in args if a is not type(None)]
        text = " | ".join(dict.fromkeys(parts))
        return f"{text} (optional)" if type(None) in args else text
    if origin in (list, Sequence, typing.List):  # noqa: UP006
        return f"list of {describe_type(args[0])}" if args else "list"
    if origin in (dict, Mapping, typing.Dict):  # noqa: UP006
        return "mapping"
    names = {str: "text", int: "integer", float: "number", bool: "true/false", Path: "path", dict: "mapping"}
    if annotation in names:
        return names[annotation]
    if annotation is Any:
        return "any value"
    return getattr(annotation, "__name__", str(annotation))


def refused_name(exc: BaseException, action: str) -> BusinessError | None:
    """A `BusinessError` when `exc` says a file name cannot exist (too long, a NUL byte), else None.

    Such a name comes from the data (a column, a page's text): trying again would fail the same way, so it is
    the data that is refused, not a system failing.
    """
    hint = (
        "the name comes from the data: correct it there, or clean it in the workflow (e.g. the slug filter)"
    )
    if isinstance(exc, OSError) and exc.errno in (errno.ENAMETOOLONG, errno.EILSEQ):
        name = str(exc.filename or "")
        shown = name if len(name) <= 80 else f"{name[:60]}… ({len(name)} characters)"
        problem = "too long" if exc.errno == errno.ENAMETOOLONG else "not valid"
        return BusinessError(f"{action}: the file name is {problem} for the file system: {shown}", hint=hint)
    if isinstance(exc, ValueError) and "embedded null" in str(exc):
        return BusinessError(
            f"{action}: a file name holds a NUL character (\\x00), which no file system accepts", hint=hint
        )
    if isinstance(exc, UnicodeEncodeError) and "surrogates not allowed" in str(exc):
        return BusinessError(f"{action}: a file name holds a character that cannot be written", hint=hint)
    return None


class Robot:
    """Base class of robots: a named set of actions with a lifecycle inside one run (or one parallel lane).

    A robot is created on first use, keeps its state between steps and is closed when the run ends, whatever
    happens. Subclasses set `name` and a docstring, decorate their actions with `@action`, and override
    `close()` when they hold resources.
    """

    name: ClassVar[str] = ""
    thread_bound: ClassVar[bool] = False
    """True when every call must come from the thread that created the robot (e.g. Playwright's sync API)."""
    reads_its_own_changes: ClassVar[bool] = False
    """True when actions read what the robot's changing actions left (a page after a click or a submit): in a
    dry run, where changes are skipped, its actions that follow a skipped one in the same item are not checked."""

    def __init__(self, context: RobotContext) -> None:
        self.context = context

    def close(self) -> None:
        """Release what the robot holds (a browser, an open workbook); called once at the end of the run."""

    def item_started(self, key: str) -> None:
        """Called when a `for_each` item starts in this robot's lane (e.g. to start a trace chunk)."""

    def item_finished(self, key: str, ok: bool) -> None:
        """Called when a `for_each` item ends in this robot's lane, `ok` telling whether it succeeded."""

    @classmethod
    def action_specs(cls) -> dict[str, ActionSpec]:
        """The robot's actions by name (computed once per class)."""
        cached: dict[str, ActionSpec] | None = cls.__dict__.get("_action_specs")
        if cached is not None:
            return cached
        specs: dict[str, ActionSpec] = {}
        for klass in reversed(cls.__mro__):
            for attribute in vars(klass).values():
                spec = getattr(attribute, "__robo_action__", None)
                if isinstance(spec, ActionSpec):
                    spec.robot = cls.name
                    specs[spec.name] = spec
        cls._action_specs = dict(sorted(specs.items()))  # type: ignore[attr-defined]
        return cls._action_specs  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def summary(cls) -> str:
        """The first line of the robot's docstring."""
        return (inspect.getdoc(cls) or "").splitlines()[0] if cls.__doc__ else ""


# -- files written whole ---------------------------------------------------------------------------------------


def temporary_sibling(path: Path, run_id: str | None = None) -> Path:
    """A hidden name beside `path` that nothing uses, carrying the run's id (the file is not created)."""
    while True:
        candidate = temporary_path(path, run_id)
        if not candidate.exists():
            return candidate


@contextmanager
def atomic_path(path: Path, *, private: bool = False, run_id: str | None = None) -> Iterator[Path]:
    """A temporary file beside `path` to write; once the block ends without error, synced, it replaces `path`.

    The file gets the permissions of any file the process creates (0666 less the umask: 0644 under umask 022),
    so that the accounts meant to read a run's outputs can; `private` keeps it to its owner (0600), e.g. a
    browser session's cookies. A library that writes the file with other permissions is corrected before the
    file takes its name. On any error the temporary file is removed and `path` is left exactly as it was. The
    temporary file's name carries `run_id`, so that a run resumed after a crash removes its own leftovers.
    """
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = temporary_sibling(path, run_id)
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
            break
        except FileExistsError:
            continue
    try:
        wanted = os.fstat(fd).st_mode & 0o777  # what the umask gave: no need to change the process's umask
        os.close(fd)
        yield temporary
        with temporary.open("rb") as written:
            if os.fstat(written.fileno()).st_mode & 0o777 != wanted:
                os.chmod(temporary, wanted)
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_file(
    path: Path, mode: str = "wb", *, run_id: str | None = None, **open_args: Any
) -> Iterator[IO[Any]]:
    """`atomic_path` with the temporary file opened in `mode` (e.g. "w" with an encoding) for writing."""
    with atomic_path(path, run_id=run_id) as temporary, temporary.open(mode, **open_args) as handle:
        yield handle
