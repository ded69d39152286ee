"""The certification pipeline: eligibility at its boundaries, every stage move by role and state,
certificates and their validity, the re-certification watch, scope."""

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from crm.auth.models import User
from crm.certification.eligibility import (
    HIGH_TECH_KEYS,
    TECH_SME_KEYS,
    check_high_tech,
    check_tech_sme,
)
from crm.certification.models import CertificationCase, Programme, Stage
from crm.certification.operations import certificate_valid_until, watch_certificates
from crm.certification.queries import funnel
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.followups.models import Notification
from tests.conftest import MENGJIN, YIYANG, bureau_today, log_in
from tests.forms import forms_of

HIGH_TECH_OK = {
    "founded_on": date(2020, 3, 1),
    "apply_on": date(2026, 6, 1),
    "ip_class1": 1,
    "ip_class2": 0,
    "field": "electronic_info",
    "staff": 100,
    "tech_staff": 20,
    "sales_last_year": 4000,
    "sales_3y": 10000,
    "rnd_3y": 600,
    "rnd_domestic_3y": 600,
    "high_tech_revenue": 3000,
    "total_revenue": 4000,
    "innovation_score": 80,
    "major_incident": False,
}


def criterion(result, key):
    return next(c for c in result.criteria if c.key == key)


def test_a_qualifying_enterprise_passes_every_criterion_in_order():
    result = check_high_tech(HIGH_TECH_OK)
    assert result.eligible
    assert [c.key for c in result.criteria] == list(HIGH_TECH_KEYS)


@pytest.mark.parametrize(
    "sales_last_year, rnd_3y, passed",
    [
        (5000, "499.99", False),  # exactly 5000 万 needs 5 %
        (5000, 500, True),
        ("5000.01", "400", True),  # just above: 4 %
        (20000, "399.99", False),  # exactly 2 亿 needs 4 %
        (20000, 400, True),
        ("20000.01", 300, True),  # above 2 亿: 3 %
        ("20000.01", "299.99", False),
    ],
)
def test_rnd_share_thresholds_by_sales(sales_last_year, rnd_3y, passed):
    figures = {**HIGH_TECH_OK, "sales_last_year": sales_last_year, "sales_3y": 10000}
    figures.update(rnd_3y=rnd_3y, rnd_domestic_3y=rnd_3y)
    assert criterion(check_high_tech(figures), "rnd_ratio").passed is passed


def test_what_is_missing_is_said_in_money():
    figures = {**HIGH_TECH_OK, "sales_last_year": 8000, "sales_3y": 20000, "rnd_3y": 644}
    rnd = criterion(check_high_tech(figures), "rnd_ratio")
    assert not rnd.passed and rnd.threshold == 4
    assert "3.2%" in rnd.explanation and "156" in rnd.explanation  # 800 needed, 644 spent


@pytest.mark.parametrize(
    "key, change, passed",
    [
        ("tech_staff_ratio", {"staff": 100, "tech_staff": 10}, True),
        ("tech_staff_ratio", {"staff": 1000, "tech_staff": 99}, False),
        ("innovation_score", {"innovation_score": 70}, False),
        ("innovation_score", {"innovation_score": 71}, True),
        ("age", {"founded_on": date(2025, 1, 1), "apply_on": date(2025, 12, 31)}, False),
        ("age", {"founded_on": date(2025, 1, 1), "apply_on": date(2026, 1, 1)}, True),
        ("ip", {"ip_class1": 0, "ip_class2": 0}, False),
        ("ip", {"ip_class1": 0, "ip_class2": 1}, True),
        ("field", {"field": "agriculture"}, False),
        ("rnd_domestic_ratio", {"rnd_domestic_3y": "359.99"}, False),
        ("high_tech_revenue_ratio", {"high_tech_revenue": 2400}, True),
        ("high_tech_revenue_ratio", {"high_tech_revenue": "2399.99"}, False),
        ("compliance", {"major_incident": True}, False),
        ("staff", {"staff": None}, None),
    ],
)
def test_high_tech_boundaries(key, change, passed):
    result = check_high_tech({**HIGH_TECH_OK, **change})
    if passed is None:  # a missing figure fails its criterion and says so
        missing = criterion(result, "tech_staff_ratio")
        assert not missing.passed and missing.value is None and not result.eligible
        return
    assert criterion(result, key).passed is passed
    assert result.eligible is passed


