"""The mail backend of development and testing without MAIL_SERVER: each message, whole, in the log."""

import logging

from flask_mailman.backends.base import BaseEmailBackend

log = logging.getLogger("taskapi.mail")


class LogEmailBackend(BaseEmailBackend):
    """Writes every message to the `taskapi.mail` log instead of sending it (never used in production)."""

    def send_messages(self, email_messages):
        for message in email_messages:
            log.info("MAIL_SERVER is not set, so this message is logged instead of sent:\n%s",
                     message.message().as_string())
        return len(email_messages)
