"""Uploaded import files and what became of them, kept in the instance folder under a token.

Each upload has a state file: its uploader, file name and status, which moves
checking → checked → importing → done (or refused, or failed). Checking and importing run in the
background (crm.background) and report their progress here; the pages poll it. A status that
stops moving means the process died: nothing of that upload was imported.
"""

import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import abort, current_app

from crm.audit.operations import acting_from
from crm.auth.models import User
from crm.enterprises import imports, operations
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import gettext as _

RUNNING = ("checking", "importing")
KEEP_SECONDS = 24 * 3600
STALLED_SECONDS = 10 * 60  # running without news for this long: the process died


def folder() -> Path:
    path = Path(current_app.config["IMPORT_FOLDER"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def workbook(token: str) -> Path:
    return folder() / f"{token}.xlsx"


def _state_path(token: str) -> Path:
    return folder() / f"{token}.json"


@contextmanager
def _locked(token: str) -> Iterator[None]:
    """One writer at a time per upload, across threads and worker processes."""
    with open(folder() / f"{token}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read(token: str) -> dict[str, Any]:
    return json.loads(_state_path(token).read_text())


def _write(token: str, state: dict[str, Any]) -> None:
    state["updated"] = time.time()
    temporary = folder() / f"{token}.json.tmp"
    temporary.write_text(json.dumps(state, ensure_ascii=False))
    os.replace(temporary, _state_path(token))  # readers never see half a file


def update(token: str, **changes: Any) -> None:
    with _locked(token):
        _write(token, {**_read(token), **changes})


def claim(token: str, expected: str, status: str) -> bool:
    """Move from `expected` to `status` unless someone else moved it first."""
    with _locked(token):
        state = _read(token)
        if state["status"] != expected:
            return False
        _write(token, {**state, "status": status, "progress": 0})
        return True


def create(owner: User, filename: str, ip: str | None) -> str:
    """A new upload, its file still to be saved under `workbook(token)`."""
    remove_old()
    token = secrets.token_hex(16)
    state = {"owner_id": owner.id, "filename": filename, "ip": ip, "status": "checking"}
    _write(token, {**state, "progress": 0})
    return token


def load(token: str, owner: User) -> dict[str, Any]:
    """An upload's state for its uploader; 404 for anyone else or any other token."""
    if not (token.isalnum() and len(token) == 32 and _state_path(token).is_file()):
        abort(404)
    state = _read(token)
    if state["owner_id"] != owner.id:
        abort(404)
    if state["status"] in RUNNING and time.time() - state["updated"] > STALLED_SECONDS:
        state["status"] = "failed"
    return state


def remove_old() -> None:
    for path in folder().glob("*.*"):
        if path.stat().st_mtime < time.time() - KEEP_SECONDS:
            path.unlink(missing_ok=True)


def preview_rows(plan: imports.ImportPlan) -> list[list[Any]]:
    return [[row.number, row.fate.value, row.name, row.code, row.reason] for row in plan.rows]


def _plan(token: str, state: dict[str, Any], actor: User) -> imports.ImportPlan:
    return imports.plan_import(
        workbook(token),
        state["filename"],
        actor,
        progress=lambda rows: update(token, progress=rows),
    )


def check(token: str, actor_id: int) -> None:
    """Background work: read the upload and decide every row's fate; changes nothing."""
    state = _read(token)
    try:
        plan = _plan(token, state, db.session.get(User, actor_id))
    except imports.ImportRefused as refusal:
        workbook(token).unlink(missing_ok=True)
        update(token, status="refused", message=refusal.message)
    except Exception:
        update(token, status="failed")
        raise
    else:
        update(token, status="checked", rows=preview_rows(plan))


def run(token: str, actor_id: int, good_rows_only: bool) -> None:
    """Background work: import the upload in one transaction, as the user chose."""
    state = _read(token)
    actor = db.session.get(User, actor_id)
    try:
        with acting_from(state["ip"]):
            plan = _plan(token, state, actor)
            update(token, progress=-1)  # every row checked; writing now
            result = operations.import_enterprises(actor, plan, good_rows_only=good_rows_only)
            db.session.commit()
    except DomainError as refusal:
        db.session.rollback()
        result = {"refused": refusal.message}
    except Exception:
        db.session.rollback()
        update(token, status="failed")
        raise
    finally:
        workbook(token).unlink(missing_ok=True)
    update(token, status="done", result=result)


def status_text(state: dict[str, Any]) -> str:
    """What the progress page says."""
    if state["status"] == "checking":
        return _("Checking: %(n)d rows so far…", n=state.get("progress", 0))
    if state.get("progress", 0) < 0:
        return _("Importing: writing to the database…")
    return _("Importing: checking again, %(n)d rows so far…", n=state.get("progress", 0))