def test_a_share_of_a_total_of_zero_is_said_to_be_incalculable_not_missing(app):
    """职工人数 0 was filled in: the share cannot be worked out, which is not "not given"."""
    with app.test_request_context():
        given_zero = criterion(
            check_high_tech({**HIGH_TECH_OK, "staff": 0, "tech_staff": 0}), "tech_staff_ratio"
        )
        missing = criterion(check_high_tech({**HIGH_TECH_OK, "staff": None}), "tech_staff_ratio")
    assert not given_zero.passed and given_zero.explanation.endswith("无法计算（分母为 0）。")
    assert missing.explanation.endswith("：未填写。")


SME_OK = {
    "staff": 500,
    "tech_staff": 50,  # 10 %: 4 points
    "sales": 10000,
    "assets": 8000,
    "rnd": 600,  # 6 % of sales: 50 points
    "total_cost": 9000,
    "ip_class1": 0,
    "ip_class2": 1,  # 6 points: 60 in all
    "major_incident": False,
}


def test_tech_sme_score_of_sixty_passes_with_ten_percent_tech_staff():
    result = check_tech_sme(SME_OK)
    assert [c.key for c in result.criteria] == list(TECH_SME_KEYS)
    assert result.eligible and criterion(result, "score").value == 60


def test_tech_sme_score_fails_with_tech_staff_below_ten_percent():
    result = check_tech_sme({**SME_OK, "staff": 1000, "tech_staff": 99, "ip_class1": 1})
    score = criterion(result, "score")
    assert not score.passed  # 0 + 50 + 30 = 80, but no tech-staff points
    assert score.value == 80 and not result.eligible


@pytest.mark.parametrize(
    "change, eligible",
    [
        ({"staff": 501}, False),
        ({"sales": "20000.01"}, False),
        ({"assets": 20000}, True),
        ({"ip_class2": 0}, False),  # 54 points
        ({"ip_class2": 0, "high_tech_valid": True}, True),  # qualifies directly
        ({"rnd": 300, "total_cost": 1000}, True),  # 30 % of costs: 50 points as well
        ({"major_incident": True, "led_standard": True}, False),
    ],
)
def test_tech_sme_rules(change, eligible):
    assert check_tech_sme({**SME_OK, **change}).eligible is eligible


def test_eligibility_api(client, login):
    login("viewer")
    body = {**HIGH_TECH_OK, "founded_on": "2020-03-01", "apply_on": "2026-06-01"}
    answer = client.post("/api/v1/eligibility/high-tech", json=body).json
    assert answer["eligible"] is True
    assert [c["key"] for c in answer["criteria"]] == list(HIGH_TECH_KEYS)
    sme = client.post("/api/v1/eligibility/tech-sme", json={**SME_OK, "tech_staff": 49}).json
    assert sme["eligible"] is False
    bad = client.post("/api/v1/eligibility/high-tech", json={"staff": -1})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"staff": 5, "tech_staff": 50}, "tech_staff"),
        ({"rnd_3y": 100, "rnd_domestic_3y": 600}, "rnd_domestic_3y"),
        ({"high_tech_revenue": 5000}, "high_tech_revenue"),
        ({"sales_last_year": 20000}, "sales_last_year"),
        ({"founded_on": "2026-06-02"}, "founded_on"),
    ],
)
def test_figures_that_cannot_all_be_true_are_refused_not_passed(
    client, login, create_enterprise, change, refused
):
    """科技人员占比 1000 % passed nothing real: a part larger than its whole is refused beside
    it, on the page and in the API, and no result is shown."""
    login("chief", YIYANG)
    body = {**HIGH_TECH_OK, "founded_on": "2020-03-01", "apply_on": "2026-06-01", **change}
    answer = client.post("/api/v1/eligibility/high-tech", json=body)
    assert answer.status_code == 422 and list(answer.json["error"]["fields"]) == [refused]
    enterprise = create_enterprise(county_code=YIYANG)
    query = {"enterprise_id": enterprise.id, "check": "1", **body, "major_incident": ""}
    page = client.get("/certification/eligibility", query_string=query).text
    assert "eligibility-result" not in page
    assert [field.name for field in forms_of(page)[-1].fields.values() if field.invalid] == [
        refused
    ]
    sme = client.post("/api/v1/eligibility/tech-sme", json={**SME_OK, "rnd": 9001})
    assert (
        sme.status_code == 422 and "不能超过成本费用总额" in sme.json["error"]["fields"]["rnd"][0]
    )
    as_kept = {key: str(value) for key, value in body.items()}  # a case keeps figures as text
    case = {"enterprise_id": enterprise.id, "programme": "high_tech", "figures": as_kept}
    opened = client.post("/api/v1/certifications", json=case)
    assert opened.status_code == 422
    assert list(opened.json["error"]["fields"]) == [f"figures.{refused}"]
    with client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CertificationCase.id))) == 0


