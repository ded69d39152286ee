"""Demo histories for the problems raised on demo visits (crm.demo.load_demo_visits).

Each problem lives the life its age allows, step by step as crm.problems.operations takes them,
up to yesterday: 交办 a working day or two after the visit (to an officer or chief of its county,
or to an outside unit), accepted, progress reported, resolved mostly within the deadline (some
late, a few far past it), called back and closed by the chief. A dissatisfied call-back reopens
it, mostly followed by a new 交办 with a new deadline; a few problems cannot be solved for now.
So old problems are mostly closed, recent ones open or waiting, and some open ones overdue.

Every step is a ProblemEvent carrying the version it left; a problem's version counts its events.
Everything is bulk-inserted: a million demo visits raise about 350 000 problems.
"""

import bisect
import functools
import itertools
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.extensions import db
from crm.i18n import local_date
from crm.problems.deadlines import default_due
from crm.problems.models import (
    ProblemCategory,
    ProblemStatus,
    Satisfaction,
)
from crm.problems.workflow import TRANSITIONS, Step
from crm.regions.models import Region

C = ProblemCategory
TARGETS = {step: transition.target for step, transition in TRANSITIONS.items()}
MAJOR_SHARE = 0.1
UNIT_SHARE = 0.3  # of the problems whose category has an outside unit to hand them to
REASSIGN_SHARE = 0.85  # reopened problems given a new 交办 and a new deadline
MAX_REOPENS = 2
WORKDAY_START = time(0, 30, tzinfo=UTC)  # 08:30 in Luoyang
WORKDAY_MINUTES = 540
MINUTES = tuple(timedelta(minutes=n) for n in range(WORKDAY_MINUTES))

# (choices, cumulative weights) of days: to the 交办 after the visit, to the acceptance after it,
# to the first progress note after that, and to the call-back after the resolution.
ASSIGN_DAYS = ((1, 2, 3, 5, 9), (60, 85, 96, 99, 100))
ACCEPT_DAYS = ((0, 1, 2, 3, 5), (60, 86, 94, 98, 100))
FIRST_PROGRESS_DAYS = ((1, 2, 3, 5), (45, 75, 92, 100))
CALLBACK_DAYS = ((1, 2, 3, 5, 8, 15), (30, 55, 72, 88, 96, 100))
SATISFACTION = (
    (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED, Satisfaction.DISSATISFIED),
    (70, 92, 100),
)
# Days from acceptance to the outcome: (shortest, longest, cumulative weight) ranges.
ORDINARY_SPANS = ((1, 5, 93), (6, 12, 98), (13, 30, 100))
MAJOR_SPANS = ((8, 28, 90), (29, 45, 98), (46, 100, 100))
REWORK_SPANS = ((2, 6, 90), (7, 15, 100))
UNRESOLVABLE_SHARE = {C.LAND: 0.12, C.FINANCING: 0.06, C.TALENT: 0.05, C.APPROVAL: 0.04}
OTHERWISE_UNRESOLVABLE = 0.015

