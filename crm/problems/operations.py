"""Every write to problems: raising one, and each step of the workflow. Nothing here commits.

A step names the version of the problem its author saw; when someone else changed the problem
since, the step is refused with a Conflict listing what changed, and nothing is overwritten.
"""

from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from crm.audit.labels import register_labels
from crm.audit.operations import plain_value, record_audit
from crm.auth.models import User
from crm.auth.scope import in_scope
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, DomainError, FieldErrors, Forbidden, ValidationFailed
from crm.extensions import db
from crm.followups.models import NotificationKind
from crm.followups.notifications import link_to, notify
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.i18n import local_today
from crm.problems import deadlines
from crm.problems.models import (
    Problem,
    ProblemCategory,
    ProblemEvent,
    ProblemStatus,
    Satisfaction,
)
from crm.problems.rules import clean_problem, clean_raised_on, clean_step
from crm.problems.workflow import TRANSITIONS, Step

if TYPE_CHECKING:
    from crm.visits.models import Visit

register_labels(
    {
        "problem.raise": _l("Recorded a problem"),
        "problem.assign": _l("Assigned a problem"),
        "problem.accept": _l("Accepted a problem"),
        "problem.progress": _l("Reported progress on a problem"),
        "problem.resolve": _l("Resolved a problem"),
        "problem.close": _l("Closed a problem after the call-back"),
        "problem.reopen": _l("Reopened a problem after the call-back"),
        "problem.mark_unresolvable": _l("Marked a problem as cannot be solved for now"),
        "problem.redate": _l("Moved a problem to its visit's new date"),
    },
    {
        "category": _l("Category"),
        "title": _l("Problem"),
        "description": _l("Description"),
        "raised_on": _l("Raised on"),
        "status": _l("Status"),
        "major": _l("Major problem"),
        "assignee": _l("Assigned to"),
        "unit": _l("Responsible unit"),
        "unit_contact": _l("Contact at the unit"),
        "due_on": _l("Due date"),
        "note": _l("Note"),
        "resolution": _l("Resolution"),
        "satisfaction": _l("Satisfaction"),
        "comment": _l("Call-back comment"),
        "reopen_count": _l("Times reopened"),
    },
    {"problems": _l("Problem")},
    {
        "category": lambda value: ProblemCategory(value).label,
        "status": lambda value: ProblemStatus(value).label,
        "satisfaction": lambda value: Satisfaction(value).label,
    },
)


def new_problem(
    actor: User | None,
    enterprise: Enterprise,
    cleaned: dict[str, Any],
    raised_on: date,
    visit: "Visit | None" = None,
    major: bool = False,
) -> Problem:
    """A checked problem (crm.problems.rules.clean_problem) with its first step, waiting for 交办,
    not yet in the session: it goes in with the new `visit` it came with, or by raise_problem.
    Once inserted, record_raised notes it in the audit log."""
    problem = Problem(
        **cleaned,
        enterprise=enterprise,
        county_code=enterprise.county_code,
        visit=visit,
        raised_on=raised_on,
        major=major,
        status=ProblemStatus.NEW,
        version=1,  # what the insert sets: the first step records it
        created_by_id=actor.id if actor else None,
        events=[],  # none yet: its first step is appended without reading the history
    )
    _event(actor, problem, Step.RAISE, None, {})
    return problem


def record_raised(actor: User | None, problem: Problem) -> None:
    record_audit(
        "problem.raise",
        problem,
        actor=actor,
        region_code=problem.county_code,
        changes={
            "category": [None, plain_value(problem.category)],
            "title": [None, problem.title],
            "raised_on": [None, problem.raised_on.isoformat()],
        },
    )


def raise_problem(
    actor: User | None,
    enterprise: Enterprise,
    cleaned: dict[str, Any],
    raised_on: date,
    major: bool = False,
) -> Problem:
    """Put a checked problem on the ledger, on its own (not with a visit)."""
    problem = new_problem(actor, enterprise, cleaned, raised_on, major=major)
    db.session.add(problem)
    record_raised(actor, problem)
    return problem


