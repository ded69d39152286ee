"""Visits: the tablet form, idempotent recording, scope, bad input, attachments, edits, lists."""

import io
import re
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from crm.audit.models import AuditLog
from crm.auth.models import User
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.i18n import local_today
from crm.policies.models import Policy
from crm.problems.models import Problem, ProblemStatus
from crm.visits.models import Attachment, Visit, VisitPolicy
from tests.conftest import CITY, MENGJIN, YIYANG, bureau_today, log_in, posted_at_once, queries_for
from tests.forms import forms_of


def jpeg(width: int = 640, height: int = 480) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def visit_values(**overrides) -> dict:
    """What the operations take for a plain, valid visit."""
    return {
        "client_uuid": str(uuid.uuid4()),
        "visit_date": bureau_today() - timedelta(days=1),
        "mode": "onsite",
        "summary": "了解研发投入和高企申报准备情况。",
        **overrides,
    }


def api_visit(enterprise_id: int, /, **overrides) -> dict:
    """A valid body for POST /api/v1/visits."""
    return {
        "client_uuid": str(uuid.uuid4()),
        "enterprise_id": enterprise_id,
        "visit_date": (bureau_today() - timedelta(days=1)).isoformat(),
        "mode": "onsite",
        "summary": "了解研发投入和高企申报准备情况。",
        **overrides,
    }


def form_visit(enterprise_id: int, /, **overrides) -> dict:
    """A valid submission of the tablet form: two policies, one problem, one photo."""
    return {
        "client_uuid": str(uuid.uuid4()),
        "enterprise_id": str(enterprise_id),
        "visit_date": (bureau_today() - timedelta(days=1)).isoformat(),
        "mode": "onsite",
        "people_met": "王总经理",
        "summary": "企业计划新建研发中心，询问高企认定条件。",
        "policy_ids": ["1", "3"],
        "policy_note_1": "企业有意向今年申报",
        "problems-0-category": "financing",
        "problems-0-title": "设备更新贷款贴息",
        "problems-0-description": "需要 500 万元设备贷款",
        "next_step": "下周送申报指南",
        "photos": (io.BytesIO(jpeg()), "现场.jpg"),
        **overrides,
    }


def post_form(client, data, json=False):
    headers = {"Accept": "application/json"} if json else {}
    return client.post(
        "/visits/new", data=data, content_type="multipart/form-data", headers=headers
    )


def counts(app) -> dict:
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Visit, VisitPolicy, Problem, Attachment)
        }


def stored_files(app) -> list[Path]:
    folder = Path(app.config["ATTACHMENT_FOLDER"])
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


@pytest.fixture
def enterprise(create_enterprise):
    return create_enterprise(name="洛阳启航必达科技有限公司")


# The form, end to end.


def test_the_form_records_a_visit_with_policies_a_problem_and_a_photo(
    app, client, login, enterprise
):
    officer = login("officer")
    assert "您还没有走访记录。" in client.get("/visits/mine").text  # not "none match the filters"
    page = client.get(f"/visits/new?enterprise_id={enterprise.id}")
    assert page.status_code == 200
    assert 'capture="environment"' in page.text and 'accept="image/*"' in page.text
    response = post_form(client, form_visit(enterprise.id))
    assert response.status_code == 302
    shown = client.get(response.headers["Location"])
    assert "设备更新贷款贴息" in shown.text and "企业有意向今年申报" in shown.text
    with app.app_context():
        visit = db.session.scalars(sa.select(Visit)).one()
        assert visit.lead_id == officer.id and visit.county_code == YIYANG
        assert [link.policy_id for link in visit.policies] == [1, 3]
        assert visit.policies[0].note == "企业有意向今年申报"
        (problem,) = visit.problems
        assert problem.status == ProblemStatus.NEW and problem.raised_on == visit.visit_date
        assert problem.enterprise_id == enterprise.id and problem.county_code == YIYANG
        (photo,) = visit.attachments
        assert photo.kind == "photo" and photo.filename == "现场.jpg" and photo.has_thumbnail
        assert db.session.get(Enterprise, enterprise.id).last_visited_on == visit.visit_date
        actions = set(db.session.scalars(sa.select(AuditLog.action)))
        assert {"visit.create", "problem.raise", "attachment.create"} <= actions
    timeline = client.get(f"/enterprises/{enterprise.id}")
    assert f"/visits/{visit.id}" in timeline.text


def test_the_enterprise_timeline_counts_each_visits_policies_and_problems(
    app, client, login, enterprise
):
    """Each visit on the timeline says how many policies it explained and problems it raised;
    the counts come with the visits, so more of them cost the page no statement more."""
    login("officer")
    quiet = form_visit(enterprise.id, policy_ids=[], summary="只了解情况")
    quiet = {key: value for key, value in quiet.items() if not key.startswith("problems-")}
    assert post_form(client, quiet).status_code == 302
    page = f"/enterprises/{enterprise.id}"
    asked = queries_for(app, client, page)
    text = client.get(page).text
    assert "只了解情况" in text and "宣讲政策" not in text and "提出问题" not in text
    assert post_form(client, form_visit(enterprise.id)).status_code == 302
    two_problems = {"problems-1-category": "talent", "problems-1-title": "引进博士",
                    "problems-1-description": "需要人才公寓"}  # fmt: skip
    assert post_form(client, form_visit(enterprise.id, **two_problems)).status_code == 302
    text = client.get(page).text
    assert text.count("宣讲政策 2 项 · 提出问题 1 项") == 1
    assert text.count("宣讲政策 2 项 · 提出问题 2 项") == 1
    assert queries_for(app, client, page) == asked


