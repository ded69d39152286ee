"""Demo data for a trial or a training session: users of each role, enterprises, visits."""

import itertools
import multiprocessing
import random
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa
from flask import Flask, current_app

from crm.auth import operations as auth_operations
from crm.auth.models import Role, User
from crm.auth.passwords import hash_password
from crm.auth.scope import region_codes_within
from crm.certification.demo import load_demo_cases
from crm.db import analyze_tables, built_after_load, bulk_insert, claim_ids, first_free_id
from crm.enterprises import credit_code, operations
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.followups.demo import demo_followups
from crm.followups.models import FollowUp
from crm.i18n import local_today
from crm.policies.models import Policy
from crm.problems.demo import ProblemHistories, Raised, demo_cast
from crm.problems.models import Problem, ProblemCategory, ProblemEvent
from crm.regions.models import Region, RegionLevel
from crm.visits.models import Visit, VisitMode, VisitPolicy, visit_companions

T = TypeVar("T")

DEMO_PASSWORD = "demo2026"


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    region_code: str
    unit: str


DEMO_USERS = (
    DemoUser("admin", "系统管理员", Role.ADMIN, "410300", "办公室"),
    DemoUser("chief", "张建国", Role.CHIEF, "410300", "高新技术科"),
    DemoUser("officer", "李明", Role.OFFICER, "410300", "高新技术科"),
    DemoUser("viewer", "王局长", Role.VIEWER, "410300", "局领导"),
    DemoUser("yiyang", "赵伟", Role.OFFICER, "410327", "宜阳县科技局"),
    DemoUser("mengjin", "孙丽", Role.VIEWER, "410308", "孟津区科技局"),
)


def database_is_empty() -> bool:
    return db.session.scalar(sa.select(User.id).limit(1)) is None


def load_demo_users() -> list[User]:
    """Create the demo users that do not exist yet; running it again changes nothing."""
    existing = set(db.session.scalars(sa.select(User.username)))
    return [
        auth_operations.create_user(
            None,
            username=demo.username,
            display_name=demo.display_name,
            role=demo.role,
            region_code=demo.region_code,
            unit=demo.unit,
            password=DEMO_PASSWORD,
            must_change_password=False,
        )
        for demo in DEMO_USERS
        if demo.username not in existing
    ]


DEMO_ENTERPRISES = 240
DEMO_SEED = 2026

# A city's campaign staff beside the named accounts above: in each county about one officer for
# every ENTERPRISES_PER_OFFICER of its enterprises, and a chief where there are officers. The
# default demo (240 enterprises) has none; a city of 100 000 has some 200 officers, so its visits,
# problems and tasks spread over the staff as they do in a bureau.
ENTERPRISES_PER_OFFICER = 500
STAFF_ROLES = {Role.OFFICER: "officer", Role.CHIEF: "chief"}  # the username's first part
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许"
    "傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆"
)
GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰萍鹏辉红梅飞斌宇浩凯健俊帆旭宁琳"


def staff_username(role: Role, county: str, number: int) -> str:
    """officer-410327-03, chief-410327-01."""
    return f"{STAFF_ROLES[role]}-{county}-{number:02d}"


def is_county_staff() -> sa.ColumnElement[bool]:
    """A county officer or chief load_demo_staff created, known by the username."""
    named = (User.username.like(f"{prefix}-%") for prefix in STAFF_ROLES.values())
    return sa.and_(sa.or_(*named), User.role.in_(STAFF_ROLES))


def load_demo_staff(seed: int = DEMO_SEED) -> list[User]:
    """Add the county staff the registered enterprises call for (ENTERPRISES_PER_OFFICER) and
    not created yet; returns those added. Their password is DEMO_PASSWORD, hashed once for all
    (argon2 takes a good part of a second each)."""
    per_county = db.session.execute(
        sa.select(Enterprise.county_code, sa.func.count())
        .where(Enterprise.deleted_at.is_(None))
        .group_by(Enterprise.county_code)
    ).all()
    regions = dict(db.session.execute(sa.select(Region.code, Region.name)).all())
    wanted = []
    for county, enterprises in sorted(per_county):
        officers = round(enterprises / ENTERPRISES_PER_OFFICER)
        counts = {Role.OFFICER: officers, Role.CHIEF: 1 if officers else 0}
        for role, count in counts.items():
            wanted += [(role, county, number) for number in range(1, count + 1)]
    existing = set(db.session.scalars(sa.select(User.username)))
    missing = [entry for entry in wanted if staff_username(*entry) not in existing]
    if not missing:
        return []
    password_hash = hash_password(DEMO_PASSWORD)
    added = []
    for role, county, number in missing:
        username = staff_username(role, county, number)
        rng = random.Random(f"{seed}/staff/{username}")
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN_NAMES, rng.choice((1, 2))))
        added.append(
            User(
                username=username,
                display_name=name,
                role=role,
                region_code=county,
                unit=f"{regions[county]}科技局",
                password_hash=password_hash,
            )
        )
    db.session.add_all(added)
    db.session.flush()
    return added


