"""Shared form helpers: putting an operation's refusal next to the fields it names."""

from flask_wtf import FlaskForm

from crm.errors import DomainError


def attach_errors(form: FlaskForm, error: DomainError) -> None:
    """Show `error` beside the fields it names, or above the form when it names none."""
    placed = False
    for name, messages in error.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, *messages]
            placed = True
    if not placed:
        form.form_errors.append(error.message)