def test_saving_a_visit_reads_only_what_it_checks(app, client, login, enterprise):
    """A visit sent from the tablet (two policies, a problem) is saved in 13 statements or
    fewer, however many colleagues could have gone along: the form's choices are listed only
    when it is shown, a new problem's empty history is not read, and the answer is not read
    back after the commit."""
    login("officer")
    for n in range(5):
        login("officer", YIYANG, username=f"colleague{n}")
    login("officer", YIYANG)
    data = {key: value for key, value in form_visit(enterprise.id).items() if key != "photos"}
    sent = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
        answer = post_form(client, data, json=True)
    assert answer.status_code == 201, answer.json
    selects = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert len(sent) <= 13, "\n".join(s[:90] for s in sent)
    assert not any("FROM users" in s and "users.role IN" in s for s in selects), selects
    assert sum("FROM problem_events" in s for s in selects) == 0


def test_the_ways_of_visiting_read_as_an_officer_says_them(client, login):
    """A visit made by phone reads 电话 (a mode), not 手机号 (a number)."""
    login("officer")
    page = client.get("/visits/new").text
    modes = re.findall(r'name="mode"[^>]*>\s*<label[^>]*>([^<]+)</label>', page)
    assert modes == ["实地走访", "座谈会", "电话", "视频", "送政策上门"]


def test_the_form_answers_its_script_in_json(app, client, login, enterprise):
    login("officer")
    data = form_visit(enterprise.id)
    first = post_form(client, data, json=True)
    assert first.status_code == 201
    assert first.json["url"] == f"/visits/{first.json['id']}"
    again = post_form(client, {**data, "photos": (io.BytesIO(jpeg()), "现场.jpg")}, json=True)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    bad = post_form(client, form_visit(enterprise.id, summary="", **{"problems-0-title": ""}), True)
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"summary", "problems-0-title"}
    assert counts(app)["visits"] == 1


def test_a_visit_sent_twice_is_stored_once(app, client, login, enterprise):
    login("officer")
    data = form_visit(enterprise.id)
    assert post_form(client, data).status_code == 302
    again = post_form(client, {**data, "photos": (io.BytesIO(jpeg()), "现场.jpg")})
    assert again.status_code == 302
    assert counts(app) == {"visits": 1, "visit_policies": 2, "problems": 1, "attachments": 1}
    assert len([p for p in stored_files(app) if ".thumb" not in p.name]) == 1


def test_the_api_stores_a_client_uuid_once(app, client, login, enterprise):
    login("officer")
    body = api_visit(
        enterprise.id,
        policy_ids=[1, 2],
        problems=[{"category": "talent", "title": "缺少高端研发人才", "description": ""}],
    )
    first = client.post("/api/v1/visits", json=body)
    assert first.status_code == 201, first.json
    second = client.post("/api/v1/visits", json=body)
    assert second.status_code == 200
    assert second.json["id"] == first.json["id"] and second.json["summary"] == body["summary"]
    assert counts(app) == {"visits": 1, "visit_policies": 2, "problems": 1, "attachments": 0}
    # The number with other words is not a retry: a second tab's, say. Refused, never lost
    # quietly behind a 200 (the form's script gives it a number of its own and sends it again).
    for changed in ({"summary": "改过的内容"}, {"problems": []}):
        other = client.post("/api/v1/visits", json={**body, **changed})
        assert other.status_code == 409 and "client_uuid" in other.json["error"]["fields"]
    assert counts(app)["visits"] == 1


