"""Account rules: registration, login, profile, password change and deletion."""

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from taskapi.auth import tokens
from taskapi.auth.models import PasswordReset, User
from taskapi.auth.passwords import hash_password, needs_rehash, verify_password
from taskapi.errors import ApiError
from taskapi.extensions import db
from taskapi.models import utcnow

INVALID_CREDENTIALS = ("invalid_credentials", "The email or password is incorrect.")


def find_by_email(email):
    return db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def register(email, password, name=""):
    """Create a user; 409 email_taken when the address is in use (races included)."""
    user = User(email=email.strip().lower(), name=name, password_hash=hash_password(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, "email_taken", "An account with this email already exists.") from None
    return user


def authenticate(email, password):
    """The user with these credentials; the same 401, in the same time, for either mistake."""
    user = find_by_email(email)
    if not verify_password(user.password_hash if user else None, password):
        raise ApiError(401, *INVALID_CREDENTIALS)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def check_password(user, password):
    if not verify_password(user.password_hash, password):
        raise ApiError(401, *INVALID_CREDENTIALS)


def update_profile(user, changes):
    for field, value in changes.items():
        setattr(user, field, value)
    db.session.commit()
    return user


def set_password(user, new_password):
    """The one way a password changes: every earlier token is revoked and every reset token spent."""
    user.password_hash = hash_password(new_password)
    tokens.revoke_all(user)
    unused = (PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
    db.session.execute(update(PasswordReset).where(*unused).values(used_at=utcnow()))


def change_password(user, current_password, new_password):
    """Set a new password, knowing the current one."""
    check_password(user, current_password)
    set_password(user, new_password)
    db.session.commit()


def delete_account(user, password):
    """Delete the user; the database cascades to their tasks and revocations."""
    check_password(user, password)
    db.session.execute(delete(User).where(User.id == user.id))
    db.session.commit()
