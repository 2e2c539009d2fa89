"""The signal sent when activity entries are recorded, for what must happen in the same transaction (webhooks'
outbox rows).

`activity_recorded` is sent with the app as sender and `entries`: a list of (Activity, Task or None, actor)
triples, the entries inserted (they have their ids), each with its task as it is after the change (None for
member, invitation and list actions, and for tasks gone for good or trashed in bulk) and the User who made it
(None: the service itself). A receiver adds its rows to
`db.session`: they commit, or roll back, with the change.
"""

from blinker import Namespace

_signals = Namespace()

activity_recorded = _signals.signal("activity-recorded")
