"""Helpers of the accounts tests: requests, token claims, hand-signed tokens, rows in the database."""

import jwt as pyjwt
from sqlalchemy import delete, func, select

from taskapi.auth import tokens
from taskapi.auth.models import RevokedToken, User
from taskapi.extensions import db
from tests.helpers.api import PASSWORD, bearer

AUTH = "/api/v1/auth"
OTHER_KEY = "another-secret-that-is-long-enough-for-hs256"


def login(client, email="ada@example.com", password=PASSWORD, **kwargs):
    return client.post(f"{AUTH}/login", json={"email": email, "password": password}, **kwargs)


def refresh(client, refresh_token, **kwargs):
    return client.post(f"{AUTH}/refresh", headers=bearer(refresh_token), **kwargs)


def me(client, access_token):
    return client.get(f"{AUTH}/me", headers=bearer(access_token))


def claims(token):
    """A token's payload, read without checking it."""
    return pyjwt.decode(token, options={"verify_signature": False})


def sign(app, payload, key=None, algorithm="HS256"):
    """A token signed by hand: with the app's own secret unless `key` is given."""
    return pyjwt.encode(payload, key or app.config["JWT_SECRET_KEY"], algorithm=algorithm)


def scalar(app, statement):
    with app.app_context():
        return db.session.execute(statement).scalar_one_or_none()


def count(app, model, *where):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def stored_user(app, email="ada@example.com"):
    """The users row of `email` (detached), or None."""
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if user is not None:
            db.session.expunge(user)
        return user


def revocations(app):
    return count(app, RevokedToken)


def app_losing_users(monkeypatch, make_app):
    """An app, and the set of user ids whose row another request deletes the moment this one has
    authenticated them: a concurrent deletion, at a moment fixed rather than left to chance."""
    doomed = set()
    authenticate = tokens.lookup_user

    def authenticate_then_lose(jwt_header, jwt_payload):
        user = authenticate(jwt_header, jwt_payload)
        if user is not None and user.id in doomed:
            with db.engine.begin() as connection:  # its own transaction, as another request's
                connection.execute(delete(User).where(User.id == user.id))
        return user

    monkeypatch.setattr(tokens, "lookup_user", authenticate_then_lose)  # read when the app is built
    return make_app(), doomed
