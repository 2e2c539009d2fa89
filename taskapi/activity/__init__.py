"""Activity: every change to a list's tasks, members, invitations and name, recorded in the change's transaction."""


def init_app(app, api):
    # Imported here: recording is imported by the lists' and tasks' commands, which this package reads.
    from taskapi.activity.routes import blp

    api.register_blueprint(blp)