def test_the_idempotency_key_header_is_honoured(app, client, login, enterprise):
    login("officer")
    body = api_visit(enterprise.id)
    del body["client_uuid"]
    headers = {"Idempotency-Key": "tablet-7-visit-0001"}
    first = client.post("/api/v1/visits", json=body, headers=headers)
    second = client.post("/api/v1/visits", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert counts(app)["visits"] == 1
    clash = client.post(
        "/api/v1/visits",
        json={**body, "client_uuid": str(uuid.uuid4())},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert clash.status_code == 422 and "client_uuid" in clash.json["error"]["fields"]


def test_concurrent_posts_of_one_visit_store_it_once(app, create_user, create_token, enterprise):
    token = create_token(create_user("officer"))
    body = api_visit(
        enterprise.id,
        policy_ids=[1, 2, 3],
        problems=[{"category": "land", "title": "厂房用地指标不足"}],
    )
    assert posted_at_once(app, "/api/v1/visits", body, token) == [200, 200, 200, 201]
    assert counts(app) == {"visits": 1, "visit_policies": 3, "problems": 1, "attachments": 0}


def test_a_client_uuid_of_someone_elses_visit_is_refused(
    app, client, login, create_enterprise, create_user
):
    other = create_enterprise(county_code=MENGJIN)
    mengjin = create_user("officer", MENGJIN)
    log_in(client, mengjin)
    body = api_visit(other.id)
    assert client.post("/api/v1/visits", json=body).status_code == 201
    client.post("/logout")
    login("officer", YIYANG)
    own = create_enterprise()
    answer = client.post("/api/v1/visits", json={**body, "enterprise_id": own.id})
    assert answer.status_code == 409
    assert counts(app)["visits"] == 1


def test_a_plain_form_post_with_a_number_already_taken_says_so(
    app, client, login, create_enterprise, create_user
):
    """Without the page's script (which gives the visit a new number itself), the refusal is
    shown above the form, not kept on its hidden field where no one sees it."""
    other = create_enterprise(county_code=MENGJIN)
    log_in(client, create_user("officer", MENGJIN))
    body = api_visit(other.id)
    assert client.post("/api/v1/visits", json=body).status_code == 201
    client.post("/logout")
    login("officer", YIYANG)
    own = create_enterprise()
    page = post_form(client, form_visit(own.id, client_uuid=body["client_uuid"]))
    assert page.status_code == 409
    alerts = re.findall(r'class="alert alert-danger" role="alert">([^<]+)<', page.text)
    assert alerts and all(alert.strip() for alert in alerts)
    assert counts(app)["visits"] == 1


# Region scope.


def test_an_officer_cannot_record_or_see_visits_outside_the_region(
    app, client, login, create_user, create_enterprise
):
    mengjin_enterprise = create_enterprise(county_code=MENGJIN)
    city = create_user("officer")
    log_in(client, city)
    visit_id = client.post("/api/v1/visits", json=api_visit(mengjin_enterprise.id)).json["id"]
    client.post("/logout")
    login("officer", YIYANG)
    # Answered as an enterprise that does not exist: nothing tells it from an unused id.
    for enterprise_id in (mengjin_enterprise.id, 999_999):
        refused = client.post("/api/v1/visits", json=api_visit(enterprise_id))
        assert refused.status_code == 422
        assert refused.json["error"]["fields"] == {"enterprise_id": ["请从列表中选择走访的企业。"]}
    assert post_form(client, form_visit(mengjin_enterprise.id)).status_code == 422
    opened = client.get(f"/visits/new?enterprise_id={mengjin_enterprise.id}")
    assert opened.status_code == 200 and mengjin_enterprise.name not in opened.text
    assert client.get(f"/visits/{visit_id}").status_code == 404
    assert client.get(f"/api/v1/visits/{visit_id}").status_code == 404
    assert client.get("/api/v1/visits").json["total"] == 0
    assert "visit-table" in client.get("/visits/").text
    assert f"/visits/{visit_id}" not in client.get("/visits/").text
    assert counts(app)["visits"] == 1


def test_a_visit_is_seen_only_within_its_county_companions_and_lead_included(
    app, client, login, create_user, create_enterprise
):
    """A user sees only the visits of their scope: a colleague who cannot see the enterprise's
    county cannot go along, one of the city's can; and a lead moved to another county no longer
    sees the visits they made in the old one."""
    mengjin_enterprise = create_enterprise(county_code=MENGJIN)
    elsewhere = create_user("officer", YIYANG)
    city_companion = create_user("officer", CITY)
    login("officer")  # the city's
    refused = client.post(
        "/api/v1/visits", json=api_visit(mengjin_enterprise.id, companion_ids=[elsewhere.id])
    )
    assert refused.status_code == 422 and "companion_ids" in refused.json["error"]["fields"]
    body = api_visit(mengjin_enterprise.id, companion_ids=[city_companion.id])
    visit_id = client.post("/api/v1/visits", json=body).json["id"]
    client.post("/logout")
    log_in(client, city_companion)
    assert client.get(f"/visits/{visit_id}").status_code == 200
    assert f"/visits/{visit_id}" in client.get("/visits/mine").text
    client.post("/logout")
    lead = create_user("officer", MENGJIN)
    log_in(client, lead)
    own = client.post("/api/v1/visits", json=api_visit(mengjin_enterprise.id)).json["id"]
    with app.app_context():
        db.session.get(User, lead.id).region_code = YIYANG
        db.session.commit()
    assert client.get(f"/visits/{own}").status_code == 404
    assert client.get(f"/visits/{own}/edit").status_code == 404
    assert client.get(f"/api/v1/visits/{own}").status_code == 404
    assert client.get("/api/v1/visits").json["items"] == []


# Bad input: a clear message beside the field, and nothing stored.


BAD_INPUT = {
    "future date": ({"visit_date": "2099-01-01"}, "visit_date"),
    "impossible date": ({"visit_date": "2026-02-30"}, "visit_date"),
    "unknown policy": ({"policy_ids": ["1", "9999"]}, "policy_ids"),
    "empty summary": ({"summary": "   "}, "summary"),
    "unknown enterprise": ({"enterprise_id": "999999"}, "enterprise_id"),
    "problem without a title": ({"problems-0-title": ""}, "problems-0-title"),
    "unknown mode": ({"mode": "teleport"}, "mode"),
    "follow-up without a date": ({"followup_title": "回访"}, "followup_due_on"),
    "policy note too long": ({"policy_note_1": "长" * 201}, "policy_note_1"),
    "policy note with a control character": ({"policy_note_1": "有意向\x07"}, "policy_note_1"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_on_the_form_is_refused_beside_the_field(app, client, login, enterprise, case):
    login("officer")
    change, field = BAD_INPUT[case]
    response = post_form(client, form_visit(enterprise.id, **change), json=True)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert counts(app) == {"visits": 0, "visit_policies": 0, "problems": 0, "attachments": 0}
    assert stored_files(app) == []
    page = post_form(client, form_visit(enterprise.id, **change))
    assert page.status_code == 422 and "invalid-feedback" in page.text


def test_line_breaks_count_once_against_the_limit(app, client, login, enterprise):
    """A browser sends a line break as CR LF; its text box counted it as one character, and so
    does the server (a 5 000-character summary of many lines is not refused as longer)."""
    login("officer")
    summary = "\r\n".join(["企业研发投入情况良好"] * 450)  # 4 500 characters + 449 breaks
    assert len(summary.replace("\r\n", "\n")) <= 5000 < len(summary)
    response = post_form(client, form_visit(enterprise.id, summary=summary))
    assert response.status_code == 302, response.text[-500:]
    with app.app_context():
        stored = db.session.scalars(sa.select(Visit)).one().summary
    assert "\r" not in stored and stored.count("\n") == 449


def test_a_bad_policy_note_is_marked_beside_that_note(app, client, login, enterprise):
    """The note's own input is marked, with the typed text kept; the policies' list is not."""
    login("officer")
    page = post_form(client, form_visit(enterprise.id, policy_note_3="长" * 201))
    assert page.status_code == 422
    (form,) = [f for f in forms_of(page.text) if "policy_note_3" in f.fields]
    assert form.fields["policy_note_3"].invalid and not form.fields["policy_note_1"].invalid
    assert form.fields["policy_note_3"].filled == ["长" * 201]
    assert 'id="policy_note_3-error">最多 200 个字符。<' in page.text
    assert "最多 200 个字符。" not in page.text.split('data-errors-for="policy_ids"')[1][:200]
    api = client.post(
        "/api/v1/visits",
        json=api_visit(enterprise.id, policy_ids=[1], policy_notes={"1": "长" * 201}),
    )
    assert api.status_code == 422 and list(api.json["error"]["fields"]) == ["policy_notes.1"]
    assert counts(app)["visits"] == 0


def test_a_photo_over_the_limit_is_refused(app, client, login, enterprise):
    login("officer")
    big = jpeg() + b"\0" * (30 * 1024 * 1024)
    response = post_form(
        client, form_visit(enterprise.id, photos=(io.BytesIO(big), "大照片.jpg")), json=True
    )
    assert response.status_code == 422
    assert "20 MB" in response.json["error"]["fields"]["photos"][0]
    assert counts(app)["visits"] == 0 and stored_files(app) == []


@pytest.mark.parametrize(
    "content",
    [b"MZ\x90\x00\x03" + b"\0" * 2000, b"\xff\xd8\xff\xe0 not really a jpeg" + b"\0" * 100],
    ids=["renamed exe", "truncated jpeg"],
)
def test_a_file_that_lies_about_its_type_is_refused(app, client, login, enterprise, content):
    login("officer")
    response = post_form(
        client, form_visit(enterprise.id, photos=(io.BytesIO(content), "photo.jpg")), json=True
    )
    assert response.status_code == 422
    assert "photos" in response.json["error"]["fields"]
    assert counts(app)["visits"] == 0 and stored_files(app) == []


def test_bad_input_on_the_api_names_the_fields(app, client, login, enterprise):
    login("officer")
    body = api_visit(
        999999,
        visit_date=(local_today_in(app) + timedelta(days=1)).isoformat(),
        summary="",
        policy_ids=[9999],
        problems=[{"category": "talent", "title": ""}],
    )
    response = client.post("/api/v1/visits", json=body)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {
        "enterprise_id",
        "visit_date",
        "summary",
        "policy_ids",
        "problems.0.title",
    }
    assert "选择" in response.json["error"]["fields"]["enterprise_id"][0]
    assert counts(app)["visits"] == 0


def local_today_in(app) -> date:
    with app.app_context():
        return local_today()


def test_a_viewer_cannot_record_a_visit(client, login, enterprise):
    login("viewer")
    assert client.post("/api/v1/visits", json=api_visit(enterprise.id)).status_code == 403


# Attachments.


def _visit_with_files(client, enterprise_id):
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    data = form_visit(enterprise_id, files=[(io.BytesIO(pdf), "../../etc/申报材料.pdf")])
    response = post_form(client, data, json=True)
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_attachments_are_stored_outside_the_web_root_and_served_with_their_names(
    app, client, login, enterprise
):
    login("officer")
    visit_id = _visit_with_files(client, enterprise.id)
    with app.app_context():
        files = db.session.scalars(sa.select(Attachment).order_by(Attachment.id)).all()
        photo, pdf = files
        assert pdf.filename == "申报材料.pdf" and pdf.kind == "pdf"
        assert ".." not in pdf.stored_name and pdf.stored_name.endswith(".pdf")
    folder = Path(app.config["ATTACHMENT_FOLDER"]).resolve()
    assert all(path.resolve().is_relative_to(folder) for path in stored_files(app))
    assert pdf.size < 1024 and f">{pdf.size} B<" in client.get(f"/visits/{visit_id}").text
    served = client.get(f"/visits/{visit_id}/attachments/{pdf.id}")
    assert served.status_code == 200 and served.data.startswith(b"%PDF")
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in served.headers["Content-Disposition"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    image = client.get(f"/visits/{visit_id}/attachments/{photo.id}")
    assert image.headers["Content-Disposition"].startswith("inline;")
    thumbnail = client.get(f"/visits/{visit_id}/attachments/{photo.id}/thumbnail")
    assert thumbnail.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumbnail.data)).size) <= 480


def test_attachments_are_served_only_to_those_who_see_the_visit(
    app, client, login, enterprise, create_user, create_token
):
    login("officer")
    visit_id = _visit_with_files(client, enterprise.id)
    client.post("/logout")
    outsider = create_user("officer", MENGJIN)
    log_in(client, outsider)
    for attachment_id in (1, 2):
        assert client.get(f"/visits/{visit_id}/attachments/{attachment_id}").status_code == 404
    assert client.get(f"/visits/{visit_id}/attachments/1/thumbnail").status_code == 404
    client.post("/logout")
    assert client.get(f"/visits/{visit_id}/attachments/1").status_code == 302


def test_an_attachment_is_reached_only_through_its_own_visit(app, client, login, enterprise):
    login("officer")
    first = _visit_with_files(client, enterprise.id)
    second = _visit_with_files(client, enterprise.id)
    with app.app_context():
        attachment_of_first = db.session.scalars(
            sa.select(Attachment.id).where(Attachment.visit_id == first)
        ).first()
    assert client.get(f"/visits/{second}/attachments/{attachment_of_first}").status_code == 404


# Editing.


def _age(app, visit_id: int, days: int) -> None:
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        visit.created_at = visit.created_at - timedelta(days=days)
        db.session.commit()


def _edit(client, visit_id, **changes):
    data = {
        "visit_date": (bureau_today() - timedelta(days=2)).isoformat(),
        "mode": "meeting",
        "summary": "补充：企业已联系高校开展产学研合作。",
        "policy_ids": ["2"],
        **changes,
    }
    return client.post(f"/visits/{visit_id}/edit", data=data, content_type="multipart/form-data")


def test_the_lead_officer_may_edit_for_seven_days_and_every_edit_is_audited(
    app, client, login, enterprise
):
    login("officer")
    visit_id = _visit_with_files(client, enterprise.id)
    assert client.get(f"/visits/{visit_id}/edit").status_code == 200
    assert _edit(client, visit_id).status_code == 302
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        assert visit.mode == "meeting" and [p.policy_id for p in visit.policies] == [2]
        assert len(visit.problems) == 1  # problems live on in the ledger
        problem = visit.problems[0]  # and move with the visit's date
        assert (problem.raised_on, problem.version) == (visit.visit_date, 1)  # not a step
        redated = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "problem.redate")
        ).one()
        assert redated.entity_id == str(problem.id) and "raised_on" in redated.changes
        entry = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "visit.update")
        ).one()
        assert {"mode", "summary", "visit_date", "policies"} <= entry.changes.keys()
        assert db.session.get(Enterprise, enterprise.id).last_visited_on == visit.visit_date
        problem.resolved_on = visit.visit_date  # resolved that day: the visit cannot come after
        db.session.commit()
    later = _edit(client, visit_id, visit_date=(bureau_today() - timedelta(days=1)).isoformat())
    assert later.status_code == 422 and "该走访中提出的问题已于" in later.text
    _age(app, visit_id, 8)
    assert client.get(f"/visits/{visit_id}/edit").status_code == 403
    assert _edit(client, visit_id, summary="晚了").status_code == 403


