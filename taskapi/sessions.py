"""The database session: on PostgreSQL a GET or HEAD runs in autocommit, saving its BEGIN and ROLLBACK round trips."""

from flask import has_request_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event

READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


class Session(FlaskSession):
    """Flask-SQLAlchemy's session; its transactions in read-only requests run in psycopg2's autocommit.

    A read-only request only runs SELECTs; under READ COMMITTED each of them takes
    its own snapshot inside a transaction too, so autocommit sees the same rows.
    psycopg2 sends BEGIN before the first statement and the pool sends ROLLBACK when
    the connection returns; in autocommit neither is sent: two round trips fewer.
    Writes (every other method) keep their transaction, locks and all.
    """


def _reads_without_transaction(session, transaction, connection):
    """after_begin: no statement has run yet, so switching autocommit on is client-side only."""
    if connection.dialect.name != "postgresql" or not has_request_context():
        return
    if request.method in READ_ONLY_METHODS:
        connection.connection.dbapi_connection.autocommit = True


def _back_to_transactions(dbapi_connection, connection_record):
    """checkin: the pool hands out connections in their usual, transactional mode."""
    if getattr(dbapi_connection, "autocommit", False):
        dbapi_connection.autocommit = False


event.listen(Session, "after_begin", _reads_without_transaction)


def init_app(app, db):
    """Put every PostgreSQL connection of `app` back in transactional mode when it returns to the pool."""
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "postgresql":
                event.listen(engine, "checkin", _back_to_transactions)
