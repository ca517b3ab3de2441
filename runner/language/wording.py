"""How the parser words what it finds: names, types and values in a reader's terms, and examples."""

from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
import unicodedata
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, TypeAdapter, ValidationError

from robots.kit import N_, _, ngettext
from runner.language.diagnostics import did_you_mean_text, either, quoted
from runner.language.values import IDENTIFIER, QUEUE_NAME


def bad_name_message(value: Any) -> str:
    return _(
        "'{value}' is not a valid name: use letters, digits and '_' only, not starting with a digit"
    ).format(value=value)


def valid_name_for(value: Any) -> str | None:
    """The closest valid name: `liste_electorale` for `liste-electorale`, `annee` for `année`."""
    decomposed = unicodedata.normalize("NFKD", str(value))
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    text = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    if not text:
        return None
    if text[0].isdigit():
        text = "_" + text
    return text if text != value and IDENTIFIER.match(text) else None


def name_hint(value: Any) -> str | None:
    """`did you mean 'liste_electorale'?` for `liste-electorale`."""
    suggestion = valid_name_for(value)
    return did_you_mean_text(suggestion) if suggestion else None


_PYDANTIC_SUBJECT = re.compile(
    r"^(Input|String|List|Dictionary|Value|Tuple|Set|Decimal|Number|Date|Datetime|Time|Object) should "
)
_PYDANTIC_TAIL = re.compile(r", (unable to|invalid|input is|got |expected ).*$", re.DOTALL)
# Pydantic's problems (after "should "), each as a whole message of ours.
_SHOULD = {
    "be a valid integer": N_("should be a valid integer"),
    "be a valid number": N_("should be a valid number"),
    "be a finite number": N_("should be a finite number"),
    "be a valid decimal": N_("should be a valid decimal"),
    "be a valid boolean": N_("should be a valid boolean"),
    "be a valid string": N_("should be a valid string"),
    "be a valid list": N_("should be a valid list"),
    "be a valid tuple": N_("should be a valid tuple"),
    "be a valid set": N_("should be a valid set"),
    "be a valid dictionary": N_("should be a valid dictionary"),
    "be a valid date": N_("should be a valid date"),
    "be a valid datetime": N_("should be a valid datetime"),
    "be a valid time": N_("should be a valid time"),
}
_BOUNDS = {
    "greater than or equal to": N_("should be greater than or equal to {limit}"),
    "greater than": N_("should be greater than {limit}"),
    "less than or equal to": N_("should be less than or equal to {limit}"),
    "less than": N_("should be less than {limit}"),
}
_BOUND = re.compile(r"^be (greater than or equal to|greater than|less than or equal to|less than) (\S+)$")
_CHOICES = re.compile(r"^be ('[^']*'(?:(?:, | or )'[^']*')*)$")
_LENGTH = re.compile(r"^have at (least|most) (\d+) (items?|characters?) after validation, not (\d+)$")


def describe_problem(message: str) -> str:
    """Pydantic's `Input should be a valid integer, unable to parse…` as `should be a valid integer`, in the
    reader's language."""
    text = _PYDANTIC_TAIL.sub("", message.strip())
    if text.startswith("Value error, "):
        text = text[len("Value error, ") :]
        if text.startswith("should "):
            return text
    if _PYDANTIC_SUBJECT.match(text):
        return _should(_PYDANTIC_SUBJECT.sub("", text))
    return _("is not valid: {problem}").format(problem=text[:1].lower() + text[1:])


def _should(problem: str) -> str:
    """`should <problem>` for one of pydantic's problems (left in pydantic's English when it is a rare one)."""
    if problem in _SHOULD:
        return _(_SHOULD[problem])
    bound = _BOUND.match(problem)
    if bound:
        return _(_BOUNDS[bound.group(1)]).format(limit=bound.group(2))
    choices = _CHOICES.match(problem)
    if choices:
        written = [quoted(choice) for choice in re.findall(r"'([^']*)'", choices.group(1))]
        return _("should be {choices}").format(choices=either(written))
    length = _LENGTH.match(problem)
    if length:
        size, found = int(length.group(2)), length.group(4)
        if length.group(3).startswith("item"):
            if length.group(1) == "least":
                wording = ngettext(
                    "should have at least {n} item after validation, not {found}",
                    "should have at least {n} items after validation, not {found}",
                    size,
                )
            else:
                wording = ngettext(
                    "should have at most {n} item after validation, not {found}",
                    "should have at most {n} items after validation, not {found}",
                    size,
                )
        elif length.group(1) == "least":
            wording = ngettext(
                "should have at least {n} character after validation, not {found}",
                "should have at least {n} characters after validation, not {found}",
                size,
            )
        else:
            wording = ngettext(
                "should have at most {n} character after validation, not {found}",
                "should have at most {n} characters after validation, not {found}",
                size,
            )
        return wording.format(n=size, found=found)
    return "should " + problem


