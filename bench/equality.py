"""Before anything is measured: the reference must answer exactly what taskapi answers, or the bench stops.

Reads compare the two servers' answers to the same request. Writes are compared across: the answer
of a create or PATCH on one server against the other's GET of the same task, so ids and times agree.
A server is a function (method, path, headers, body) → client.Answer: over HTTP in the bench, through
Flask's test client in the tests.
"""

import functools
import re

from bench.client import bearer, call

TASKS = "/api/v1/tasks"
CREATE_BODY = {"title": "Equality check", "description": "Made by the bench's check", "priority": "high",
               "due_at": "2031-05-04T03:02:01+00:00"}
PATCH_BODY = {"title": "Checked", "status": "completed"}


class MismatchError(Exception):
    """taskapi and the reference answer differently: a comparison between them would mean nothing."""


def differences(taskapi, reference, path="$"):
    """Every way two parsed JSON values differ: keys missing or extra, values, then key order."""
    if isinstance(taskapi, dict) and isinstance(reference, dict):
        found = []
        if missing := [key for key in taskapi if key not in reference]:
            found.append(f"{path}: the reference lacks {missing}")
        if extra := [key for key in reference if key not in taskapi]:
            found.append(f"{path}: the reference has {extra}, taskapi does not")
        for key in taskapi:
            if key in reference:
                found += differences(taskapi[key], reference[key], f"{path}.{key}")
        if not found and list(taskapi) != list(reference):
            found.append(f"{path}: keys in another order: taskapi {list(taskapi)}, reference {list(reference)}")
        return found
    if isinstance(taskapi, list) and isinstance(reference, list):
        found = [] if len(taskapi) == len(reference) else [f"{path}: {len(taskapi)} items, reference {len(reference)}"]
        for index, (mine, theirs) in enumerate(zip(taskapi, reference, strict=False)):
            found += differences(mine, theirs, f"{path}[{index}]")
        return found
    if type(taskapi) is not type(reference) or taskapi != reference:
        return [f"{path}: taskapi {taskapi!r}, reference {reference!r}"]
    return []


def _first_difference(one, other):
    index = next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), min(len(one), len(other)))
    return f"at byte {index}: taskapi {one[index:index + 40]!r}, reference {other[index:index + 40]!r}"


def compare(what, taskapi, reference, headers=("etag",), statuses=True):
    """Raise MismatchError unless the two answers have the same status, `headers` and body, byte for byte."""
    problems = []
    if statuses and taskapi.status != reference.status:
        problems.append(f"status: taskapi {taskapi.status}, reference {reference.status}")
    for name in headers:
        if taskapi.headers.get(name) != reference.headers.get(name):
            problems.append(f"{name}: taskapi {taskapi.headers.get(name)!r}, reference {reference.headers.get(name)!r}")
    problems += differences(taskapi.json(), reference.json())
    if not problems and taskapi.body != reference.body:
        problems.append("equal as JSON, not byte for byte: " + _first_difference(taskapi.body, reference.body))
    if problems:
        raise MismatchError(f"{what}:\n  " + "\n  ".join(problems))


def _expect(what, answer, status):
    if answer.status != status:
        raise MismatchError(f"{what}: status {answer.status}, expected {status}: {answer.body[:300]!r}")
    return answer


def _location_shape(answer):
    """The Location header with the task's id taken out (the two creates made different tasks)."""
    return re.sub(rf"/{answer.json()['id']}$", "/{id}", answer.headers.get("location", ""))


def over_http(url):
    """A server for check(): requests to `url` over HTTP."""
    return functools.partial(call, url)


def check(taskapi, reference, reader_token, writer_token, task_ids):
    """Compare list, one task, create and PATCH on taskapi and the reference; MismatchError on any difference.

    `task_ids`: three or more of the reader's tasks (the second and third are changed).
    """
    reader, writer = bearer(reader_token), bearer(writer_token)
    one = f"{TASKS}/{task_ids[0]}"
    compare("GET list", taskapi("GET", TASKS, reader), reference("GET", TASKS, reader), ())
    compare(f"GET {one}", taskapi("GET", one, reader), reference("GET", one, reader))

    locations = []
    for maker, other, label in ((taskapi, reference, "taskapi"), (reference, taskapi, "reference")):
        made = _expect(f"POST on {label}", maker("POST", TASKS, writer, CREATE_BODY), 201)
        seen = _expect(f"GET of {label}'s new task", other("GET", f"{TASKS}/{made.json()['id']}", writer), 200)
        pair = (made, seen) if maker is taskapi else (seen, made)
        compare(f"POST on {label}, GET on the other", *pair, statuses=False)
        locations.append(_location_shape(made))
    if locations[0] != locations[1]:
        raise MismatchError(f"Location: taskapi {locations[0]!r}, reference {locations[1]!r}")

    patch_headers = {**reader, "If-Match": "*"}
    for maker, other, label, task_id in ((taskapi, reference, "taskapi", task_ids[1]),
                                         (reference, taskapi, "reference", task_ids[2])):
        path = f"{TASKS}/{task_id}"
        changed = _expect(f"PATCH on {label}", maker("PATCH", path, patch_headers, PATCH_BODY), 200)
        seen = _expect(f"GET on the other after {label}'s PATCH", other("GET", path, reader), 200)
        pair = (changed, seen) if maker is taskapi else (seen, changed)
        compare(f"PATCH on {label}, GET on the other", *pair)
