"""Third-party web applications (Django admin, Flask-Admin) the browser robot is tested against.

Each is a minimal site of the framework's own (a model, its admin registration, settings): the framework draws
every page, labels and messages, in French or English, so the tests meet what a real intranet shows.
"""
