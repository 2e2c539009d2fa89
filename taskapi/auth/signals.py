"""Signals of an account's life, for the areas that keep something per user (lists make an inbox, and give
up what a deleted account held). Accounts import none of those areas: they connect here in init_app."""

from blinker import Namespace

_signals = Namespace()

# Sent with the app and `user`, flushed (it has its id), inside the transaction that creates it.
account_created = _signals.signal("account-created")
# Sent with the app and `user` inside the transaction that deletes it, before the row goes.
account_deleting = _signals.signal("account-deleting")
