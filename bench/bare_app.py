"""Bare Flask: one route answering a constant JSON body, the ceiling of Flask under gunicorn."""

from flask import Flask, jsonify


def hello():
    return jsonify({"hello": "world"})


def create_app():
    app = Flask(__name__)
    app.add_url_rule("/api/v1/tasks", view_func=hello, methods=["GET"])
    return app
