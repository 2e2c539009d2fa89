"""Password hashes: argon2id with OWASP's parameters wherever the service runs; cheap ones only in tests."""

import pytest

from taskapi import config
from taskapi.auth import passwords
from tests.helpers.auth import stored_user

PRODUCTION_ENVIRON = {"TASKAPI_ENV": "production", "SECRET_KEY": "s" * 32, "JWT_SECRET_KEY": "j" * 32,
                      "DATABASE_URL": "postgresql://taskapi@db.example.com/taskapi"}


@pytest.mark.parametrize("environ", [PRODUCTION_ENVIRON, {"TASKAPI_ENV": "development"}])
def test_the_service_hashes_with_19_mib_2_passes_1_lane(tmp_path, environ):
    parameters = config.load(str(tmp_path), environ)["PASSWORD_HASHING"]
    password_hash = passwords.hasher_for(parameters).hash("correct horse battery")
    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_the_tests_hash_with_the_cheapest_parameters(app, user):
    assert stored_user(app).password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
