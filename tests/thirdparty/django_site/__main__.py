"""Creates the database and the agent's account, then serves the site: python -m tests.thirdparty.django_site PORT."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.thirdparty.django_site.settings")

import django
from django.core.management import call_command

django.setup()

from django.contrib.auth.models import User  # noqa: E402  (needs django.setup() first)

call_command("migrate", run_syncdb=True, verbosity=0)
if not User.objects.filter(username="agent").exists():
    User.objects.create_superuser(
        "agent", "agent@example.org", os.environ.get("ROBO_TP_PASSWORD", "Agent-pass-1")
    )
call_command("runserver", f"127.0.0.1:{sys.argv[1]}", use_reloader=False, skip_checks=True)