@pytest.mark.parametrize(
    "certified_on, valid_until",
    [
        (date(2026, 11, 20), date(2029, 11, 19)),
        (date(2028, 2, 29), date(2031, 2, 28)),
        (date(2027, 3, 1), date(2030, 2, 28)),
        (date(2029, 3, 1), date(2032, 2, 29)),
    ],
)
def test_a_certificate_runs_three_years_to_the_day_before(certified_on, valid_until):
    assert certificate_valid_until(certified_on) == valid_until


@pytest.fixture
def staff(create_user):
    return {
        "owner": create_user("officer", YIYANG),
        "other_officer": create_user("officer", YIYANG),
        "chief": create_user("chief", YIYANG),
        "viewer": create_user("viewer", YIYANG),
        "mengjin_chief": create_user("chief", MENGJIN),
    }


@pytest.fixture
def make_case(app, staff, create_enterprise):
    def make(stage=Stage.PROSPECT, programme=Programme.HIGH_TECH, **fields) -> int:
        enterprise = create_enterprise(county_code=YIYANG)
        with app.app_context():
            case = CertificationCase(
                enterprise_id=enterprise.id,
                county_code=YIYANG,
                programme=programme,
                year=2026,
                stage=stage,
                owner_id=staff["owner"].id,
                **fields,
            )
            db.session.add(case)
            db.session.commit()
            return case.id

    return make


# Where a case may go from each stage (high-tech), and the moves an officer may make on a case
# they own: up to "submitted", and withdrawing it before then.
HIGH_TECH_MOVES = {
    Stage.PROSPECT: {Stage.COACHING, Stage.WITHDRAWN},
    Stage.COACHING: {Stage.PREPARING, Stage.WITHDRAWN},
    Stage.PREPARING: {Stage.SUBMITTED, Stage.WITHDRAWN},
    Stage.SUBMITTED: {Stage.REVIEWING, Stage.CERTIFIED, Stage.REJECTED, Stage.WITHDRAWN},
    Stage.REVIEWING: {Stage.PUBLICIZED, Stage.CERTIFIED, Stage.REJECTED, Stage.WITHDRAWN},
    Stage.PUBLICIZED: {Stage.CERTIFIED, Stage.REJECTED, Stage.WITHDRAWN},
    Stage.CERTIFIED: set(),
    Stage.REJECTED: set(),
    Stage.WITHDRAWN: set(),
}
OFFICER_MOVES = {
    (Stage.PROSPECT, Stage.COACHING),
    (Stage.PROSPECT, Stage.WITHDRAWN),
    (Stage.COACHING, Stage.PREPARING),
    (Stage.COACHING, Stage.WITHDRAWN),
    (Stage.PREPARING, Stage.SUBMITTED),
    (Stage.PREPARING, Stage.WITHDRAWN),
}
WHAT_A_MOVE_NEEDS = {"note": "企业决定暂缓", "certificate_no": "GR202641000123", "on": "2026-11-20"}


def expected(role, source, target):
    if role == "viewer":
        return 403
    if target not in HIGH_TECH_MOVES[source]:
        return 422
    if role == "chief" or (role == "owner" and (source, target) in OFFICER_MOVES):
        return 200
    return 403


@pytest.mark.parametrize("source", list(HIGH_TECH_MOVES))
def test_every_stage_move_by_role_and_state(app, client, staff, make_case, source):
    wrong = []
    for role in ("owner", "other_officer", "chief", "viewer"):
        log_in(client, staff[role])
        for target in [s for s in Stage if s != Stage.REGISTERED]:
            case_id = make_case(stage=source)
            body = {"to": target.value, "version": 1, **WHAT_A_MOVE_NEEDS}
            response = client.post(f"/api/v1/certifications/{case_id}/stage", json=body)
            if response.status_code != expected(role, source, target):
                wrong.append((role, source.value, target.value, response.status_code))
            elif response.status_code == 200:
                assert response.json["stage"] == target.value
                assert response.json["events"][-1]["to_stage"] == target.value
        client.post("/logout")
    assert wrong == []


