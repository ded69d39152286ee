"""The scheduler: each (job, period) runs exactly once, across processes, restarts, retries and
`crm run-job`; the reminder sweeps tell each person once; e-mail goes out once."""

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from crm import scheduler
from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import (
    FollowUp,
    Notification,
    NotificationKind,
)
from crm.followups.notifications import notify
from crm.problems import operations as problem_operations
from crm.problems.models import Problem
from crm.problems.workflow import Step
from crm.scheduler import JOBS_BY_NAME, JobRun, catch_up, run_job
from tests.conftest import YIYANG

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[1]
# Just past the due reminders' 08:30 on a Monday.
MORNING = datetime(2026, 11, 23, 8, 30, 5, tzinfo=SHANGHAI)


@pytest.fixture
def staff(create_user):
    return {
        "chief": create_user("chief", YIYANG, email="chief@example.gov.cn"),
        "officer": create_user("officer", YIYANG, email="officer@example.gov.cn"),
    }


@pytest.fixture
def add_task(app, staff, create_enterprise):
    """add_task(due) → id of an open task of the officer, given by the chief, due then."""
    enterprise = create_enterprise(county_code=YIYANG)

    def add(due: date, **values) -> int:
        with app.app_context():
            task = FollowUp(
                enterprise_id=enterprise.id,
                county_code=YIYANG,
                title=values.pop("title", f"任务 {due}"),
                assignee_id=staff["officer"].id,
                assigned_by_id=staff["chief"].id,
                due_on=due,
                **values,
            )
            db.session.add(task)
            db.session.commit()
            return task.id

    add.enterprise = enterprise
    return add


def told(app, kind=None, user_id=None):
    """(user id, key) of every notification, optionally of one kind or one user."""
    with app.app_context():
        stmt = sa.select(Notification.user_id, Notification.key).order_by(Notification.id)
        if kind is not None:
            stmt = stmt.where(Notification.kind == kind)
        if user_id is not None:
            stmt = stmt.where(Notification.user_id == user_id)
        return [tuple(row) for row in db.session.execute(stmt)]


def runs(app, job):
    with app.app_context():
        stmt = sa.select(JobRun.period, JobRun.status).where(JobRun.job == job)
        return [tuple(row) for row in db.session.execute(stmt.order_by(JobRun.period))]


