# Read by the flask command (python-dotenv) for local development only.
FLASK_APP=wsgi
TASKAPI_ENV=development
DEBUG_METRICS=1
