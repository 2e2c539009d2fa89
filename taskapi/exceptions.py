"""What the services raise when a rule refuses: the domain's words, no HTTP (errors.py answers each)."""


class DomainError(Exception):
    """A rule refused the operation; `message` is one sentence safe to show a user (None: the default)."""

    def __init__(self, message=None):
        super().__init__(message or self.__class__.__name__)
        self.message = message


class NotFoundError(DomainError):
    """No such object for this user: one that does not exist and one they may not see are the same."""


class VersionMismatchError(DomainError):
    """The object changed since the caller read it (the version they expected is not the current one)."""


class LimitReachedError(DomainError):
    """A limit on how many objects one account may keep; `reason` names which."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


class IdempotencyConflictError(DomainError):
    """A key of an earlier request was sent again with another body."""


class InvalidFieldError(DomainError):
    """A field of a change names something that cannot be used (another user's task, say)."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


class InvalidParameterError(DomainError):
    """A parameter of a query holds something the service did not make (a forged or foreign cursor)."""

    def __init__(self, parameter, message):
        super().__init__(message)
        self.parameter = parameter


class RateLimitedError(DomainError):
    """Too many of something in a rolling window (invitations to one list in an hour); `retry_after` is how
    many seconds until one more is allowed."""

    def __init__(self, retry_after, message=None):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class ExpiredError(DomainError):
    """A parameter of a query is older than the service keeps what it points at (a change-feed cursor)."""


class AccountGoneError(DomainError):
    """The account acting was deleted after the request authenticated."""


class ForbiddenError(DomainError):
    """The caller may see the object, but their role does not allow this operation on it."""


class ConflictError(DomainError):
    """The operation conflicts with the current state (an invitation accepted twice, a full list)."""


class NotAllowedError(DomainError):
    """The operation can never be done to this object (the inbox shared, the owner leaving); `field` and
    `location` name what the refusal is about."""

    def __init__(self, location, field, message):
        super().__init__(message)
        self.location = location
        self.field = field