def test_two_scheduler_processes_remind_once(app, add_task, tmp_path):
    """Two scheduler processes start together just past 08:30: every due task is reminded of
    exactly once, and each job's period is run once."""
    due = [add_task(date(2026, 11, 23)), add_task(date(2026, 11, 24)), add_task(date(2026, 11, 23))]
    add_task(date(2026, 11, 30))  # not due soon
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    start = time.time() + 4
    sweep_log = tmp_path / "sweeps.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRM_TEST_SWEEP_LOG": str(sweep_log)}
    command = [sys.executable, "-m", "tests.scheduler_process", url, MORNING.isoformat()]
    processes = [
        subprocess.Popen([*command, str(start), "4"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in processes:
        _out, errors = process.communicate(timeout=60)
        assert process.returncode == 0, errors.decode()[-3000:]
    reminded = told(app, NotificationKind.DUE_SOON)
    assert sorted(key for _user, key in reminded) == sorted(
        f"followup:{i}:due_soon:{d}"
        for i, d in zip(due, ("2026-11-23", "2026-11-24", "2026-11-23"), strict=True)
    )
    assert runs(app, "due_reminders") == [("2026-11-23", "done")]
    with app.app_context():
        attempts = db.session.scalars(sa.select(JobRun.attempts)).all()
    assert attempts == [1] * len(scheduler.JOBS)  # one run per job, not two
    assert len(sweep_log.read_text().splitlines()) == 1  # a sweep with no guard ran once
    # `crm run-job` the same day adds nothing.
    with time_machine.travel(MORNING + timedelta(hours=2), tick=False):
        result = app.test_cli_runner().invoke(args=["crm", "run-job", "due_reminders"])
    assert result.exit_code == 0
    assert len(told(app, NotificationKind.DUE_SOON)) == 3
    assert runs(app, "due_reminders") == [("2026-11-23", "done")]


def test_a_scheduler_killed_mid_job_completes_it_once_after_restart(
    app, add_task, tmp_path, database
):
    """The scheduler process is killed (SIGKILL) halfway through the due reminders, two of three
    written: nothing of its work remains, and the restarted scheduler runs the job once, in
    full. On PostgreSQL the restart may follow at once (the dead runner's lock is gone); on
    SQLite it takes over when the dead claim's lease has run out."""
    due = [add_task(date(2026, 11, 23)) for _ in range(3)]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    stalled = tmp_path / "stalled"
    command = [sys.executable, "-m", "tests.scheduler_process", url]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(
        [*command, MORNING.isoformat(), str(time.time()), "120"],
        cwd=ROOT,
        env={**env, "CRM_TEST_STALL_FILE": str(stalled)},
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 60
        while not stalled.exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert stalled.exists(), first.stderr.read().decode()[-3000:] if first.poll() else ""
    finally:
        first.kill()
        first.wait(timeout=30)
    assert told(app, NotificationKind.DUE_SOON) == []  # the two written were never committed
    assert runs(app, "due_reminders") == [("2026-11-23", "running")]
    later = timedelta(minutes=1 if database.backend == "postgresql" else 31)
    restarted = subprocess.run(
        [*command, (MORNING + later).isoformat(), str(time.time()), "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=90,
    )
    assert restarted.returncode == 0, restarted.stderr.decode()[-3000:]
    reminded = sorted(key for _user, key in told(app, NotificationKind.DUE_SOON))
    assert reminded == sorted(f"followup:{i}:due_soon:2026-11-23" for i in due)
    assert runs(app, "due_reminders") == [("2026-11-23", "done")]
    with app.app_context():
        attempts = db.session.scalar(
            sa.select(JobRun.attempts).where(JobRun.job == "due_reminders")
        )
    assert attempts == 2


def test_run_job_twice_the_same_day_adds_nothing(app, add_task):
    add_task(date(2026, 11, 24))
    runner = app.test_cli_runner()
    with time_machine.travel(MORNING, tick=False):
        first = runner.invoke(args=["crm", "run-job", "due_reminders"])
        again = runner.invoke(args=["crm", "run-job", "due_reminders"])
    assert first.exit_code == again.exit_code == 0
    assert first.output != again.output
    assert len(told(app, NotificationKind.DUE_SOON)) == 1
    assert runs(app, "due_reminders") == [("2026-11-23", "done")]
    unknown = runner.invoke(args=["crm", "run-job", "no_such_job"])
    assert unknown.exit_code != 0 and "due_reminders" in unknown.output


def test_three_days_down_catch_up_once_per_job(app, add_task):
    soon = add_task(date(2026, 11, 24))
    later = add_task(date(2026, 11, 27))
    with time_machine.travel(MORNING + timedelta(minutes=30), tick=False), app.app_context():
        catch_up()
    # The scheduler is stopped for three days, then started again mid-morning.
    with time_machine.travel(MORNING + timedelta(days=3, hours=2), tick=False), app.app_context():
        outcomes = catch_up()
        again = catch_up()  # and once more, as a second process would
    daily = [job.name for job in scheduler.JOBS if job.period == scheduler.DAY]
    assert {name: outcomes[name] for name in daily} == dict.fromkeys(daily, "done")
    assert outcomes["monthly_report"] == "already done"  # November's ran at the first start
    assert set(again.values()) == {"already done"}
    for job in ("due_reminders", "overdue_escalation", "problem_deadlines"):
        assert [period for period, _status in runs(app, job)] == ["2026-11-23", "2026-11-26"]
    keys = [key for _user, key in told(app, NotificationKind.DUE_SOON)]
    assert keys == [f"followup:{soon}:due_soon:2026-11-24", f"followup:{later}:due_soon:2026-11-27"]
    # The task due on the 24th is overdue by the 26th: told once, its chief too.
    assert [key for _u, key in told(app, NotificationKind.OVERDUE)] == [
        f"followup:{soon}:overdue:2026-11-24"
    ]
    assert len(told(app, NotificationKind.ESCALATED)) == 1


def test_a_failed_run_is_run_again_and_then_only_once(app, add_task):
    add_task(date(2026, 11, 23))
    job = JOBS_BY_NAME["due_reminders"]
    calls = []

    def flaky(now):
        calls.append(now)
        if len(calls) == 1:
            job_work(now)  # its notifications are rolled back with the failure
            raise RuntimeError("the database went away")
        return job_work(now)

    job_work = job.work
    flaky_job = scheduler.Job(job.name, flaky, job.description, job.cron)
    with time_machine.travel(MORNING, tick=False), app.app_context():
        assert run_job(flaky_job) == "failed"
        assert runs(app, "due_reminders") == [("2026-11-23", "failed")]
        assert told(app) == []
        assert run_job(flaky_job) == "done"
        assert run_job(flaky_job) == "already done"
    assert len(calls) == 2
    assert len(told(app, NotificationKind.DUE_SOON)) == 1


def test_a_claim_whose_runner_died_is_taken_over(app, add_task, database):
    """A process died mid-run, leaving its claim "running": on PostgreSQL the free advisory lock
    shows nobody works on it; on SQLite the claim's lease must run out first."""
    add_task(date(2026, 11, 23))
    job = JOBS_BY_NAME["due_reminders"]
    with time_machine.travel(MORNING, tick=False), app.app_context():
        db.session.add(
            JobRun(
                job=job.name,
                period="2026-11-23",
                status="running",
                lease_until=utcnow() + timedelta(minutes=20),
            )
        )
        db.session.commit()
        first = run_job(job)
    if database.backend == "postgresql":
        assert first == "done"
    else:
        assert first == "busy"
        with time_machine.travel(MORNING + timedelta(minutes=31), tick=False), app.app_context():
            assert run_job(job) == "done"
    assert runs(app, "due_reminders") == [("2026-11-23", "done")]
    assert len(told(app, NotificationKind.DUE_SOON)) == 1


def test_a_run_taken_over_meanwhile_keeps_none_of_its_work(app, add_task):
    """A run that outlived its lease, while another runner took the period over, must not
    commit its work as well."""
    add_task(date(2026, 11, 23))
    job = JOBS_BY_NAME["due_reminders"]

    def slow(now):
        with db.engine.begin() as other:  # meanwhile, another runner takes the claim over
            other.execute(
                sa.update(JobRun).values(attempts=JobRun.attempts + 1, claimed_by="elsewhere")
            )
        return job.work(now)

    with time_machine.travel(MORNING, tick=False), app.app_context():
        outcome = run_job(scheduler.Job(job.name, slow, job.description, job.cron))
    assert outcome == "busy"
    assert told(app) == []


def test_a_run_under_way_elsewhere_is_left_alone(app, add_task, database):
    """While another process works on the period (PostgreSQL: it holds the advisory lock;
    SQLite: its claim's lease runs), a second runner starts nothing."""
    add_task(date(2026, 11, 23))
    job = JOBS_BY_NAME["due_reminders"]
    with time_machine.travel(MORNING, tick=False), app.app_context():
        if database.backend == "postgresql":
            holder = db.engine.connect()
            key = scheduler._lock_key(job, "2026-11-23")
            holder.execute(
                sa.text("SELECT pg_advisory_lock(:space, :key)"),
                {"space": scheduler.LOCK_NAMESPACE, "key": key},
            )
        else:
            db.session.add(
                JobRun(
                    job=job.name,
                    period="2026-11-23",
                    status="running",
                    lease_until=utcnow() + timedelta(minutes=20),
                )
            )
            db.session.commit()
        try:
            assert run_job(job) == "busy"
        finally:
            if database.backend == "postgresql":
                holder.close()
    assert told(app) == []


def test_problem_deadlines_after_13710(app, staff, create_enterprise):
    """Not accepted after a day, no progress after three, overdue: the assignee is told once
    each; a day after the overdue notice the chief is told too."""
    enterprise = create_enterprise(county_code=YIYANG)
    assigned_at = datetime(2026, 11, 10, 10, tzinfo=SHANGHAI)
    with time_machine.travel(assigned_at, tick=False), app.app_context():
        from crm.enterprises.models import Enterprise

        problem = problem_operations.raise_problem(
            None,
            db.session.get(Enterprise, enterprise.id),
            {"category": "financing", "title": "流动资金紧张", "description": ""},
            date(2026, 11, 10),
        )
        chief = db.session.get(User, staff["chief"].id)
        problem_operations.take_step(
            chief, problem, Step.ASSIGN, 1, {"assignee_id": staff["officer"].id}
        )
        db.session.commit()
        problem_id = problem.id
    officer, chief_id = staff["officer"].id, staff["chief"].id
    job = JOBS_BY_NAME["problem_deadlines"]
    day = datetime(2026, 11, 12, 9, tzinfo=SHANGHAI)  # 2 days on: not accepted
    with time_machine.travel(day, tick=False), app.app_context():
        run_job(job)
    assert [k for _u, k in told(app, user_id=officer)][-1].startswith(f"problem:{problem_id}:ack")
    with time_machine.travel(day + timedelta(days=6), tick=False), app.app_context():
        run_job(job)  # the 18th: past the 17th's due date, no progress either
    keys = [k for _u, k in told(app, user_id=officer)]
    assert [k.split(":")[2] for k in keys] == ["v2", "ack_late", "progress_late", "overdue"]
    assert [k for _u, k in told(app, user_id=chief_id)] == []
    # The next morning, earlier than the day before: a full day has not passed, a date has.
    with time_machine.travel(day + timedelta(days=7, hours=-2), tick=False), app.app_context():
        run_job(job)
        run_job(job, period="2026-11-19-again")  # a second sweep tells nobody again
        status = db.session.get(Problem, problem_id).status.value
    assert [k for _u, k in told(app, user_id=chief_id)] == [
        f"problem:{problem_id}:escalated:2026-11-17"
    ]
    assert len(told(app, user_id=officer)) == 4 and status == "assigned"


def test_the_monthly_report_runs_registered_sweeps_once_a_month(app, monkeypatch):
    seen = []
    monkeypatch.setitem(scheduler.SWEEPS, "monthly_report", [])
    scheduler.register_sweep("monthly_report", lambda now: seen.append(now) or 2)
    job = JOBS_BY_NAME["monthly_report"]
    with time_machine.travel(MORNING, tick=False), app.app_context():
        assert run_job(job) == "done"
        assert run_job(job) == "already done"
        result = db.session.scalar(sa.select(JobRun.result).where(JobRun.job == job.name))
        assert JOBS_BY_NAME["monthly_report"].period_of(MORNING) == "2026-11"
    assert len(seen) == 1 and result == 15 + 2  # the workbooks (city and counties), the sweep


def test_jobs_command_lists_last_and_next_runs(app, add_task):
    with time_machine.travel(MORNING, tick=False):
        app.test_cli_runner().invoke(args=["crm", "run-job", "due_reminders"])
        output = app.test_cli_runner().invoke(args=["crm", "jobs"]).output
    lines = output.splitlines()
    assert [line.split()[0] for line in lines[::2]] == [job.name for job in scheduler.JOBS]
    assert "2026-11-23 done" in lines[1]
    assert "2026-11-24 08:30" in lines[1]  # tomorrow's run
    assert "2026-12-01 02:00" in lines[-1]  # the monthly report


def test_latest_due_times():
    from tests.conftest import make_app

    app = make_app("sqlite://")
    with app.app_context():
        daily, monthly = JOBS_BY_NAME["due_reminders"], JOBS_BY_NAME["monthly_report"]
        assert daily.latest_due(MORNING) == MORNING.replace(second=0)
        early = MORNING.replace(hour=7)
        assert daily.latest_due(early) == MORNING.replace(second=0) - timedelta(days=1)
        assert monthly.latest_due(MORNING) == datetime(2026, 11, 1, 2, tzinfo=SHANGHAI)


def test_the_web_app_never_starts_the_scheduler(app, client, monkeypatch):
    from apscheduler.schedulers.base import BaseScheduler

    def refuse(*_args, **_kwargs):
        raise AssertionError("a scheduler was started in the web app")

    monkeypatch.setattr(BaseScheduler, "start", refuse)
    from tests.conftest import make_app

    web = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    assert web.test_client().get("/healthz").status_code == 200
    assert not [t for t in threading.enumerate() if "APScheduler" in t.name]


def test_notify_tells_each_user_once_per_key(app, staff):
    with app.app_context():
        officer = db.session.get(User, staff["officer"].id)
        first = notify(officer, NotificationKind.DUE_SOON, "明天到期", "/tasks/", key="k:1")
        second = notify(officer, NotificationKind.DUE_SOON, "明天到期", "/tasks/", key="k:1")
        db.session.commit()
    assert first is not None and second is None
    assert len(told(app)) == 1


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_notifications_are_mailed_once_when_smtp_is_configured(app, staff, smtp_sink):
    from crm.followups import mail

    sink, port = smtp_sink
    with app.app_context():
        officer = db.session.get(User, staff["officer"].id)
        notify(officer, NotificationKind.ASSIGNED, "张科长给你一个任务", "/tasks/1", key="m:1")
        db.session.commit()
        assert mail.send_waiting() == 0  # SMTP is off by default: nothing is sent
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, PUBLIC_URL="https://crm.test")
        assert mail.send_waiting() == 1
        assert mail.send_waiting() == 0
    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message.rcpt_tos == ["officer@example.gov.cn"]
    body = message.content.decode()
    assert "https://crm.test/tasks/1" in body


def test_run_job_before_the_hour_on_the_first_runs_the_month_its_work_is_for(app, monkeypatch):
    """At 01:00 on 1 December the monthly report's latest run is November's (October's
    workbooks): the command runs that one, and leaves December's for 02:00, not taken."""
    seen = []
    monkeypatch.setitem(scheduler.SWEEPS, "monthly_report", [])
    scheduler.register_sweep("monthly_report", lambda now: seen.append(now) or 0)
    runner = app.test_cli_runner()
    with time_machine.travel(datetime(2026, 12, 1, 1, 0, tzinfo=SHANGHAI), tick=False):
        early = runner.invoke(args=["crm", "run-job", "monthly_report"])
    assert early.exit_code == 0 and runs(app, "monthly_report") == [("2026-11", "done")]
    with time_machine.travel(datetime(2026, 12, 1, 2, 5, tzinfo=SHANGHAI), tick=False):
        due = runner.invoke(args=["crm", "run-job", "monthly_report"])
    assert due.exit_code == 0 and len(seen) == 2
    assert runs(app, "monthly_report") == [("2026-11", "done"), ("2026-12", "done")]
