"""Demo data for a trial or a training session: users of each role, and enterprises."""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from crm.auth import operations as auth_operations
from crm.auth.models import Role, User
from crm.enterprises import credit_code, operations
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.regions.models import Region, RegionLevel

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


def _demo_name(rng: random.Random, place_first: bool) -> tuple[str, str]:
    brand, (trade, industry) = rng.choice(BRANDS), rng.choice(TRADES)
    place, ending = rng.choice(PLACES), rng.choice(ENDINGS)
    if place_first:
        return f"{place}{brand}{trade}{ending}", industry
    return f"{brand}{trade}({place.removesuffix('市')}){ending}", industry


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
    entries = []
    while len(entries) < count:
        name, industry = _demo_name(rng, place_first=rng.random() < 0.8)
        county = rng.choice(counties)
        code = _demo_code(rng, county)
        if name in names:
            continue
        names.add(name)
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
