"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1) that keeps what it accepts, or refuses, or dawdles."""

import asyncio
import email
import email.policy
import re
import socket
import threading
import time

from aiosmtpd.controller import Controller

RESET_URL = "https://app.example.com/reset?token={token}"
INVITATION_URL = "https://app.example.com/invitations?token={token}"
SENDER = "taskapi <no-reply@example.com>"
TOKEN_IN_LINK = re.compile(r"https://app\.example\.com/reset\?token=([A-Za-z0-9_-]+)")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.server.refuse:
            return "451 4.3.0 Try again later"
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


class SMTPServer:
    """start(), stop() (and start again on the same port), `received`: (MAIL FROM, RCPT TOs, message)."""

    def __init__(self, port=None, delay=0.0, refuse=False):
        self.port = port or free_port()
        self.delay = delay
        self.refuse = refuse
        self.received = []
        self.lock = threading.Lock()
        self._controller = None

    def start(self):
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self):
        with self.lock:
            return [message for _, _, message in self.received]

    def wait_for(self, count, timeout=10.0):
        """The messages, once at least `count` have arrived (fails after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.messages()
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received)} message(s) arrived, not {count}")


def mail_settings(server):
    """Config overrides that send to `server`."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": server.port, "MAIL_DEFAULT_SENDER": SENDER,
            "PASSWORD_RESET_URL": RESET_URL, "INVITATION_URL": INVITATION_URL, "MAIL_TIMEOUT": 5}


def text_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def reset_token(message):
    """The token in a reset message's link."""
    match = TOKEN_IN_LINK.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)
