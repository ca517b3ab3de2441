"""Logs every request (to count login attempts) and dies in the middle of a submit when told to."""

import os
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CRASH_TRIGGER = "crash-after-save"


def request_log(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        with open(settings.DATA / "requests.log", "a", encoding="utf-8") as log:
            log.write(f"{request.method} {request.path}\n")
        response = get_response(request)
        trigger = settings.DATA / CRASH_TRIGGER
        if request.method == "POST" and request.path.endswith("/add/") and trigger.exists():
            trigger.unlink()
            os._exit(1)  # the record is saved, the answer never leaves: the server died during the submit
        return response

    return middleware
