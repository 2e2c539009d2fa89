"""Which module may import which: accounts know nothing of tasks, lists or activity, and task services speak no HTTP;
and tasks are selected through the one door."""

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
def test_accounts_import_nothing_of_tasks_lists_or_activity(path):
    assert not [name for name in imported_modules(path)
                if name.startswith(("taskapi.tasks", "taskapi.lists", "taskapi.activity"))]


@pytest.mark.parametrize("name", TASK_SERVICES)
def test_task_services_raise_the_domains_errors_not_http_ones(name):
    imported = imported_modules(PACKAGE / "tasks" / name)
    assert not {"taskapi.errors", "flask.request", "werkzeug.http", "werkzeug.exceptions"} & imported


# Selects of tasks outside the door, each for no user's request: why it may.
SELECTS_OUTSIDE_THE_DOOR = {
    ("lists/commands.py", "account_deleting"): "the lists a deleted account made tasks in, to lock each",
    ("tasks/trash.py", "purge"): "maintenance: the lists with tasks trashed over TRASH_DAYS ago, to lock each",
}
DOORS = {"visible_tasks", "list_tasks_of"}


def _selects_of_tasks(path):
    """(function, line) of every select(Task…) call in a file."""
    found = []
    for function in ast.walk(ast.parse(path.read_text())):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "select" and node.args:
                names = {getattr(part, "id", None) for part in ast.walk(node.args[0])}
                if "Task" in names and not names & DOORS:
                    found.append((function.name, node.lineno))
    return found


def test_tasks_are_selected_only_through_the_door():
    """visible_tasks() joins the caller's memberships; no other module selects tasks for a user by itself."""
    outside = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        if name == "tasks/queries.py":
            continue
        outside += [(name, function, line) for function, line in _selects_of_tasks(path)
                    if (name, function) not in SELECTS_OUTSIDE_THE_DOOR]
    assert outside == []


def test_the_door_check_finds_a_select_of_tasks(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("def leak(user):\n    return select(Task).where(Task.created_by == user.id)\n")
    assert _selects_of_tasks(module) == [("leak", 2)]