def record_problem(actor: User, enterprise: Enterprise, values: dict[str, Any]) -> Problem:
    """A problem that came without a visit (by phone, at a meeting): checked, then raised."""
    errors = FieldErrors()
    cleaned = clean_problem(values, errors)
    raised_on = clean_raised_on(values.get("raised_on"), errors)
    errors.raise_any()
    return raise_problem(
        actor, enterprise, cleaned, raised_on or local_today(), major=bool(values.get("major"))
    )


def _event(
    actor: User | None, problem: Problem, step: Step, before: ProblemStatus | None, details: dict
) -> ProblemEvent:
    event = ProblemEvent(
        step=step.value,
        from_status=before,
        to_status=problem.status,
        actor_id=actor.id if actor else None,
        actor_name=actor.display_name if actor else "",
        note=details.pop("note", ""),
        details=details,
        version=problem.version,
    )
    problem.events.append(event)
    return event


def changes_since(problem: Problem, version: int) -> list[str]:
    """What others did to the problem after `version`, as lines a person can read."""
    return [
        _(
            "%(who)s: %(step)s (%(status)s)",
            who=e.actor_name,
            step=Step(e.step).label,
            status=e.to_status.label,
        )
        for e in problem.events
        if e.version > version
    ]


def _stale(problem: Problem, version: int) -> Conflict:
    missed = changes_since(problem, version)
    message = _(
        "This problem changed after you opened it: %(what)s. Nothing was saved; "
        "reload it and try again.",
        what="；".join(missed) or _("an unknown change"),
    )
    return Conflict(message, {"version": [message]})


def _check_allowed(actor: User, problem: Problem, step: Step) -> None:
    transition = TRANSITIONS[step]
    if problem.status not in transition.sources:
        message = _(
            "This problem is %(status)s; “%(step)s” is not possible now.",
            status=problem.status.label,
            step=step.label,
        )
        raise ValidationFailed(message, {"to": [message]})
    if not transition.who(actor, problem):
        raise Forbidden(_("Only the assigned officer or a chief of its region may do this."))


def take_step(
    actor: User, problem: Problem, step: Step, version: Any, values: dict[str, Any]
) -> ProblemEvent:
    """Move the problem one step, if `version` is still current, the state allows the step and
    the actor may take it; write its event and audit entry."""
    if step in (Step.CLOSE, Step.REOPEN):
        dissatisfied = values.get("satisfaction") == Satisfaction.DISSATISFIED
        step = Step.REOPEN if dissatisfied else Step.CLOSE
    if str(version) != str(problem.version):
        raise _stale(problem, _version(version))
    _check_allowed(actor, problem, step)
    cleaned = clean_step(step, values, problem)
    before, handler = problem.status, problem.assignee
    details = APPLY[step](actor, problem, cleaned)
    problem.status = TRANSITIONS[step].target
    problem.updated_at = utcnow()  # every step moves the version on: a second progress note too
    try:
        db.session.flush()  # the UPDATE names the version read: a concurrent step fails here
    except StaleDataError as error:
        db.session.rollback()
        raise _stale(db.session.get(Problem, problem.id), _version(version)) from error
    event = _event(actor, problem, step, before, details)
    record_audit(
        f"problem.{step.value}", problem, actor=actor, changes=_audited(before, problem, details)
    )
    _tell(actor, problem, step)
    if step == Step.ASSIGN and handler is not None and handler is not problem.assignee:
        _tell_taken_off(actor, problem, handler)
    return event


