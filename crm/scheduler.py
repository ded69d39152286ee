"""The job table, and the process that runs it: `flask --app crm crm scheduler`.

The scheduler runs as its own process beside the web server, never inside web workers: nothing
in create_app starts it. Each job is a sweep over rows as they are now, safe to run twice.

Exactly once per period (a day, or a month): before its work, a run claims its (job, period) by
inserting a `job_runs` row (unique) and committing. A second scheduler process, a second tick or
`crm run-job` finds the claim and does nothing. On PostgreSQL the run also holds a session-level
advisory lock while it works, so that a claim whose process died is taken over at once; on
SQLite a claim still "running" after its lease is. The work and the run's "done" commit together:
a run that dies leaves nothing behind, and the period is run again.

After downtime, each job whose latest scheduled time passed without a finished run is run once
at start for that period, not once per missed tick; the same catch-up every ten minutes retries a
run that failed or whose runner died.
"""

import os
import signal
import socket
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from crm.auth.sessions import prune_sessions
from crm.certification import operations as certification
from crm.db import utcnow
from crm.exports import jobs as exports
from crm.extensions import db
from crm.followups import mail, reminders
from crm.i18n import lazy_gettext as _l

DAY, MONTH = "day", "month"
RETRY_EVERY = 600  # seconds
LOCK_NAMESPACE = 0x43524D  # "CRM": the first key of the advisory locks taken here


class JobRun(db.Model):
    """One claimed run of a job for one period; the unique pair is the exactly-once guard."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(64))
    period: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))  # running, done, failed
    claimed_by: Mapped[str] = mapped_column(sa.String(100), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=1)
    result: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(sa.Text, default="")

    __table_args__ = (sa.UniqueConstraint("job", "period", name="uq_job_runs_job_period"),)


# Extra work plugged into a job (see register_sweep).
SWEEPS: dict[str, list[Callable[[datetime], int]]] = {"monthly_report": []}


def register_sweep(job_name: str, sweep: Callable[[datetime], int]) -> None:
    """Add work to a job, run after the job's own (the scheduler's tests count runs so)."""
    SWEEPS[job_name].append(sweep)


def _due(job_name: str, now: datetime) -> datetime:
    """The scheduled time of the run under way (`now` may be later: a catch-up)."""
    return JOBS_BY_NAME[job_name].latest_due(now) or now


def _registered(
    job_name: str, own: Callable[[datetime], int] | None = None
) -> Callable[[datetime], int]:
    """The job's own work (if any), then the sweeps plugged into it."""

    def run(now: datetime) -> int:
        done = own(now) if own is not None else 0
        return done + sum(sweep(now) for sweep in SWEEPS[job_name])

    run.__name__ = job_name
    return run


@dataclass(frozen=True)
class Job:
    name: str
    work: Callable[[datetime], int]
    description: Any
    cron: dict[str, Any] = field(hash=False)
    period: str = DAY
    # How long a claim of a run that stopped answering is respected (SQLite; PostgreSQL knows).
    lease: timedelta = timedelta(minutes=30)

    def trigger(self) -> CronTrigger:
        return CronTrigger(timezone=_zone(), **self.cron)

    def period_of(self, moment: datetime) -> str:
        local = moment.astimezone(_zone())
        return f"{local:%Y-%m-%d}" if self.period == DAY else f"{local:%Y-%m}"

    def latest_due(self, now: datetime) -> datetime | None:
        """The latest scheduled time at or before `now` (within one period and a bit)."""
        trigger = self.trigger()
        moment = trigger.get_next_fire_time(
            None, now - timedelta(days=2 if self.period == DAY else 32)
        )
        latest = None
        while moment is not None and moment <= now:
            latest = moment
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        return latest

    def next_due(self, now: datetime) -> datetime | None:
        return self.trigger().get_next_fire_time(None, now + timedelta(seconds=1))


