"""Tasks: the tasks of the user's lists, with ETags, idempotent creates, tags, manual order, trash and sync."""


def init_app(app, api):
    # Imported here: tasks and lists use each other's models, and a package's __init__ runs before its modules.
    from taskapi.auth import export
    from taskapi.tasks import cli, queries
    from taskapi.tasks.routes import blp, tags_blp

    api.register_blueprint(blp)
    api.register_blueprint(tags_blp)
    app.cli.add_command(cli.seed)
    app.cli.add_command(cli.idempotency_keys)
    app.cli.add_command(cli.tasks)
    export.add_section(app, "tasks", queries.owned_list_tasks)