def test_tech_sme_flow_ends_registered_for_its_year(app, client, staff, make_case):
    case_id = make_case(stage=Stage.SUBMITTED, programme=Programme.TECH_SME)
    log_in(client, staff["chief"])
    refused = client.post(
        f"/api/v1/certifications/{case_id}/stage",
        json={"to": "certified", "version": 1, **WHAT_A_MOVE_NEEDS},
    )
    assert refused.status_code == 422
    done = client.post(
        f"/api/v1/certifications/{case_id}/stage",
        json={
            "to": "registered",
            "version": 1,
            "certificate_no": "202641030500123",
            "on": "2026-06-01",
        },
    ).json
    assert (done["stage"], done["valid_until"]) == ("registered", "2026-12-31")
    with app.app_context():
        enterprise = db.session.get(Enterprise, done["enterprise_id"])
        assert (enterprise.tech_sme, enterprise.tech_sme_year) == (True, 2026)


def test_certifying_needs_the_number_and_date_and_sets_the_enterprise_flags(
    app, client, staff, make_case
):
    case_id = make_case(stage=Stage.PUBLICIZED)
    log_in(client, staff["chief"])
    url = f"/api/v1/certifications/{case_id}/stage"
    missing = client.post(url, json={"to": "certified", "version": 1})
    assert missing.status_code == 422
    assert set(missing.json["error"]["fields"]) == {"certificate_no", "on"}
    body = {"to": "certified", "version": 1, "certificate_no": "GR202641000123", "on": "2026-11-20"}
    done = client.post(url, json=body).json
    assert (done["valid_from"], done["valid_until"]) == ("2026-11-20", "2029-11-19")
    with app.app_context():
        enterprise = db.session.get(Enterprise, done["enterprise_id"])
        assert enterprise.high_tech and enterprise.high_tech_valid_until == date(2029, 11, 19)
        assert enterprise.high_tech_certificate == "GR202641000123"
    page = client.get(f"/enterprises/{done['enterprise_id']}").text
    assert "2029-11-19" in page and "badge-high-tech" in page


def test_a_result_comes_after_the_submission(app, client, staff, make_case):
    case_id = make_case(stage=Stage.PUBLICIZED, submitted_on=date(2026, 8, 29))
    log_in(client, staff["chief"])
    url = f"/api/v1/certifications/{case_id}/stage"
    body = {"to": "certified", "version": 1, "certificate_no": "GR202641000123"}
    for early in ("2001-01-01", "2026-08-28"):
        refused = client.post(url, json={**body, "on": early})
        assert refused.status_code == 422
        assert refused.json["error"]["fields"]["on"] == ["结果日期不能早于 2026-08-29。"]
    assert client.post(url, json={**body, "on": "2026-08-29"}).status_code == 200


def test_a_certificate_recorded_late_does_not_make_an_enterprise_certified_again(
    app, client, staff, make_case
):
    """A 2022 certificate, recorded now, ran out in 2025: the enterprise is no 高企 by it; a
    2025 one recorded after the 2026 one does not replace it."""
    cases = {year: make_case(stage=Stage.PUBLICIZED) for year in (2022, 2026, 2025)}
    with app.app_context():
        enterprise_id = db.session.get(CertificationCase, cases[2022]).enterprise_id
        for year, case_id in cases.items():
            case = db.session.get(CertificationCase, case_id)
            case.year, case.enterprise_id = year, enterprise_id
        db.session.commit()
    log_in(client, staff["chief"])

    def certify(year: int, on: str) -> dict:
        with app.app_context():
            version = db.session.get(CertificationCase, cases[year]).version
        body = {"to": "certified", "version": version, "on": on}
        body["certificate_no"] = f"GR{year}41000001"
        answer = client.post(f"/api/v1/certifications/{cases[year]}/stage", json=body)
        assert answer.status_code == 200, answer.json
        with app.app_context():
            enterprise = db.session.get(Enterprise, enterprise_id)
            return {
                "high_tech": enterprise.high_tech,
                "certificate": enterprise.high_tech_certificate,
                "valid_until": enterprise.high_tech_valid_until,
            }

    assert not certify(2022, "2022-11-20")["high_tech"]
    held = {"high_tech": True, "certificate": "GR202641000001", "valid_until": date(2029, 11, 19)}
    assert certify(2026, "2026-11-20") == held
    assert certify(2025, "2025-01-10") == held


