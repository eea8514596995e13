"""The floor: a bare FastAPI + SQLAlchemy endpoint that inserts one row per request.

Measured in the same run as Safe Share so the ratio says what Safe Share's own work costs
(validation, encryption, receipt hashing, audit chain), not what the machine can do.
Run: FLOOR_DATABASE_URL=... uvicorn bench.reporter.floor_app:app --workers 2
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import String, Text, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "floor_rows"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


url = os.environ["FLOOR_DATABASE_URL"]
connect_args = {"timeout": 30, "check_same_thread": False} if url.startswith("sqlite") else {}
engine = create_engine(url, connect_args=connect_args, pool_size=10, max_overflow=10)
if url.startswith("sqlite"):
    with engine.begin() as c:
        c.exec_driver_sql("PRAGMA journal_mode=WAL")
Base.metadata.create_all(engine)
app = FastAPI()


class In(BaseModel):
    description: str


@app.post("/insert", status_code=201)
def insert(body: In) -> dict[str, str]:
    with Session(engine) as s, s.begin():
        rid = str(uuid.uuid4())
        s.add(Row(id=rid, body=body.description, created_at=datetime.now(UTC)))
    return {"id": rid}
