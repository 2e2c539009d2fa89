"""Lists: every user's inbox and the lists they share, with a role per member."""


def init_app(app, api):
    # Imported here: tasks and lists use each other's models, and a package's __init__ runs before its modules.
    from taskapi.auth import export, signals
    from taskapi.lists import commands, queries
    from taskapi.lists.routes import blp, invitations_blp

    api.register_blueprint(blp)
    api.register_blueprint(invitations_blp)
    signals.account_created.connect(lambda sender, user, **kwargs: commands.make_inbox(user), app, weak=False)
    signals.account_deleting.connect(lambda sender, user, **kwargs: commands.account_deleting(user), app,
                                     weak=False)
    export.add_section(app, "lists", queries.owned_lists)
    export.add_section(app, "memberships", queries.memberships)
