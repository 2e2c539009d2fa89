"""Task fixtures: a second user, a task of the first, the `flask` command."""

import pytest

from tests.helpers.api import bearer, register
from tests.helpers.tasks import create


@pytest.fixture
def other(client):
    """Authorization headers of a second user (Bob)."""
    return bearer(register(client, email="bob@example.com", name="Bob")["access_token"])


@pytest.fixture
def task(client, auth):
    """A task of the registered user, as created."""
    return create(client, auth, "Write report", description="Quarterly numbers")


@pytest.fixture
def cli(app, runner):
    """Run a command as the `flask` executable does: inside the app's context."""

    def invoke(*args):
        with app.app_context():
            result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result

    return invoke
