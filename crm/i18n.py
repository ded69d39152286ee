"""Language and timezone: Simplified Chinese by default, English on request."""

from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale, support
from flask import Flask, current_app, g, has_request_context, session
from flask_babel import get_timezone, get_translations
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from crm.extensions import babel

LOCALE_KEY = "crm_locale"


def select_locale() -> str:
    """The user's saved language, else the one chosen before login, else the default."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user_locale = current_user.locale if current_user and current_user.is_authenticated else None
    for candidate in (user_locale, session.get(LOCALE_KEY)):
        if candidate in languages:
            return candidate
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@cache
def _locale(identifier: str) -> Locale:
    """A language's babel Locale, parsed once: Locale.parse("zh_CN") looks through babel's
    whole list of locales (some 130 µs), and flask_babel would parse it for every request."""
    return Locale.parse(identifier)


def local_today() -> date:
    """Today's date in the display timezone (Asia/Shanghai), where the bureau's day runs."""
    return datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


DUE_YEARS_AHEAD = 5


def latest_due(today: date) -> date:
    """The furthest a deadline may lie: five years on (further is a slip of the keyboard, and a
    repeating task must be able to come back)."""
    return today.replace(year=today.year + DUE_YEARS_AHEAD, day=min(today.day, 28))


def local_date(moment: datetime) -> date:
    """The bureau's calendar day of a stored (UTC) moment."""
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the display timezone (Asia/Shanghai), as aware time."""
    return datetime.combine(day, time(), tzinfo=_zone())


def _zone() -> ZoneInfo:
    """The display timezone, as zoneinfo (a fifth of pytz's cost to convert to)."""
    return ZoneInfo(str(get_timezone()))


def _local(moment: datetime) -> datetime:
    """A stored moment (UTC; naive ones are UTC too) in the display timezone."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(_zone())


def date_filter(value: date | datetime | None) -> str:
    """YYYY-MM-DD, in Asia/Shanghai for datetimes."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return value.isoformat()  # a calendar day has no timezone (and lists show many)
    return _local(value).strftime("%Y-%m-%d")


def datetime_filter(value: datetime | None) -> str:
    """YYYY-MM-DD HH:mm in Asia/Shanghai. The pattern is all digits, the same in every language:
    strftime writes it (6 µs with the conversion; babel's format_datetime takes 22)."""
    return _local(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def html_lang() -> str:
    """The page's `lang` attribute: zh-CN or en."""
    return select_locale().replace("_", "-")


_CATALOGUES: dict[Locale, support.NullTranslations] = {}


def translations() -> support.NullTranslations:
    """The catalogue of the language in force (the request's, or force_locale's): flask_babel's
    get_translations, remembered per language. flask_babel finds the language and its catalogue
    anew for every string (some 19 µs through its context lookups); a list of 50 rows translates
    a few hundred labels."""
    try:
        locale = g._flask_babel.babel_locale
    except (AttributeError, RuntimeError):  # not chosen yet, or no app context
        return get_translations()
    if locale is None:
        return get_translations()
    catalogue = _CATALOGUES.get(locale)
    if catalogue is None:
        catalogue = _CATALOGUES[locale] = get_translations()
    return catalogue


def gettext(string: str, **variables: object) -> str:
    """flask_babel's gettext, read from translations()."""
    translated = translations().ugettext(string)
    return translated % variables if variables else translated


def lazy_gettext(string: str, **variables: object) -> LazyString:
    """flask_babel's lazy_gettext: translated by gettext when shown."""
    return LazyString(gettext, string, **variables)


CATALOGUE = "crm_catalogue"  # in a page's context: its language's catalogue, looked up once


def _catalogue(context: Context) -> support.NullTranslations:
    """The catalogue a template's strings are translated with: the page's, set once per render
    (flask_babel's lookup costs some 15 µs; a list page asks for some 140 strings, 我的任务 for
    over 1 000), else the one in force, for a template rendered without the request's context
    processors or a macro imported without its caller's context."""
    catalogue = context.get(CATALOGUE)
    return catalogue if catalogue is not None else translations()


@pass_context
def _template_gettext(context: Context, string: str, **variables: object) -> str:
    """The i18n extension's newstyle gettext, reading the page's catalogue: the translation is
    a format string ("%%" is one "%" even without variables), and in an autoescaped template its
    variables are escaped."""
    translated = _catalogue(context).ugettext(string)
    if context.eval_ctx.autoescape:  # the catalogue is the product's own, as for Jinja's gettext
        translated = Markup(translated)  # nosec B704
    return translated % variables if variables or "%" in translated else translated


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=lambda: _locale(select_locale()))
    app.context_processor(lambda: {CATALOGUE: translations()})
    app.jinja_env.install_gettext_callables(  # flask_babel's, reading the page's catalogue
        gettext=pass_context(lambda context, string: _catalogue(context).ugettext(string)),
        ngettext=pass_context(
            lambda context, singular, plural, n: _catalogue(context).ungettext(singular, plural, n)
        ),
        pgettext=pass_context(
            lambda context, key, string: _catalogue(context).upgettext(key, string)
        ),
        npgettext=pass_context(
            lambda context, key, singular, plural, n: _catalogue(context).unpgettext(
                key, singular, plural, n
            )
        ),
        newstyle=True,
    )
    # `_` itself, the templates' one way to translate (some 550 uses), without the two layers of
    # calls the i18n extension puts around the callable above (a third of a string's cost).
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext)
    app.jinja_env.globals.update(
        html_lang=html_lang, current_locale=select_locale, local_today=local_today
    )
    app.jinja_env.filters["date"] = date_filter
    app.jinja_env.filters["datetime"] = datetime_filter
