"""Starting a project: `robo new` writes a project folder from a template (a commented workflow, its sample data,
a README in French), and `robo intranet` starts the training systems it runs against."""

from runner.scaffold.catalog import DEFAULT_TEMPLATE, TEMPLATES, Needs, Template
from runner.scaffold.project import NewProject, checked_name, create_project, template_named
from runner.scaffold.training import (
    DESKTOP_DATABASE,
    INTRANET_PORT,
    MAIL_PORT,
    TrainingSecret,
    banner,
    serve_desktop,
    serve_intranet,
    training_secrets,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "DESKTOP_DATABASE",
    "INTRANET_PORT",
    "MAIL_PORT",
    "TEMPLATES",
    "Needs",
    "NewProject",
    "Template",
    "TrainingSecret",
    "banner",
    "checked_name",
    "create_project",
    "serve_desktop",
    "serve_intranet",
    "template_named",
    "training_secrets",
]
