"""Signals of an account's life, for the areas that keep something per user (lists make an inbox, and give
up what a deleted account held). Accounts import none of those areas: they connect here in init_app."""

from blinker import Namespace
from flask import current_app

_signals = Namespace()

# Sent with the app and `user`, flushed (it has its id), inside the transaction that creates it.
account_created = _signals.signal("account-created")
# Sent with the app and `user` inside the transaction that deletes it, before the row goes.
account_deleting = _signals.signal("account-deleting")
# Sent with the app, `user` and `list_id` when a personal token is made for one list: the lists area
# raises NotFoundError unless `user` is a member of it.
token_list_chosen = _signals.signal("token-list-chosen")


def sender():
    """The app itself, not its proxy: receivers connect for one app (Flask's documented way to send signals)."""
    return current_app._get_current_object()  # type: ignore[attr-defined]
