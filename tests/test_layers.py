"""Which module may import which: accounts know nothing of tasks, and task services speak no HTTP."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "taskapi"
# Task modules holding rules and queries: they raise taskapi.exceptions, and routes turn them into answers.
TASK_SERVICES = ("queries.py", "commands.py", "positions.py", "trash.py", "feed.py", "cursors.py", "tags.py")


def imported_modules(path):
    """Every module a file imports, by its dotted name (`from a import b` counts a and a.b)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "auth").glob("*.py")), ids=lambda path: path.name)
def test_accounts_import_nothing_of_tasks(path):
    assert not [name for name in imported_modules(path) if name.startswith("taskapi.tasks")]


@pytest.mark.parametrize("name", TASK_SERVICES)
def test_task_services_raise_the_domains_errors_not_http_ones(name):
    imported = imported_modules(PACKAGE / "tasks" / name)
    assert not {"taskapi.errors", "flask.request", "werkzeug.http", "werkzeug.exceptions"} & imported