# What a value of each kind of type is, in words: whole phrases, so that each language has its articles.
_INPUT_TYPE_PHRASES = {
    "string": N_("a string"),
    "number": N_("a number"),
    "integer": N_("an integer"),
    "boolean": N_("a boolean"),
    "date": N_("a date"),
    "file": N_("a file"),
    "folder": N_("a folder"),
    "list": N_("a list"),
}


def input_type_phrase(type_name: str) -> str:
    """`an integer` for the input type `integer`, in the reader's language."""
    phrase = _INPUT_TYPE_PHRASES.get(type_name)
    return _(phrase) if phrase else type_name


MAPPING_EXAMPLES = {
    "retry": "{attempts: 3, delay: 10}",
    "defaults": "{timeout: 30, retry: {attempts: 3}}",
    "browser": "{headless: false}",
    "inputs": "{fichier: {type: file}}",
    "vars": "{service: Urbanisme}",
    "collect": "{total: '{{ item.montant }}'}",
}
# Words people write for a choice, and the choice they mean (when it is one of the choices).
CHOICE_SYNONYMS = {
    "text": "string",
    "str": "string",
    "int": "integer",
    "float": "number",
    "decimal": "number",
    "bool": "boolean",
    "array": "list",
    "path": "file",
    "directory": "folder",
    "dir": "folder",
    "ignore": "continue",
    "ignorer": "continue",
    "continuer": "continue",
    "arreter": "fail",
    "arrêter": "fail",
    "echouer": "fail",
    "échouer": "fail",
    "skip": "continue",
    "stop": "fail",
    "abort": "fail",
    "warn": "warning",
    "debug": "info",
}


WORKFLOW_MISSING_HINTS = {
    "name": N_("add a line 'name: <what this workflow does>' at the top"),
    "steps": N_("add 'steps:' followed by a list of steps, each starting with '- '"),
}


def missing_key_hint(cls: Any, key: str) -> str | None:
    """A step kind's hint for a missing key (`cls.missing_hints`, marked with N_ where the kind declares it)."""
    hint = cls.missing_hints.get(key)
    return _(hint) if hint else None


def is_literal(annotation: Any) -> bool:
    """Whether a type is a choice of values (`Literal['fail', 'continue']`)."""
    return typing.get_origin(_strip_annotated(annotation)) is Literal


_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}
_FIELD_TYPES: dict[tuple[type[BaseModel], str], Any] = {}


def type_adapter(annotation: Any) -> TypeAdapter[Any]:
    """A cached validator for a type (building one costs far more than using it)."""
    cached = _ADAPTERS.get(id(annotation))
    if cached is None or cached[0] is not annotation:
        cached = (annotation, TypeAdapter(annotation))
        _ADAPTERS[id(annotation)] = cached
    return cached[1]


def field_type(owner: type[BaseModel], name: str) -> Any:
    """A field's type with its constraints: pydantic keeps them apart, in `field.metadata`."""
    key = (owner, name)
    if key not in _FIELD_TYPES:
        field = owner.model_fields[name]
        annotation = field.annotation
        if field.metadata:
            annotation = Annotated.__class_getitem__((annotation, *field.metadata))  # type: ignore[attr-defined]
        _FIELD_TYPES[key] = annotation
    return _FIELD_TYPES[key]


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def union_members(annotation: Any) -> list[Any]:
    """The members of a union other than None (an empty list when `annotation` is no union of two or more)."""
    base = _strip_annotated(annotation)
    if typing.get_origin(base) not in (Union, types.UnionType):
        return []
    members = [arg for arg in typing.get_args(base) if arg is not type(None)]
    return members if len(members) > 1 else []


def value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, dt.date):
        return "date"
    return "null" if value is None else type(value).__name__


def type_kind(annotation: Any) -> str | None:
    base = _strip_annotated(annotation)
    origin = typing.get_origin(base) or base
    if origin is Literal:
        values = typing.get_args(base)
        return value_kind(values[0]) if values else None
    if origin is bool:
        return "boolean"
    if origin in (int, float):
        return "number"
    if origin is str:
        return "text"
    if origin in (list, tuple, set, frozenset):
        return "list"
    if origin is dict or (isinstance(origin, type) and issubclass(origin, BaseModel)):
        return "mapping"
    if origin in (dt.date, dt.datetime):
        return "date"
    return None


