"""Excel import pages: upload → preview of every row's fate → import → result.

The upload and its preview are kept in the instance folder under a random token that only its
uploader can open; the import re-reads the file, so it acts on the database as it is then.
"""

import json
import secrets
import time
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from crm.auth.models import Role
from crm.auth.permissions import role_required
from crm.enterprises import imports, operations
from crm.enterprises.forms import ImportUploadForm
from crm.enterprises.imports import Fate, ImportRefused
from crm.errors import DomainError
from crm.extensions import db

bp = Blueprint("imports", __name__, url_prefix="/enterprises/import")
IMPORTERS = (Role.ADMIN, Role.CHIEF)
PREVIEW_ROWS = 500  # per fate on the page; the report workbook has every row
KEEP_SECONDS = 24 * 3600


def _folder() -> Path:
    return Path(current_app.config["IMPORT_FOLDER"])


def _remove_old_uploads(folder: Path) -> None:
    for path in folder.glob("*.*"):
        if path.stat().st_mtime < time.time() - KEEP_SECONDS:
            path.unlink(missing_ok=True)


def _state(token: str) -> dict:
    """The saved state of one upload, for its uploader only."""
    path = _folder() / f"{token}.json"
    if not token.isalnum() or not path.is_file():
        abort(404)
    state = json.loads(path.read_text())
    if state["owner_id"] != current_user.id:
        abort(404)
    return state


def _save_state(token: str, state: dict) -> None:
    (_folder() / f"{token}.json").write_text(json.dumps(state, ensure_ascii=False))


def _preview_rows(plan: imports.ImportPlan) -> list[list]:
    return [[row.number, row.fate.value, row.name, row.code, row.reason] for row in plan.rows]


@bp.get("/")
@role_required(*IMPORTERS)
def upload_page():
    return render_template("enterprises/import_upload.html", form=ImportUploadForm())


@bp.get("/template.xlsx")
@role_required(*IMPORTERS)
def template():
    return send_file(
        imports.template_workbook(),
        download_name="企业导入模板.xlsx",
        as_attachment=True,
        mimetype=imports.XLSX_MIMETYPE,
    )


@bp.post("/")
@role_required(*IMPORTERS)
def upload():
    form = ImportUploadForm()
    if not form.validate_on_submit():
        return render_template("enterprises/import_upload.html", form=form), 422
    token = secrets.token_hex(16)
    _remove_old_uploads(_folder()) if _folder().is_dir() else None
    try:
        path = imports.save_upload(form.file.data.stream, _folder(), token)
        plan = imports.plan_import(path, form.file.data.filename or "upload.xlsx", current_user)
    except ImportRefused as refusal:
        (_folder() / f"{token}.xlsx").unlink(missing_ok=True)
        form.file.errors = [refusal.message]
        return render_template("enterprises/import_upload.html", form=form), 422
    state = {"owner_id": current_user.id, "filename": plan.filename, "rows": _preview_rows(plan)}
    _save_state(token, state)
    return redirect(url_for("imports.preview", token=token))


@bp.get("/<token>")
@role_required(*IMPORTERS)
def preview(token: str):
    state = _state(token)
    if "result" in state:
        return redirect(url_for("imports.result", token=token))
    rows = state["rows"]
    counts = {fate: sum(1 for row in rows if row[1] == fate.value) for fate in Fate}
    shown = {
        fate: [row for row in rows if row[1] == fate.value][:PREVIEW_ROWS]
        for fate in (Fate.ERROR, Fate.DUPLICATE, Fate.UPDATE)
    }
    return render_template(
        "enterprises/import_preview.html",
        token=token,
        filename=state["filename"],
        counts=counts,
        shown=shown,
        limit=PREVIEW_ROWS,
        fates=Fate,
    )


@bp.post("/<token>")
@role_required(*IMPORTERS)
def run(token: str):
    state = _state(token)
    path = _folder() / f"{token}.xlsx"
    good_rows_only = request.form.get("mode") == "good_rows"
    try:
        plan = imports.plan_import(path, state["filename"], current_user)
        counts = operations.import_enterprises(current_user, plan, good_rows_only=good_rows_only)
    except DomainError as refusal:
        db.session.rollback()
        state["result"] = {"refused": refusal.message}
    else:
        db.session.commit()
        state["result"] = counts
    path.unlink(missing_ok=True)
    _save_state(token, state)
    return redirect(url_for("imports.result", token=token))


@bp.get("/<token>/result")
@role_required(*IMPORTERS)
def result(token: str):
    state = _state(token)
    if "result" not in state:
        return redirect(url_for("imports.preview", token=token))
    return render_template(
        "enterprises/import_result.html",
        token=token,
        filename=state["filename"],
        result=state["result"],
    )


@bp.get("/<token>/report.xlsx")
@role_required(*IMPORTERS)
def report(token: str):
    state = _state(token)
    return send_file(
        imports.report_workbook(state["rows"]),
        download_name=f"导入检查结果-{Path(state['filename']).stem}.xlsx",
        as_attachment=True,
        mimetype=imports.XLSX_MIMETYPE,
    )
