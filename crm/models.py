"""Every model, in one import: for Alembic's autogenerate and for `flask shell`."""

from crm.audit.models import AuditLog
from crm.auth.models import ApiToken, Role, User, UserSession
from crm.regions.models import Region, RegionLevel

__all__ = ["ApiToken", "AuditLog", "Region", "RegionLevel", "Role", "User", "UserSession"]
