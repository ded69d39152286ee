"""The problem's states and the one table of steps between them.

    new 待交办 → assigned 已交办 → in_progress 办理中 → resolved 已办结 → closed 已销号
    resolved + 不满意 → in_progress (reopened; counted)
    assigned/in_progress → unresolvable 暂无法解决 (chief only, with a reason)

Each step says from which states it may be taken, where it leads, who may take it and what it
needs. crm.problems.operations.take_step applies a step; nothing else changes a status.
"""

import enum
from collections.abc import Callable
from dataclasses import dataclass

from crm.auth.models import Role, User
from crm.auth.scope import in_scope
from crm.i18n import lazy_gettext as _l
from crm.problems.models import Problem, ProblemStatus, Satisfaction

S = ProblemStatus


class Step(enum.StrEnum):
    RAISE = "raise"
    ASSIGN = "assign"
    ACCEPT = "accept"
    PROGRESS = "progress"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    MARK_UNRESOLVABLE = "mark_unresolvable"

    @property
    def label(self) -> str:
        return str(STEP_LABELS[self])


STEP_LABELS = {
    Step.RAISE: _l("Raised"),
    Step.ASSIGN: _l("Assign"),
    Step.ACCEPT: _l("Accept"),
    Step.PROGRESS: _l("Report progress"),
    Step.RESOLVE: _l("Resolve"),
    Step.CLOSE: _l("Call back and close"),
    Step.REOPEN: _l("Call back: reopen"),
    Step.MARK_UNRESOLVABLE: _l("Mark as cannot be solved for now"),
}


def is_chief(user: User, problem: Problem) -> bool:
    """A section chief whose region holds the problem."""
    return user.role == Role.CHIEF and in_scope(user, problem.county_code)


def is_handler(user: User, problem: Problem) -> bool:
    """The officer it was assigned to; for a problem handed to an outside unit, the chiefs of its
    region follow it up on the unit's behalf."""
    if problem.assignee_id is not None:
        return problem.assignee_id == user.id
    return bool(problem.unit) and is_chief(user, problem)


@dataclass(frozen=True)
class Transition:
    step: Step
    sources: frozenset[ProblemStatus]
    target: ProblemStatus
    who: Callable[[User, Problem], bool]
    needs: tuple[str, ...]  # what the step must be given (documented; checked by the rules)


TRANSITIONS = {
    t.step: t
    for t in (
        Transition(
            Step.ASSIGN,
            frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS}),
            S.ASSIGNED,
            is_chief,
            ("assignee_id or unit", "due_date (default 7 days, 30 if major)"),
        ),
        Transition(Step.ACCEPT, frozenset({S.ASSIGNED}), S.IN_PROGRESS, is_handler, ()),
        Transition(Step.PROGRESS, frozenset({S.IN_PROGRESS}), S.IN_PROGRESS, is_handler, ("note",)),
        Transition(
            Step.RESOLVE, frozenset({S.IN_PROGRESS}), S.RESOLVED, is_handler, ("resolution",)
        ),
        Transition(
            Step.CLOSE,
            frozenset({S.RESOLVED}),
            S.CLOSED,
            is_chief,
            ("satisfaction: satisfied or basically_satisfied", "comment"),
        ),
        Transition(
            Step.REOPEN,
            frozenset({S.RESOLVED}),
            S.IN_PROGRESS,
            is_chief,
            ("satisfaction: dissatisfied", "comment"),
        ),
        Transition(
            Step.MARK_UNRESOLVABLE,
            frozenset({S.ASSIGNED, S.IN_PROGRESS}),
            S.UNRESOLVABLE,
            is_chief,
            ("note (the reason)",),
        ),
    )
}


def step_towards(
    current: ProblemStatus, target: ProblemStatus, satisfaction: object
) -> Step | None:
    """The step the API's `to` asks for from the current state; None when there is none.

    A call-back (to closed, or to in_progress from resolved) is decided by its result: 不满意
    reopens the problem, the other answers close it."""
    if current == S.RESOLVED and target in (S.CLOSED, S.IN_PROGRESS):
        return Step.REOPEN if satisfaction == Satisfaction.DISSATISFIED else Step.CLOSE
    if target == S.IN_PROGRESS:
        return Step.PROGRESS if current == S.IN_PROGRESS else Step.ACCEPT
    by_target = {t.target: t.step for t in TRANSITIONS.values() if t.step != Step.REOPEN}
    return by_target.get(target)


def allowed_steps(user: User, problem: Problem) -> list[Step]:
    """The steps this user may take on this problem now (the buttons the page shows)."""
    return [
        step
        for step, transition in TRANSITIONS.items()
        if problem.status in transition.sources and transition.who(user, problem)
    ]
