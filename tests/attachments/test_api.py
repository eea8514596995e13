"""Attachments through the API: cleaned before storing (checked with exiftool), encrypted at rest,
shown on messages and notes to who may see them, refused with nothing stored, withdrawn."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import func, select

from app.attachments.models import Attachment, AttachmentChunk
from app.audit.models import AuditEvent
from tests.attachments import files
from tests.attachments.conftest import World, case_url, exif_dump, upload

REPORTER_URL = "/api/v1/reporter/attachments"


def _counts(app: Any) -> tuple[int, int]:
    with app.state.sessionmaker() as s:
        return (s.scalar(select(func.count()).select_from(Attachment)) or 0,
                s.scalar(select(func.count()).select_from(AttachmentChunk)) or 0)


def test_a_phone_photo_is_cleaned_turned_upright_and_stored_only_as_ciphertext(
    app: Any, client: Any, world: World, exiftool: str, tmp_path: Path
) -> None:
    case_id = world.new_case()
    original = files.phone_photo(64, 48, orientation=6)
    assert "51 deg" in exif_dump(exiftool, original, tmp_path, "original.jpg")  # the test file really has it
    r = upload(client, REPORTER_URL, world.headers("reporter", case_id), "IMG_20260131_221500.jpg", original, "image/jpeg")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == "image/jpeg" and body["filename"] == "photo.jpg"
    for said in ("location (GPS)", "camera or phone make and model", "date and time taken",
                 "the date and time in the file's name"):
        assert said in body["removed"]
    got = client.get(case_url(case_id, f"/{body['id']}"), headers=world.headers("safeguarding"))
    assert got.status_code == 200
    dump = exif_dump(exiftool, got.content, tmp_path, "stored.jpg")
    assert [s for s in files.SECRETS if s in dump] == []
    assert "GPS" not in dump and "Orientation" not in dump
    image = Image.open(io.BytesIO(got.content))
    assert image.size == (48, 64)  # stored on its side, now upright
    assert image.getpixel((24, 5))[0] > 150 and image.getpixel((24, 60))[2] > 150  # red above, blue below
    with app.state.sessionmaker() as s:
        chunks = s.scalars(select(AttachmentChunk.data)).all()
    assert chunks and all(b"\xff\xd8\xff" not in c and b"JFIF" not in c for c in chunks)


def test_pdf_heic_png_and_text_keep_nothing_that_names_anyone(
    client: Any, world: World, exiftool: str, tmp_path: Path
) -> None:
    case_id = world.new_case()
    staff = world.headers("assigned_hr")
    sent = {
        "letter.pdf": (files.office_pdf(), "application/pdf"),
        "IMG_0042.HEIC": (files.iphone_heic(), "image/jpeg"),
        "shot.png": (files.screenshot_png(), "image/png"),
        "notes.txt": ("Dates it happened:\r\n3 March, 9 March — café\n".encode("cp1252", "replace"), "text/plain"),
    }
    for name, (data, kind) in sent.items():
        r = upload(client, case_url(case_id), staff, name, data)
        assert r.status_code == 201, (name, r.text)
        body = r.json()
        assert body["content_type"] == kind if kind != "text/plain" else body["content_type"].startswith("text/plain")
        stored = client.get(case_url(case_id, f"/{body['id']}"), headers=staff).content
        dump = exif_dump(exiftool, stored, tmp_path, body["filename"])
        assert [s for s in files.SECRETS if s in dump] == [], (name, dump)
        if name == "letter.pdf":
            assert {"document properties (author, title, software, dates)", "embedded files",
                    "photo details inside its images"} <= set(body["removed"])
            with pikepdf.open(io.BytesIO(stored)) as pdf:
                assert "/OpenAction" not in pdf.Root and "/Names" not in pdf.Root or "/EmbeddedFiles" not in pdf.Root.Names
                assert len(pdf.pages) == 1 and b"hidden attachment" not in stored
                assert b"tracker.invalid" not in stored and b"collector.invalid" not in stored
        if name == "IMG_0042.HEIC":
            assert body["filename"] == "IMG_0042.jpg" and stored[:3] == b"\xff\xd8\xff"
        if name == "notes.txt":
            assert stored.decode("utf-8").startswith("Dates it happened:")


@pytest.mark.parametrize("settings_overrides", [{"attachment_max_mb": 1, "attachment_max_megapixels": 4}])
def test_refused_files_are_explained_and_nothing_is_stored(app: Any, client: Any, world: World) -> None:
    case_id = world.new_case()
    who = world.headers("reporter", case_id)
    bomb = io.BytesIO()
    Image.new("1", (3000, 3000)).save(bomb, "PNG")  # 9 megapixels in a few kilobytes
    refusals = [
        ("report.docx", files.word_document(), 415, "Save it as a PDF"),
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 2000, 415, "not accepted"),
        ("big.jpg", files.noisy_photo(1200, 1000) * 2, 413, "at most 1 MB"),
        ("locked.pdf", files.office_pdf(with_password=True), 422, "password"),
        ("bomb.png", bomb.getvalue(), 413, "megapixels"),
        ("empty.txt", b"", 422, "empty"),
        ("broken.jpg", files.phone_photo()[:300], 422, "damaged"),
    ]
    for name, data, status, words in refusals:
        r = upload(client, REPORTER_URL, who, name, data)
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert words in r.json()["detail"], (name, r.json())
    assert _counts(app) == (0, 0)


@pytest.mark.parametrize("settings_overrides", [{"attachment_case_total_mb": 1}])
def test_a_case_holds_files_up_to_its_total(app: Any, client: Any, world: World) -> None:
    case_id = world.new_case()
    photo = files.noisy_photo(900, 700)
    assert 300_000 < len(photo) < 1_000_000
    first = upload(client, case_url(case_id), world.headers("safeguarding"), "a.jpg", photo)
    assert first.status_code == 201
    statuses = [upload(client, case_url(case_id), world.headers("safeguarding"), "b.jpg", photo).status_code
                for _ in range(3)]
    assert statuses[-1] == 413 and "1 MB it can hold" in upload(
        client, case_url(case_id), world.headers("safeguarding"), "c.jpg", photo).json()["detail"]


def test_files_travel_with_messages_and_notes_to_who_may_see_them(client: Any, world: World) -> None:
    case_id = world.new_case()
    reporter = world.headers("reporter", case_id)
    hr = world.headers("assigned_hr")
    mine = upload(client, REPORTER_URL, reporter, "screenshot.png", files.screenshot_png()).json()["id"]
    sent = client.post("/api/v1/reporter/messages", headers=reporter,
                       json={"body": "These are the messages he sends me.", "attachment_ids": [mine]})
    assert sent.status_code == 201 and [a["id"] for a in sent.json()["attachments"]] == [mine]
    thread = client.get(f"/api/v1/cases/{case_id}/messages", headers=hr).json()
    assert thread[-1]["attachments"][0]["filename"] == "screenshot.png"

    reply_file = upload(client, case_url(case_id), hr, "policy.txt", b"Our bullying policy, section 4.").json()["id"]
    note_file = upload(client, case_url(case_id), hr, "internal.txt", b"Manager's previous warnings.").json()["id"]
    assert client.post(f"/api/v1/cases/{case_id}/messages", headers=hr,
                       json={"body": "Here is the policy.", "attachment_ids": [reply_file]}).status_code == 201
    note = client.post(f"/api/v1/cases/{case_id}/notes", headers=hr, json={"body": "See file.", "attachment_ids": [note_file]})
    assert note.status_code == 201 and note.json()["attachments"][0]["id"] == note_file

    view = client.get("/api/v1/reporter/case", headers=reporter).json()
    shown = [a["id"] for m in view["messages"] for a in m["attachments"]]
    assert set(shown) == {mine, reply_file}
    assert client.get(f"{REPORTER_URL}/{reply_file}", headers=reporter).content == b"Our bullying policy, section 4."
    assert client.get(f"{REPORTER_URL}/{note_file}", headers=reporter).status_code == 404
    listed = client.get(case_url(case_id), headers=world.headers("safeguarding")).json()
    assert {a["id"]: a["from"] for a in listed} == {mine: "reporter", reply_file: "staff", note_file: "staff"}

    # Ids that are not the sender's own, unshown files of this case are refused; so are six at once.
    again = client.post("/api/v1/reporter/messages", headers=reporter, json={"body": "x", "attachment_ids": [mine]})
    assert again.status_code == 422
    theirs = client.post("/api/v1/reporter/messages", headers=reporter, json={"body": "x", "attachment_ids": [note_file]})
    assert theirs.status_code == 422
    six = client.post(f"/api/v1/cases/{case_id}/notes", headers=hr,
                      json={"body": "x", "attachment_ids": [str(uuid.uuid4()) for _ in range(6)]})
    assert six.status_code == 422


def test_only_people_who_may_see_the_case_reach_its_files(client: Any, world: World) -> None:
    case_id = world.new_case()
    other_case = world.new_case()
    file_id = upload(client, case_url(case_id), world.headers("safeguarding"), "a.txt", b"evidence").json()["id"]
    for who, status in (("assigned_hr", 200), ("other_hr", 404), ("excluded_hr", 404), ("excluded_safeguarding", 404),
                        ("leadership", 403), ("admin", 403), ("none", 401)):
        assert client.get(case_url(case_id, f"/{file_id}"), headers=world.headers(who)).status_code == status, who
        assert client.get(case_url(case_id), headers=world.headers(who)).status_code == status, who
        posted = upload(client, case_url(case_id), world.headers(who), "b.txt", b"more")
        assert posted.status_code == (201 if status == 200 else status), who
    # The file is not the other case's, nor its reporter's.
    assert client.get(case_url(other_case, f"/{file_id}"), headers=world.headers("safeguarding")).status_code == 404
    assert client.get(f"{REPORTER_URL}/{file_id}", headers=world.headers("reporter", other_case)).status_code == 404


def test_a_download_is_an_audited_sandboxed_attachment(app: Any, client: Any, world: World) -> None:
    case_id = world.new_case()
    file_id = upload(client, case_url(case_id), world.headers("safeguarding"), "Ünïcode name;.pdf",
                     files.office_pdf()).json()["id"]
    r = client.get(case_url(case_id, f"/{file_id}"), headers=world.headers("assigned_hr"))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    assert "filename*=UTF-8''%C3%9Cn%C3%AFcode%20name%3B.pdf" in r.headers["content-disposition"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"] and "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["content-type"] == "application/pdf" and int(r.headers["content-length"]) == len(r.content)
    with app.state.sessionmaker() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "attachment.download")).all()
    assert [(e.target, e.actor_id is not None) for e in events] == [(file_id, True)]


def test_a_file_sent_by_mistake_is_withdrawn_until_someone_opens_it(app: Any, client: Any, world: World) -> None:
    case_id = world.new_case()
    reporter = world.headers("reporter", case_id)
    oops = upload(client, REPORTER_URL, reporter, "me.jpg", files.phone_photo()).json()["id"]
    seen = upload(client, REPORTER_URL, reporter, "evidence.jpg", files.phone_photo()).json()["id"]
    client.post("/api/v1/reporter/messages", headers=reporter, json={"body": "Photos.", "attachment_ids": [oops, seen]})
    # The reporter opening their own file does not count; staff opening it does.
    assert client.get(f"{REPORTER_URL}/{seen}", headers=reporter).status_code == 200
    assert client.get(case_url(case_id, f"/{seen}"), headers=world.headers("assigned_hr")).status_code == 200
    assert client.delete(f"{REPORTER_URL}/{seen}", headers=reporter).status_code == 409
    assert client.delete(case_url(case_id, f"/{oops}"), headers=world.headers("safeguarding")).status_code == 404
    assert client.delete(f"{REPORTER_URL}/{oops}", headers=reporter).status_code == 204
    assert client.get(case_url(case_id, f"/{oops}"), headers=world.headers("safeguarding")).status_code == 404
    thread = client.get(f"/api/v1/cases/{case_id}/messages", headers=world.headers("safeguarding")).json()
    assert [(a["id"] == oops, a["withdrawn"]) for a in thread[-1]["attachments"]] == [(True, True), (False, False)]
    with app.state.sessionmaker() as s:
        row = s.get(Attachment, uuid.UUID(oops))
        assert row is not None and row.key_ct is None and row.filename_ct is None
        assert s.scalar(select(func.count()).select_from(AttachmentChunk).where(
            AttachmentChunk.attachment_id == row.id)) == 0


def test_a_tampered_chunk_is_an_integrity_failure_not_a_file(app: Any, client: Any, world: World) -> None:
    case_id = world.new_case()
    file_id = upload(client, case_url(case_id), world.headers("safeguarding"), "a.txt", b"evidence " * 100).json()["id"]
    with app.state.sessionmaker() as s, s.begin():
        chunk = s.scalars(select(AttachmentChunk)).one()
        chunk.data = chunk.data[:-1] + bytes([chunk.data[-1] ^ 1])
    r = client.get(case_url(case_id, f"/{file_id}"), headers=world.headers("safeguarding"))
    assert r.status_code == 500 and r.json()["type"].endswith("/integrity-failure")
    assert b"evidence" not in r.content


def test_no_file_name_or_content_reaches_the_logs(client: Any, world: World, caplog: Any) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    case_id = world.new_case()
    reporter = world.headers("reporter", case_id)
    file_id = upload(client, REPORTER_URL, reporter, "Jane-Doe-statement.txt", b"Sergeant Brooks hit me.").json()["id"]
    client.post("/api/v1/reporter/messages", headers=reporter, json={"body": "Here.", "attachment_ids": [file_id]})
    client.get(case_url(case_id, f"/{file_id}"), headers=world.headers("safeguarding"))
    upload(client, REPORTER_URL, reporter, "Jane-Doe-cv.docx", files.word_document())
    assert "Jane-Doe" not in caplog.text and "Brooks" not in caplog.text
