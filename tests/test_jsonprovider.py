"""jsonify() through the orjson provider takes its arguments as Flask documents, and writes Flask's bytes."""

import pytest
from flask import jsonify
from flask.json.provider import DefaultJSONProvider


@pytest.mark.parametrize(("args", "kwargs"), [((), {}), (({"b": 1, "a": 2},), {}), ((1, "two"), {}),
                                              ((), {"b": 1, "a": [None]}), (([],), {})])
def test_jsonify_arguments_write_what_flasks_own_provider_writes(app, args, kwargs):
    with app.app_context():
        ours = jsonify(*args, **kwargs)
        flasks = DefaultJSONProvider(app).response(*args, **kwargs)
    assert (ours.get_data(), ours.mimetype) == (flasks.get_data(), flasks.mimetype)


def test_jsonify_refuses_arguments_and_keywords_together(app):
    with app.app_context(), pytest.raises(TypeError):
        jsonify(1, a=2)
