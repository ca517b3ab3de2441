"""A Flask-Admin site with one model, "dossier" (python -m tests.thirdparty.flask_site PORT).

Environment: ROBO_TP_DATA (a folder: the SQLite database, the request log, the crash trigger), ROBO_TP_LANG
(fr or en, through Flask-Babel and Flask-Admin's own catalogs) and ROBO_TP_PASSWORD (the agent's password).
Flask-Admin has no login of its own: a WTForms login form, drawn by Flask-Admin's form macros, guards it.
"""
