"""PostgreSQL connections without wasted round trips: no BEGIN/ROLLBACK for reads, no ping per checkout."""

import select

from flask import has_request_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

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


def _closed_by_server(dbapi_connection):
    """An idle connection has nothing to read, unless the server closed it or said FATAL before doing so."""
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _check_alive(dbapi_connection, connection_record, connection_proxy):
    """checkout: the pessimistic pre-ping, without its round trip.

    A database restart, failover or idle timeout closes the server's end of every pooled
    connection; the socket then polls readable at once. Raising DisconnectionError makes
    the pool drop this connection and check out (or open) another, so no request meets a
    dead connection. A SELECT 1 per checkout (pool_pre_ping) found the same, for one
    round trip per request.
    """
    if dbapi_connection.closed or _closed_by_server(dbapi_connection):
        raise DisconnectionError("the server closed this pooled connection")


event.listen(Session, "after_begin", _reads_without_transaction)


def init_app(app, db):
    """Check PostgreSQL connections on checkout, and put them back in transactional mode on checkin."""
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "postgresql":
                event.listen(engine, "checkout", _check_alive)
                event.listen(engine, "checkin", _back_to_transactions)
