"""Tasks: the signed-in user's to-dos, with ETags and idempotent creates."""

from taskapi.tasks import cli
from taskapi.tasks.routes import blp


def init_app(app, api):
    api.register_blueprint(blp)
    app.cli.add_command(cli.seed)
    app.cli.add_command(cli.idempotency_keys)
