"""Tasks: the signed-in user's to-dos, with ETags, idempotent creates, tags, manual order, trash and sync."""

from taskapi.auth import export
from taskapi.tasks import cli, queries
from taskapi.tasks.routes import blp, tags_blp


def init_app(app, api):
    api.register_blueprint(blp)
    api.register_blueprint(tags_blp)
    app.cli.add_command(cli.seed)
    app.cli.add_command(cli.idempotency_keys)
    app.cli.add_command(cli.tasks)
    export.add_section(app, "tasks", queries.every_task)