# Realistic shapes of names in the registry: 洛阳启航必达科技有限公司, 海普半导体(洛阳)有限公司, …
PLACES = ("洛阳", "洛阳市", "河洛", "中原", "龙门", "伊滨", "洛邑", "牡丹城", "伊洛", "豫西")
BRANDS = (
    "启航",
    "必达",
    "古城",
    "海普",
    "中科",
    "华夏",
    "金鹰",
    "瑞泽",
    "恒力",
    "博远",
    "天鸿",
    "宏图",
    "鼎盛",
    "卓越",
    "汇川",
    "银河",
    "腾飞",
    "新峰",
    "凯瑞",
    "远航",
    "正大",
    "锦程",
    "嘉禾",
    "鸿运",
    "信诚",
    "同力",
    "万通",
    "明泰",
    "安达",
    "百川",
    "精工",
    "盛世",
    "九州",
    "东方",
    "北斗",
    "星辰",
    "四维",
    "万里",
    "巨能",
    "利民",
    "永昌",
    "德信",
    "君和",
    "华泰",
    "开元",
    "龙腾",
    "中泰",
    "宇通",
)
TRADES = (
    ("新材料", "C30"),
    ("半导体", "C39"),
    ("智能装备", "C34"),
    ("生物医药", "C27"),
    ("软件", "I65"),
    ("电子", "C39"),
    ("精密机械", "C34"),
    ("光电", "C39"),
    ("环保", "N77"),
    ("轴承", "C34"),
    ("耐火材料", "C30"),
    ("钼业", "B09"),
    ("农业科技", "A05"),
    ("新能源", "D44"),
    ("信息技术", "I65"),
    ("检测", "M74"),
    ("化工", "C26"),
    ("特种车辆", "C36"),
    ("机器人", "C34"),
    ("钢构", "C33"),
)
ENDINGS = ("科技有限公司", "有限公司", "股份有限公司", "技术有限公司", "制造有限公司")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "霞",
)
TITLES = ("总经理", "副总经理", "技术总监", "财务负责人", "办公室主任", "研发部经理")


def _demo_name(rng: random.Random, place_first: bool, joint: bool = False) -> tuple[str, str]:
    """A name of a place, a brand, a trade and an ending; `joint`: of two brands (启航必达)."""
    brand, (trade, industry) = rng.choice(BRANDS), rng.choice(TRADES)
    if joint:
        brand += rng.choice(BRANDS)
    place, ending = rng.choice(PLACES), rng.choice(ENDINGS)
    if ending.startswith(trade[-2:]):  # 信息技术 + 技术有限公司: not "技术技术"
        ending = "有限公司"
    if place_first:
        return f"{place}{brand}{trade}{ending}", industry
    return f"{brand}{trade}（{place.removesuffix('市')}）{ending}", industry


# Taken names drawn in a row before names of two brands are drawn instead, from then on: there
# are fewer than 100 000 single-brand names, and a city may register more enterprises.
NAME_TRIES = 50


def _organization_code(rng: random.Random) -> str:
    """Nine characters of a GB 11714 organisation code, its own check digit last."""
    body = "".join(rng.choice("0123456789") for _ in range(2)) + "".join(
        rng.choice(credit_code.ALPHABET) for _ in range(6)
    )
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]
    check = 11 - sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def _demo_code(rng: random.Random, county: str) -> str:
    first17 = "91" + county + _organization_code(rng)
    return first17 + credit_code.check_character(first17)


