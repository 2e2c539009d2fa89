"""Lists: every user's inbox and the lists they share, with a role per member."""


def init_app(app, api):
    # Imported here: tasks and lists use each other's models, and a package's __init__ runs before its modules.
    from taskapi.auth import export, signals
    from taskapi.lists import access, commands, queries
    from taskapi.lists.routes import blp, invitations_blp

    api.register_blueprint(blp)
    api.register_blueprint(invitations_blp)
    signals.account_created.connect(lambda sender, user, **kwargs: commands.make_inbox(user), app, weak=False)
    signals.account_deleting.connect(lambda sender, user, **kwargs: commands.account_deleting(user), app,
                                     weak=False)
    # A personal token made for a list: only for a list of the caller's (404 as for any other).
    signals.token_list_chosen.connect(
        lambda sender, user, list_id, **kwargs: access.list_and_role(user, list_id), app, weak=False)
    export.add_section(app, "lists", queries.owned_lists)
    export.add_section(app, "memberships", queries.memberships)
