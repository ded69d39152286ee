"""Excel import pages: upload → (checking) → preview of every row's fate → (importing) → result.

Checking and importing run in the background (crm.enterprises.uploads); while they run, the
page shows their progress and polls until they are done. Only the uploader sees an upload.
"""

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from crm import background
from crm.auth.permissions import IMPORTERS, role_required
from crm.enterprises import imports, uploads
from crm.enterprises.forms import ImportUploadForm
from crm.enterprises.imports import Fate, ImportRefused
from crm.errors import handle_http_exception

bp = Blueprint("imports", __name__, url_prefix="/enterprises/import")
PREVIEW_ROWS = 500  # per fate on the page; the report workbook has every row


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
    filename = form.file.data.filename or "upload.xlsx"
    token = uploads.create(current_user, filename, request.remote_addr)
    try:
        imports.save_upload(form.file.data.stream, uploads.folder(), token)
    except ImportRefused as refusal:
        uploads.update(token, status="refused", message=refusal.message)
        form.file.errors = [refusal.message]
        return render_template("enterprises/import_upload.html", form=form), 422
    background.start(uploads.check, token, current_user.id)
    return redirect(url_for("imports.preview", token=token))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    """A file past the cap on any request (well above the import's own limit) is refused beside
    the file field of the upload page, not on a bare error page; to those who may import."""
    if not (current_user.is_authenticated and current_user.role in IMPORTERS):
        return handle_http_exception(error)
    form = ImportUploadForm(formdata=None)
    form.file.errors = [imports.too_large()]
    return render_template("enterprises/import_upload.html", form=form), 413


def _progress_page(token: str, state: dict):
    return render_template(
        "enterprises/import_progress.html",
        token=token,
        state=state,
        message=uploads.status_text(state),
    )


@bp.get("/<token>/progress")
@role_required(*IMPORTERS)
def progress(token: str):
    """Polled by the progress page: news while running, then where to go."""
    state = uploads.load(token, current_user)
    if state["status"] in uploads.RUNNING:
        return render_template(
            "enterprises/_import_progress.html", token=token, message=uploads.status_text(state)
        )
    return Response(headers={"HX-Redirect": url_for("imports.preview", token=token)})


@bp.get("/<token>")
@role_required(*IMPORTERS)
def preview(token: str):
    state = uploads.load(token, current_user)
    if state["status"] == "checking":
        return _progress_page(token, state)
    if state["status"] == "refused":
        form = ImportUploadForm(formdata=None)
        form.file.errors = [state["message"]]
        return render_template("enterprises/import_upload.html", form=form), 422
    if state["status"] != "checked":
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
    uploads.load(token, current_user)
    if uploads.claim(token, "checked", "importing"):  # never twice, even on a double tap
        good_rows_only = request.form.get("mode") == "good_rows"
        background.start(uploads.run, token, current_user.id, good_rows_only)
    return redirect(url_for("imports.result", token=token))


@bp.get("/<token>/result")
@role_required(*IMPORTERS)
def result(token: str):
    state = uploads.load(token, current_user)
    if state["status"] == "importing":
        return _progress_page(token, state)
    if state["status"] in ("checking", "checked", "refused"):
        return redirect(url_for("imports.preview", token=token))
    return render_template(
        "enterprises/import_result.html",
        token=token,
        filename=state["filename"],
        result=state.get("result"),
        failed=state["status"] == "failed",
    )


@bp.get("/<token>/report.xlsx")
@role_required(*IMPORTERS)
def report(token: str):
    state = uploads.load(token, current_user)
    return send_file(
        imports.report_workbook(state.get("rows", [])),
        download_name=f"导入检查结果-{Path(state['filename']).stem}.xlsx",
        as_attachment=True,
        mimetype=imports.XLSX_MIMETYPE,
    )
