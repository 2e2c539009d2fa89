"""The Flask extensions, created once here and bound to an app in create_app."""

from typing import Any

from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mailman import Mail
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

from taskapi.api import Api
from taskapi.compat import JWTManager
from taskapi.sessions import Session

# Named constraints keep Alembic's batch mode (SQLite) able to alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Objects keep the values they were committed with: a response built after the commit
# (a PATCH answer, a new user's token pair) needs no second SELECT to reload them.
db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING_CONVENTION),
    session_options={"class_": Session, "expire_on_commit": False},
)
# The models' base: a class Flask-SQLAlchemy makes at run time, which a type checker cannot take as a base
# when written db.Model (it is an attribute of an object); the models' columns are typed all the same.
Model: Any = db.Model
jwt = JWTManager()
cors = CORS()
api = Api()
limiter = Limiter(key_func=get_remote_address)
mail = Mail()
