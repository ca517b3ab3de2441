"""The robot kit: what every robot may use."""

from robots.kit.mail import SMTP_PORTS, Security, SmtpServer, connection_error, send_message, tls_context

__all__ = ["SMTP_PORTS", "Security", "SmtpServer", "connection_error", "send_message", "tls_context"]
