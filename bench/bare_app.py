"""Bare Flask: one route answering a constant JSON body, the ceiling of Flask under gunicorn."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/api/v1/tasks")
def hello():
    return jsonify({"hello": "world"})