# Outside units a problem may be handed to ({county} is the county's name), with a contact.
UNITS = {
    C.TALENT: (("市人社局", "王科长"),),
    C.LAND: (("{county}自然资源局", "刘科长"), ("市自然资源和规划局", "杨科长")),
    C.APPROVAL: (("市住建局", "陈科长"), ("{county}发改委", "赵主任")),
    C.FINANCING: (("市金融工作局", "孙科长"),),
}
ASSIGN_NOTES = (
    "",
    "",
    "请尽快与企业对接，按期办结。",
    "请3日内反馈办理进展。",
    "请牵头协调，重点督办。",
)
REASSIGN_NOTE = "回访企业不满意，重新交办，请按期办结。"
ACCEPT_NOTES = ("", "", "已签收，马上联系企业。", "已与企业负责人电话沟通。")
PROGRESS_NOTES = (
    "已与企业负责人电话沟通，了解具体诉求。",
    "已上门了解情况，正在协调相关部门。",
    "已将企业诉求报送分管领导。",
    "已组织相关部门召开协调会，明确办理时限。",
    "相关部门已出具初步意见，正在落实。",
    "已协助企业补充完善相关材料。",
)
# Worded to fit every problem title of the category (crm.demo.TOPICS).
RESOLUTIONS = {
    C.TALENT: (
        "协调人社部门将企业纳入重点企业用工服务名单，组织专场招聘会。",
        "推荐企业与河南科技大学对接，已有毕业生签约入职。",
    ),
    C.FINANCING: (
        "推荐企业对接合作银行，科技贷已获批放款。",
        "帮助企业申请贷款贴息，已纳入本年度贴息名单。",
    ),
    C.TECHNOLOGY: (
        "组织专家团队上门会诊，已为企业对接高校院所和服务机构。",
        "协调河南科技大学等高校院所与企业对接，已明确合作方案。",
    ),
    C.CERTIFICATION: (
        "组织专家上门辅导，企业已完善申报材料。",
        "指导企业逐项对照条件整改，问题已整改到位。",
    ),
    C.LAND: (
        "协调自然资源部门，将企业用地需求纳入年度供地计划。",
        "协调园区为企业提供标准化厂房过渡使用。",
    ),
    C.POLICY: (
        "协调相关部门上门辅导，企业已按规定享受政策。",
        "已向企业讲解政策条件和办理流程，企业已完成申报。",
    ),
    C.MARKET: (
        "推荐企业参加中国（洛阳）国际装备制造业博览会。",
        "组织企业与本地龙头企业开展产需对接。",
    ),
    C.APPROVAL: (
        "协调相关部门开辟绿色通道，手续已办结。",
        "已指导企业备齐材料，手续已办理完成。",
    ),
    C.OTHER: ("问题已协调解决。",),
}
REWORK_PREFIX = "根据回访意见再次协调："
UNRESOLVABLE_REASONS = {
    C.LAND: "用地指标需省级统筹，短期内无法解决，已向企业说明并持续跟踪。",
    C.FINANCING: "企业暂不符合银行授信条件，已推荐其他融资渠道，列入持续跟踪。",
    C.TALENT: "企业所需高端人才紧缺，短期内难以引进，已纳入人才需求库跟踪。",
}
OTHER_REASON = "涉及上级政策调整，超出县级权限，已向上级部门反映。"
COMMENTS = {
    Satisfaction.SATISFIED: (
        "企业对办理结果满意。",
        "企业表示问题已解决，感谢科技局协调。",
        "企业负责人表示办理及时，效果好。",
    ),
    Satisfaction.BASICALLY_SATISFIED: (
        "问题基本解决，企业希望后续继续跟踪。",
        "企业基本满意，建议加快办理进度。",
    ),
    Satisfaction.DISSATISFIED: (
        "企业反映问题未实质解决，要求继续办理。",
        "企业认为办理结果与诉求有差距，需进一步协调。",
        "办理时间过长，企业仍有实际困难。",
    ),
}


@dataclass(frozen=True)
class Person:
    id: int
    name: str


@dataclass(frozen=True)
class Raised:
    """A problem a demo visit raised: the visit's record and id, the category and title."""

    visit: dict
    visit_id: int
    category: ProblemCategory
    title: str


@dataclass(frozen=True)
class Handling:
    """Who a problem is handed to and who takes its handler's steps (a unit's: the chief)."""

    handler: Person
    assignee_id: int | None
    unit: str
    unit_contact: str

    @property
    def name(self) -> str:
        return self.unit or self.handler.name


@dataclass
class Cast:
    """Per county: the chief who assigns, calls back and closes (the county's own where it has
    one), and the officers and chiefs a problem is handed to (the county's own officers most
    often); everyone by id."""

    people: dict[int, Person]
    chiefs: dict[str, Person]
    handlers: dict[str, tuple[list[Person], list[int]]]
    county_names: dict[str, str]


def demo_cast(staff: dict[str, list[int]]) -> Cast:
    """The cast from the visits' staff: per county, user ids listed as often as they lead."""
    ids = {user_id for users in staff.values() for user_id in users}
    rows = db.session.execute(
        sa.select(User.id, User.display_name, User.role, User.region_code)
        .where(User.id.in_(ids))
        .order_by(User.id)
    ).all()
    people = {id_: Person(id_, name) for id_, name, _role, _region in rows}
    regions = {id_: region for id_, _name, _role, region in rows}
    chiefs, handlers = {}, {}
    for county, users in staff.items():
        leads = Counter(users)
        roles = {id_: role for id_, _name, role, _region in rows if id_ in leads}
        # The county's own chief where it has one, else the city's.
        chief = sorted(
            (regions[id_] != county, id_) for id_, role in roles.items() if role == Role.CHIEF
        )
        if chief:
            chiefs[county] = people[chief[0][1]]
        # Officers take three problems for each one a chief keeps for himself.
        shares = [leads[id_] * (3 if role == Role.OFFICER else 1) for id_, role in roles.items()]
        handlers[county] = ([people[id_] for id_ in roles], list(itertools.accumulate(shares)))
    names = sa.select(Region.code, Region.name).where(Region.code.in_(staff))
    return Cast(people, chiefs, handlers, dict(db.session.execute(names).all()))


def _draw(rng: random.Random, table: tuple[tuple, tuple]) -> Any:
    """One of the choices by its cumulative weight (what rng.choices does, for one, faster)."""
    return table[0][bisect.bisect(table[1], rng.random() * table[1][-1])]


