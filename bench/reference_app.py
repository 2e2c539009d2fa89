"""The lean reference: plain Flask, Flask-SQLAlchemy, flask-jwt-extended and marshmallow answering taskapi's bodies.

Four routes do the work a plain stack does for taskapi's list, one task, create and PATCH (the user
looked up from the token, then the task queries) on a user's own tasks: those of their inbox list, found
through its owner (no memberships: the bench user shares nothing). They answer byte for byte what taskapi
answers: the same JSON bodies, status codes and ETag. The bench compares the two before it measures anything
(bench/equality.py), so when taskapi's task gains a field, the check fails until it is added here:
a column to `Task`, a field to `TaskSchema` (and to `TaskWriteSchema` when clients may set it and the
bench sends it: it moves no task to another list nor assigns one). A key the list page gains goes into
`page_body`.
"""

import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request, url_for
from flask_jwt_extended import JWTManager, get_jwt_identity, jwt_required
from flask_sqlalchemy import SQLAlchemy
from fractional_indexing import generate_key_between
from marshmallow import Schema, ValidationError, fields, post_load, validate
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

PAGE_SIZE = 20
db = SQLAlchemy(session_options={"expire_on_commit": False})  # answers are built after the commit, as taskapi's


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(100))


class TaskList(db.Model):
    """Only what the reference reads or writes of a list: whose inbox it is, its change sequence and task count."""

    __tablename__ = "lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    inbox: Mapped[bool] = mapped_column(Boolean)
    task_seq: Mapped[int] = mapped_column(BigInteger)
    task_count: Mapped[int] = mapped_column(Integer)


class Task(db.Model):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    priority: Mapped[str] = mapped_column(String(20), default="medium")
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[str] = mapped_column(String(255))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    change_seq: Mapped[int] = mapped_column(BigInteger)
    __mapper_args__ = {"version_id_col": version}  # UPDATE … WHERE version = <read>, as taskapi's

    @property
    def etag(self):
        return f'"{self.id}.{self.version}"'


class TaskSchema(Schema):
    id = fields.Integer()
    list_id = fields.Integer()
    assignee_id = fields.Integer(allow_none=True)
    created_by = fields.Integer(allow_none=True)
    title = fields.String()
    description = fields.String(allow_none=True)
    status = fields.String()
    priority = fields.String()
    due_at = fields.AwareDateTime(allow_none=True, format="iso")
    completed_at = fields.AwareDateTime(allow_none=True, format="iso")
    created_at = fields.AwareDateTime(format="iso")
    updated_at = fields.AwareDateTime(format="iso")
    version = fields.Integer()
    tags = fields.List(fields.String())
    position = fields.String()


class TaskWriteSchema(Schema):
    title = fields.String(validate=validate.Length(1, 200))
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    status = fields.String(validate=validate.OneOf(["pending", "in_progress", "completed"]))
    priority = fields.String(validate=validate.OneOf(["low", "medium", "high"]))
    due_at = fields.AwareDateTime(allow_none=True)
    tags = fields.List(fields.String(validate=validate.Length(1, 40)), validate=validate.Length(max=20))

    @post_load
    def normalise_tags(self, data, **kwargs):
        if "tags" in data:
            data["tags"] = sorted({tag.strip().lower() for tag in data["tags"]})
        return data


class TaskCreateSchema(TaskWriteSchema):
    title = fields.String(required=True, validate=validate.Length(1, 200))


TASK, TASKS = TaskSchema(), TaskSchema(many=True)
TASK_WRITE, TASK_CREATE = TaskWriteSchema(), TaskCreateSchema()


def page_body(items, total):
    # One page holds all the bench user's tasks, so there is no next page to point to.
    return {"items": TASKS.dump(items), "total": total, "limit": PAGE_SIZE, "offset": 0, "next_cursor": None}


