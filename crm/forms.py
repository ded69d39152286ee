"""Shared form helpers: fields every feature needs, and an operation's refusal shown next to
the fields it names."""

from flask import flash
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField

from crm import MAX_RECORD_ID
from crm.errors import DomainError
from crm.i18n import lazy_gettext as _l
from crm.text import strip_unusable


class FiniteDecimalField(DecimalField):
    """A decimal number; "NaN" and "Infinity", which Decimal accepts, are refused."""

    def process_formdata(self, valuelist: list) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(str(_l("Enter a number.")))


def attach_errors(form: FlaskForm, error: DomainError) -> None:
    """Show `error` beside the fields it names, or above the form when it names none."""
    placed = False
    for name, messages in error.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, *messages]
            placed = True
    if not placed:
        form.form_errors.append(error.message)


def record_ids(values: MultiDict, name: str) -> list[int]:
    """The record ids sent under `name`, leaving out what could not be one."""
    return [i for i in values.getlist(name, type=int) if 0 < i <= MAX_RECORD_ID]


def flash_errors(form: FlaskForm) -> None:
    """A form's errors as messages, for forms that return to the page they were sent from."""
    for name, messages in form.errors.items():
        label = form[name].label.text if name in form else ""
        for message in messages:
            flash(f"{label}：{message}" if label else message, "danger")


def searchable(value: str | None) -> str | None:
    """A filter box's text without what no record can hold (a NUL byte, say): a filter is never
    refused, and such a character could never match."""
    return strip_unusable(value) if value else value
