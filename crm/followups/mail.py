"""Notifications by e-mail, when the bureau's SMTP server is configured (MAIL_SERVER; off by
default). The scheduler process sends what is waiting every minute. Each notification is claimed
(its `mailed_at` set and committed) before it is sent, so two senders never send one twice; one
the server refuses is released again for the next round."""

import smtplib
from datetime import timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import Notification
from crm.i18n import gettext as _

# Older notifications are not mailed (e.g. those written before SMTP was set up).
MAIL_WINDOW = timedelta(hours=24)
BATCH = 200


def mail_enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def _connect() -> smtplib.SMTP:
    config = current_app.config
    factory = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    server = factory(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
    if config["MAIL_USE_TLS"]:
        server.starttls()
    if config["MAIL_USERNAME"]:
        server.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return server


def _message(notification: Notification) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    with force_locale(notification.user.locale or config["BABEL_DEFAULT_LOCALE"]):
        message["Subject"] = _(
            "[%(app)s] %(text)s", app=config["BUREAU_NAME"], text=notification.text[:60]
        )
        body = [notification.text]
        if notification.link and config["PUBLIC_URL"]:
            body.append(config["PUBLIC_URL"].rstrip("/") + notification.link)
        body.append("")
        body.append(_("This message was sent by the enterprise service CRM; do not reply."))
    message["From"] = config["MAIL_SENDER"]
    message["To"] = notification.user.email
    message.set_content("\n".join(body))
    return message


def _claim(notification_id: int) -> bool:
    claimed = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.mailed_at.is_(None))
        .values(mailed_at=utcnow())
    ).rowcount
    db.session.commit()
    return claimed == 1


def _release(notification_id: int) -> None:
    db.session.execute(
        sa.update(Notification).where(Notification.id == notification_id).values(mailed_at=None)
    )
    db.session.commit()


def send_waiting() -> int:
    """Mail the notifications of the last day that wait for it; how many were sent."""
    if not mail_enabled():
        return 0
    waiting = list(
        db.session.scalars(
            sa.select(Notification.id)
            .join(User, User.id == Notification.user_id)
            .where(
                Notification.mailed_at.is_(None),
                Notification.created_at >= utcnow() - MAIL_WINDOW,
                User.email != "",
                User.active.is_(True),
            )
            .order_by(Notification.id)
            .limit(BATCH)
        )
    )
    db.session.commit()
    if not waiting:
        return 0
    sent = 0
    with _connect() as server:
        for notification_id in waiting:
            if not _claim(notification_id):
                continue  # another sender took it
            try:
                server.send_message(_message(db.session.get(Notification, notification_id)))
            except smtplib.SMTPException:
                _release(notification_id)
                current_app.logger.exception("mail for notification %s failed", notification_id)
                break
            sent += 1
    return sent