JOBS = (
    Job(
        "due_reminders",
        reminders.due_reminders,
        _l("Reminds officers of follow-up tasks due soon"),
        {"hour": 8, "minute": 30},
    ),
    Job(
        "overdue_escalation",
        reminders.overdue_escalation,
        _l("Tells officers and their chiefs about overdue follow-up tasks"),
        {"hour": 8, "minute": 35},
    ),
    Job(
        "problem_deadlines",
        reminders.problem_deadlines,
        _l("Watches assigned problems: accepted in 1 day, progress in 3, the due date"),
        {"hour": 8, "minute": 40},
    ),
    Job(
        "certification_watch",
        certification.watch_certificates,
        _l("Opens re-certification cases six months before a certificate expires"),
        {"hour": 3, "minute": 0},
    ),
    Job(
        "session_cleanup",
        prune_sessions,
        _l("Forgets the records of login sessions long out of use"),
        {"hour": 3, "minute": 30},
    ),
    Job(
        "monthly_report",
        _registered("monthly_report", lambda now: exports.monthly_job(_due("monthly_report", now))),
        _l("Generates the monthly workbooks for the county bureaus"),
        {"day": 1, "hour": 2, "minute": 0},
        period=MONTH,
    ),
)
JOBS_BY_NAME = {job.name: job for job in JOBS}
OUTCOME_LABELS = {
    "done": _l("done"),
    "already done": _l("already done for this period; nothing was repeated"),
    "busy": _l("running elsewhere right now; nothing was started"),
    "failed": _l("failed (see the log); it will be tried again"),
}


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _lock_key(job: Job, period: str) -> int:
    """A signed 32-bit key for the (job, period) advisory lock."""
    key = zlib.crc32(f"{job.name}:{period}".encode())
    return key - 2**32 if key >= 2**31 else key


class _AdvisoryLock:
    """PostgreSQL's session-level advisory lock on its own connection, held while a run works.
    Elsewhere it is always "taken" and protects nothing (the claim's lease does)."""

    def __init__(self, job: Job, period: str) -> None:
        self.connection = None
        self.args = {"space": LOCK_NAMESPACE, "key": _lock_key(job, period)}

    def acquire(self) -> bool:
        if db.engine.dialect.name != "postgresql":
            return True
        self.connection = db.engine.connect()
        taken = self.connection.scalar(
            sa.text("SELECT pg_try_advisory_lock(:space, :key)"), self.args
        )
        self.connection.commit()
        if not taken:
            self.release()
        return bool(taken)

    @property
    def held(self) -> bool:
        return self.connection is not None

    def release(self) -> None:
        if self.connection is not None:
            try:
                self.connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:space, :key)"), self.args
                )
                self.connection.commit()
            finally:
                self.connection.close()
                self.connection = None


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def _claim(job: Job, period: str, now: datetime, lock_held: bool) -> JobRun | None:
    """Claim the run, or take over a claim that failed or whose runner is gone; None when the
    period is done or someone is running it."""
    lease_until = now + job.lease
    try:
        run = JobRun(
            job=job.name,
            period=period,
            status="running",
            claimed_by=_me(),
            started_at=now,
            lease_until=lease_until,
        )
        db.session.add(run)
        db.session.commit()
        return run
    except IntegrityError:
        db.session.rollback()
    abandoned = sa.or_(JobRun.status == "failed", JobRun.lease_until < now, sa.literal(lock_held))
    taken = db.session.execute(
        sa.update(JobRun)
        .where(JobRun.job == job.name, JobRun.period == period, JobRun.status != "done")
        .where(abandoned)
        .values(
            status="running",
            claimed_by=_me(),
            started_at=now,
            lease_until=lease_until,
            attempts=JobRun.attempts + 1,
            error="",
        )
    ).rowcount
    db.session.commit()
    if taken != 1:
        return None
    return db.session.scalars(
        sa.select(JobRun).where(JobRun.job == job.name, JobRun.period == period)
    ).one()


