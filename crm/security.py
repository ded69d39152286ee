"""Security headers on every response, and Secure session cookies on HTTPS."""

from flask import Flask, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

# No 'unsafe-inline' anywhere: scripts and styles come from our own files only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), geolocation=(self), microphone=()",
}


class SessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def set_security_headers(response: Response) -> Response:
    # Those a view set itself stay; the others are added (Headers.setdefault raises and catches
    # a KeyError for every header missing, some 5 µs each, on every response).
    present = {name.lower() for name, _value in response.headers.items()}
    for name, value in HEADERS.items():
        if name.lower() not in present:
            response.headers.add(name, value)
    if request.endpoint != "static":
        # Pages and API answers hold a user's data: never keep them in any cache.
        response.headers["Cache-Control"] = "no-store"
    seconds = current_app.config["HSTS_SECONDS"]
    if seconds and request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={seconds}")
    return response


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    if hops := app.config["PROXY_FIX_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.after_request(set_security_headers)
