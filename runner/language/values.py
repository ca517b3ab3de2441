"""The values the language's models are made of: names, durations, choices and the retry policy.

Both the step kinds (`runner.language.steps`) and the workflow (`runner.language.model`) are built from them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from robots.kit import Duration

OnError = Literal["fail", "continue"]
KeyDuplicates = Literal["error", "number"]
"""What a `for_each` does when two items have the same key: refuse to start, or number the repeats (`D1#2`)."""
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Identifier = Annotated[str, Field(pattern=IDENTIFIER.pattern)]
RESERVED_NAMES = ("inputs", "vars", "secrets", "env", "run", "now", "today", "loop", "error")
"""The names a run defines itself in every template's scope (`error` in the steps that handle one): a step
may not save, set or loop under one of them, which would hide the run's own value (`save: secrets`)."""


def not_reserved(name: str) -> str:
    if name in RESERVED_NAMES:
        raise PydanticCustomError(
            "reserved_name", "'{name}' is a name the run defines itself", {"name": name}
        )
    return name


def not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank_text", "should not be empty")
    return text


QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
YES_NO_WORDS = frozenset({"oui", "non", "yes", "no", "vrai", "faux", "on", "off", "y", "n"})
"""Words a person writes for true or false: never a queue's name (`distribute: oui` means true)."""


def not_yes_no(name: str) -> str:
    if name in YES_NO_WORDS:
        raise PydanticCustomError(
            "yes_no_word", "'{name}' reads as yes or no, not as a queue", {"name": name}
        )
    return name


QueueName = Annotated[str, Field(pattern=QUEUE_NAME.pattern), AfterValidator(not_yes_no)]
"""The name of a fleet's queue (`distribute: compta`): the workers started with `robo worker --queues compta`."""
Name = Annotated[Identifier, AfterValidator(not_reserved)]
"""A name a step defines for the steps after it (`save`, `set`, a loop's `as`)."""
PositiveSeconds = Annotated[Duration, Field(gt=0, le=7 * 86_400)]


class LanguageModel(BaseModel):
    """A node of a workflow: no unknown keys, never changed once built."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, populate_by_name=True
    )


class RetryPolicy(LanguageModel):
    attempts: Annotated[int, Field(ge=1, le=100)] = 1
    delay: Annotated[Duration, Field(ge=0, le=3600)] = 1.0
    backoff: Annotated[float, Field(ge=1, le=10)] = 1.0
    max_delay: Annotated[Duration, Field(ge=0, le=86_400)] = 300.0
    jitter: Annotated[Duration, Field(ge=0, le=3600)] = 0.0