def test_a_follow_up_that_became_a_task_is_changed_on_the_task(app, client, login, enterprise):
    """Editing the visit shows the task and leaves it be: a changed title or date sent with
    the visit changes neither the task nor the visit's record of what was asked. A visit with
    no follow-up yet may still be given one."""
    from crm.followups.models import FollowUp

    login("officer")
    due = (bureau_today() + timedelta(days=5)).isoformat()
    visit_id = client.post(
        "/api/v1/visits",
        json=api_visit(enterprise.id, followup_title="核对材料", followup_due_on=due),
    ).json["id"]
    page = client.get(f"/visits/{visit_id}/edit").text
    assert 'id="followup-task"' in page and 'name="followup_title"' not in page
    later = (bureau_today() + timedelta(days=9)).isoformat()
    assert _edit(client, visit_id, followup_title="改了", followup_due_on=later).status_code == 302
    with app.app_context():
        task = db.session.scalars(sa.select(FollowUp).where(FollowUp.visit_id == visit_id)).one()
        visit = db.session.get(Visit, visit_id)
        assert (task.title, task.due_on.isoformat()) == ("核对材料", due)
        assert (visit.followup_title, visit.followup_due_on.isoformat()) == ("核对材料", due)
    bare = client.post("/api/v1/visits", json=api_visit(enterprise.id)).json["id"]
    assert 'name="followup_title"' in client.get(f"/visits/{bare}/edit").text
    assert (
        _edit(client, bare, followup_title="送申报指南", followup_due_on=later).status_code == 302
    )
    with app.app_context():
        task = db.session.scalars(sa.select(FollowUp).where(FollowUp.visit_id == bare)).one()
        assert task.title == "送申报指南"


