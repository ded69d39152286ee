"""Shared form helpers: fields every feature needs, and an operation's refusal shown next to
the fields it names."""

import logging
from collections.abc import Callable
from functools import cache
from typing import Any

import wtforms
from babel import support
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, SelectChoice, widgets
from wtforms.i18n import messages_path
from wtforms.widgets.core import clean_key

from crm import MAX_RECORD_ID
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.text import strip_unusable

logger = logging.getLogger(__name__)


class CrmForm(FlaskForm):
    """The product's forms: Flask-WTF's, with WTForms' own messages ("This field is required.")
    in the page's language from a catalogue read once per language, worded as the product's
    (WORDING). Flask-WTF reads and parses that catalogue again in every request that builds a
    form (some 0.3 ms)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: wtforms.Form) -> support.Translations | None:
            if not has_request_context() or not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_catalogue(str(get_locale()))


# WTForms' messages an officer meets, in the product's words: its Chinese catalogue speaks of
# "字段" (该字段是必填字段。), a word for programmers, and leaves some in English.
WORDING = {
    "This field is required.": _l("Required."),
    "Not a valid choice.": _l("Choose one of the options offered."),
    "Invalid Choice: could not coerce.": _l("Choose one of the options offered."),
    "Invalid choice(s): one or more data inputs could not be coerced.": _l(
        "Choose one of the options offered."
    ),
    # Formatted by WTForms: their placeholders stay as they are.
    "'%(value)s' is not a valid choice for this field.": _l(
        "%(value)s is not one of the options offered."
    ),
    "Field cannot be longer than %(max)d character.": _l("At most %(max)d characters."),
    "Field must be at least %(min)d character long.": _l("At least %(min)d characters."),
    "Field must be between %(min)d and %(max)d characters long.": _l(
        "Between %(min)d and %(max)d characters."
    ),
    "Not a valid integer value.": _l("Enter a whole number."),
    "Not a valid decimal value.": _l("Enter a number."),
    "Not a valid date value.": _l("Enter a date."),
}


@cache
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    """WTForms' catalogue for `locale`, with WORDING put over it (a plural message under both
    its forms). Called within a request in that language, which translates WORDING."""
    catalogue = support.Translations.load(messages_path(), [locale], domain="wtforms")
    entries = getattr(catalogue, "_catalog", None)
    if entries is None:  # no catalogue of WTForms' for this language: its English stays
        return catalogue
    for theirs, ours in WORDING.items():
        wording = str(ours)
        entries.update({theirs: wording, (theirs, 0): wording, (theirs, 1): wording})
    return catalogue


class FiniteDecimalField(DecimalField):
    """A decimal number; "NaN" and "Infinity", which Decimal accepts, are refused."""

    def process_formdata(self, valuelist: list) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(str(_l("Enter a number.")))


class InRange:
    """A number's bounds, told as they are ("不能小于 0", where WTForms' NumberRange says "必须大于
    0" of a field that takes 0); silent on a number that could not be read, whose field says so
    already."""

    def __init__(self, least: int = 0, most: int | None = None) -> None:
        self.least, self.most = least, most

    def __call__(self, form: wtforms.Form, field: wtforms.Field) -> None:
        value = field.data
        if value is None or (self.least <= value and (self.most is None or value <= self.most)):
            return
        if self.most is None:
            raise wtforms.ValidationError(_("Cannot be less than %(min)d.", min=self.least))
        message = _("Must lie between %(min)d and %(max)d.", min=self.least, max=self.most)
        raise wtforms.ValidationError(message)


class NotBefore:
    """A range's end, refused when it lies before the range's start (the field `start` names):
    a filter from the 10th to the 3rd finds nothing, and the page says why beside the end
    instead of showing an empty list. Silent while either date is missing or unreadable."""

    def __init__(self, start: str) -> None:
        self.start = start

    def __call__(self, form: wtforms.Form, field: wtforms.Field) -> None:
        start = form[self.start].data
        if start is None or field.data is None or field.data >= start:
            return
        raise wtforms.ValidationError(_("The end date cannot be earlier than the start date."))


class Select(widgets.Select):
    """WTForms' select, writing its options with a plain join: the same markup as WTForms'
    html_params, which formats each attribute through Markup (a filter bar lists a city's 200
    officers, and their options took a third of the visit list's time)."""

    @classmethod
    def render_option(cls, choice: SelectChoice, **kwargs: object) -> Markup:
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        label = escape(choice.label or choice.value)
        if not choice.render_kw and not kwargs:  # nearly every option: its value alone
            selected = "selected " if choice.selected else ""
            return Markup(f'<option {selected}value="{escape(value)}">{label}</option>')  # nosec B704
        attributes = {"value": value, **(choice.render_kw or {}), **kwargs}
        if choice.selected:
            attributes["selected"] = True
        # Every value and the label are escaped, above and in _attributes.
        return Markup(f"<option {_attributes(attributes)}>{label}</option>")  # nosec B704

    @classmethod
    def _dispatch_render_option(cls) -> Callable[[SelectChoice], Markup]:
        """render_option itself: WTForms inspects its signature on every select it writes, to
        call one of the pre-3.3 form (some 50 µs; a filter bar writes six)."""
        return cls.render_option


def _attributes(values: dict) -> str:
    """html_params' output: sorted by name, True as the bare name, False left out."""
    written = []
    for name, value in sorted(values.items()):
        if value is True:
            written.append(clean_key(name))
        elif value is not False:
            written.append(f'{clean_key(name)}="{escape(value)}"')
    return " ".join(written)


class TextAreaField(wtforms.TextAreaField):
    """Several lines of text. A browser sends each line break as CR LF, two characters against
    a limit its text box counts as one (maxlength): they arrive as one, LF."""

    def process_formdata(self, valuelist: list) -> None:
        super().process_formdata(valuelist)
        if self.data:
            self.data = self.data.replace("\r\n", "\n").replace("\r", "\n")


class SelectField(wtforms.SelectField):
    widget = Select()


class SelectMultipleField(wtforms.SelectMultipleField):
    """Several choices; a value not offered is refused without quoting it back (WTForms
    joins several as "a', 'b" inside its one pair of quotes, and a value is an id the officer
    never saw)."""

    widget = Select(multiple=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_choice_message", _not_offered)
        super().__init__(*args, **kwargs)


def _not_offered(count: int) -> str:
    return _("Choose only among the options offered.")


def attach_errors(form: FlaskForm, error: DomainError) -> None:
    """Show `error` beside the fields it names, or above the form when it names none."""
    placed = False
    for name, messages in error.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, *messages]
            placed = True
    if not placed:
        form.form_errors.append(error.message)


def check_anyway(form: FlaskForm, check: Callable[[], object]) -> None:
    """A form WTForms refused (a field empty or too long): the operation's own rules are run too,
    in a savepoint rolled back whatever they do, so that every bad field is told at once, not a
    second batch on the next send. A field WTForms named keeps its message alone."""
    if not form.is_submitted() or "csrf_token" in form.errors:
        return
    try:
        with db.session.begin_nested() as trial:
            check()
            trial.rollback()
    except DomainError as error:
        for name, messages in error.fields.items():
            if name in form and name != "csrf_token" and not form[name].errors:
                form[name].errors = [*messages]
    except Exception:
        # An id too large for a column, a value of another type: the operation cannot judge what
        # WTForms refused already; its refusal stands, and the savepoint took back what was done.
        logger.info("check_anyway: the operation could not judge the refused form", exc_info=True)


def record_ids(values: MultiDict, name: str) -> list[int]:
    """The record ids sent under `name`, leaving out what could not be one."""
    return [i for i in values.getlist(name, type=int) if 0 < i <= MAX_RECORD_ID]


def searchable(value: str | None) -> str | None:
    """A filter box's text without what no record can hold (a NUL byte, say): a filter is never
    refused, and such a character could never match."""
    return strip_unusable(value) if value else value
