"""The mock intranet and mail server that Rob'O's robots are tested and demonstrated against.

Start it from Python with `MockIntranet(data_dir).start()` (or as a context manager), from a shell with
`python -m tests.mock_intranet serve`, or in pytest through the fixtures of `tests.mock_intranet.fixtures`.
"""

from .accounts import (
    DEFAULT_ACCOUNT,
    DEFAULT_SMTP_ACCOUNT,
    SMTP_ACCOUNTS,
    TEST_TOKEN,
    TEST_TOKEN_HEADER,
    WEB_ACCOUNTS,
    TestAccount,
)
from .case_form import CASE_FIELDS, PRIORITES, TYPES_DEMANDE, FormField, field_labels
from .faults import FaultConfig
from .mail_store import MailAttachment, MailStore, StoredMail
from .server import MockIntranet, WebServer
from .siret import is_valid_siret, luhn_check_digit
from .smtp_server import MailServer

__all__ = [
    "CASE_FIELDS",
    "DEFAULT_ACCOUNT",
    "DEFAULT_SMTP_ACCOUNT",
    "PRIORITES",
    "SMTP_ACCOUNTS",
    "TEST_TOKEN",
    "TEST_TOKEN_HEADER",
    "TYPES_DEMANDE",
    "WEB_ACCOUNTS",
    "FaultConfig",
    "FormField",
    "MailAttachment",
    "MailServer",
    "MailStore",
    "MockIntranet",
    "StoredMail",
    "TestAccount",
    "WebServer",
    "field_labels",
    "is_valid_siret",
    "luhn_check_digit",
]
