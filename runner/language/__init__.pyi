from .diagnostics import (
    EXCERPT_WIDTH,
    Diagnostic,
    WorkflowError,
    closest,
    did_you_mean,
    print_diagnostics,
    render_all,
    render_text,
)
from .environment import (
    CREDENTIAL_VARIABLES,
    is_credential_variable,
    matches_any,
    template_environment,
    url_password,
)
from .loader import (
    Location,
    SpanIndex,
    load_workflow_file,
    load_workflow_text,
    split_lines,
)
from .model import INPUT_PYTHON_TYPES, UNLIMITED, InputSpec, ScheduleEntry, Workflow
from .reference import print_actions
from .schema import SCHEMA_COMMENT, SCHEMA_FILE, schema_text, workflow_schema
from .steps import (
    STEP_KINDS,
    ActionStep,
    FailedStep,
    ForEachStep,
    Scope,
    Step,
    StepBase,
    StepChecker,
    StepRunner,
    register_step_kind,
)
from .triggers import (
    ScheduleTrigger,
    crontab_day_of_week,
    holidays_of,
    parse_time_of_day,
    read_closed_days,
)
from .validate import ValidationResult, print_validation, validate_document, validate_file
from .values import RetryPolicy
from .wording import describe_problem
from .yaml_errors import YamlSyntaxError

__all__ = [
    "CREDENTIAL_VARIABLES",
    "EXCERPT_WIDTH",
    "INPUT_PYTHON_TYPES",
    "SCHEMA_COMMENT",
    "SCHEMA_FILE",
    "STEP_KINDS",
    "UNLIMITED",
    "ActionStep",
    "Diagnostic",
    "FailedStep",
    "ForEachStep",
    "InputSpec",
    "Location",
    "RetryPolicy",
    "ScheduleEntry",
    "ScheduleTrigger",
    "Scope",
    "SpanIndex",
    "Step",
    "StepBase",
    "StepChecker",
    "StepRunner",
    "ValidationResult",
    "Workflow",
    "WorkflowError",
    "YamlSyntaxError",
    "closest",
    "crontab_day_of_week",
    "describe_problem",
    "did_you_mean",
    "holidays_of",
    "is_credential_variable",
    "load_workflow_file",
    "load_workflow_text",
    "matches_any",
    "parse_time_of_day",
    "print_actions",
    "print_diagnostics",
    "print_validation",
    "read_closed_days",
    "register_step_kind",
    "render_all",
    "render_text",
    "schema_text",
    "split_lines",
    "template_environment",
    "url_password",
    "validate_document",
    "validate_file",
    "workflow_schema",
]