def test_each_stage_a_case_reached_is_on_the_enterprise_timeline(app, client, staff, make_case):
    case_id = make_case(stage=Stage.PROSPECT)
    log_in(client, staff["owner"])
    url = f"/api/v1/certifications/{case_id}/stage"
    moved = client.post(url, json={"to": "coaching", "version": 1, "note": "约见财务负责人"})
    assert moved.status_code == 200
    assert client.post(url, json={"to": "preparing", "version": 2}).status_code == 200
    with app.app_context():
        enterprise_id = db.session.get(CertificationCase, case_id).enterprise_id
        owner = db.session.get(User, staff["owner"].id).display_name
    timeline = client.get(f"/enterprises/{enterprise_id}").text
    coaching, preparing = (
        timeline.index(f'<a href="/certification/{case_id}">高新技术企业：{stage}</a>')
        for stage in ("培育辅导", "材料准备")
    )
    assert preparing < coaching  # newest first
    assert f"2026 · {owner} · 约见财务负责人" in timeline


def test_a_stale_move_is_a_conflict_and_out_of_scope_is_404(app, client, staff, make_case):
    case_id = make_case(stage=Stage.PROSPECT)
    log_in(client, staff["owner"])
    url = f"/api/v1/certifications/{case_id}/stage"
    assert client.post(url, json={"to": "coaching", "version": 1}).status_code == 200
    stale = client.post(url, json={"to": "preparing", "version": 1})
    assert stale.status_code == 409
    client.post("/logout")
    log_in(client, staff["mengjin_chief"])
    assert client.post(url, json={"to": "preparing", "version": 2}).status_code == 404
    assert client.get(f"/api/v1/certifications/{case_id}").status_code == 404
    assert client.get(f"/certification/{case_id}").status_code == 404
    assert case_id not in [c["id"] for c in client.get("/api/v1/certifications").json["items"]]


def test_a_move_refused_after_the_case_moved_on_says_why_and_keeps_the_note(
    client, staff, make_case
):
    """Withdrawn by someone else while the owner typed: the move's card is gone from the page,
    so the reason and the note typed are shown above the moves left (none)."""
    case_id = make_case(stage=Stage.PROSPECT)
    log_in(client, staff["chief"])
    withdrawn = {"to": "withdrawn", "version": 1, "note": "企业暂不申报"}
    assert client.post(f"/api/v1/certifications/{case_id}/stage", json=withdrawn).status_code == 200
    client.post("/logout")
    log_in(client, staff["owner"])
    typed = {"to": "coaching", "version": "1", "note": "已约见财务负责人，讲解研发费用归集"}
    response = client.post(f"/certification/{case_id}/stage", data=typed)
    assert response.status_code == 409
    refused = re.search(r'id="refused-elsewhere">(.*?)</div>\s*</div>', response.text, re.S)
    assert refused and "已约见财务负责人，讲解研发费用归集" in refused[1]


def test_opening_a_case_once_per_programme(app, client, staff, create_enterprise):
    enterprise = create_enterprise(county_code=YIYANG)
    log_in(client, staff["owner"])
    body = {"enterprise_id": enterprise.id, "programme": "high_tech", "batch": "2026年第一批"}
    first = client.post("/api/v1/certifications", json=body)
    assert first.status_code == 201 and first.json["stage"] == "prospect"
    again = client.post("/api/v1/certifications", json=body)
    assert again.status_code == 422 and "programme" in again.json["error"]["fields"]
    query = {"enterprise_id": enterprise.id, "programme": "high_tech"}
    check = client.get("/certification/eligibility", query_string=query).text
    case_link = f'id="open-case" href="/certification/{first.json["id"]}"'
    assert case_link in check and "/certification/new" not in check
    assert f"已在培育中：{first.json['year']} 年 · 储备" in check
    sme_check = client.get(
        "/certification/eligibility", query_string={**query, "programme": "tech_sme"}
    )
    assert "/certification/new" in sme_check.text and 'id="open-case"' not in sme_check.text
    form = client.get("/certification/new", query_string=query).text
    notice = re.search(r'id="open-cases">(.*?)</div>', form, re.S).group(1)
    assert f'href="/certification/{first.json["id"]}"' in notice and "高新技术企业" in notice
    other = client.post("/api/v1/certifications", json={**body, "programme": "tech_sme"})
    assert other.status_code == 201


