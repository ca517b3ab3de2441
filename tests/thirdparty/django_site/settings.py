"""Django settings of the test site: SQLite in ROBO_TP_DATA, the language from ROBO_TP_LANG."""

import os
from pathlib import Path

import django_stubs_ext

django_stubs_ext.monkeypatch()  # ModelAdmin[Dossier] and the like, as django-stubs types them, work at run time

DATA = Path(os.environ.get("ROBO_TP_DATA", "."))
SECRET_KEY = "robo-test-only-not-a-secret"
DEBUG = True  # runserver serves the admin's static files only in debug mode
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "tests.thirdparty.django_site.dossiers",
]
MIDDLEWARE = [
    "tests.thirdparty.django_site.dossiers.middleware.request_log",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.thirdparty.django_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA / "site.sqlite3"}}
LANGUAGE_CODE = os.environ.get("ROBO_TP_LANG", "fr")
LANGUAGES = [(LANGUAGE_CODE, LANGUAGE_CODE)]  # the browser's Accept-Language does not change it
USE_I18N = True
TIME_ZONE = "Europe/Paris"
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
