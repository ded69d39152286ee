"""One scheduler process for the tests: `python -m tests.scheduler_process URL WHEN START SECONDS`.

It runs the real scheduler (crm.scheduler.serve: the start's catch-up, then the job table) with
the clock set to WHEN (ISO time, ticking on), from the wall-clock instant START (so that several
processes begin together), for SECONDS. With CRM_TEST_SWEEP_LOG set, every run of the
monthly report job also appends a line to that file: a sweep with no guard of its own, so that
the file shows how often the job really ran. With CRM_TEST_STALL_FILE set, the due reminders
stop after their second notification (written, not committed), touch that file and wait to be
killed: a process that dies mid-job.
"""

import os
import sys
import tempfile
import threading
import time
from datetime import datetime

import time_machine

from crm import scheduler
from crm.followups import reminders
from tests.conftest import make_app


def log_run(now: datetime) -> int:
    with open(os.environ["CRM_TEST_SWEEP_LOG"], "a") as log:
        log.write(f"{os.getpid()} {now.isoformat()}\n")
    return 1


def stall_after_two(notify):
    calls = []

    def notify_then_stall(*args, **kwargs):
        notification = notify(*args, **kwargs)
        calls.append(notification)
        if len(calls) == 2:
            reminders.db.session.flush()
            with open(os.environ["CRM_TEST_STALL_FILE"], "w") as marker:
                marker.write(str(os.getpid()))
            time.sleep(600)
        return notification

    return notify_then_stall


def main(url: str, when: str, start: str, seconds: str) -> None:
    app = make_app(url, REPORT_FOLDER=tempfile.mkdtemp(prefix="crm-reports-"))
    if os.environ.get("CRM_TEST_SWEEP_LOG"):
        scheduler.register_sweep("monthly_report", log_run)
    if os.environ.get("CRM_TEST_STALL_FILE"):
        reminders.notify = stall_after_two(reminders.notify)
    time.sleep(max(0.0, float(start) - time.time()))
    with time_machine.travel(datetime.fromisoformat(when), tick=True):
        stop = threading.Event()
        threading.Timer(float(seconds), stop.set).start()
        scheduler.serve(app, stop)


if __name__ == "__main__":
    main(*sys.argv[1:])
