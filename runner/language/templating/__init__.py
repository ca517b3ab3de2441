"""Templates in a workflow: rendering in a bounded sandbox, French filters, and what a template reads."""

from runner.language.templating.analysis import (
    attribute_references,
    extraction_problems,
    filters_used,
    keys_read,
    limit_problem,
    referenced_names,
    syntax_problem,
    tests_used,
)
from runner.language.templating.filters import FILTER_NAMES, date_fr, folder_slug, slug
from runner.language.templating.render import (
    RECORD_SOURCES,
    SECRET_WATCH,
    SecretWatch,
    TemplateError,
    as_expression_template,
    evaluate_condition,
    is_template,
    known_filters,
    known_tests,
    render_string,
    render_value,
)

__all__ = [
    "FILTER_NAMES",
    "RECORD_SOURCES",
    "SECRET_WATCH",
    "SecretWatch",
    "TemplateError",
    "as_expression_template",
    "attribute_references",
    "date_fr",
    "evaluate_condition",
    "extraction_problems",
    "filters_used",
    "folder_slug",
    "is_template",
    "keys_read",
    "known_filters",
    "known_tests",
    "limit_problem",
    "referenced_names",
    "render_string",
    "render_value",
    "slug",
    "syntax_problem",
    "tests_used",
]
