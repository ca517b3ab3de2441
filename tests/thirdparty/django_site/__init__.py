"""A Django admin site with one model, "dossier" (python -m tests.thirdparty.django_site PORT).

Environment: ROBO_TP_DATA (a folder: the SQLite database, the request log, the crash trigger) and
ROBO_TP_LANG (fr or en).
"""