def demo_enterprise_entries(
    count: int, seed: int, counties: list[str], liaisons: dict[str, int]
) -> list[tuple[dict, dict]]:
    """`count` plausible enterprises spread over the counties, the same for the same seed."""
    rng = random.Random(seed)
    names: set[str] = set()
    codes: set[str] = set()
    entries = []
    misses = 0  # names drawn in a row that were taken
    while len(entries) < count:
        # From NAME_TRIES misses in a row on, the single-brand names are (nearly) all taken.
        name, industry = _demo_name(rng, place_first=rng.random() < 0.8, joint=misses >= NAME_TRIES)
        county = rng.choice(counties)
        code = _demo_code(rng, county)
        if name in names or code in codes:
            misses += 1
            continue
        misses = misses if misses >= NAME_TRIES else 0
        names.add(name)
        codes.add(code)
        staff = rng.randint(8, 1500)
        values = {
            "name": name,
            "credit_code": code,
            "county_code": county,
            "industry": industry,
            "founded_on": date(2000, 1, 1) + timedelta(days=rng.randint(0, 8500)),
            "staff": staff,
            "tech_staff": rng.randint(1, max(1, staff // 4)),
            "revenue": Decimal(rng.randint(200, 200_000)) / 10,
            "rnd_expense": Decimal(rng.randint(10, 8000)) / 10,
            "ip_class1": rng.choice((0, 0, 1, 2, 5)),
            "ip_class2": rng.randint(0, 30),
            "high_tech": rng.random() < 0.15,
            "tech_sme": rng.random() < 0.35,
            "liaison_id": liaisons.get(county) if rng.random() < 0.6 else None,
            "legal_representative": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
        }
        contact = {
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "title": rng.choice(TITLES),
            "phone": "13" + "".join(rng.choice("0123456789") for _ in range(9)),
        }
        entries.append((values, contact))
    return entries


def load_demo_enterprises(count: int = DEMO_ENTERPRISES, seed: int = DEMO_SEED) -> int:
    """Add the demo enterprises not yet registered; the same count and seed add nothing twice."""
    counties = list(
        db.session.scalars(sa.select(Region.code).where(Region.level == RegionLevel.COUNTY))
    )
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    city_officer = users.get("officer")
    liaisons = {code: city_officer.id for code in counties} if city_officer else {}
    if county_officer := users.get("yiyang"):
        liaisons[county_officer.region_code] = county_officer.id
    existing = set(db.session.scalars(sa.select(Enterprise.credit_code)))
    entries = [
        entry
        for entry in demo_enterprise_entries(count, seed, counties, liaisons)
        if entry[0]["credit_code"] not in existing
    ]
    operations.insert_enterprises(None, entries)
    return len(entries)


DEMO_VISITS = 1200
VISIT_MONTHS = 18
VISIT_CHUNK = 25_000  # visits drawn and inserted at a time, so a million fit in memory
DRAWN_APART_FROM = 2  # chunks: from as many on, a second process draws them (_drawn_chunks)
INDEXED_AFTER_FROM = 100_000  # visits into empty tables: from as many on, indexed afterwards


@dataclass(frozen=True)
class Topic:
    """A subject officers talk about on visits: summary sentences ({n} 2–60, {p} 2–9), the
    policies that go with it, the problems enterprises raise about it, the next steps."""

    sentences: tuple[str, ...]
    policies: tuple[str, ...]
    problems: tuple[tuple[ProblemCategory, str], ...]
    next_steps: tuple[str, ...]


TOPICS = (
    Topic(
        (
            "企业今年研发投入预计{n}0万元，主要用于新产品开发。",
            "研发费用占营业收入比重约{p}%，同比有所提高。",
        ),
        ("研发费用加计扣除", "工程技术研究中心/重点实验室建设"),
        (
            (ProblemCategory.TECHNOLOGY, "关键工艺技术攻关缺少合作单位"),
            (ProblemCategory.FINANCING, "研发投入大，资金回收周期长"),
        ),
        ("协助企业梳理研发项目立项材料", "推荐企业申报市级科技计划项目"),
    ),
    Topic(
        (
            "企业与河南科技大学开展产学研合作，共建联合实验室。",
            "企业希望对接高校院所，联合攻关关键工艺难题。",
        ),
        ("科技副总", "企业科技特派员", "大型科研仪器共享"),
        (
            (ProblemCategory.TECHNOLOGY, "寻求高校院所技术合作对接"),
            (ProblemCategory.TECHNOLOGY, "检测设备不足，需共享大型科研仪器"),
        ),
        ("协助对接河南科技大学相关团队", "推荐企业选聘科技副总"),
    ),
    Topic(
        (
            "辅导企业准备高企申报材料，重点梳理知识产权和研发费用归集。",
            "企业计划今年申报高新技术企业，已有{p}项Ⅰ类知识产权。",
        ),
        ("高新技术企业认定及15%所得税优惠", "高企认定奖补", "科技型中小企业评价入库"),
        (
            (ProblemCategory.CERTIFICATION, "高企申报材料准备不充分"),
            (ProblemCategory.CERTIFICATION, "研发费用归集不规范，影响高企认定"),
        ),
        ("下周上门指导高企申报材料", "邀请企业参加高企申报培训会"),
    ),
    Topic(
        (
            "企业反映高端技术人才引进难，现有研发人员{n}人。",
            "企业计划今年引进{p}名硕士以上研发人员。",
        ),
        ("科技副总", "院录企用", "创新创业领军人才"),
        (
            (ProblemCategory.TALENT, "高层次技术人才引进困难"),
            (ProblemCategory.TALENT, "一线技术工人招聘难、流失率高"),
        ),
        ("将人才需求推送至市人才服务中心", "协助企业对接高校毕业生招聘"),
    ),
    Topic(
        (
            "企业有约{n}00万元流动资金需求，希望了解科技贷产品。",
            "企业拟扩大产能，资金缺口约{n}00万元。",
        ),
        ("科技金融/贷款贴息",),
        (
            (ProblemCategory.FINANCING, "流动资金紧张，需科技贷支持"),
            (ProblemCategory.FINANCING, "缺少抵押物，贷款审批难"),
        ),
        ("将融资需求推送至合作银行", "邀请企业参加下次银企对接会"),
    ),
    Topic(
        (
            "企业计划更新两条生产线设备，推进数字化改造。",
            "企业今年拟投入{n}00万元用于设备更新和智能化改造。",
        ),
        ("工业领域设备更新", "科技金融/贷款贴息"),
        (
            (ProblemCategory.FINANCING, "设备更新项目资金缺口较大"),
            (ProblemCategory.APPROVAL, "技改项目备案手续办理慢"),
        ),
        ("指导企业申报设备更新项目",),
    ),
    Topic(
        (
            "介绍科技创新券申领流程，企业拟用于检验检测服务。",
            "企业去年申领科技创新券{p}万元，已用于委托研发。",
        ),
        ("科技创新券", "科技服务综合体"),
        (
            (ProblemCategory.POLICY, "科技创新券兑付进度慢"),
            (ProblemCategory.POLICY, "不了解科技创新券申领条件"),
        ),
        ("协助企业在线申领科技创新券",),
    ),
    Topic(
        (
            "宣讲研发费用加计扣除政策，企业财务人员对归集口径有疑问。",
            "企业去年享受研发费用加计扣除约{n}0万元。",
        ),
        ("研发费用加计扣除",),
        (
            (ProblemCategory.POLICY, "研发费用加计扣除归集口径不清"),
            (ProblemCategory.POLICY, "加计扣除备查资料不完整"),
        ),
        ("联系税务部门为企业财务人员答疑",),
    ),
    Topic(
        (
            "指导企业办理技术合同登记，享受技术交易相关优惠。",
            "企业今年签订技术开发合同{p}份，尚未登记。",
        ),
        ("技术合同登记",),
        ((ProblemCategory.APPROVAL, "技术合同登记流程不熟悉"),),
        ("协助企业在线办理技术合同登记",),
    ),
    Topic(
        (
            "企业已获授权发明专利{p}件，计划加强核心技术知识产权布局。",
            "建议企业围绕主导产品开展专利布局。",
        ),
        ("高新技术企业认定及15%所得税优惠",),
        (
            (ProblemCategory.TECHNOLOGY, "发明专利申请周期长"),
            (ProblemCategory.TECHNOLOGY, "核心技术专利布局不足"),
        ),
        ("推荐知识产权服务机构为企业提供咨询",),
    ),
    Topic(
        (
            "企业产品主要销往省外，今年订单同比增长约{n}%。",
            "企业希望拓展海外市场，计划参加行业展会。",
        ),
        (),
        (
            (ProblemCategory.MARKET, "新产品市场推广渠道不足"),
            (ProblemCategory.MARKET, "希望对接本地龙头企业配套"),
        ),
        ("推荐企业参加行业展会", "协助对接本地龙头企业采购需求"),
    ),
    Topic(
        ("企业订单增长，计划扩建厂房约{n}00平方米。", "企业现有厂房为租赁，希望在园区购置用地。"),
        (),
        (
            (ProblemCategory.LAND, "新建厂房用地指标不足"),
            (ProblemCategory.LAND, "厂房租赁到期需搬迁"),
            (ProblemCategory.APPROVAL, "扩建项目规划审批进度慢"),
        ),
        ("将用地需求转交自然资源部门", "协调园区了解标准化厂房"),
    ),
    Topic(
        (
            "企业拟申报市级工程技术研究中心。",
            "企业研发中心现有研发人员{n}人，具备申报省级平台条件。",
        ),
        ("工程技术研究中心/重点实验室建设", "科技企业孵化器/众创空间"),
        ((ProblemCategory.CERTIFICATION, "申报工程技术研究中心条件不足"),),
        ("指导企业准备研发平台申报材料",),
    ),
    Topic(
        ("提醒企业按时完成科技型中小企业评价入库。", "企业已连续{p}年入库科技型中小企业。"),
        ("科技型中小企业评价入库",),
        ((ProblemCategory.CERTIFICATION, "科技型中小企业评价信息填报有误"),),
        ("月底前回访评价入库情况",),
    ),
)
OPENINGS = {
    VisitMode.ONSITE: (
        "实地查看生产车间，与企业负责人座谈。",
        "走访企业研发中心，了解生产经营情况。",
    ),
    VisitMode.MEETING: ("企业负责人来局座谈，介绍近期发展情况。",),
    VisitMode.PHONE: ("电话回访企业负责人。",),
    VisitMode.VIDEO: ("与企业负责人视频连线，了解近期情况。",),
    VisitMode.POLICY_DELIVERY: ("上门送政策，发放政策明白卡。",),
}
MODE_WEIGHTS = {
    VisitMode.ONSITE: 62,
    VisitMode.MEETING: 10,
    VisitMode.PHONE: 12,
    VisitMode.VIDEO: 5,
    VisitMode.POLICY_DELIVERY: 11,
}
POLICY_NOTES = ("企业有申报意向", "已发放政策明白卡", "讲解申报条件和时间节点", "企业已享受该政策")
RECORDED_FROM = time(9, tzinfo=UTC)  # 17:00 in Luoyang: visits are written up that evening
POLICY_COUNT_WEIGHTS = (30, 65, 90, 100)  # cumulative: 0, 1, 2 or 3 policies explained


@dataclass
class VisitPlan:
    """What demo visits are drawn from; weights are cumulative, as random.choices takes them."""

    enterprises: list[tuple[int, str]]
    enterprise_weights: list[float]
    staff: dict[str, list[int]]
    days: list[date]
    day_weights: list[float]
    policies: dict[str, int]
    policy_ids: list[int]


@dataclass
class DrawnVisit:
    """One visit's row, and what goes into the other tables once its id is known."""

    record: dict
    policies: list[tuple[int, str]]
    companion: int | None
    problems: list[tuple[ProblemCategory, str]]


def _demo_staff(counties: set[str]) -> dict[str, list[int]]:
    """Per county, the demo officers and chiefs whose scope covers it (the named accounts and
    the county staff of load_demo_staff); the county's own officers are listed four times, as
    they lead most of its visits."""
    leads = [d.username for d in DEMO_USERS if d.role in STAFF_ROLES]
    users = db.session.scalars(
        sa.select(User)
        .where(sa.or_(User.username.in_(leads), is_county_staff()), User.active)
        .order_by(User.id)
    )
    staff: dict[str, list[int]] = {}
    for user in users:
        weight = 4 if user.role == Role.OFFICER and not user.region.is_root else 1
        for county in counties & set(db.session.scalars(region_codes_within(user.region_code))):
            staff.setdefault(county, []).extend([user.id] * weight)
    return staff


def _visit_days(today: date) -> tuple[list[date], list[float]]:
    """The days of the last VISIT_MONTHS months up to yesterday (written up that evening, so in
    the past) with cumulative weights: mostly weekdays, and more visits lately as the campaign
    gathered pace (the last month 2.5 times the first)."""
    first = today - timedelta(days=round(VISIT_MONTHS * 30.44))
    days = [first + timedelta(days=n) for n in range((today - first).days)]
    weights = [
        (2 + 3 * n / len(days)) * (1 if day.weekday() < 5 else 0.1) for n, day in enumerate(days)
    ]
    return days, list(itertools.accumulate(weights))


def _visit_plan(rng: random.Random, today: date) -> VisitPlan | None:
    """None when no enterprise has a demo officer to visit it."""
    rows = db.session.execute(
        sa.select(Enterprise.id, Enterprise.county_code)
        .where(Enterprise.deleted_at.is_(None))
        .order_by(Enterprise.id)
    ).all()
    staff = _demo_staff({county for _id, county in rows})
    enterprises = [(id_, county) for id_, county in rows if county in staff]
    if not enterprises:
        return None
    # A few enterprises are visited often, most now and then.
    weights = [min(rng.paretovariate(1.2), 25) for _ in enterprises]
    named = sa.select(Policy.name, Policy.id).where(Policy.active).order_by(Policy.id)
    policies = dict(db.session.execute(named).all())
    return VisitPlan(
        enterprises,
        list(itertools.accumulate(weights)),
        staff,
        *_visit_days(today),
        policies,
        list(policies.values()),
    )


def _summary(rng: random.Random, mode: VisitMode, topics: list[Topic]) -> str:
    """One to three sentences: maybe how the visit went, then one sentence per topic."""
    opening = rng.choice(OPENINGS[mode]) if rng.random() < 0.5 else ""
    n, p = rng.randint(2, 60), rng.randint(2, 9)
    return opening + "".join(rng.choice(t.sentences).format(n=n, p=p) for t in topics)


def _distinct(rng: random.Random, population: Sequence[T], draws: int) -> list[T]:
    """Up to `draws` different members, the first drawn first (much cheaper than rng.sample)."""
    return list(dict.fromkeys(rng.choice(population) for _ in range(draws)))


def _people_met(rng: random.Random) -> str:
    titles = _distinct(rng, TITLES, rng.choice((1, 1, 2, 2, 3)))
    return "、".join(rng.choice(SURNAMES) + title for title in titles)


def _explained(
    rng: random.Random, plan: VisitPlan, topics: list[Topic], mode: VisitMode
) -> list[tuple[int, str]]:
    """0–3 policies, those of the topics first; at least one when policies were delivered."""
    wanted = rng.choices(range(4), cum_weights=POLICY_COUNT_WEIGHTS)[0]
    if mode is VisitMode.POLICY_DELIVERY:
        wanted = max(wanted, 1)
    if not wanted:
        return []
    related = [plan.policies[name] for t in topics for name in t.policies if name in plan.policies]
    rng.shuffle(related)
    others = _distinct(rng, plan.policy_ids, wanted) if plan.policy_ids else []
    chosen = list(dict.fromkeys(related + others))[:wanted]
    return [(pid, rng.choice(POLICY_NOTES) if rng.random() < 0.4 else "") for pid in chosen]


def _companion(rng: random.Random, colleagues: list[int], lead: int) -> int | None:
    others = [user for user in colleagues if user != lead]
    return rng.choice(others) if others and rng.random() < 0.25 else None


def _problems(rng: random.Random, topics: list[Topic]) -> list[tuple[ProblemCategory, str]]:
    """About 30 % of visits raise a problem of their topics, some two."""
    if rng.random() >= 0.3:
        return []
    raised = [problem for topic in topics for problem in topic.problems]
    return _distinct(rng, raised, rng.choice((1, 1, 2)))


def _time_ordered_uuid(rng: random.Random, moment: datetime) -> uuid.UUID:
    """A UUID version 7 (RFC 9562): milliseconds first, so that visits recorded one after
    another sit side by side in the unique index and a bulk load does not scatter over it."""
    value = int(moment.timestamp() * 1000) << 80 | rng.getrandbits(80)
    value = value & ~(0xF << 76) | 7 << 76  # the version
    return uuid.UUID(int=value & ~(0b11 << 62) | 0b10 << 62)  # the RFC 4122 variant


def _draw_visit(
    rng: random.Random, plan: VisitPlan, enterprise: tuple[int, str], day: date, mode: VisitMode
) -> DrawnVisit:
    enterprise_id, county = enterprise
    colleagues = plan.staff[county]
    lead = rng.choice(colleagues)
    topics = _distinct(rng, TOPICS, rng.choice((1, 1, 2)))
    recorded = datetime.combine(day, RECORDED_FROM) + timedelta(minutes=rng.randrange(300))
    record = {
        "client_uuid": _time_ordered_uuid(rng, recorded),
        "enterprise_id": enterprise_id,
        "county_code": county,
        "visit_date": day,
        "mode": mode,
        "lead_id": lead,
        "people_met": _people_met(rng),
        "summary": _summary(rng, mode, topics),
        "next_step": rng.choice(topics[0].next_steps) if rng.random() < 0.5 else "",
        "location": "",
        "followup_title": "",
        "created_by_id": lead,
        "created_at": recorded,
        "updated_at": recorded,
    }
    return DrawnVisit(
        record,
        _explained(rng, plan, topics, mode),
        _companion(rng, colleagues, lead),
        _problems(rng, topics),
    )


@dataclass
class DrawnRows:
    """A chunk of demo visits and what goes with them, ids given: rows for each table."""

    visits: list[dict]
    policies: list[dict]
    companions: list[dict]
    problems: list[dict]
    events: list[dict]
    followups: list[dict]


@dataclass
class VisitDrawing:
    """Where the drawing of demo visits stands: the generators (the visits', the problems'
    lives', the follow-ups'), the plan, and the next visit id. The drawing touches no database,
    so a large load draws in a process of its own (_drawn_chunks)."""

    rng: random.Random
    plan: VisitPlan
    histories: ProblemHistories
    tasks: random.Random
    next_visit_id: int

    def draw(self, days: list[date]) -> DrawnRows:
        """Visits on these days, with their policies, companions, problems and follow-ups."""
        count = len(days)
        rng, plan = self.rng, self.plan
        enterprises = rng.choices(plan.enterprises, cum_weights=plan.enterprise_weights, k=count)
        modes = rng.choices(list(MODE_WEIGHTS), weights=list(MODE_WEIGHTS.values()), k=count)
        drawn = [
            _draw_visit(rng, plan, *chosen) for chosen in zip(enterprises, days, modes, strict=True)
        ]
        links, companions, raised = [], [], []
        for visit_id, visit in enumerate(drawn, start=self.next_visit_id):
            visit.record["id"] = visit_id
            links += [{"visit_id": visit_id, "policy_id": p, "note": n} for p, n in visit.policies]
            if visit.companion is not None:
                companions.append({"visit_id": visit_id, "user_id": visit.companion})
            raised += [Raised(visit.record, visit_id, *problem) for problem in visit.problems]
        self.next_visit_id += count
        problems, events = self.histories.draw(raised)
        visits = [(visit.record, visit.record["id"]) for visit in drawn]
        followups = demo_followups(self.tasks, visits, self.histories.today)
        return DrawnRows([v.record for v in drawn], links, companions, problems, events, followups)


# What the drawing reads of the app's configuration (deadlines, the local calendar).
DRAWING_CONFIG = ("PROBLEM_DUE_DAYS", "PROBLEM_MAJOR_DUE_DAYS", "BABEL_DEFAULT_TIMEZONE")
_worker_drawing: VisitDrawing | None = None


def _start_drawing(drawing: VisitDrawing, config: dict) -> None:
    """In the drawing process: an app context with the configuration the drawing reads."""
    global _worker_drawing
    app = Flask(__name__)
    app.config.update(config)
    app.app_context().push()
    _worker_drawing = drawing


def _draw_in_worker(days: list[date]) -> DrawnRows:
    assert _worker_drawing is not None, "_start_drawing runs first"
    return _worker_drawing.draw(days)


def _drawn_chunks(drawing: VisitDrawing, chunks: list[list[date]]) -> Iterator[DrawnRows]:
    """The chunks' rows in order. From DRAWN_APART_FROM chunks on they are drawn in a second
    process, a chunk ahead, while this one inserts the last: the same rows, sooner on two
    cores."""
    if len(chunks) < DRAWN_APART_FROM:
        yield from map(drawing.draw, chunks)
        return
    config = {key: current_app.config[key] for key in DRAWING_CONFIG}
    with ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),  # a fresh process: no open connection
        initializer=_start_drawing,
        initargs=(drawing, config),
    ) as pool:
        ahead: deque[Future[DrawnRows]] = deque()
        for days in chunks:
            ahead.append(pool.submit(_draw_in_worker, days))
            if len(ahead) > 1:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