# Whom a step concerns, and what they are told (given who took it and the problem).
TOLD = {
    Step.ASSIGN: (
        lambda p: p.assignee,
        lambda who, p: _l(
            "%(who)s assigned you a problem: %(title)s (due %(due)s)",
            who=who,
            title=p.title,
            due=p.due_on.isoformat() if p.due_on else "",
        ),
    ),
    Step.RESOLVE: (
        lambda p: p.assigned_by,
        lambda who, p: _l(
            "%(who)s resolved a problem; call the enterprise back: %(title)s",
            who=who,
            title=p.title,
        ),
    ),
    Step.REOPEN: (
        lambda p: p.assignee,
        lambda who, p: _l(
            "The enterprise is not satisfied; the problem is back with you: %(title)s",
            title=p.title,
        ),
    ),
    Step.CLOSE: (
        lambda p: p.assignee,
        lambda who, p: _l(
            "%(who)s closed a problem after the call-back: %(title)s", who=who, title=p.title
        ),
    ),
    Step.MARK_UNRESOLVABLE: (
        lambda p: p.assignee,
        lambda who, p: _l(
            "%(who)s marked a problem as cannot be solved for now: %(title)s",
            who=who,
            title=p.title,
        ),
    ),
}


def _tell(actor: User, problem: Problem, step: Step) -> None:
    if step not in TOLD:
        return
    whom, text = TOLD[step]
    user = whom(problem)
    # Not someone who could not open it (moved to another county since, or the enterprise did):
    # they would read another county's problem, with a link to a 404.
    if user is None or user.id == actor.id or not in_scope(user, problem.county_code):
        return
    message = text(actor.display_name, problem)
    notify(
        user,
        NotificationKind.PROBLEM,
        message,
        link_to("problems.show", problem_id=problem.id),
        key=f"problem:{problem.id}:v{problem.version}",
    )


def _tell_taken_off(actor: User, problem: Problem, handler: User) -> None:
    """The officer who held a problem hears that it went to someone else (it leaves their list),
    when they may still open it."""
    if handler.id == actor.id or not in_scope(handler, problem.county_code):
        return
    message = _l(
        "%(who)s gave a problem you held to someone else: %(title)s",
        who=actor.display_name,
        title=problem.title,
    )
    link = link_to("problems.show", problem_id=problem.id)
    key = f"problem:{problem.id}:v{problem.version}:taken-off"
    notify(handler, NotificationKind.PROBLEM, message, link, key=key)


def _version(version: Any) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        return 0


def _audited(before: ProblemStatus, problem: Problem, details: dict) -> dict:
    changes = {"status": [before.value, problem.status.value]}
    for key, value in details.items():
        changes[key] = [None, plain_value(value)]
    return changes


def _assign(actor: User, problem: Problem, cleaned: dict) -> dict:
    today = local_today()
    problem.assignee = cleaned["assignee"]
    problem.unit = cleaned["unit"]
    problem.unit_contact = cleaned["unit_contact"]
    problem.assigned_by_id = actor.id
    problem.assigned_at = utcnow()
    problem.acknowledged_at = None
    problem.due_on = cleaned["due_on"] or deadlines.default_due(problem.major, today)
    who = cleaned["assignee"].display_name if cleaned["assignee"] else cleaned["unit"]
    details = {"assignee": who, "due_on": problem.due_on.isoformat(), "note": cleaned["note"]}
    if cleaned["unit_contact"]:
        details["unit_contact"] = cleaned["unit_contact"]
    return details


def _accept(actor: User, problem: Problem, cleaned: dict) -> dict:
    problem.acknowledged_at = utcnow()
    return {"note": cleaned["note"]}


def _progress(actor: User, problem: Problem, cleaned: dict) -> dict:
    problem.first_progress_at = problem.first_progress_at or utcnow()
    return {"note": cleaned["note"]}


def _resolve(actor: User, problem: Problem, cleaned: dict) -> dict:
    problem.resolution = cleaned["resolution"]
    problem.resolved_on = local_today()
    return {"note": cleaned["resolution"]}


def _close(actor: User, problem: Problem, cleaned: dict) -> dict:
    problem.satisfaction = cleaned["satisfaction"]
    problem.callback_comment = cleaned["comment"]
    problem.closed_on = local_today()
    problem.closed_by_id = actor.id
    return {"satisfaction": cleaned["satisfaction"].value, "note": cleaned["comment"]}