def test_chiefs_may_always_edit_and_other_officers_never(
    app, client, login, enterprise, create_user
):
    login("officer")
    visit_id = _visit_with_files(client, enterprise.id)
    _age(app, visit_id, 100)
    client.post("/logout")
    login("officer")
    assert client.get(f"/visits/{visit_id}/edit").status_code == 403
    client.post("/logout")
    login("chief", YIYANG)
    assert _edit(client, visit_id).status_code == 302
    client.post("/logout")
    log_in(client, create_user("chief", MENGJIN))
    assert client.get(f"/visits/{visit_id}/edit").status_code == 404


def test_bad_input_on_edit_changes_nothing(app, client, login, enterprise):
    login("officer")
    visit_id = _visit_with_files(client, enterprise.id)
    response = _edit(client, visit_id, summary="", policy_ids=["9999"])
    assert response.status_code == 422 and "invalid-feedback" in response.text
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        assert visit.mode == "onsite" and [p.policy_id for p in visit.policies] == [1, 3]


def test_the_edit_pages_script_is_answered_in_json(app, client, login, enterprise):
    """The edit page's script sends the changes itself: a refusal names the fields (the page
    stays, with the files chosen), a save says where the visit is and flashes there."""
    login("officer")
    visit_id = _visit_with_files(client, enterprise.id)
    json = {"Accept": "application/json"}
    future = (bureau_today() + timedelta(days=5)).isoformat()
    data = {"visit_date": future, "mode": "meeting", "summary": "", "policy_ids": ["2"]}
    refused = client.post(f"/visits/{visit_id}/edit", data=data, headers=json)
    assert refused.status_code == 422
    assert {"summary", "visit_date"} <= refused.json["error"]["fields"].keys()
    with app.app_context():
        assert db.session.get(Visit, visit_id).mode == "onsite"
    data = {
        **data,
        "visit_date": (bureau_today() - timedelta(days=1)).isoformat(),
        "summary": "补充",
    }
    saved = client.post(f"/visits/{visit_id}/edit", data=data, headers=json)
    assert saved.status_code == 200 and saved.json["url"] == f"/visits/{visit_id}"
    assert "走访记录已保存" in client.get(saved.json["url"]).text
    with app.app_context():
        assert db.session.get(Visit, visit_id).mode == "meeting"


def test_an_edit_sent_again_after_it_was_saved_attaches_nothing_twice(
    app, client, login, enterprise
):
    """The answer to a save was lost and the page sends it again: the visit was saved since
    the page opened it (`seen`), so the second one is refused and its file not stored twice."""
    login("officer")
    visit_id = _visit_with_files(client, enterprise.id)
    with app.app_context():
        seen = db.session.get(Visit, visit_id).updated_at.isoformat()
        attached = db.session.scalar(sa.select(sa.func.count()).select_from(Attachment))
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

    def save():
        return _edit(client, visit_id, seen=seen, files=[(io.BytesIO(pdf), "纪要.pdf")])

    assert save().status_code == 302
    again = save()
    assert again.status_code == 409 and "已被保存过" in again.text
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Attachment))
    assert count == attached + 1


def test_removing_an_attachment_deletes_its_file(app, client, login, enterprise):
    login("chief")
    visit_id = _visit_with_files(client, enterprise.id)
    before = len(stored_files(app))
    response = client.post(f"/visits/{visit_id}/attachments/2/delete")
    assert response.status_code == 302
    assert len(stored_files(app)) == before - 1
    assert client.get(f"/visits/{visit_id}/attachments/2").status_code == 404


# Lists and pages.