def test_the_watch_opens_one_re_certification_six_months_ahead(app, staff, make_case):
    soon = make_case(
        stage=Stage.CERTIFIED,
        certificate_no="GR202341000001",
        valid_from=date(2023, 12, 1),
        valid_until=date(2027, 4, 30),
    )
    make_case(stage=Stage.CERTIFIED, certificate_no="GR2", valid_until=date(2027, 6, 30))
    now = datetime(2026, 11, 23, 3, tzinfo=UTC)
    with time_machine.travel(now, tick=False), app.app_context():
        assert watch_certificates(now) == 1  # one re-certification case
        assert watch_certificates(now) == 0
        assert watch_certificates(now + timedelta(days=1)) == 0
        renewals = db.session.scalars(
            sa.select(CertificationCase).where(CertificationCase.renews_id.is_not(None))
        ).all()
        told = db.session.scalars(
            sa.select(Notification.key).where(Notification.user_id == staff["owner"].id)
        ).all()
    assert [(r.renews_id, r.stage, r.owner_id) for r in renewals] == [
        (soon, Stage.PROSPECT, staff["owner"].id)
    ]
    assert told == [f"certification:{soon}:renewal"]


def test_a_full_board_shows_each_stages_longest_waiting_and_the_list_pages_through_all(
    app, client, staff, make_case, monkeypatch
):
    from crm.certification import queries, views

    monkeypatch.setattr(queries, "COLUMN_LIMIT", 2)
    monkeypatch.setattr(views, "PER_PAGE", 2)
    since = datetime(2026, 3, 1, tzinfo=UTC)
    waiting = [
        make_case(stage=Stage.PREPARING, stage_since=since + timedelta(days=n)) for n in range(3)
    ]
    coached = make_case(stage=Stage.COACHING)
    log_in(client, staff["chief"])

    board = client.get("/certification/?programme=high_tech&year=2026").text
    column = board[board.index('data-stage="preparing"') : board.index('data-stage="submitted"')]
    assert f'id="case-{waiting[0]}"' in column and f'id="case-{waiting[1]}"' in column
    assert f'id="case-{waiting[2]}"' not in board  # the newest in the stage waits for the list
    assert '<span class="badge text-bg-secondary">3</span>' in column
    assert "stage=preparing" in column and "view=list" in column
    assert f'id="case-{coached}"' in board

    def listed(query: str) -> list[int]:
        page = client.get(f"/certification/?programme=high_tech&year=2026&view=list&{query}")
        assert page.status_code == 200
        return [int(i) for i in re.findall(r'<tr id="case-(\d+)"', page.text)]

    assert listed("stage=preparing") == waiting[:2]
    assert listed("stage=preparing&page=2") == waiting[2:]
    assert len(listed("")) == 2 and len(listed("page=2")) == 2  # four cases in all
    assert listed("stage=nonsense") == listed("")  # an unknown stage lists every stage


def test_board_and_pages_render_in_scope(app, client, staff, make_case, create_enterprise):
    case_id = make_case(stage=Stage.PREPARING)
    log_in(client, staff["chief"])
    board = client.get("/certification/?programme=high_tech&year=2026").text
    assert f'id="case-{case_id}"' in board and 'id="funnel"' in board
    card = board[board.index(f'id="case-{case_id}"') :].split("</li>")[0]
    assert re.search(r">本阶段 \d+ 天<", card)  # how long the case has waited where it is
    assert f'id="case-{case_id}"' not in client.get("/certification/?year=2025").text
    assert "case-list" in client.get("/certification/?year=2026&view=list").text
    page = client.get(f"/certification/{case_id}").text
    assert 'id="move-submitted"' in page and 'id="move-withdrawn"' in page
    # Each end stage names its own number: a certificate's, or a registration's.
    certifying = client.get(f"/certification/{make_case(stage=Stage.PUBLICIZED)}").text
    assert 'for="certified-number">证书编号<' in certifying
    tech_sme = make_case(stage=Stage.SUBMITTED, programme=Programme.TECH_SME)
    assert 'for="registered-number">入库登记编号<' in client.get(f"/certification/{tech_sme}").text
    enterprise = create_enterprise(county_code=YIYANG, staff=50, tech_staff=8, revenue=3000)
    check = client.get(f"/certification/eligibility?enterprise_id={enterprise.id}").text
    assert "eligibility-result" in check and 'data-key="tech_staff_ratio"' in check
    assert client.get("/certification/prospects").status_code == 200
    with app.app_context():
        assert db.session.get(User, staff["chief"].id) is not None


def test_year_end_and_annual_report_reminders_come_once(app, staff, make_case):
    registered = make_case(
        stage=Stage.REGISTERED, programme=Programme.TECH_SME, certificate_no="2026410305001"
    )
    certified = make_case(
        stage=Stage.CERTIFIED, certificate_no="GR2", valid_until=date(2028, 10, 31)
    )
    december = datetime(2026, 12, 2, 1, tzinfo=UTC)
    may = datetime(2027, 5, 6, 1, tzinfo=UTC)
    with app.app_context():
        with time_machine.travel(december, tick=False):
            assert watch_certificates(december) == 1
            assert watch_certificates(december + timedelta(days=1)) == 0
        with time_machine.travel(may, tick=False):
            assert watch_certificates(may) == 1
            assert watch_certificates(may + timedelta(days=3)) == 0
        keys = db.session.scalars(sa.select(Notification.key).order_by(Notification.id)).all()
    assert keys == [
        f"certification:{registered}:register_again",
        f"certification:{certified}:annual_report:2027",
    ]


