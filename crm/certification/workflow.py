"""The stage flows of the two programmes, and who may move a case where.

    high_tech: prospect 储备 → coaching 培育辅导 → preparing 材料准备 → submitted 已申报
               → reviewing 专家评审 → publicized 公示
               → certified 已认定 | rejected 未通过 | withdrawn 放弃
    tech_sme:  prospect → preparing → submitted → registered 已入库 | rejected | withdrawn

A case moves one stage on along its flow; once submitted, its result (certified or registered,
rejected) may be recorded from any later stage; until it has a result it may be withdrawn.
Officers move the cases they own up to "submitted" (and withdraw them before that); chiefs make
every move of the cases in their region, results included.
"""

from crm.auth.models import Role, User
from crm.auth.scope import in_scope
from crm.certification.models import CertificationCase, Programme, Stage

FLOWS = {
    Programme.HIGH_TECH: (
        Stage.PROSPECT,
        Stage.COACHING,
        Stage.PREPARING,
        Stage.SUBMITTED,
        Stage.REVIEWING,
        Stage.PUBLICIZED,
        Stage.CERTIFIED,
    ),
    Programme.TECH_SME: (Stage.PROSPECT, Stage.PREPARING, Stage.SUBMITTED, Stage.REGISTERED),
}
SUCCESS = {Programme.HIGH_TECH: Stage.CERTIFIED, Programme.TECH_SME: Stage.REGISTERED}
FINAL = frozenset({Stage.CERTIFIED, Stage.REGISTERED, Stage.REJECTED, Stage.WITHDRAWN})
OPEN = tuple(stage for stage in Stage if stage not in FINAL)
CASE_ROLES = (Role.OFFICER, Role.CHIEF)


def stages_of(programme: Programme) -> tuple[Stage, ...]:
    """The board's columns: the flow, then the two other ends."""
    return (*FLOWS[programme], Stage.REJECTED, Stage.WITHDRAWN)


def _position(programme: Programme, stage: Stage) -> int:
    flow = FLOWS[programme]
    return flow.index(stage) if stage in flow else len(flow)


def moves(case: CertificationCase) -> list[Stage]:
    """Where the case may go from its stage, whoever asks."""
    if case.stage in FINAL:
        return []
    flow = FLOWS[case.programme]
    here = flow.index(case.stage)
    targets = [flow[here + 1]]
    if here >= flow.index(Stage.SUBMITTED):
        if SUCCESS[case.programme] not in targets:
            targets.append(SUCCESS[case.programme])
        targets.append(Stage.REJECTED)
    targets.append(Stage.WITHDRAWN)
    return targets


def may_move(user: User, case: CertificationCase, to: Stage) -> bool:
    if to not in moves(case):
        return False
    if user.role == Role.CHIEF:
        return in_scope(user, case.county_code)
    if user.role != Role.OFFICER or case.owner_id != user.id:
        return False
    submitted = _position(case.programme, Stage.SUBMITTED)
    if to == Stage.WITHDRAWN:
        return _position(case.programme, case.stage) < submitted
    return _position(case.programme, to) <= submitted


def allowed_moves(user: User, case: CertificationCase) -> list[Stage]:
    return [to for to in moves(case) if may_move(user, case, to)]
