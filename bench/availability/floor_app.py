"""The floor for the burst: a bare FastAPI + SQLAlchemy app with the same two requests as the burst.

`GET /case` looks a bearer token's hash up in a table and answers 401 when it is unknown (the
shape of Safe Share's `GET /api/v1/reporter/case` with a bogus token); `POST /insert` inserts a
row in its own transaction. SQLite in WAL mode with the library's defaults (deferred
transactions), so the floor shows what the machine and the stack cost, not Safe Share's rules.
Run: FLOOR_DATABASE_URL=... uvicorn bench.availability.floor_app:app
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel
from sqlalchemy import LargeBinary, String, Text, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Token(Base):
    __tablename__ = "floor_tokens"
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36))


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


@app.get("/case")
def case(authorization: str = Header(default="")) -> dict[str, str]:
    token = authorization.removeprefix("Bearer ").strip()
    with Session(engine) as s:
        found = s.scalar(select(Token.case_id).where(Token.token_hash == hashlib.sha256(token.encode()).digest()))
    if found is None:
        raise HTTPException(status_code=401, detail="Sign in again.")
    return {"case_id": found}


@app.post("/insert", status_code=201)
def insert(body: In) -> dict[str, str]:
    with Session(engine) as s, s.begin():
        rid = str(uuid.uuid4())
        s.add(Row(id=rid, body=body.description, created_at=datetime.now(UTC)))
    return {"id": rid}
