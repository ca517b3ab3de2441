"""The email robot: send through SMTP; read, save attachments, move and create folders through IMAP."""

from robots.email.email import Email
from robots.email.support import safe_filename

__all__ = [
    "Email",
    "safe_filename",
]
