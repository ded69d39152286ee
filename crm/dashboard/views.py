from flask import Blueprint, render_template

from crm.auth.permissions import login_required

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    return render_template("dashboard/index.html")
