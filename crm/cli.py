"""`flask --app crm crm …`: the commands an IT administrator runs."""

import os
import shutil
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from click.core import ParameterSource
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from crm import demo, scheduler
from crm.auth import operations as auth_operations
from crm.auth.models import Role, User
from crm.backups import operations as backups
from crm.db import refresh_statistics, utcnow
from crm.enterprises import imports, operations
from crm.errors import DomainError
from crm.exports import jobs as export_jobs
from crm.exports import operations as exports
from crm.exports.models import MonthlyReport, ReportOrigin
from crm.extensions import db
from crm.i18n import datetime_filter, local_today
from crm.i18n import gettext as _
from crm.regions.models import Region, RegionLevel


class CrmGroup(AppGroup):
    """The commands, answering a database not yet set up with what to do, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as error:
            if not _missing_table(error):
                raise
            with ctx.ensure_object(ScriptInfo).load_app().app_context():  # its language
                message = _(
                    "The database has no tables yet; run `flask --app crm db upgrade` first."
                )
            raise click.ClickException(message) from error


def _missing_table(error: sa.exc.DBAPIError) -> bool:
    text = str(error.orig)
    return "no such table" in text or "UndefinedTable" in type(error.orig).__name__


crm_cli = CrmGroup("crm", help="企业服务走访 CRM administration.")


def _writable_folder(folder: Path) -> None:
    """Make the output folder, or say why it cannot be (before anything is changed)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(
            _("Cannot write to %(path)s: %(reason)s", path=folder, reason=error.strerror)
        ) from error
    if not os.access(folder, os.W_OK):
        raise click.ClickException(
            _("Cannot write to %(path)s: %(reason)s", path=folder, reason=os.strerror(13))
        )


def _refusal(error: DomainError) -> click.ClickException:
    details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.fields.items())
    return click.ClickException(details or error.message)


def _root_region_code() -> str:
    code = db.session.scalar(sa.select(Region.code).where(Region.parent_code.is_(None)))
    if code is None:
        raise click.ClickException(_("No regions found; run `flask --app crm db upgrade` first."))
    return code


@crm_cli.command("create-user")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--region", "region_code", help="Region code; the whole city when omitted.")
@click.option("--display-name", help="Name shown in the app; the username when omitted.")
@click.option("--unit", default="", help="e.g. 高新技术科")
@click.option("--email", default="", help="Where notifications are e-mailed, if SMTP is set up.")
@click.option("--password", help="Prompted for when omitted.")
def create_user_command(
    username: str,
    role: str,
    region_code: str | None,
    display_name: str | None,
    unit: str,
    email: str,
    password: str | None,
) -> None:
    """Create a user (for example the first administrator)."""
    if password is None:  # asked twice in the product's words (click's own are English)
        password = click.prompt(_("Password"), hide_input=True)
        if click.prompt(_("Repeat the password"), hide_input=True) != password:
            raise click.ClickException(_("The two passwords do not match."))
    try:
        user = auth_operations.create_user(
            None,
            username=username,
            display_name=display_name or username,
            role=Role(role),
            region_code=region_code or _root_region_code(),
            unit=unit,
            email=email,
            password=password,
            must_change_password=False,
        )
    except DomainError as error:
        raise _refusal(error) from error
    db.session.commit()
    click.echo(
        _(
            "Created %(username)s (%(role)s, %(region)s).",
            username=user.username,
            role=user.role.label,
            region=user.region.name,
        )
    )


@crm_cli.command("create-token")
@click.option("--username", required=True)
@click.option("--name", default="command line", help="What the token is for.")
def create_token_command(username: str, name: str) -> None:
    """Create an API token for a user and print it once."""
    user = db.session.scalar(
        sa.select(User).where(User.username == auth_operations.normalize_username(username))
    )
    if user is None or not user.active:
        raise click.ClickException(_("No active user named %(username)s.", username=username))
    try:
        _record, token = auth_operations.issue_api_token(None, user, name)
    except DomainError as error:
        raise _refusal(error) from error
    db.session.commit()
    click.echo(token)


