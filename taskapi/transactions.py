"""The commit that ends a command's work, which a wrapper adding rows of its own may take over."""

from contextlib import contextmanager

from taskapi.extensions import db

DEFERRED = "taskapi.commit-deferred"  # key in Session.info while a wrapper will commit the work itself


def commit():
    """Commit the work so far; inside deferred(), only flush it: the wrapper commits it with its own rows."""
    if db.session.info.get(DEFERRED):
        db.session.flush()
    else:
        db.session.commit()


@contextmanager
def deferred():
    """Commands run inside it leave their work uncommitted (but flushed), for the caller to commit once."""
    db.session.info[DEFERRED] = True
    try:
        yield
    finally:
        db.session.info.pop(DEFERRED, None)
