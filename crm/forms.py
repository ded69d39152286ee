"""Shared form helpers: fields every feature needs, and an operation's refusal shown next to
the fields it names."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField

from crm.errors import DomainError


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