_KIND_PHRASES = {
    "boolean": N_("true or false"),
    "number": N_("a number"),
    "text": N_("a text"),
    "list": N_("a list"),
    "mapping": N_("a mapping"),
    "date": N_("a date"),
}
WHOLE_NUMBER = N_("a whole number")


def type_phrase(annotation: Any) -> str:
    """A type in words, as a message to translate (`a whole number`); choices are quoted as written."""
    base = _strip_annotated(annotation)
    if typing.get_origin(base) is Literal:
        return either([quoted(value) for value in typing.get_args(base)])
    if base is int:
        return WHOLE_NUMBER
    return _KIND_PHRASES.get(type_kind(base) or "", str(base))


def describe_type(annotation: Any) -> str:
    """A type in words in the reader's language: `a whole number`, `'fail' or 'continue'`."""
    base = _strip_annotated(annotation)
    phrase = type_phrase(base)
    return phrase if typing.get_origin(base) is Literal else _(phrase)


def salvage(annotation: Any, value: Any) -> Any:
    """The entries of a mapping or list that are right on their own (None when `value` is neither)."""
    base = _strip_annotated(annotation)
    origin = typing.get_origin(base)
    args = typing.get_args(base)
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        keys, values = type_adapter(args[0]), type_adapter(args[1])
        kept: dict[Any, Any] = {}
        for key, item in value.items():
            try:
                kept[keys.validate_python(key)] = values.validate_python(item)
            except ValidationError:
                continue
        return kept
    if origin is list and len(args) == 1 and isinstance(value, list):
        adapter = type_adapter(args[0])
        items = []
        for item in value:
            try:
                items.append(adapter.validate_python(item))
            except ValidationError:
                continue
        return items
    return None


def params_example(kind: str, params: Any) -> tuple[str, str | None]:
    """An example mapping for an action's parameters, from its first required one, and a hint for a lone value."""
    try:
        from robots import robot_class

        robot, _dot, action = kind.partition(".")
        spec = robot_class(robot).action_specs().get(action)
    except Exception:  # an unknown robot is reported elsewhere; a broken plugin must not break this message
        spec = None
    if spec is None or not spec.parameters:
        return "{name: value}", None
    parameters = list(spec.parameters.values())
    first = next((p for p in parameters if p.required), parameters[0])
    hint = None
    if isinstance(params, str | int | float | bool) and not isinstance(params, dict | list):
        hint = _("did you mean {example}?").format(example=f"{{{first.name}: {_flow_scalar(params)}}}")
    return f"{{{first.name}: …}}", hint


def _flow_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and (
        not re.fullmatch(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^,\[\]{}]*", text)
        or ": " in text
        or " #" in text
        or text != text.strip()
    ):
        return json.dumps(text, ensure_ascii=False)
    return text


def show(value: Any) -> str:
    """A value as the `found:` line shows it: its repr, or what it is when it is long or a collection."""
    if isinstance(value, dict):
        return _("a mapping")
    if isinstance(value, list):
        return _("a list")
    if value is None:
        return _("nothing (null)")
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text_value_problem(problem: Any, name: str) -> tuple[str, str] | None:
    """What to say of a text that does not have the form its key asks (a pattern of the language's types, a yes
    or no word where a name is expected): the message and a hint; None for a problem with no words of its own."""
    from robots.desktop import OCR_LANGUAGES

    if problem["type"] == "yes_no_word":
        return (
            _("'{name}' is {value}: write true or false (in YAML, without quotes)").format(
                name=name, value=repr(problem.get("input"))
            ),
            _("true: the fleet's workers do the items; the name of a queue: only its workers"),
        )
    if problem["type"] != "string_pattern_mismatch":
        return None
    pattern = str(problem.get("ctx", {}).get("pattern"))
    words = {
        OCR_LANGUAGES: (
            N_("'{name}' should name Tesseract's languages, joined by +"),
            N_('e.g. "fra" or "fra+eng" (the names of its language data: tesseract --list-langs)'),
        ),
        QUEUE_NAME.pattern: (
            N_("'{name}' should be true, false or the name of a queue of the fleet"),
            N_(
                "a queue's name is lowercase letters, digits, - and _ (e.g. compta), as given to"
                " robo worker --queues"
            ),
        ),
    }
    if pattern not in words:
        return None
    message, hint = words[pattern]
    return _(message).format(name=name), _(hint)
