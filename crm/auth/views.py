"""Login, logout, language, and the user's own account: password, sessions, API tokens."""

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from crm.auth import operations, throttle
from crm.auth.forms import ChangePasswordForm, LoginForm, TokenForm
from crm.auth.models import ApiToken
from crm.auth.operations import LoginOutcome
from crm.auth.permissions import login_required, public
from crm.auth.sessions import (
    device_name,
    end_session,
    is_this_browser,
    live_sessions,
    start_session,
)
from crm.errors import DomainError
from crm.extensions import db
from crm.forms import attach_errors
from crm.i18n import LOCALE_KEY
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l

bp = Blueprint("auth", __name__)
ISSUED_FORMS = "issued_token_forms"  # the session's last token forms that created a token

LOGIN_REFUSALS = {
    LoginOutcome.BAD_CREDENTIALS: _l("Wrong username or password."),
    LoginOutcome.INACTIVE: _l("This account has been deactivated. Contact the administrator."),
}


def safe_next(target: str | None) -> str:
    """Only a plain path on this site: no host, no scheme, nothing a browser would reinterpret."""
    home = url_for("dashboard.index")
    if not target or not target.startswith("/") or "\\" in target:
        return home
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return home
    return target


def back_to(default: str) -> str:
    """Where to return after an action: a plain local path the form names ("back"), else
    `default`."""
    target = request.form.get("back")
    return safe_next(target) if target else default


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    username = operations.normalize_username(form.username.data)
    if not throttle.admit_attempt(username):
        form.form_errors.append(_("Too many failed attempts. Wait a few minutes and try again."))
        return render_template("auth/login.html", form=form), 429
    result = operations.authenticate(username, form.password.data)
    if result.user is None:
        throttle.record_failure()
        form.form_errors.append(str(LOGIN_REFUSALS[result.outcome]))
        db.session.commit()
        return render_template("auth/login.html", form=form)
    throttle.record_success(username)
    start_session(result.user)
    db.session.commit()
    return redirect(safe_next(request.args.get("next")))


@bp.post("/logout")
@login_required
def logout():
    operations.record_logout(current_user)
    end_session()
    db.session.commit()
    flash(_("You have logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.post("/language")
@public
def language():
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session[LOCALE_KEY] = locale
        if current_user.is_authenticated:
            operations.set_language(current_user, locale)
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))


@bp.get("/account")
@login_required
def account():
    return _account_page(TokenForm())


def _account_page(token_form: TokenForm, new_token: str | None = None):
    tokens = db.session.scalars(
        sa.select(ApiToken)
        .where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    ).all()
    return render_template(
        "auth/account.html",
        token_form=token_form,
        tokens=tokens,
        new_token=new_token,
        sessions=live_sessions(current_user),
        is_this_browser=is_this_browser,
        device_name=device_name,
    )


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()  # the User itself: it is logged in again below
    if form.validate_on_submit():
        # The current password is guessed here as at the login, with the same allowance.
        if not throttle.admit_attempt(user.username):
            form.form_errors.append(
                _("Too many failed attempts. Wait a few minutes and try again.")
            )
            return render_template("auth/change_password.html", form=form), 429
        try:
            operations.change_password(user, form.current_password.data, form.new_password.data)
        except DomainError as error:
            attach_errors(form, error)
            if form.current_password.errors:
                throttle.record_failure()
                db.session.commit()  # the audit entry of the wrong guess
            else:  # the current password was right: no guess to count
                throttle.record_success(user.username)
        else:
            throttle.record_success(user.username)
            start_session(user)
            db.session.commit()
            flash(
                _("Your password has been changed. Other devices have been logged out."), "success"
            )
            return redirect(url_for("dashboard.index"))
    return render_template("auth/change_password.html", form=form)


@bp.post("/account/logout-everywhere")
@login_required
def logout_everywhere():
    operations.end_all_sessions(current_user)
    end_session()
    db.session.commit()
    flash(_("You have been logged out on every device."), "success")
    return redirect(url_for("auth.login"))


@bp.post("/account/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _account_page(form), 422
    issued = session.get(ISSUED_FORMS, [])
    if form.once.data in issued:
        flash(_("That token has been created already; it was shown once, when it was."), "info")
        return redirect(url_for("auth.account"), 303)
    try:
        _record, token = operations.issue_api_token(current_user, current_user, form.name.data)
    except DomainError as error:
        attach_errors(form, error)
        return _account_page(form), 422
    db.session.commit()
    session[ISSUED_FORMS] = [*issued[-9:], form.once.data]
    # Rendered, not redirected: the token must not pass through the session cookie.
    return _account_page(TokenForm(formdata=None), new_token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    record = db.session.get(ApiToken, token_id)
    if record is None or record.user_id != current_user.id:
        abort(404)
    operations.revoke_api_token(current_user, record)
    db.session.commit()
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("auth.account"))