VISIT_TABLES = (Visit, VisitPolicy, visit_companions, Problem, ProblemEvent, FollowUp)


def _insert_drawn(rows: DrawnRows) -> None:
    """Into VISIT_TABLES; their statistics are refreshed once the last chunk is in."""
    tables = rows.visits, rows.policies, rows.companions, rows.problems, rows.events, rows.followups
    for model, records in zip(VISIT_TABLES, tables, strict=True):
        bulk_insert(db.session, model, records, analyze=False)


def _visit_tables_load(count: int, already: int) -> AbstractContextManager:
    """A large load into a database without visits builds the visit tables' indexes (and
    checks their references) once at its end; any other keeps them up as it goes."""
    if already or count < INDEXED_AFTER_FROM:
        return nullcontext()
    return built_after_load(db.session, *VISIT_TABLES)


def _mark_visited() -> None:
    """Each visited enterprise's last visit, where a demo visit is newer than the one stored."""
    newest = (
        sa.select(Visit.enterprise_id, sa.func.max(Visit.visit_date).label("visited_on"))
        .group_by(Visit.enterprise_id)
        .subquery()
    )
    # One grouping of the visits joined to the enterprises: it needs no index on the visits,
    # which a subquery per enterprise did (quadratic while _visit_tables_load builds them).
    db.session.execute(
        sa.update(Enterprise)
        .where(Enterprise.id == newest.c.enterprise_id)
        .where(sa.func.coalesce(Enterprise.last_visited_on, date.min) < newest.c.visited_on)
        .values(last_visited_on=newest.c.visited_on)
        .execution_options(synchronize_session=False)
    )