def create_app():
    app = Flask(__name__)
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg2://", 1)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url,
        # Times come back in UTC, as taskapi's column type converts them: "+00:00" in every answer.
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": "-c timezone=UTC"}},
        JWT_SECRET_KEY=os.environ["JWT_SECRET_KEY"],
    )
    db.init_app(app)
    JWTManager(app)
    app.register_error_handler(ValidationError, lambda error: (jsonify({"errors": error.messages}), 422))
    app.register_error_handler(LookupError, lambda error: (jsonify({"status": 401}), 401))
    app.add_url_rule("/api/v1/tasks", view_func=list_tasks, methods=["GET"])
    app.add_url_rule("/api/v1/tasks", view_func=create_task, methods=["POST"])
    app.add_url_rule("/api/v1/tasks/<int:task_id>", view_func=get_task, methods=["GET"])
    app.add_url_rule("/api/v1/tasks/<int:task_id>", view_func=update_task, methods=["PATCH"])
    return app


def current_user():
    user = db.session.get(User, int(get_jwt_identity()))
    if user is None:
        raise LookupError("unknown user")  # 401
    return user


def inbox_of(user):
    """The id of the user's inbox, as a subquery of the statement that needs it (no statement of its own)."""
    return select(TaskList.id).where(TaskList.owner_id == user.id, TaskList.inbox).scalar_subquery()


def owned_task(list_id, task_id):
    """A live task of list `list_id` (an id, or inbox_of's subquery)."""
    query = select(Task).where(Task.list_id == list_id, Task.id == task_id, Task.deleted_at.is_(None))
    return db.session.execute(query).scalar_one_or_none()


def take_change_number(user, added=0):
    """As taskapi's writes start: the next change number of the user's inbox (for a sync feed), its row locked
    till commit, and its count of tasks moved by `added` (a create: 1). Returns (the inbox's id, the number)."""
    bump = (update(TaskList).where(TaskList.owner_id == user.id, TaskList.inbox)
            .values(task_seq=TaskList.task_seq + 1, task_count=TaskList.task_count + added)
            .returning(TaskList.id, TaskList.task_seq))
    return tuple(db.session.execute(bump).one())


def task_answer(task, status=200):
    response = jsonify(TASK.dump(task))
    response.status_code = status
    response.headers["ETag"] = task.etag
    return response


@jwt_required()
def list_tasks():
    user = current_user()
    live = (Task.list_id == inbox_of(user), Task.deleted_at.is_(None))
    total = db.session.execute(select(func.count()).select_from(Task).where(*live)).scalar_one()
    page = select(Task).where(*live).order_by(Task.created_at.desc(), Task.id.desc())
    items = db.session.execute(page.limit(PAGE_SIZE)).scalars().all()
    return jsonify(page_body(items, total))


@jwt_required()
def get_task(task_id):
    task = owned_task(inbox_of(current_user()), task_id)
    if task is None:
        return jsonify({"status": 404}), 404
    if request.if_none_match.contains_weak(task.etag.strip('"')):
        return "", 304, {"ETag": task.etag}
    return task_answer(task)


@jwt_required()
def create_task():
    fields_ = TASK_CREATE.load(request.get_json())
    now = datetime.now(UTC)
    user = current_user()
    # The same database work as taskapi's create: lock the inbox's row while taking a change number
    # (concurrent creates would otherwise pick one position), then a key before the inbox's first.
    list_id, seq = take_change_number(user, added=1)
    first = db.session.execute(select(func.min(Task.position)).where(Task.list_id == list_id)).scalar_one()
    task = Task(list_id=list_id, created_by=user.id, created_at=now, updated_at=now,
                position=generate_key_between(None, first), change_seq=seq, **{"tags": [], **fields_})
    if task.status == "completed":
        task.completed_at = now
    db.session.add(task)
    db.session.commit()
    response = task_answer(task, 201)
    response.headers["Location"] = url_for("get_task", task_id=task.id)
    return response


@jwt_required()
def update_task(task_id):
    changes = TASK_WRITE.load(request.get_json())
    user = current_user()
    list_id, seq = take_change_number(user)  # the lock makes a read-then-write safe, as taskapi's
    task = owned_task(list_id, task_id)
    if task is None:
        return jsonify({"status": 404}), 404
    if request.if_match and not request.if_match.contains(task.etag.strip('"')):
        return jsonify({"status": 412}), 412
    changed = {name: value for name, value in changes.items() if getattr(task, name) != value}
    if changed:
        now = datetime.now(UTC)
        for name, value in changed.items():
            setattr(task, name, value)
        if "status" in changed:
            task.completed_at = now if task.status == "completed" else None
        task.updated_at = now
        task.change_seq = seq
    db.session.commit()
    return task_answer(task)
