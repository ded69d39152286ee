"""GET /healthz: the app answers and its database answers."""

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from crm.auth.permissions import public
from crm.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="error", db="error"), 503
    return jsonify(status="ok", db="ok")
