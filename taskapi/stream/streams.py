"""Opening a stream: its ticket used, the user's open streams counted, its row and starting point taken."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from taskapi.auth.models import User
from taskapi.auth.tokens import token_error
from taskapi.exceptions import RateLimitedError
from taskapi.extensions import db
from taskapi.models import utcnow
from taskapi.stream import tickets
from taskapi.stream.hub import OPEN_STREAM_SECONDS, Stream, versions_of
from taskapi.stream.models import OpenStream

TOO_MANY_STREAMS = "You have as many live streams open as one account may; close one first."
RETRY_SECONDS = 5


def open_stream(ticket):
    """Use `ticket` and open a stream for its user: a Stream (without a sink yet).

    401 for a bad, used or expired ticket or an ended session; 429 past MAX_STREAMS_PER_USER streams open
    across every worker and instance (the ticket is then left unused). One transaction: the user's row is
    locked while their streams are counted, so two opens at once cannot both take the last place.
    """
    checked = tickets.check(ticket)
    user, session_id = checked.user, checked.session_id
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    now = utcnow()
    open_now = select(func.count()).select_from(OpenStream).where(OpenStream.user_id == user.id,
                                                                   OpenStream.expires_at >= now)
    if db.session.execute(open_now).scalar_one() >= current_app.config["MAX_STREAMS_PER_USER"]:
        db.session.rollback()
        raise RateLimitedError(RETRY_SECONDS, TOO_MANY_STREAMS)
    checked.use()
    row = OpenStream(user_id=user.id, session_id=session_id, opened_at=now,
                     expires_at=now + timedelta(seconds=OPEN_STREAM_SECONDS))
    db.session.add(row)
    try:
        db.session.flush()  # the session's row is locked from here (its key is referenced) until the commit
    except IntegrityError:  # the session ended since the ticket was checked
        db.session.rollback()
        raise token_error("token_invalid") from None
    versions = versions_of(user.id)
    db.session.commit()
    return Stream(row_id=row.id, user_id=user.id, session_id=session_id, versions=versions)