def test_the_visit_list_and_form_offer_the_officers_of_the_users_scope(app, client, create_user):
    create_user("officer", CITY, display_name="市局走访员")
    create_user("officer", YIYANG, display_name="宜阳走访员")
    create_user("officer", MENGJIN, display_name="孟津走访员")
    log_in(client, create_user("officer", YIYANG))
    county_page = client.get("/visits/").text
    assert "市局走访员" in county_page and "宜阳走访员" in county_page
    assert "孟津走访员" not in county_page

    form = client.get("/visits/new").text
    assert "市局走访员" in form and "宜阳走访员" in form and "孟津走访员" not in form

    city = app.test_client()
    log_in(city, create_user("chief", CITY))
    assert "孟津走访员" in city.get("/visits/").text
    assert "孟津走访员" in city.get("/visits/new").text


def test_the_visit_list_filters(app, client, login, create_enterprise):
    officer = login("chief")
    yiyang = create_enterprise()
    mengjin = create_enterprise(county_code=MENGJIN)
    client.post("/api/v1/visits", json=api_visit(yiyang.id, policy_ids=[4]))
    client.post(
        "/api/v1/visits",
        json=api_visit(
            mengjin.id,
            mode="phone",
            visit_date=(bureau_today() - timedelta(days=40)).isoformat(),
            problems=[{"category": "market", "title": "开拓海外市场"}],
        ),
    )

    def listed(query: str) -> int:
        page = client.get(f"/visits/?{query}")
        assert page.status_code == 200
        return page.text.count('class="fw-semibold">')

    assert listed("") == 2
    assert listed(f"county={YIYANG}") == 1
    assert listed("mode=phone") == 1
    assert listed("policy=4") == 1
    assert listed("problems=yes") == 1 and listed("problems=no") == 1
    start = (bureau_today() - timedelta(days=7)).isoformat()
    assert listed(f"start={start}") == 1
    assert listed(f"officer={officer.id}") == 2
    assert client.get(f"/api/v1/visits?county={MENGJIN}").json["total"] == 1
    assert client.get(f"/api/v1/visits?from={start}").json["total"] == 1


def test_a_visit_filter_ending_before_it_starts_says_so(client, login):
    """起 after 止 finds nothing: the page says why beside 止 instead of an empty list, and
    the API refuses it."""
    login("chief")
    page = client.get("/visits/?start=2026-10-10&end=2026-10-03")
    assert page.status_code == 200
    assert "结束日期不能早于开始日期。" in page.text
    assert ">开始日期</label>" in page.text and ">结束日期</label>" in page.text  # as it says
    assert 'id="end" name="end"' in page.text and "is-invalid" in page.text
    assert (
        "结束日期不能早于开始日期。"
        not in client.get("/visits/?start=2026-10-03&end=2026-10-03").text
    )
    api = client.get("/api/v1/visits?from=2026-10-10&to=2026-10-03")
    assert api.status_code == 422
    assert api.json["error"]["fields"] == {"to": ["不能早于开始日期（from）。"]}
    assert client.get("/api/v1/visits?from=2026-10-03&to=2026-10-03").status_code == 200


def test_the_officer_filter_lists_officers_under_their_county(client, login, create_user):
    chief = login("chief")
    create_user("officer", MENGJIN, display_name="孟津干部")
    create_user("officer", YIYANG, display_name="宜阳干部")
    create_user("viewer", YIYANG, display_name="宜阳查看")  # goes on no visit
    page = client.get(f"/visits/?officer={chief.id}").text
    select = re.search(r'<select[^>]*name="officer"[^>]*>(.*?)</select>', page, re.S).group(1)
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)
    names = {label: re.findall(r"<option[^>]*>([^<]+)</option>", body) for label, body in groups}
    assert names == {"洛阳市": [chief.username.replace("chief", "chief ")], "孟津区": ["孟津干部"],
                     "宜阳县": ["宜阳干部"]}  # fmt: skip
    assert select.startswith('<option value="">全部</option>')  # outside every group
    assert f'<option selected value="{chief.id}">' in select


def test_once_a_county_is_chosen_the_officer_filter_offers_those_who_visit_there(
    client, login, create_user
):
    login("chief")
    mengjin = create_user("officer", MENGJIN, display_name="孟津干部")
    create_user("officer", YIYANG, display_name="宜阳干部")

    def offered(query: str) -> list[str]:
        page = client.get(f"/visits/?{query}")
        assert page.status_code == 200
        select = re.search(r'<select[^>]*name="officer"[^>]*>(.*?)</select>', page.text, re.S)
        return re.findall(r'<optgroup label="([^"]+)">', select.group(1))

    assert offered("") == ["洛阳市", "孟津区", "宜阳县"]
    assert offered(f"county={YIYANG}") == ["洛阳市", "宜阳县"]  # the county's, and the city's
    assert offered("county=999999") == ["洛阳市", "孟津区", "宜阳县"]  # no county of the city
    # An officer of another county chosen before the county: still offered, still chosen.
    assert offered(f"county={YIYANG}&officer={mengjin.id}") == ["洛阳市", "孟津区", "宜阳县"]
    page = client.get(f"/visits/?county={YIYANG}&officer={mengjin.id}").text
    assert f'<option selected value="{mengjin.id}">' in page


def test_list_queries_do_not_grow_with_the_page_size(app, client, login, create_enterprise):
    login("officer")
    enterprises = [create_enterprise() for _ in range(3)]
    for number in range(30):
        client.post(
            "/api/v1/visits",
            json=api_visit(
                enterprises[number % 3].id,
                policy_ids=[1, 2],
                problems=[{"category": "talent", "title": f"问题{number}"}],
            ),
        )

    assert queries_for(app, client, "/api/v1/visits?per_page=2") == queries_for(
        app, client, "/api/v1/visits?per_page=30"
    )
    # 25 rows, then 5: the same statements, but the count (the last page's keys tell it).
    assert queries_for(app, client, "/visits/") == queries_for(app, client, "/visits/?page=2") + 1


