"""make bench: taskapi under gunicorn and wrk, against a lean Flask reference and bare Flask."""
