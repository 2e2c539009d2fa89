# make run: serve on http://127.0.0.1:5000 (PORT=…) with demo data, reloading on changes; make test: the whole suite.
# make bench: the benchmark, by hand (two regimes, its own PostgreSQL cluster, wrk; see docs/performance.md);
# BENCH_ARGS passes options (python -m bench.run --help).
# make soak: two instances under load through faults, 180 s (TASKAPI_SOAK_SECONDS=… for longer).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test e2e soak lint bench lock clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "taskapi needs Python 3.11+")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $(STAMP)

# requirements*.txt are the whole dependency tree, locked with hashes, compiled from the direct pins in
# requirements*.in: after editing one of those, `make lock` (pip-tools in a venv of its own), then commit all four.
# The runtime lock comes first: the dev lock takes the runtime packages at the versions it fixes.
LOCK_VENV := .venv-lock
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet pip-tools==7.7.0
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

# The server restarts itself when a source file changes. Another port: make run PORT=8080.
PORT ?= 5000
run: $(STAMP)
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT) --reload

# One pytest worker per core (pytest-xdist); each has a database of its own. PYTEST_ARGS="-n 0" runs serially.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# End to end: gunicorn and PostgreSQL on 127.0.0.1:5432 (Redis on 6379 for the shared rate limit test).
e2e: $(STAMP)
	TASKAPI_E2E=1 $(BIN)/python -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

# The soak: minutes of mixed load through faults (TASKAPI_SOAK_SECONDS, 180 by default).
TASKAPI_SOAK_SECONDS ?= 180
soak: $(STAMP)
	TASKAPI_E2E=1 TASKAPI_SOAK_SECONDS=$(TASKAPI_SOAK_SECONDS) $(BIN)/python -m pytest -m soak tests/e2e/test_soak.py $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check taskapi tests migrations bench wsgi.py gunicorn.conf.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .ruff_cache instance