def test_a_visit_list_row_names_the_enterprise_the_officers_and_the_counts(
    client, login, create_user, create_enterprise
):
    first, second = (
        create_user("officer", display_name="乙干部"),
        create_user("officer", display_name="甲干部"),
    )
    login("officer", display_name="丙干部")
    quiet, busy = (
        create_enterprise(name="洛阳安静科技有限公司"),
        create_enterprise(name="洛阳忙碌科技有限公司", county_code=MENGJIN),
    )
    yesterday = (bureau_today() - timedelta(days=1)).isoformat()
    earlier = (bureau_today() - timedelta(days=3)).isoformat()
    client.post("/api/v1/visits", json=api_visit(quiet.id, visit_date=earlier, policy_ids=[]))
    problems = [
        {"category": "talent", "title": "引进博士"},
        {"category": "market", "title": "展会"},
    ]
    body = api_visit(busy.id, visit_date=yesterday, policy_ids=[1, 2, 4],
                     companion_ids=[first.id, second.id], problems=problems)  # fmt: skip
    assert client.post("/api/v1/visits", json=body).status_code == 201
    rows = re.findall(r"<tr>(.*?)</tr>", client.get("/visits/").text, re.S)[1:]

    def words(html: str) -> list[str]:
        return re.sub(r"<[^>]+>", " ", html).split()

    cells = [
        [words(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows
    ]
    assert [row[1][0] for row in cells] == ["洛阳忙碌科技有限公司", "洛阳安静科技有限公司"]
    assert cells[0][1][1:3] == ["孟津区", "·"] and cells[1][1][1] == "宜阳县"
    # The lead, then the companions by name (as the database orders them).
    assert cells[0][3] == ["丙干部、乙干部、甲干部"] and cells[1][3] == ["丙干部"]
    assert cells[0][4] == ["3", "2"] and cells[1][4] == ["0", "0"]


def test_the_offline_list_holds_the_officers_enterprises_in_scope(
    app, client, create_user, create_enterprise
):
    officer = create_user("officer", YIYANG)
    mine = create_enterprise(liaison_id=officer.id)
    create_enterprise()
    log_in(client, officer)
    items = client.get("/visits/enterprises.json").json["items"]
    assert [item["id"] for item in items] == [mine.id]
    assert {"name", "pinyin", "initials", "county"} <= items[0].keys()
    found = client.get("/visits/enterprises.json?q=测试企业").json["items"]
    assert len(found) == 2


def test_the_service_worker_and_manifest_are_served_from_the_root(client):
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.mimetype
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert "/visits/new" in worker.text
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.json["start_url"] == "/visits/new"


def test_moving_an_enterprise_to_another_county_moves_its_visits(app, client, login, enterprise):
    from crm.enterprises import operations

    login("officer")
    client.post(
        "/api/v1/visits",
        json=api_visit(enterprise.id, problems=[{"category": "other", "title": "其他"}]),
    )
    with app.app_context():
        record = db.session.get(Enterprise, enterprise.id)
        operations.update_enterprise(None, record, {"county_code": MENGJIN})
        db.session.commit()
        assert set(db.session.scalars(sa.select(Visit.county_code))) == {MENGJIN}
        assert set(db.session.scalars(sa.select(Problem.county_code))) == {MENGJIN}


def test_a_retired_policy_cannot_be_chosen_for_a_new_visit(app, client, login, enterprise):
    with app.app_context():
        db.session.get(Policy, 5).active = False
        db.session.commit()
    login("officer")
    response = client.post("/api/v1/visits", json=api_visit(enterprise.id, policy_ids=[5]))
    assert response.status_code == 422 and "policy_ids" in response.json["error"]["fields"]


def test_files_are_deleted_when_the_visit_cannot_be_committed(
    app, client, login, enterprise, monkeypatch
):
    login("officer")

    def failing_commit():
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = post_form(client, form_visit(enterprise.id), json=True)
    assert response.status_code == 503  # the database's trouble: the tablet sends it again later
    monkeypatch.undo()
    assert stored_files(app) == [], stored_files(app)
    assert counts(app)["visits"] == 0


# Findings of the review: odd input, reused numbers, companions, uploads.


def test_a_used_visit_number_with_other_content_is_a_conflict(
    app, client, login, create_enterprise
):
    login("officer")
    first, second = create_enterprise(), create_enterprise()
    body = api_visit(first.id)
    assert client.post("/api/v1/visits", json=body).status_code == 201
    clash = client.post("/api/v1/visits", json={**body, "enterprise_id": second.id})
    assert clash.status_code == 409 and "client_uuid" in clash.json["error"]["fields"]
    assert counts(app)["visits"] == 1


def test_too_many_problems_are_refused_not_cut(app, client, login, enterprise):
    login("officer")
    rows = {}
    for number in range(25):
        rows[f"problems-{number}-category"] = "talent"
        rows[f"problems-{number}-title"] = f"问题{number}"
    response = post_form(client, form_visit(enterprise.id, **rows), json=True)
    assert response.status_code == 422, response.json
    assert "problems" in response.json["error"]["fields"]
    assert counts(app)["problems"] == 0


def test_a_photo_whose_thumbnail_fails_is_kept_without_one(app, client, login, enterprise):
    image = Image.new("RGB", (64, 48), (10, 200, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # rotated
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", exif=exif)
    data = bytearray(buffer.getvalue())
    data[data.index(b"MM\x00*") + 1] = 0x4C  # a broken byte-order mark inside the EXIF block
    login("officer")
    photo = (io.BytesIO(bytes(data)), "p.webp")
    response = post_form(client, form_visit(enterprise.id, photos=photo), json=True)
    assert response.status_code == 201
    with app.app_context():
        stored = db.session.scalars(sa.select(Attachment)).one()
        assert stored.kind == "photo" and not stored.has_thumbnail
    assert len(stored_files(app)) == 1


HUGE = 10**20


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "/api/v1/visits", {"enterprise_id": HUGE}),
        ("POST", "/api/v1/visits", {"policy_ids": [HUGE]}),
        ("POST", "/api/v1/visits", {"companion_ids": [HUGE]}),
        ("POST", "/api/v1/visits", {"latitude": "1e9999999", "longitude": "1"}),
        ("GET", f"/api/v1/visits?enterprise_id={HUGE}", None),
        ("GET", f"/api/v1/visits/{HUGE}", None),
        ("GET", f"/visits/{HUGE}", None),
        ("GET", f"/visits/new?enterprise_id={HUGE}", None),
        ("GET", f"/enterprises/{HUGE}", None),
    ],
)
def test_huge_numbers_are_refused_not_a_crash(client, login, enterprise, method, path, body):
    login("officer")
    json = {**api_visit(enterprise.id), **body} if body else None
    response = client.open(path, method=method, json=json)
    assert response.status_code in (200, 404, 422)
    if method == "POST":
        assert response.status_code == 422


def test_form_coordinates_and_huge_choices_are_refused(app, client, login, enterprise):
    login("officer")
    odd = {"latitude": "1e9999999", "longitude": "112.4", "policy_ids": [str(HUGE)]}
    response = post_form(client, form_visit(enterprise.id, **odd), json=True)
    assert response.status_code == 422
    assert {"location", "policy_ids"} <= response.json["error"]["fields"].keys()


@pytest.mark.parametrize(
    "position, refused",
    [
        ({"latitude": "91", "longitude": "112.4"}, {"latitude"}),
        ({"latitude": "34.6", "longitude": "-180.5"}, {"longitude"}),
        ({"latitude": "abc", "longitude": "NaN"}, {"latitude", "longitude"}),
        ({"latitude": "34.6", "longitude": None}, {"longitude"}),
        ({"latitude": None, "longitude": "112.4"}, {"latitude"}),
    ],
)
def test_a_position_is_refused_under_the_coordinate_at_fault(
    app, client, login, enterprise, position, refused
):
    """The API names the coordinate at fault; the form, whose coordinates are hidden inputs
    filled by its location button, says it once beside 地点."""
    login("officer")
    before = counts(app)
    body = {key: value for key, value in position.items() if value is not None}
    answer = client.post("/api/v1/visits", json=api_visit(enterprise.id, **body))
    assert answer.status_code == 422
    assert answer.json["error"]["fields"].keys() == refused
    page = post_form(client, form_visit(enterprise.id, **body), json=True)
    assert page.status_code == 422
    assert page.json["error"]["fields"] == {"location": ["位置信息无法识别，请重新定位或不填。"]}
    assert counts(app) == before


def test_only_officers_and_chiefs_go_along(app, client, login, create_user, enterprise):
    viewer = create_user("viewer", MENGJIN)
    login("officer", YIYANG)
    body = api_visit(enterprise.id, companion_ids=[viewer.id])
    response = client.post("/api/v1/visits", json=body)
    assert response.status_code == 422 and "companion_ids" in response.json["error"]["fields"]


def test_a_county_officer_goes_along_with_the_countys_colleagues_and_the_citys(
    app, client, login, create_user, enterprise
):
    """The rule behind the form's choices holds for the API too: a county's officer cannot
    name another county's officer (who would then see the visit); the city's may go along."""
    neighbour = create_user("officer", MENGJIN)
    city_chief = create_user("chief", CITY)
    colleague = create_user("officer", YIYANG)
    login("officer", YIYANG)
    body = api_visit(enterprise.id, companion_ids=[colleague.id, neighbour.id])
    refused = client.post("/api/v1/visits", json=body)
    assert refused.status_code == 422
    told = refused.json["error"]["fields"]["companion_ids"]
    assert told == ["有同行人员不能参加此次走访（县区的走访只能与本县区和市局的同事同行）。"]
    # An id no one has, or a viewer's, is told alike: nothing tells one from another.
    for odd in (999_999, create_user("viewer", YIYANG).id):
        body = api_visit(enterprise.id, companion_ids=[odd])
        assert (
            client.post("/api/v1/visits", json=body).json["error"]["fields"]["companion_ids"]
            == told
        )
    assert counts(app)["visits"] == 0
    body = api_visit(enterprise.id, companion_ids=[colleague.id, city_chief.id])
    visit_id = client.post("/api/v1/visits", json=body).json["id"]
    with app.app_context():
        companions = db.session.get(Visit, visit_id).companions
        assert sorted(u.id for u in companions) == sorted([colleague.id, city_chief.id])


def test_a_chief_who_went_along_stays_a_companion_after_editing(
    app, client, login, create_user, enterprise
):
    chief = create_user("chief", YIYANG)
    login("officer", YIYANG)
    visit_id = client.post(
        "/api/v1/visits", json=api_visit(enterprise.id, companion_ids=[chief.id])
    ).json["id"]
    client.post("/logout")
    log_in(client, chief)
    page = client.get(f"/visits/{visit_id}/edit")
    assert f'value="{chief.id}" id="companion-{chief.id}" autocomplete="off" checked' in page.text
    assert _edit(client, visit_id, companion_ids=[str(chief.id)]).status_code == 302
    with app.app_context():
        assert [u.id for u in db.session.get(Visit, visit_id).companions] == [chief.id]


def test_a_file_keeps_the_extension_of_its_real_type(app, client, login, enterprise):
    import openpyxl

    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    login("officer")
    data = form_visit(enterprise.id, files=[(io.BytesIO(buffer.getvalue()), "setup.exe")])
    assert post_form(client, data, json=True).status_code == 201
    with app.app_context():
        names = set(db.session.scalars(sa.select(Attachment.filename)))
    assert "setup.exe.xlsx" in names


def test_an_over_large_visit_request_is_refused_in_json(app, client, login, enterprise):
    app.config["VISIT_MAX_CONTENT_LENGTH"] = 1024 * 1024
    login("officer")
    big = form_visit(enterprise.id, photos=(io.BytesIO(jpeg() + b"\0" * 2_000_000), "p.jpg"))
    response = post_form(client, big, json=True)
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large"
    assert counts(app)["visits"] == 0
