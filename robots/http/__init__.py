"""The http robot: web services and downloads through httpx, each exchange within one deadline."""

from robots.http.exchange import MAX_REDIRECTS
from robots.http.http import BODY_IN_MEMORY_LIMIT, Http

__all__ = [
    "BODY_IN_MEMORY_LIMIT",
    "MAX_REDIRECTS",
    "Http",
]