def _load_demo_visits(count: int, seed: int) -> int:
    """The visits --visits asks for; without the option, the default number while none exist."""
    asked = click.get_current_context().get_parameter_source("visit_count")
    if asked is ParameterSource.DEFAULT and demo.has_visits():
        return 0
    return demo.load_demo_visits(count, seed)


@crm_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
@click.option("--enterprises", "enterprise_count", default=demo.DEMO_ENTERPRISES, show_default=True)
@click.option(
    "--visits",
    "visit_count",
    default=demo.DEMO_VISITS,
    show_default=True,
    help="Visits to add; without this option only while there are no visits yet.",
)
@click.option("--seed", default=demo.DEMO_SEED, show_default=True)
def demo_command(if_empty: bool, enterprise_count: int, visit_count: int, seed: int) -> None:
    """Load demo users and data (idempotent), then print the demo logins."""
    if if_empty and not demo.database_is_empty():
        click.echo(_("The database already holds data; no demo data was added."))
    else:
        created = demo.load_demo_users()
        db.session.flush()
        enterprises = demo.load_demo_enterprises(enterprise_count, seed)
        created += demo.load_demo_staff(seed)
        visits = _load_demo_visits(visit_count, seed)
        cases = demo.load_demo_certification(seed)
        db.session.commit()
        refresh_statistics(db.engine)
        click.echo(
            _(
                "Demo data loaded: %(n)d new users, %(e)d new enterprises.",
                n=len(created),
                e=enterprises,
            )
        )
        click.echo(_("Demo visits added: %(v)d.", v=visits))
        click.echo(_("Demo certification cases added: %(n)d.", n=cases))
    click.echo(_("Demo logins (password for all: %(password)s):", password=demo.DEMO_PASSWORD))
    for user in demo.DEMO_USERS:
        click.echo(
            f"  {user.username:<10} {user.display_name:<8} {user.role.label} · "
            f"{db.session.get(Region, user.region_code).name}"
        )
    staff = db.session.scalars(
        sa.select(User).where(demo.is_county_staff()).order_by(User.id)
    ).all()
    if staff:
        more = _(
            "and %(n)d county officers and chiefs, such as %(example)s",
            n=len(staff),
            example=staff[0].username,
        )
        click.echo(f"  {more}")


@crm_cli.command("import-enterprises")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; change nothing.")
@click.option("--good-rows-only", is_flag=True, help="Import the good rows even if others fail.")
def import_enterprises_command(file: Path, dry_run: bool, good_rows_only: bool) -> None:
    """Import enterprises from an Excel workbook in the template's layout."""
    try:
        plan = imports.plan_import(file, file.name, None)
    except imports.ImportRefused as refusal:
        raise click.ClickException(refusal.message) from refusal
    for row in plan.rows_of(imports.Fate.ERROR, imports.Fate.DUPLICATE):
        click.echo(_("Row %(n)d: %(reason)s", n=row.number, reason=row.reason))
    click.echo(
        _(
            "Checked %(rows)d rows: %(new)d new, %(update)d updates, %(duplicate)d duplicates, "
            "%(error)d errors.",
            rows=len(plan.rows),
            **plan.counts,
        )
    )
    if dry_run:
        return
    try:
        counts = operations.import_enterprises(None, plan, good_rows_only=good_rows_only)
    except DomainError as refusal:
        raise click.ClickException(refusal.message) from refusal
    db.session.commit()
    click.echo(_("Imported: %(created)d new, %(updated)d updated, %(skipped)d skipped.", **counts))


