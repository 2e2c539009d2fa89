"""Webhooks: a list's activity sent to its endpoints as signed HTTP POSTs, from a durable outbox."""


def init_app(app, api):
    from taskapi import background
    from taskapi.activity.signals import activity_recorded
    from taskapi.webhooks import delivery
    from taskapi.webhooks.routes import blp

    api.register_blueprint(blp)
    background.register(app, delivery.deliver_due, gather=delivery.GATHER)
    # In the change's transaction: its events commit, or roll back, with its activity.
    activity_recorded.connect(delivery.on_activity, app, weak=False)
