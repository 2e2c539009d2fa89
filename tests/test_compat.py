"""The private library members taskapi.compat relies on are still there, as they were read, in the versions read."""

import inspect
from importlib.metadata import version

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from packaging.specifiers import SpecifierSet

from taskapi import compat

# The releases each private member was read in: a new one is read again (and this range moved) before use.
CHECKED = {"flask-jwt-extended": SpecifierSet(">=4.7.4,<4.8"), "Flask-Limiter": SpecifierSet(">=4.1.1,<4.2"),
           "flask-smorest": SpecifierSet(">=0.47,<0.48")}


def _parameters(func):
    return [(p.name, p.default) for p in inspect.signature(func).parameters.values()]


def test_the_libraries_are_the_releases_their_private_members_were_read_in():
    assert {name: version(name) in checked for name, checked in CHECKED.items()} == dict.fromkeys(CHECKED, True)


def test_the_jwt_decode_overridden_is_the_one_the_extension_calls_with_the_same_signature():
    expected = [("self", inspect.Parameter.empty), ("encoded_token", inspect.Parameter.empty),
                ("csrf_value", None), ("allow_expired", False)]
    assert _parameters(JWTManager._decode_jwt_from_config) == expected
    assert _parameters(compat.JWTManager._decode_jwt_from_config) == expected
    # How a request's token reaches it (tests/test_jwtmanager.py counts the decodes).
    import flask_jwt_extended.utils

    assert "._decode_jwt_from_config(" in inspect.getsource(flask_jwt_extended.utils.decode_token)


def test_the_limiter_hook_dropped_is_the_one_init_app_installs(app):
    assert _parameters(Limiter._check_request_limit) == [
        ("self", inspect.Parameter.empty), ("callable_name", None), ("in_middleware", True)]
    assert "app.before_request(self._check_request_limit)" in inspect.getsource(Limiter.init_app)
    hooks = app.before_request_funcs[None]
    assert [hook for hook in hooks if getattr(hook, "__self__", None).__class__ is Limiter] == []


def test_the_request_state_set_for_a_personal_token_is_where_the_extension_keeps_and_reads_it(app):
    import flask_jwt_extended.utils
    import flask_jwt_extended.view_decorators
    from flask_jwt_extended import current_user, get_jwt

    source = inspect.getsource(flask_jwt_extended.view_decorators.verify_jwt_in_request)
    for name in ("_jwt_extended_jwt_user", "_jwt_extended_jwt_header", "_jwt_extended_jwt",
                 "_jwt_extended_jwt_location"):
        assert f"g.{name} = " in source
    assert 'jwt_user_dict["loaded_user"]' in inspect.getsource(flask_jwt_extended.utils.get_current_user)
    with app.test_request_context():
        compat.set_current_user("someone", {"sub": "1"})
        assert current_user == "someone" and get_jwt() == {"sub": "1"}


def test_pyyaml_is_what_flask_smorest_imports_for_its_yaml_flag_alone():
    # leave_out_yaml relies on flask-smorest importing PyYAML in a try, for HAS_PYYAML, and using it nowhere
    # else (tests/test_memory.py checks a worker leaves it out and serves the same document).
    import flask_smorest.spec

    source = inspect.getsource(flask_smorest.spec)
    assert "try:  # pragma: no cover\n    import yaml\n\n    HAS_PYYAML = True\nexcept ImportError:" in source
    lines = source.splitlines()
    uses = [n for n, line in enumerate(lines) if "yaml." in line]
    assert len(uses) == 2  # `flask openapi print` and `write`, each YAML only under the flag
    assert all("yaml.dump(" in lines[n] and lines[n - 1].strip() == "if HAS_PYYAML:" for n in uses)