@crm_cli.command("export")
@click.option("--month", required=True, help="YYYY-MM")
@click.option(
    "--region", "region_code", help="A county's code; the city and every county when omitted."
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder the workbooks are copied to (they are archived as well).",
)
def export_command(month: str, region_code: str | None, out: Path) -> None:
    """Generate a month's workbooks, archive them as a new version, and copy them to OUT."""
    try:
        first = exports.clean_month(month, local_today())
    except DomainError as error:
        raise _refusal(error) from error
    region = db.session.get(Region, region_code or _root_region_code())
    if region is None or region.level == RegionLevel.TOWNSHIP:
        raise click.ClickException(_("No county or city with the code %(code)s.", code=region_code))
    _writable_folder(out)  # before a version is archived that could not be copied out
    try:
        reports = exports.request_reports(
            None,
            first,
            region,
            origin=ReportOrigin.COMMAND,
            including_counties=not region_code,
        )
    except DomainError as error:
        raise _refusal(error) from error
    db.session.commit()
    ids = [report.id for report in reports]
    written = export_jobs.write_requested(ids)
    if written < len(ids):
        raise click.ClickException(
            _("Writing %(n)d workbooks failed; see the log.", n=len(ids) - written)
        )
    reports = [db.session.get(MonthlyReport, report_id) for report_id in ids]
    for report in reports:
        target = out / report.download_name
        shutil.copyfile(exports.file_of(report), target)
        click.echo(
            _(
                "%(file)s: %(visits)d visits, %(problems)d problems, SHA-256 %(sha)s",
                file=target,
                visits=report.row_counts["visits"],
                problems=report.row_counts["problems"],
                sha=report.sha256,
            )
        )


@crm_cli.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduled jobs (reminders, deadlines, monthly reports) until stopped.

    One process beside the web server; starting a second is harmless (each run is claimed)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    names = ", ".join(job.name for job in scheduler.JOBS)
    click.echo(_("Scheduler running (Ctrl+C to stop); jobs: %(names)s", names=names))
    scheduler.serve_until_signalled(app)
    click.echo(_("Scheduler stopped."))


@crm_cli.command("run-job")
@click.argument("name")
def run_job_command(name: str) -> None:
    """Run one job now, for its latest scheduled time's period (nothing happens if that run is
    done)."""
    job = scheduler.JOBS_BY_NAME.get(name)
    if job is None:
        names = ", ".join(scheduler.JOBS_BY_NAME)
        raise click.ClickException(
            _("No job %(name)s; the jobs are: %(names)s", name=name, names=names)
        )
    outcome = scheduler.run_latest(job)
    click.echo(_("%(name)s: %(outcome)s", name=name, outcome=scheduler.OUTCOME_LABELS[outcome]))
    if outcome == "failed":
        raise SystemExit(1)


@crm_cli.command("jobs")
def jobs_command() -> None:
    """List the jobs with their last run and their next scheduled time."""
    last = scheduler.last_runs()
    now = utcnow()
    for job in scheduler.JOBS:
        run = last.get(job.name)
        last_text = (
            f"{run.period} {run.status} {datetime_filter(run.finished_at or run.started_at)}"
            if run
            else _("never")
        )
        upcoming = job.next_due(now)
        click.echo(f"{job.name:<20} {job.description}")
        click.echo(
            "    "
            + _("last: %(last)s · next: %(next)s", last=last_text, next=datetime_filter(upcoming))
        )


@crm_cli.command("backup")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (e.g. crm-2026-11-23.tar.gz).",
)
def backup_command(out: Path) -> None:
    """Back up the SQLite database and the attachments into one archive, while the application
    runs. (PostgreSQL: pg_dump, see the README.)"""
    _writable_folder(out.parent)
    try:
        manifest = backups.backup(out)
    except DomainError as error:
        raise _refusal(error) from error
    except OSError as error:
        raise click.ClickException(
            _("Cannot write to %(path)s: %(reason)s", path=out, reason=error.strerror)
        ) from error
    click.echo(
        _(
            "%(out)s: %(tables)d tables, %(rows)d rows, %(files)d files.",
            out=out,
            tables=len(manifest.tables),
            rows=manifest.rows,
            files=len(manifest.files),
        )
    )
    for stored_name in manifest.missing:
        click.echo(_("Not backed up (missing or changed on disk): %(name)s", name=stored_name))


@crm_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--replace",
    is_flag=True,
    help="Replace a database that holds data (it is kept beside, as ….before-restore-<time>).",
)
def restore_command(archive: Path, replace: bool) -> None:
    """Restore a backup made by `crm backup` into this instance (stop the web server and the
    scheduler first), then run `flask --app crm db upgrade`."""
    try:
        manifest = backups.restore(archive, replace=replace)
    except DomainError as error:
        raise _refusal(error) from error
    click.echo(
        _(
            "Restored the backup of %(time)s: %(rows)d rows, %(files)d files, all checked.",
            time=manifest.created_at,
            rows=manifest.rows,
            files=len(manifest.files),
        )
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(crm_cli)