def test_odd_figures_are_judged_not_crashed_on(client, login):
    login("officer")
    tiny = {**HIGH_TECH_OK, "founded_on": "2026-06-01", "apply_on": None}
    tiny.update(sales_3y="1E-17", sales_last_year="0.00000000000000001", rnd_3y=1_000_000_000)
    answer = client.post("/api/v1/eligibility/high-tech", json=tiny)
    assert answer.status_code == 200
    by_key = {c["key"]: c for c in answer.json["criteria"]}
    assert not by_key["age"]["passed"] and by_key["rnd_ratio"]["passed"]
    future = client.post("/api/v1/eligibility/high-tech", json={**tiny, "founded_on": "9999-12-31"})
    assert future.status_code == 422 and list(future.json["error"]["fields"]) == ["founded_on"]


def test_an_alternative_that_did_not_decide_is_not_missing():
    direct = check_tech_sme({**SME_OK, "ip_class2": 0, "national_award": True})
    assert direct.eligible and direct.missing == []
    neither = check_tech_sme({**SME_OK, "ip_class2": 0})
    assert [c.key for c in neither.missing] == ["score"]


def test_the_watch_adopts_an_open_case_instead_of_opening_another(app, staff, make_case):
    expiring = make_case(stage=Stage.CERTIFIED, certificate_no="GR1", valid_until=date(2027, 3, 1))
    with app.app_context():
        enterprise_id = db.session.get(CertificationCase, expiring).enterprise_id
        opened = CertificationCase(
            enterprise_id=enterprise_id,
            county_code=YIYANG,
            programme=Programme.HIGH_TECH,
            year=2027,
            owner_id=staff["owner"].id,
        )
        db.session.add(opened)
        db.session.commit()
        now = datetime(2026, 11, 23, 3, tzinfo=UTC)
        with time_machine.travel(now, tick=False):
            watch_certificates(now)
            db.session.commit()
        cases = db.session.scalars(
            sa.select(CertificationCase.renews_id).where(CertificationCase.id != expiring)
        ).all()
    assert cases == [expiring]


def test_cases_of_a_deleted_enterprise_leave_the_board(app, client, staff, make_case):
    case_id = make_case(stage=Stage.PREPARING)
    log_in(client, staff["chief"])
    with app.app_context():
        enterprise_id = db.session.get(CertificationCase, case_id).enterprise_id
    assert client.post(f"/enterprises/{enterprise_id}/delete").status_code == 302
    board = client.get("/certification/?year=2026").text
    assert f'id="case-{case_id}"' not in board
    assert client.get("/api/v1/certifications").json["total"] == 0
    with app.app_context():
        case = db.session.get(CertificationCase, case_id)
        assert case.stage == Stage.WITHDRAWN  # no longer open, with the reason in its history
        assert (case.events[-1].from_stage, case.events[-1].note) == (
            Stage.PREPARING,
            "企业已删除。",
        )
        assert funnel(db.session.get(User, staff["chief"].id), Programme.HIGH_TECH, 2026)[0][1] == 0


def test_years_and_dates_before_2000_are_refused_in_words_that_say_so(
    client, staff, create_enterprise, make_case
):
    enterprise = create_enterprise(county_code=YIYANG)
    log_in(client, staff["chief"])
    response = client.post(
        f"/certification/new?enterprise_id={enterprise.id}",
        data={"programme": "high_tech", "year": "1999"},
    )
    last = bureau_today().year + 1
    assert response.status_code == 422 and f"年度应在 2000 至 {last} 年之间。" in response.text
    case_id = make_case(stage=Stage.SUBMITTED)
    moved = client.post(
        f"/api/v1/certifications/{case_id}/stage",
        json={
            "to": "certified",
            "version": 1,
            "certificate_no": "GR2026410001",
            "on": "1999-05-05",
        },
    )
    assert moved.status_code == 422
    assert moved.json["error"]["fields"]["on"] == ["日期应在 2000 年至今天之间。"]
    tomorrow = (bureau_today() + timedelta(days=1)).isoformat()
    future = client.post(
        f"/api/v1/certifications/{case_id}/stage",
        json={"to": "certified", "version": 1, "certificate_no": "GR2026410001", "on": tomorrow},
    )
    assert future.json["error"]["fields"]["on"] == ["日期不能晚于今天。"]


