"""Every model, in one import: for Alembic's autogenerate and for `flask shell`."""

from crm.audit.models import AuditLog
from crm.auth.models import ApiToken, Role, User, UserSession
from crm.certification.models import CertificationCase, Programme, Stage, StageEvent
from crm.enterprises.models import Contact, Enterprise, Scale, SpecializedLevel
from crm.exports.models import MonthlyReport, ReportStatus
from crm.followups.models import FollowUp, FollowUpStatus, Notification, NotificationKind
from crm.policies.models import Policy, PolicyCategory
from crm.problems.models import (
    Problem,
    ProblemCategory,
    ProblemEvent,
    ProblemStatus,
    Satisfaction,
)
from crm.regions.models import Region, RegionLevel
from crm.scheduler import JobRun
from crm.visits.models import Attachment, AttachmentKind, Visit, VisitMode, VisitPolicy

__all__ = [
    "ApiToken",
    "Attachment",
    "AttachmentKind",
    "AuditLog",
    "CertificationCase",
    "Contact",
    "Enterprise",
    "FollowUp",
    "FollowUpStatus",
    "JobRun",
    "MonthlyReport",
    "Notification",
    "NotificationKind",
    "Policy",
    "PolicyCategory",
    "Problem",
    "ProblemCategory",
    "ProblemEvent",
    "ProblemStatus",
    "Programme",
    "Region",
    "RegionLevel",
    "ReportStatus",
    "Role",
    "Satisfaction",
    "Scale",
    "SpecializedLevel",
    "Stage",
    "StageEvent",
    "User",
    "UserSession",
    "Visit",
    "VisitMode",
    "VisitPolicy",
]