def _reopen(actor: User, problem: Problem, cleaned: dict) -> dict:
    problem.satisfaction = cleaned["satisfaction"]
    problem.callback_comment = cleaned["comment"]
    problem.reopen_count += 1
    problem.resolved_on = None
    # Handled again, in a window of its own: not overdue the moment the enterprise says no.
    today = local_today()
    details = {"satisfaction": cleaned["satisfaction"].value, "note": cleaned["comment"]}
    if problem.due_on is None or problem.due_on < today:
        fresh = deadlines.default_due(problem.major, today)
        problem.due_on = fresh
        details["due_on"] = fresh.isoformat()
    return details


def _mark_unresolvable(actor: User, problem: Problem, cleaned: dict) -> dict:
    problem.unresolvable_reason = cleaned["note"]
    return {"note": cleaned["note"]}


APPLY = {
    Step.ASSIGN: _assign,
    Step.ACCEPT: _accept,
    Step.PROGRESS: _progress,
    Step.RESOLVE: _resolve,
    Step.CLOSE: _close,
    Step.REOPEN: _reopen,
    Step.MARK_UNRESOLVABLE: _mark_unresolvable,
}


def _naming(problem: Problem, error: DomainError, values: dict[str, Any]) -> DomainError:
    """A refusal of one of the problems ticked for 批量交办, naming the problem where the reason
    is its own: its state (above the form) or an officer chosen not of its county (beside the
    field). The rest of the assignment (no one chosen, the unit, the due date) is the same for
    all of them: `error` as it is."""

    def named(reason: str) -> str:
        return _("“%(title)s”: %(reason)s", title=problem.title, reason=reason)

    if set(error.fields) <= {"version", "to"}:
        message = named(error.message)
        return type(error)(message, {"problem_ids": [message]})
    if "assignee_id" in error.fields and values.get("assignee_id"):
        fields = {**error.fields, "assignee_id": [named(m) for m in error.fields["assignee_id"]]}
        return type(error)(fields["assignee_id"][0], fields)
    return error


def assign_problems(
    actor: User, problems: list[tuple[Problem, Any]], values: dict[str, Any]
) -> list[ProblemEvent]:
    """批量交办: the same assignment for several problems, each at the version its author saw;
    one refusal refuses them all (the caller rolls back)."""
    if not problems:
        raise ValidationFailed(
            _("Choose the problems to assign."),
            {"problem_ids": [_("Choose the problems to assign.")]},
        )
    events = []
    for problem, version in problems:
        try:
            events.append(take_step(actor, problem, Step.ASSIGN, version, values))
        except (Conflict, ValidationFailed) as error:
            named = _naming(problem, error, values)
            if named is error:
                raise
            raise named from error
    return events


def follow_visit_date(actor: User, visit_id: int, day: date) -> None:
    """The problems raised in a visit are raised on its date: when it changes, theirs follows
    (audited). Not a step: their version stays, so an officer with one open is not told it
    changed meanwhile. A date after one's resolution is refused."""
    problems = db.session.scalars(
        sa.select(Problem).where(Problem.visit_id == visit_id, Problem.raised_on != day)
    ).all()
    resolved = [p.resolved_on for p in problems if p.resolved_on is not None]
    if resolved and day > min(resolved):
        message = _(
            "A problem raised in this visit was resolved on %(day)s: the visit cannot come after.",
            day=min(resolved).isoformat(),
        )
        raise ValidationFailed(message, {"visit_date": [message]})
    for problem in problems:
        before = problem.raised_on
        db.session.execute(
            sa.update(Problem).where(Problem.id == problem.id).values(raised_on=day),
            execution_options={"synchronize_session": "fetch"},
        )
        changes = {"raised_on": [before.isoformat(), day.isoformat()]}
        record_audit("problem.redate", problem, actor=actor, changes=changes)