def test_a_case_for_an_unknown_programme_is_refused_beside_the_field(
    client, staff, create_enterprise
):
    enterprise = create_enterprise(county_code=YIYANG)
    log_in(client, staff["owner"])
    response = client.post(
        f"/certification/new?enterprise_id={enterprise.id}", data={"programme": "nobel_prize"}
    )
    assert response.status_code == 422 and "is-invalid" in response.text


def test_a_move_from_the_board_asks_first_and_a_submission_goes_to_its_date(
    client, staff, make_case
):
    """A case only moves forward: a tap on the board's menu asks before it moves the case; a
    submission (its date) and a result (its number and date) are given on the case's page."""
    prospect, preparing = make_case(stage=Stage.PROSPECT), make_case(stage=Stage.PREPARING)
    log_in(client, staff["chief"])
    board = client.get("/certification/?programme=high_tech&year=2026").text
    forms = re.findall(r'<form method="post" action="/certification/(\d+)/stage" ([^>]*)>', board)
    assert {int(case) for case, _ in forms} == {prospect}
    assert all('data-confirm="确定将 ' in attributes for _, attributes in forms)
    links = re.findall(r'href="/certification/(\d+)\?to=(\w+)#move-\w+" data-move', board)
    assert (str(preparing), "submitted") in links


def test_a_case_opened_from_a_check_keeps_the_figures_checked(
    app, client, staff, create_enterprise
):
    """The figures corrected in 资格自测 (three-year sums, the field, the score) go with the
    case opened from it, not the enterprise's record estimated again."""
    enterprise = create_enterprise(county_code=YIYANG, staff=50, tech_staff=8, revenue=3000)
    log_in(client, staff["chief"])
    figures = {**HIGH_TECH_OK, "founded_on": "2020-03-01", "apply_on": "2026-06-01"}
    query = {"enterprise_id": enterprise.id, "check": "1", **figures, "major_incident": ""}
    check = client.get("/certification/eligibility", query_string=query).text
    link = re.search(r'href="(/certification/new\?[^"]+)"', check).group(1).replace("&amp;", "&")
    page = client.get(link).text
    assert "并保存刚才资格自测所用的数据" in page
    (opening,) = [f for f in forms_of(page) if "programme" in f.fields]
    assert client.post(link, data=opening.values()).status_code == 302
    with app.app_context():
        case = db.session.scalars(sa.select(CertificationCase)).one()
        assert case.figures["rnd_3y"] == "600" and case.figures["innovation_score"] == 80
        assert case.figures["field"] == "electronic_info" and case.figures["staff"] == 100
        case_id = case.id
    shown = client.get(f"/certification/{case_id}").text
    kept = html.unescape(re.search(r'id="case-figures">(.*?)</section>', shown, re.S).group(1))
    rows = dict(re.findall(r"<dt[^>]*>(.*?)</dt><dd[^>]*>(.*?)</dd>", kept))
    assert rows["近三年研发费用合计（万元）"] == "600" and rows["技术领域"] == "电子信息"
    assert rows["成立日期"] == "2020-03-01" and rows["发生过重大安全、质量或环境事故"] == "否"
    again = re.search(r'href="(/certification/eligibility\?[^"]+)"', shown).group(1)
    rerun = client.get(html.unescape(again)).text
    assert "eligibility-result" in rerun
    assert 'name="rnd_3y" step="any" type="number" value="600"' in rerun


def test_a_case_opened_without_a_check_is_opened_whatever_the_enterprises_figures(
    app, client, staff, create_enterprise
):
    """The enterprise's record may hold figures the eligibility check would refuse (more
    high-tech revenue than revenue): 纳入培育 without a check keeps them and opens the case;
    only figures a caller gives are held to the check."""
    enterprise = create_enterprise(county_code=YIYANG, revenue=100, high_tech_revenue=300)
    log_in(client, staff["chief"])
    link = f"/certification/new?enterprise_id={enterprise.id}&programme=high_tech"
    (opening,) = [f for f in forms_of(client.get(link).text) if "programme" in f.fields]
    assert client.post(link, data=opening.values()).status_code == 302
    with app.app_context():
        case = db.session.scalars(sa.select(CertificationCase)).one()
        assert case.figures["high_tech_revenue"] == "300.00"