def run_job(job: Job, now: datetime | None = None, period: str | None = None) -> str:
    """Run `job` for `period` (the one `now` falls in when not given), unless that period's run
    is done or under way: "done", "already done", "busy" or "failed"."""
    now = now or utcnow()
    period = period or job.period_of(now)
    lock = _AdvisoryLock(job, period)
    if not lock.acquire():
        return "busy"
    try:
        run = _claim(job, period, now, lock.held)
        if run is None:
            done = db.session.scalar(
                sa.select(JobRun.status).where(JobRun.job == job.name, JobRun.period == period)
            )
            db.session.commit()
            return "already done" if done == "done" else "busy"
        mine = (run.id, run.claimed_by, run.attempts)  # read now: the claim as this run made it
        try:
            result = job.work(now)
            if not _finish(mine, result):
                db.session.rollback()  # the claim was taken over meanwhile: theirs counts
                return "busy"
            db.session.commit()  # the work and its "done" together
        except Exception as error:
            db.session.rollback()
            current_app.logger.exception("job %s for %s failed", job.name, period)
            _mark_failed(job, period, repr(error))
            return "failed"
        current_app.logger.info("job %s for %s done: %s", job.name, period, result)
        return "done"
    finally:
        lock.release()


def _finish(mine: tuple[int, str, int], result: int) -> bool:
    """Mark the run done, in the work's transaction, if the claim is still this runner's (a
    run that outlived its lease may have been taken over)."""
    run_id, claimed_by, attempts = mine
    finished = db.session.execute(
        sa.update(JobRun)
        .where(
            JobRun.id == run_id,
            JobRun.claimed_by == claimed_by,
            JobRun.attempts == attempts,
            JobRun.status == "running",
        )
        .values(status="done", result=result, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return finished == 1


def _mark_failed(job: Job, period: str, error: str) -> None:
    db.session.execute(
        sa.update(JobRun)
        .where(JobRun.job == job.name, JobRun.period == period)
        .values(status="failed", error=error[:2000], finished_at=utcnow())
    )
    db.session.commit()


def catch_up(now: datetime | None = None) -> dict[str, str]:
    """Run each job whose latest scheduled time has passed without a finished run, once, for
    that time's period (what happens when the scheduler starts)."""
    now = now or utcnow()
    outcomes = {}
    for job in JOBS:
        due = job.latest_due(now)
        if due is not None:
            outcomes[job.name] = run_job(job, now, job.period_of(due))
    return outcomes


def last_runs() -> dict[str, JobRun]:
    """The latest run of each job."""
    latest = (
        sa.select(JobRun.job, sa.func.max(JobRun.started_at).label("started_at"))
        .group_by(JobRun.job)
        .subquery()
    )
    stmt = sa.select(JobRun).join(
        latest, sa.and_(JobRun.job == latest.c.job, JobRun.started_at == latest.c.started_at)
    )
    return {run.job: run for run in db.session.scalars(stmt)}


def _in_context(app: Flask, work: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                work()
            except Exception:
                app.logger.exception("scheduled work failed")
            finally:
                db.session.remove()

    return run


def run_latest(job: Job) -> str:
    """Run the job for its latest scheduled time's period (the one its work is for: on the 1st
    before the monthly report's hour, the month before's), as a tick or the command line."""
    now = utcnow()
    due = job.latest_due(now) or now
    return run_job(job, now, job.period_of(due))


def _tick(job: Job) -> None:
    """A scheduled time has come: run its period (the latest due one, as a late tick's)."""
    run_latest(job)


def serve(app: Flask, stop: threading.Event) -> None:
    """The scheduler process: catch up, then run the job table until `stop` is set."""
    _in_context(app, catch_up)()
    with app.app_context():
        zone = _zone()
        triggers = [(job, job.trigger()) for job in JOBS]
    scheduler = BackgroundScheduler(
        timezone=zone,
        # A tick missed by a busy or sleeping process runs once, late, within an hour; later
        # than that the next start's catch-up covers it.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    for job, trigger in triggers:
        scheduler.add_job(_in_context(app, lambda job=job: _tick(job)), trigger, id=job.name)
    scheduler.add_job(_in_context(app, mail.send_waiting), IntervalTrigger(minutes=1), id="mail")
    # A failed run, or one whose runner died, is run again within RETRY_EVERY (catch_up skips
    # every period that is done, so this repeats nothing).
    scheduler.add_job(_in_context(app, catch_up), IntervalTrigger(seconds=RETRY_EVERY), id="retry")
    scheduler.start()
    try:
        stop.wait()
    finally:
        scheduler.shutdown()


def serve_until_signalled(app: Flask) -> None:
    """`crm scheduler`: serve until SIGTERM or Ctrl+C."""
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_args: stop.set())
    serve(app, stop)
