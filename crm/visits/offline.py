"""The tablet app's shell: the service worker (served from the root, so that it may control
every page) and the web manifest."""

from flask import Blueprint, current_app, send_from_directory

from crm.auth.permissions import public

bp = Blueprint("offline", __name__)


@bp.get("/sw.js")
@public
def service_worker():
    response = send_from_directory(current_app.static_folder, "sw.js")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
@public
def manifest():
    return send_from_directory(
        current_app.static_folder, "manifest.webmanifest", mimetype="application/manifest+json"
    )
