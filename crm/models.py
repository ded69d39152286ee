"""Every model, in one import: for Alembic's autogenerate and for `flask shell`."""

from crm.audit.models import AuditLog
from crm.auth.models import ApiToken, Role, User, UserSession
from crm.enterprises.models import Contact, Enterprise, Scale, SpecializedLevel
from crm.policies.models import Policy, PolicyCategory
from crm.regions.models import Region, RegionLevel

__all__ = [
    "ApiToken",
    "AuditLog",
    "Contact",
    "Enterprise",
    "Policy",
    "PolicyCategory",
    "Region",
    "RegionLevel",
    "Role",
    "Scale",
    "SpecializedLevel",
    "User",
    "UserSession",
]
