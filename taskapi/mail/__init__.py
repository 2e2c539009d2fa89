"""Outgoing mail: messages stored in an outbox table, sent in the background by the serving processes."""

from taskapi import background
from taskapi.extensions import mail
from taskapi.mail import cli, outbox
from taskapi.mail.backends import LogEmailBackend


def configured(app):
    """Whether messages can reach anyone: an SMTP server, or (outside production) the log."""
    return bool(app.config["MAIL_SERVER"]) or app.config["TASKAPI_ENV"] != "production"


def init_app(app):
    # Without MAIL_SERVER, development and testing write each message whole to the log.
    app.config["MAIL_BACKEND"] = "smtp" if app.config["MAIL_SERVER"] else LogEmailBackend
    mail.init_app(app)
    background.register(app, outbox.deliver_due)
    app.cli.add_command(cli.mail)
