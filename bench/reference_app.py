"""The lean reference: taskapi's stack doing the FastAPI template's three queries (user, count, page of 20)."""

import os
from datetime import datetime

from flask import Flask, jsonify
from flask_jwt_extended import JWTManager, get_jwt_identity, jwt_required
from flask_sqlalchemy import SQLAlchemy
from marshmallow import Schema, fields
from sqlalchemy import DateTime, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(100))


class Task(db.Model):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)


class TaskSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String(allow_none=True)
    status = fields.String()
    priority = fields.String()
    due_at = fields.AwareDateTime(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    version = fields.Integer()


TASKS = TaskSchema(many=True)
app = Flask(__name__)
app.config.update(
    SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg2://", 1),
    JWT_SECRET_KEY=os.environ["JWT_SECRET_KEY"],
)
db.init_app(app)
JWTManager(app)


@app.get("/api/v1/tasks")
@jwt_required()
def list_tasks():
    user = db.session.get(User, int(get_jwt_identity()))
    if user is None:
        return jsonify({"msg": "unknown user"}), 401
    total = db.session.execute(select(func.count()).select_from(Task).where(Task.user_id == user.id)).scalar_one()
    page = select(Task).where(Task.user_id == user.id).order_by(Task.created_at.desc(), Task.id.desc()).limit(20)
    items = db.session.execute(page).scalars().all()
    return jsonify({"items": TASKS.dump(items), "total": total, "limit": 20, "offset": 0})
