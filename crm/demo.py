"""Demo data for a trial or a training session: one user of each role, plus county users."""

from dataclasses import dataclass

import sqlalchemy as sa

from crm.auth import operations
from crm.auth.models import Role, User
from crm.extensions import db

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
        operations.create_user(
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
