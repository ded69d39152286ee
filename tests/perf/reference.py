"""Two pages the bench adds to its app, to show what any signed-in page costs before it reads
anything of its own: an empty response, and the layout (top bar, bell, menus) around an empty
page. Their floor is the session check and the bell's count; what they take beyond it is part of
every hot path's "beyond"."""

from flask import Blueprint, render_template

from crm.auth.permissions import login_required

bp = Blueprint("bench_reference", __name__, url_prefix="/bench", template_folder="templates")


@bp.get("/empty")
@login_required
def empty() -> str:
    return ""


@bp.get("/layout")
@login_required
def layout() -> str:
    return render_template("bench/empty.html")