def has_visits() -> bool:
    """True once any visit is stored."""
    return db.session.scalar(sa.select(Visit.id).limit(1)) is not None


def load_demo_visits(count: int = DEMO_VISITS, seed: int = DEMO_SEED) -> int:
    """Add `count` demo visits of the last 18 months to the registered enterprises.

    Returns how many were added: none when no enterprise has a demo officer to visit it. Every
    call adds `count` more (`crm demo` calls it only while there are no visits, or when
    --visits is given). The problems the visits raise get their histories up to yesterday
    (crm.problems.demo). The visits depend on the seed and on the visits already stored, so the
    same seed on the same data gives the same visits and a second call never repeats the first.
    Needs an app context. Inserts in bulk, with ids given up front (crm.db.first_free_id),
    from two chunks on drawn in a second process, and into empty tables with their indexes
    built at the end (_visit_tables_load): the visits of `crm demo --enterprises 100000
    --visits 1000000` took 118 s on SQLite and on PostgreSQL (2 cores, 2026-11-24).
    """
    if count <= 0:
        return 0
    already = db.session.scalar(sa.select(sa.func.count(Visit.id)))
    rng = random.Random(f"{seed}/{already}")
    today = local_today()
    plan = _visit_plan(rng, today)
    if plan is None:
        return 0
    # Visits before problems, as a visit recorded meanwhile takes them (no deadlock).
    first_visit = first_free_id(db.session, Visit)
    # The problems' lives draw from their own generator: the visits stay those of the seed.
    lives = random.Random(f"{seed}/{already}/problems")
    histories = ProblemHistories(
        lives, demo_cast(plan.staff), today, first_free_id(db.session, Problem)
    )
    tasks = random.Random(f"{seed}/{already}/followups")
    drawing = VisitDrawing(rng, plan, histories, tasks, first_visit)
    # In date order, as if recorded day by day: the date indexes then grow at their ends.
    days = sorted(rng.choices(plan.days, cum_weights=plan.day_weights, k=count))
    chunks = [days[start : start + VISIT_CHUNK] for start in range(0, count, VISIT_CHUNK)]
    last_problem = histories.next_id - 1
    with _visit_tables_load(count, already):
        for rows in _drawn_chunks(drawing, chunks):
            _insert_drawn(rows)
            last_problem = rows.problems[-1]["id"] if rows.problems else last_problem
    claim_ids(db.session, Visit, first_visit + count - 1)
    claim_ids(db.session, Problem, last_problem)
    analyze_tables(db.session, *VISIT_TABLES)
    _mark_visited()
    return count


def load_demo_certification(seed: int = DEMO_SEED) -> int:
    """Demo certification cases for the enterprises the demo officers look after (once)."""
    counties = set(
        db.session.scalars(sa.select(Region.code).where(Region.level == RegionLevel.COUNTY))
    )
    return load_demo_cases(_demo_staff(counties), seed, local_today())
