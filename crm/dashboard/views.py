"""The home page: the region's dashboard for chiefs, viewers and admins; an officer's own
summary for officers. Both end with the tiles to the rest of the system."""

from datetime import date

from flask import Blueprint, render_template, request
from flask_login import current_user

from crm.auth.permissions import login_required
from crm.dashboard.overview import Overview, cached_overview, sees_overview, shown
from crm.dashboard.queries import officer_figures
from crm.exports.metrics import Period, parse_month
from crm.i18n import local_today

bp = Blueprint("dashboard", __name__)
bp.add_app_template_filter(shown, "figure")


def _month(text: str | None, today: date) -> Period:
    """The month asked for (YYYY-MM, one that has begun), else the month under way."""
    try:
        month = parse_month(text or "")
    except ValueError:
        month = today
    return Period.of(month if month <= today else today, today)


def _written(board: Overview) -> str:
    return render_template("dashboard/_figures.html", overview=board)


@bp.get("/")
@login_required
def index():
    today = local_today()
    if sees_overview(current_user):
        period = _month(request.args.get("month"), today)
        computed_at, figures = cached_overview(current_user, period, today, _written)
        return render_template(
            "dashboard/index.html",
            period=period,
            computed_at=computed_at,
            figures=figures,
            today=today,
        )
    period = Period.of(today, today)
    figures = officer_figures(current_user, period.first, today)
    return render_template("dashboard/officer.html", figures=figures, period=period)
