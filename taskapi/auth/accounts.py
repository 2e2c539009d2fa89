"""Account rules: registration, login, profile, password change, disabling, roles and deletion."""

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from taskapi.auth import events, signals, throttle, tokens, user_sessions
from taskapi.auth.models import PasswordReset, Role, User
from taskapi.auth.passwords import hash_password, needs_rehash, verify_password
from taskapi.errors import ApiError
from taskapi.extensions import db
from taskapi.models import utcnow

INVALID_CREDENTIALS = ("invalid_credentials", "The email or password is incorrect.")
DISABLED = ("account_disabled", "This account is disabled.")
LAST_ADMIN = "You are the last admin: make another user an admin before deleting your account."


def find_by_email(email):
    """The user of an address as the schemas normalise it (trimmed, NFKC, lowercase), or None."""
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def create_user(email, password, name="", role=Role.user):
    """Add a user to the transaction; 409 email_taken when the address is in use (races included)."""
    user = User(email=email, name=name, password_hash=hash_password(password), role=role)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, "email_taken", "An account with this email already exists.") from None
    signals.account_created.send(signals.sender(), user=user)
    events.record("registered", user.id)
    return user


def register(email, password, name=""):
    """Create an account and sign it in: its first session and token pair."""
    pair = tokens.start_session(create_user(email, password, name))
    db.session.commit()
    return pair


def login(email, password):
    """Sign in: a new session and token pair; the same 401, in the same time, for either mistake.

    After LOGIN_FAILURE_LIMIT failures for the address in 15 minutes, 429 without
    looking at the password, whether or not the address has an account. Only a wrong
    password counts as a failure (see taskapi.auth.throttle).
    """
    attempt = throttle.check(email)
    user = find_by_email(email)
    if attempt.retry_after is not None:
        raise _throttled(user.id if user else None, attempt)
    if not verify_password(user.password_hash if user else None, password):
        throttle.failed(attempt)
        # Stored (without a user) for unknown addresses too, so both failures cost one write.
        events.record("login_failed", user.id if user else None)
        db.session.commit()
        raise ApiError(401, *INVALID_CREDENTIALS)
    throttle.succeeded(attempt)
    if user.disabled:
        raise ApiError(403, *DISABLED)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    events.record("login", user.id)
    pair = tokens.start_session(user)
    db.session.commit()
    return pair


def _throttled(user_id, attempt):
    events.record("login_throttled", user_id)
    db.session.commit()
    return ApiError(429, headers={"Retry-After": str(attempt.retry_after)})


def check_password(user, password):
    """A signed-in user's password check (password change, deletion): it counts in the login throttle,
    so a stolen access token buys no more guesses than a login form."""
    attempt = throttle.check(user.email)
    if attempt.retry_after is not None:
        raise _throttled(user.id, attempt)
    if not verify_password(user.password_hash, password):
        throttle.failed(attempt)
        raise ApiError(401, *INVALID_CREDENTIALS)
    throttle.succeeded(attempt)


def update_profile(user, changes):
    for field, value in changes.items():
        setattr(user, field, value)
    db.session.commit()
    return user


def end_everything(user):
    """Every session ends, every token issued so far is refused, every reset token is spent."""
    user_sessions.end_all(user)
    tokens.revoke_all(user)
    unused = (PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
    db.session.execute(update(PasswordReset).where(*unused).values(used_at=utcnow()))


def set_password(user, new_password, event):
    """The one way a password changes: `event` is recorded and everything issued before it ends."""
    user.password_hash = hash_password(new_password)
    end_everything(user)
    events.record(event, user.id)


def change_password(user, current_password, new_password):
    """Set a new password, knowing the current one."""
    check_password(user, current_password)
    set_password(user, new_password, "password_changed")
    db.session.commit()


def set_disabled(user, disabled):
    """Disable (every session ends at once) or enable an account; the caller commits."""
    if user.disabled == disabled:
        return
    user.disabled = disabled
    if disabled:
        end_everything(user)
    events.record("account_disabled" if disabled else "account_enabled", user.id)


def set_role(user, role):
    if user.role != role:
        user.role = role
        events.record("role_changed", user.id)


def lock_admins():
    """Lock every admin row. Whatever could leave the service without an admin (demoting, disabling or
    deleting one) takes this lock first and reads after it, so such changes run one at a time and each
    sees what the one before it did. In id order, so two of them cannot deadlock."""
    db.session.execute(select(User.id).where(User.role == Role.admin).order_by(User.id).with_for_update())


def reload(user):
    """`user` as stored now (refreshed in place); 401 token_invalid when a concurrent request deleted
    them after this one authenticated them, as for any write of a deleted user."""
    if db.session.execute(select(User).where(User.id == user.id)
                          .execution_options(populate_existing=True)).scalar_one_or_none() is None:
        raise tokens.token_error("token_invalid")
    return user


def is_last_admin(user):
    """Whether `user` is an active admin and no other admin is; read under lock_admins()."""
    if user.role != Role.admin or user.disabled:
        return False
    others = select(func.count()).where(User.role == Role.admin, User.disabled.is_(False), User.id != user.id)
    return db.session.execute(others).scalar_one() == 0


def delete_user(user):
    """Delete the user; the database cascades to everything of theirs. Logged, as no event row can outlive it."""
    signals.account_deleting.send(signals.sender(), user=user)
    db.session.execute(delete(User).where(User.id == user.id))
    events.log_line("account_deleted", user.id, session=db.session)


def delete_account(user, password):
    """Delete one's own account, knowing its password; the last admin cannot (422), so one always remains."""
    check_password(user, password)
    lock_admins()
    if is_last_admin(reload(user)):
        raise ApiError(422, errors={"json": {"password": [LAST_ADMIN]}})
    delete_user(user)
    db.session.commit()
