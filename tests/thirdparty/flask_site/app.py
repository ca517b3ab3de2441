"""The Flask-Admin site: the model, its admin view, a login view and the request log."""

import os
from pathlib import Path
from typing import Any, ClassVar

from flask import Flask, redirect, request, session, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from wtforms import Form, PasswordField, StringField
from wtforms.validators import InputRequired

CRASH_TRIGGER = "crash-after-save"
SERVICES = [("etat_civil", "État civil"), ("urbanisme", "Urbanisme"), ("social", "Action sociale")]
USERNAME = "agent"

db = SQLAlchemy()


class Dossier(db.Model):  # type: ignore[name-defined]  # flask_sqlalchemy's db.Model is built at run time
    id = db.Column(db.Integer, primary_key=True)
    reference = db.Column(db.String(40), nullable=False)
    demandeur = db.Column(db.String(14), nullable=False)
    nom_usage = db.Column(db.String(60))
    service = db.Column(db.String(20), nullable=False)
    urgent = db.Column(db.Boolean, nullable=False, default=False)
    date_depot = db.Column(db.Date, nullable=False)
    commentaire = db.Column(db.Text)


class LoginForm(Form):
    username = StringField("Nom d’utilisateur", validators=[InputRequired()])
    password = PasswordField("Mot de passe", validators=[InputRequired()])


class LoginFormEn(Form):
    username = StringField("Username", validators=[InputRequired()])
    password = PasswordField("Password", validators=[InputRequired()])


def logged_in() -> bool:
    return session.get("user") == USERNAME


class Home(AdminIndexView):
    @expose("/")
    def index(self) -> Any:
        if not logged_in():
            return redirect(url_for(".login"))
        return super().index()

    @expose("/login/", methods=["GET", "POST"])
    def login(self) -> Any:
        french = os.environ.get("ROBO_TP_LANG", "fr") == "fr"
        form = (LoginForm if french else LoginFormEn)(request.form)
        refused = False
        if request.method == "POST" and form.validate():
            if form.username.data == USERNAME and form.password.data == os.environ["ROBO_TP_PASSWORD"]:
                session["user"] = USERNAME
                return redirect(request.args.get("next") or url_for(".index"))
            refused = True
        return self.render("login.html", form=form, refused=refused, french=french)


class DossierView(ModelView):
    column_labels: ClassVar = {
        "reference": "Référence externe",
        "demandeur": "Demandeur",
        "nom_usage": "Nom d’usage",
        "service": "Service",
        "urgent": "Urgent",
        "date_depot": "Date de dépôt",
        "commentaire": "Commentaire",
    }
    form_choices: ClassVar = {"service": SERVICES}
    column_searchable_list: ClassVar = ["reference"]

    def is_accessible(self) -> bool:
        return logged_in()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return redirect(url_for("admin.login", next=request.url))


def create_app() -> Flask:
    data = Path(os.environ.get("ROBO_TP_DATA", "."))
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="robo-test-only-not-a-secret",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{data / 'site.sqlite3'}",
        BABEL_DEFAULT_LOCALE=os.environ.get("ROBO_TP_LANG", "fr"),
    )
    db.init_app(app)
    Babel(app, locale_selector=lambda: os.environ.get("ROBO_TP_LANG", "fr"))
    admin = Admin(app, name="Dossiers", index_view=Home(url="/admin"), theme=Bootstrap4Theme())
    admin.add_view(DossierView(Dossier, db.session, name="Dossier"))

    @app.before_request
    def log_request() -> None:
        with open(data / "requests.log", "a", encoding="utf-8") as log:
            log.write(f"{request.method} {request.path}\n")

    @app.after_request
    def crash_after_save(response: Any) -> Any:
        trigger = data / CRASH_TRIGGER
        if request.method == "POST" and request.path.endswith("/new/") and trigger.exists():
            trigger.unlink()
            os._exit(1)  # the record is saved, the answer never leaves: the server died during the submit
        return response

    with app.app_context():
        db.create_all()
    return app
