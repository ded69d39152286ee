"""/api/v1/reports/monthly: the monthly summary figures, the same numbers as the workbook."""

import marshmallow as ma
import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from flask_smorest import Blueprint

from crm.api.fields import WholeNumber
from crm.auth.permissions import login_required
from crm.auth.scope import in_scope
from crm.exports import metrics, operations
from crm.extensions import db
from crm.i18n import local_today
from crm.regions.models import Region, RegionLevel

blp = Blueprint("reports_api", __name__, description="Monthly figures")


class MonthlyArgsSchema(ma.Schema):
    month = ma.fields.String(
        required=True, metadata={"description": "YYYY-MM, a month that has begun"}
    )
    region = ma.fields.String(
        metadata={"description": "A county's code or the city's; the caller's region when left out"}
    )


def _figures_schema() -> type[ma.Schema]:
    fields: dict[str, ma.fields.Field] = {}
    for key, entry in metrics.METRICS.items():
        description = metrics.definition(key)
        if entry.is_rate:
            fields[key] = ma.fields.Float(
                required=True, allow_none=True, metadata={"description": description}
            )
        else:
            fields[key] = WholeNumber(required=True, metadata={"description": description})
    return ma.Schema.from_dict(fields, name="MonthlyFigures")


FiguresSchema = _figures_schema()


class CountyFiguresSchema(ma.Schema):
    region = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    figures = ma.fields.Nested(FiguresSchema, required=True)


class MonthlyReportSchema(ma.Schema):
    month = ma.fields.String(required=True)
    region = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    data_as_of = ma.fields.Date(required=True)
    figures = ma.fields.Nested(FiguresSchema, required=True)
    counties = ma.fields.List(ma.fields.Nested(CountyFiguresSchema), required=True)


@blp.get("/reports/monthly")
@blp.arguments(MonthlyArgsSchema, location="query")
@blp.response(200, MonthlyReportSchema)
@login_required
def monthly(args: dict):
    """The month's summary figures for a region in the caller's scope (rates as fractions
    0–1, null when there is nothing to divide), with each of its counties' figures."""
    today = local_today()
    month = operations.clean_month(args["month"], today)
    code = args.get("region") or current_user.region_code
    region = db.session.get(Region, code)
    if region is None or region.level == RegionLevel.TOWNSHIP or not in_scope(current_user, code):
        abort(404)
    period = metrics.Period.of(month, today)
    names = dict(db.session.execute(sa.select(Region.code, Region.name)).all())
    counties = [
        {"region": county, "name": names[county], "figures": figures}
        for county, figures in metrics.by_county(region, period).items()
    ]
    return {
        "month": period.key,
        "region": region.code,
        "name": region.name,
        "data_as_of": period.as_of,
        "figures": metrics.summary(region, period),
        "counties": counties,
    }
