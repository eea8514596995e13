"""Attachments on the pages, without JavaScript: the report form, the follow-up page and the case page."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.attachments.models import Attachment
from tests.attachments import files
from tests.attachments.conftest import World, case_url, upload
from tests.web.helpers import RECEIPT_RE, csrf, receipt_in, report_form, sign_in

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


def _stored(app: Any) -> int:
    with app.state.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(Attachment)) or 0


def test_the_report_form_takes_files_tells_what_was_removed_and_names_files_to_choose_again(
    app: Any, client: TestClient, world: World
) -> None:
    token = csrf(client)
    photo = ("attachments", ("IMG_20260131_221500.jpg", files.phone_photo(), "image/jpeg"))
    word = ("attachments", ("statement.docx", files.word_document(), "application/octet-stream"))
    refused = client.post("/report", data=report_form(token), files=[photo, word], headers=SAME_SITE)
    assert refused.status_code == 415
    assert "Save it as a PDF" in refused.text and "Choose these files again" in refused.text
    assert "IMG_20260131_221500.jpg" in refused.text and "statement.docx" in refused.text
    assert _stored(app) == 0

    stale = client.post("/report", data=report_form("not-the-token"), files=[photo], headers=SAME_SITE)
    assert stale.status_code == 403 and "Choose this file again" in stale.text and _stored(app) == 0

    sent = client.post("/report", data=report_form(token), files=[photo], headers=SAME_SITE)
    assert sent.status_code == 200 and RECEIPT_RE.search(sent.text)
    assert "<strong>photo.jpg</strong>: we removed location (GPS)" in sent.text
    assert _stored(app) == 1

    plain = client.post("/report", data=report_form(csrf(client)), headers=SAME_SITE)  # URL-encoded, no files
    assert plain.status_code == 200 and RECEIPT_RE.search(plain.text)


def test_the_reporter_replies_with_a_file_opens_the_teams_and_withdraws_one_sent_by_mistake(
    app: Any, client: TestClient, world: World
) -> None:
    token = csrf(client)
    sent = client.post("/report", data=report_form(token), headers=SAME_SITE)
    receipt = receipt_in(sent.text)
    assert receipt
    sign_in(client, receipt)
    reply = client.post("/follow-up/messages", data={"csrf_token": csrf(client, "/follow-up"), "body": "The texts."},
                        files=[("attachments", ("texts.png", files.screenshot_png(), "image/png"))],
                        headers=SAME_SITE, follow_redirects=False)
    assert reply.status_code == 303
    page = client.get("/follow-up").text
    link = re.search(r'href="/follow-up/attachments/([0-9a-f-]+)" download>texts.png<', page)
    assert link and "Withdraw" in page
    got = client.get(f"/follow-up/attachments/{link.group(1)}")
    assert got.status_code == 200 and got.headers["content-disposition"].startswith("attachment")
    gone = client.post(f"/follow-up/attachments/{link.group(1)}/withdraw",
                       data={"csrf_token": csrf(client, "/follow-up")}, headers=SAME_SITE, follow_redirects=False)
    assert gone.status_code == 303
    after = client.get("/follow-up?sent=withdrawn").text
    assert "The file was withdrawn" in after and "A file was withdrawn by the person who sent it." in after
    assert client.get(f"/follow-up/attachments/{link.group(1)}").status_code == 404


def test_staff_attach_files_to_notes_and_messages_and_see_image_previews(
    app: Any, client: TestClient, world: World, as_: Any
) -> None:
    case_id = world.new_case()
    photo = upload(client, "/api/v1/reporter/attachments", world.headers("reporter", case_id), "p.jpg",
                   files.phone_photo()).json()["id"]
    hr = as_("assigned_hr")
    token = hr.token(f"/staff/cases/{case_id}")
    note = hr.client.post(f"/staff/cases/{case_id}/notes", data={"csrf_token": token, "body": "Manager's log."},
                          files=[("attachments", ("log.txt", b"Tuesday: shouting.", "text/plain"))],
                          headers=SAME_SITE, follow_redirects=False)
    assert note.status_code == 303
    refused = hr.client.post(f"/staff/cases/{case_id}/messages", data={"csrf_token": token, "body": "See attached."},
                             files=[("attachments", ("run.exe", b"MZ" + b"\0" * 100, "application/octet-stream"))],
                             headers=SAME_SITE)
    assert refused.status_code == 415 and "Choose this file again" in refused.text and "See attached." in refused.text
    page = hr.get(f"/staff/cases/{case_id}").text
    assert f'src="/staff/cases/{case_id}/attachments/{photo}/preview"' in page
    assert "log.txt" in page and "Files sent with it" in page
    preview = hr.get(f"/staff/cases/{case_id}/attachments/{photo}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert preview.headers["content-disposition"].startswith("inline") and "sandbox" in preview.headers[
        "content-security-policy"]
    listed = client.get(case_url(case_id), headers=world.headers("assigned_hr")).json()
    text_id = next(a["id"] for a in listed if a["filename"] == "log.txt")
    assert hr.get(f"/staff/cases/{case_id}/attachments/{text_id}/preview").status_code == 404
    # The reporter never sees the note's file.
    view = client.get("/api/v1/reporter/case", headers=world.headers("reporter", case_id)).json()
    assert text_id not in {a["id"] for a in view["attachments"]} | {a["id"] for m in view["messages"] for a in m["attachments"]}
    assert uuid.UUID(text_id)
