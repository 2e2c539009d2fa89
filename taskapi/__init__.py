"""taskapi: a task (to-do) API with user accounts and JWT authentication."""

import logging
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

__version__ = "1.0.0"
# Set by gunicorn.conf.py: the web process never migrates, so it leaves Flask-Migrate out, nor writes the
# OpenAPI document as YAML, so it leaves PyYAML out (tests/test_memory.py).
WEB_PROCESS_VARIABLE = "TASKAPI_WEB_PROCESS"


def create_app(overrides=None, environ=None):
    """Build the app for TASKAPI_ENV; `overrides` replace config values (tests use it)."""
    web_process = os.environ.get(WEB_PROCESS_VARIABLE) == "1"
    if web_process:
        from taskapi import compat

        compat.leave_out_yaml()  # before the REST layer imports flask-smorest
    from taskapi import (
        activity,
        admin,
        api,
        auth,
        background,
        config,
        errors,
        headers,
        health,
        jsonprovider,
        lists,
        logs,
        mail,
        maintenance,
        metrics,
        requestid,
        sessions,
        stream,
        tasks,
        webhooks,
    )
    from taskapi.extensions import api as rest_api
    from taskapi.extensions import db

    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    try:
        app.config.update(config.load(app.instance_path, environ))
    except config.ConfigError as exc:
        logs.configure(json_lines=True)
        logging.getLogger("taskapi").critical(str(exc))
        raise SystemExit(1) from None
    app.config.update(overrides or {})
    app.config["VERSION"] = __version__
    # The contract has no redirects: a trailing slash is the same route, repeated slashes are no route
    # (werkzeug would redirect to the merged path, building the URL from the client's Host header).
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    if app.config["TRUSTED_PROXIES"]:
        # Behind N proxies, the client is the N-th address from the right of X-Forwarded-For.
        proxies = app.config["TRUSTED_PROXIES"]
        # Flask's documented way to add WSGI middleware, though wsgi_app is a method to a type checker.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    jsonprovider.init_app(app)
    logs.init_app(app)
    requestid.init_app(app)
    headers.init_app(app)
    db.init_app(app)
    sessions.init_app(app, db)
    if not web_process:
        _init_migrations(app, db)
    background.init_app(app, serving_under_gunicorn=web_process)
    metrics.init_app(app)
    api.init_app(app, rest_api)
    # After the REST layer: flask-smorest registers its own HTTPException handler, which this replaces.
    errors.init_app(app)
    health.init_app(app, rest_api)
    # Before auth: the account export's schema names their sections' schemas.
    lists.init_app(app, rest_api)
    tasks.init_app(app, rest_api)
    activity.init_app(app, rest_api)
    auth.init_app(app, rest_api)  # before mail: its job turns reset requests into messages the mail job sends
    mail.init_app(app)
    webhooks.init_app(app, rest_api)
    admin.init_app(app, rest_api)
    stream.init_app(app, rest_api)
    maintenance.init_app(app)  # after the areas whose jobs it runs: its background round comes last
    return app


def _init_migrations(app, db):
    """`flask db` and flask_migrate.upgrade(); imported only here, as alembic costs ~10 MiB and ~0.3 s to load."""
    from flask_migrate import Migrate

    migrations = os.path.join(os.path.dirname(app.root_path), "migrations")
    Migrate().init_app(app, db, directory=migrations, render_as_batch=True)