def _span(rng: random.Random, spans: tuple[tuple[int, int, int], ...]) -> int:
    """Days from one of the (shortest, longest, cumulative weight) ranges."""
    roll = rng.randrange(100)
    shortest, longest, _weight = next(span for span in spans if roll < span[2])
    return rng.randint(shortest, longest)


def _working_day(day: date) -> date:
    """Saturday's and Sunday's steps are taken on Monday."""
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


@functools.cache
def _unit_contact(unit: str) -> str:
    """The same desk number for a unit every time it is drawn."""
    return f"0379-6{random.Random(unit).randrange(10**7):07d}"


class Life:
    """One problem's row and its events, built step by step; no step is taken from today on."""

    def __init__(self, rng: random.Random, today: date, raised: Raised, cast: Cast) -> None:
        visit = raised.visit
        self.rng, self.today, self.category = rng, today, raised.category
        self.chief = cast.chiefs.get(visit["county_code"])
        self.handling = self._handling(cast, visit["county_code"])
        self.record: dict[str, Any] = {
            "enterprise_id": visit["enterprise_id"],
            "county_code": visit["county_code"],
            "visit_id": raised.visit_id,
            "category": raised.category,
            "title": raised.title,
            "description": "",
            "raised_on": visit["visit_date"],
            "status": ProblemStatus.NEW,
            "major": rng.random() < MAJOR_SHARE,
            "assignee_id": None,
            "unit": "",
            "unit_contact": "",
            "assigned_by_id": None,
            "assigned_at": None,
            "due_on": None,
            "acknowledged_at": None,
            "first_progress_at": None,
            "resolution": "",
            "resolved_on": None,
            "satisfaction": None,
            "callback_comment": "",
            "closed_on": None,
            "closed_by_id": None,
            "reopen_count": 0,
            "unresolvable_reason": "",
            "version": 1,  # the ORM's version counter starts at 1: the raise
            "created_by_id": visit["lead_id"],
            "created_at": visit["created_at"],
            "updated_at": visit["created_at"],
        }
        self.events = [
            self._event(Step.RAISE, None, cast.people[visit["lead_id"]], visit["created_at"])
        ]

    def _handling(self, cast: Cast, county: str) -> Handling:
        units = UNITS.get(self.category)
        if units and self.chief and self.rng.random() < UNIT_SHARE:
            unit, contact = self.rng.choice(units)
            unit = unit.format(county=cast.county_names[county])
            return Handling(self.chief, None, unit, f"{contact} {_unit_contact(unit)}")
        people, weights = cast.handlers[county]
        handler = self.rng.choices(people, cum_weights=weights)[0]
        return Handling(handler, handler.id, "", "")

    def _event(
        self, step: Step, before: ProblemStatus | None, actor: Person, at: datetime, **extra: Any
    ) -> dict:
        return {
            "step": str(step),
            "from_status": before,
            "to_status": self.record["status"],
            "actor_id": actor.id,
            "actor_name": actor.name,
            "at": at,
            "note": extra.pop("note", ""),
            "details": extra,
            "version": self.record["version"],
        }

    def take(self, step: Step, day: date, actor: Person, **details: Any) -> datetime | None:
        """Take `step` during working hours on `day` (or the Monday after), after the step
        before; nothing (None) when that falls on today or later. `self.day` is its day."""
        day = _working_day(day)
        minutes = int(self.rng.random() * WORKDAY_MINUTES)
        at = datetime.combine(day, WORKDAY_START) + MINUTES[minutes]
        if at <= self.events[-1]["at"]:  # a second step that day follows the first
            at = self.events[-1]["at"] + MINUTES[5 + minutes % 55]
            day = local_date(at)
        if day >= self.today:
            return None
        self.day = day
        before = self.record["status"]
        self.record.update(status=TARGETS[step], version=self.record["version"] + 1, updated_at=at)
        self.events.append(self._event(step, before, actor, at, **details))
        return at

    def live(self) -> None:
        """Every step the problem's age allows: 交办, work, call-back, and again if reopened."""
        if self.chief is None:
            return  # nobody to hand it to: it waits
        day = self.assign(self.record["raised_on"] + timedelta(days=_draw(self.rng, ASSIGN_DAYS)))
        while day is not None:
            day = self.work(day)
            if day is not None:
                day = self.call_back(day)
            if day is not None and self.rng.random() < REASSIGN_SHARE:
                day = self.assign(day + timedelta(days=self.rng.randint(0, 2)))

    def assign(self, day: date) -> date | None:
        """交办 by the chief, with the default deadline; the day it was taken, or None."""
        day, handling = _working_day(day), self.handling
        due = default_due(self.record["major"], day)
        details = {"assignee": handling.name, "due_on": due.isoformat()}
        if handling.unit_contact:
            details["unit_contact"] = handling.unit_contact
        note = REASSIGN_NOTE if self.record["reopen_count"] else self.rng.choice(ASSIGN_NOTES)
        at = self.take(Step.ASSIGN, day, self.chief, note=note, **details)
        if at is None:
            return None
        self.record.update(
            assignee_id=handling.assignee_id,
            unit=handling.unit,
            unit_contact=handling.unit_contact,
            assigned_by_id=self.chief.id,
            assigned_at=at,
            acknowledged_at=None,
            due_on=due,
        )
        return day

    def work(self, day: date) -> date | None:
        """Accept (when just assigned), report progress, then resolve it or, rarely, give up on
        it; the day of the resolution, or None."""
        if self.record["status"] == ProblemStatus.ASSIGNED:
            ack = self.take(
                Step.ACCEPT,
                day + timedelta(days=_draw(self.rng, ACCEPT_DAYS)),
                self.handling.handler,
                note=self.rng.choice(ACCEPT_NOTES),
            )
            if ack is None:
                return None
            self.record["acknowledged_at"] = ack
            day = self.day
        span = self._span()
        if not self.progress(day, span):
            return None
        if self._gives_up():
            self.mark_unresolvable(day + timedelta(days=span))
            return None
        return self.resolve(day + timedelta(days=span))

    def _span(self) -> int:
        if self.record["reopen_count"] and self.record["status"] == ProblemStatus.IN_PROGRESS:
            return _span(self.rng, REWORK_SPANS)
        return _span(self.rng, MAJOR_SPANS if self.record["major"] else ORDINARY_SPANS)

    def _gives_up(self) -> bool:
        if self.record["reopen_count"]:
            return False
        share = UNRESOLVABLE_SHARE.get(self.category, OTHERWISE_UNRESOLVABLE)
        return self.rng.random() < share

    def progress(self, start: date, span: int) -> bool:
        """Progress notes over the `span` days from `start`: the first within a few days, then
        about one a week; False when the notes reach today."""
        first = _draw(self.rng, FIRST_PROGRESS_DAYS)
        if first >= span:
            return True  # solved before there was anything to report
        for offset in range(first, span, 7):
            at = self.take(
                Step.PROGRESS,
                start + timedelta(days=offset),
                self.handling.handler,
                note=self.rng.choice(PROGRESS_NOTES),
            )
            if at is None:
                return False
            self.record["first_progress_at"] = self.record["first_progress_at"] or at
        return True

    def resolve(self, day: date) -> date | None:
        resolution = self.rng.choice(RESOLUTIONS[self.category])
        if self.record["reopen_count"]:
            resolution = REWORK_PREFIX + resolution
        at = self.take(Step.RESOLVE, day, self.handling.handler, note=resolution)
        if at is None:
            return None
        self.record.update(resolution=resolution, resolved_on=self.day)
        return self.record["resolved_on"]

    def mark_unresolvable(self, day: date) -> None:
        reason = UNRESOLVABLE_REASONS.get(self.category, OTHER_REASON)
        if self.take(Step.MARK_UNRESOLVABLE, day, self.chief, note=reason):
            self.record["unresolvable_reason"] = reason

    def call_back(self, resolved: date) -> date | None:
        """回访 by the chief: closed (None), or reopened (the day it was)."""
        satisfaction = _draw(self.rng, SATISFACTION)
        reopens = satisfaction == Satisfaction.DISSATISFIED
        if reopens and self.record["reopen_count"] >= MAX_REOPENS:
            satisfaction, reopens = Satisfaction.BASICALLY_SATISFIED, False
        comment = self.rng.choice(COMMENTS[satisfaction])
        at = self.take(
            Step.REOPEN if reopens else Step.CLOSE,
            resolved + timedelta(days=_draw(self.rng, CALLBACK_DAYS)),
            self.chief,
            note=comment,
            satisfaction=satisfaction.value,
        )
        if at is None:
            return None
        self.record.update(satisfaction=satisfaction, callback_comment=comment)
        if not reopens:
            self.record.update(closed_on=self.day, closed_by_id=self.chief.id)
            return None
        self.record.update(reopen_count=self.record["reopen_count"] + 1, resolved_on=None)
        return self.day


@dataclass
class ProblemHistories:
    """Gives the problems of demo visits their lives up to `today`, and their ids from
    `next_id` on (crm.db.first_free_id): rows ready for the bulk insert."""

    rng: random.Random
    cast: Cast
    today: date
    next_id: int = 1

    def draw(self, raised: list[Raised]) -> tuple[list[dict], list[dict]]:
        """The problems' rows and their events' rows."""
        problems, events = [], []
        for problem in raised:
            life = Life(self.rng, self.today, problem, self.cast)
            life.live()
            life.record["id"] = self.next_id
            for event in life.events:
                event["problem_id"] = self.next_id
            self.next_id += 1
            problems.append(life.record)
            events += life.events
        return problems, events
