"""Every UI message has a Simplified Chinese translation; dates show in Asia/Shanghai."""

import re
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from wtforms.i18n import messages_path

from crm.i18n import date_filter, datetime_filter
from tests.conftest import CITY, log_in

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "crm" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def source_messages() -> set[str]:
    """Every message the code and templates pass through Babel (as `make messages` finds)."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for folder in ("crm", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder,
            [(pattern.removeprefix(f"{folder}/"), method) for pattern, method in method_map],
            options_map,
            keywords=KEYWORDS,
            directory_filter=lambda path: not Path(path).name.startswith("."),
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalogue(locale: str):
    with open(CATALOGUES / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po)


def test_sources_are_found():
    messages = source_messages()
    assert "Log in" in messages  # a template under templates/auth
    assert "Cancel" in messages  # a macro under templates/_macros
    assert "Wrong username or password." in messages  # Python, lazy_gettext


def test_every_message_has_a_chinese_translation():
    chinese = catalogue("zh_Hans_CN")
    assert not chinese.fuzzy, "a catalogue marked fuzzy is not compiled"
    missing = [
        message
        for message in sorted(source_messages())
        if message not in chinese or not chinese[message].string or chinese[message].fuzzy
    ]
    assert missing == [], "run `make messages` and translate these in zh_Hans_CN"


def test_translations_keep_their_placeholders():
    for message in catalogue("zh_Hans_CN"):
        if message.id and message.string:
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
                PLACEHOLDER.findall(message.string)
            ), message.id


def test_english_catalogue_exists_for_every_message():
    english = catalogue("en")
    assert source_messages() <= {message.id for message in english}


def test_dates_are_shown_in_beijing_time(app):
    moment = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
    with app.test_request_context():
        assert datetime_filter(moment) == "2026-11-01 00:30"
        assert date_filter(moment) == "2026-11-01"
        assert datetime_filter(None) == ""


def test_templates_follow_a_change_of_language_within_a_request(app):
    """The templates' catalogue is looked up once per render, not kept for the request: after
    a change of language (flask_babel.refresh) the same request's next template speaks the new
    one."""
    from flask import render_template_string, session
    from flask_babel import refresh

    from crm.i18n import LOCALE_KEY

    page = "{{ _('Log out') }} · {{ ngettext('%(num)d visit', '%(num)d visits', 2) }}"
    with app.test_request_context():
        chinese = render_template_string(page)
        session[LOCALE_KEY] = "en"
        refresh()
        english = render_template_string(page)
        session[LOCALE_KEY] = "zh_CN"
        refresh()
        again = render_template_string(page)
    assert chinese.startswith("退出登录") and english.startswith("Log out") and again == chinese


def test_strings_in_code_follow_the_language_in_force(app):
    """crm.i18n.gettext remembers each language's catalogue, not the first one it met: it
    follows a change of language within a request, force_locale and its end, and gives the
    source text where there is no request."""
    from flask import session
    from flask_babel import force_locale, refresh

    from crm.i18n import LOCALE_KEY, gettext, lazy_gettext

    label = lazy_gettext("Log out")
    assert gettext("Log out") == "Log out"  # no app context: the source text
    with app.test_request_context():
        assert gettext("Log out") == "退出登录" and str(label) == "退出登录"
        with force_locale("en"):
            assert gettext("Log out") == "Log out" and str(label) == "Log out"
        assert gettext("Log out") == "退出登录"
        session[LOCALE_KEY] = "en"
        refresh()
        assert str(label) == "Log out"
        assert gettext("%(n)d days left", n=3) == "3 days left"
    with app.test_request_context():
        assert gettext("%(n)d days left", n=3) == "剩 3 天"


def test_template_strings_are_format_strings_with_escaped_variables(app):
    """`_` in a template: the page's language, variables escaped in HTML, "%%" a single "%"
    with or without variables, and a string without any left as it is."""
    from flask import render_template_string

    page = (
        "{{ _('Due %(date)s', date=value) }}|{{ _('Log out') }}|{{ _('100%% done') }}"
        "|{{ _('%(n)d%% done', n=5) }}"
    )
    with app.test_request_context():
        shown = render_template_string(page, value="<b>&</b>")
    assert shown == "期限 &lt;b&gt;&amp;&lt;/b&gt;|退出登录|100% done|5% done"


def test_form_messages_follow_the_language_and_their_catalogue_is_read_once(app, monkeypatch):
    """WTForms' own messages ("This field is required.") come in the page's language, from a
    catalogue read once per language, not again in every request that builds a form."""
    from babel import support
    from flask import session
    from flask_babel import refresh
    from wtforms import StringField
    from wtforms.validators import DataRequired

    from crm.forms import CrmForm, _wtforms_catalogue
    from crm.i18n import LOCALE_KEY

    class NameForm(CrmForm):
        class Meta:
            csrf = False

        name = StringField(validators=[DataRequired()])

    loads = []
    real_load = support.Translations.load
    monkeypatch.setattr(
        support.Translations,
        "load",
        lambda *args, **kwargs: loads.append(args) or real_load(*args, **kwargs),
    )
    _wtforms_catalogue.cache_clear()
    messages = []
    for locale in ("zh_CN", "zh_CN", "en", "en", "zh_CN"):
        with app.test_request_context(method="POST", data={"name": ""}):
            session[LOCALE_KEY] = locale
            refresh()
            form = NameForm()
            assert not form.validate()
            messages.append(form.name.errors[0])
    assert messages == ["此项必填。"] * 2 + ["Required."] * 2 + ["此项必填。"]
    # Once for each language (the product's own catalogue may be read too, by the first
    # request in a language since the process began: it is not counted here).
    assert [args[1] for args in loads if args[0] == messages_path()] == [["zh_Hans_CN"], ["en"]]


def test_wtforms_messages_read_as_the_products(app):
    """Not WTForms' "字段长度不能超过 3 个字符。" (字段 is a programmer's word), nor its English
    where its catalogue has no Chinese."""
    from flask import session
    from flask_babel import refresh
    from wtforms import (
        DateField,
        IntegerField,
        SelectChoice,
        SelectField,
        StringField,
    )
    from wtforms.validators import Length

    from crm.forms import CrmForm, SelectMultipleField
    from crm.i18n import LOCALE_KEY

    class AllForm(CrmForm):
        class Meta:
            csrf = False

        short = StringField(validators=[Length(max=3)])
        long = StringField(validators=[Length(min=2, max=8)])
        one = SelectField(choices=[SelectChoice("a", "甲")])
        many = SelectMultipleField(choices=[SelectChoice("a", "甲")])
        count = IntegerField()
        day = DateField()

    data = {
        "short": "四个汉字",
        "long": "一",
        "one": "z",
        "many": ["a", "z", "y"],
        "count": "x",
        "day": "x",
    }
    with app.test_request_context(method="POST", data=data):
        session[LOCALE_KEY] = "zh_CN"
        refresh()
        form = AllForm()
        assert not form.validate()
        assert {name: errors[0] for name, errors in form.errors.items()} == {
            "short": "最多 3 个字符。",
            "long": "应为 2 至 8 个字符。",
            "one": "请从列表中选择。",
            "many": "请只从列表中选择。",
            "count": "请填写整数。",
            "day": "请填写日期。",
        }


# Pages with forms, and who opens them (a user named in Chinese: names are choices too); their
# choices are read in Chinese.
FORM_PAGES = {
    ("admin", "周管理"): ["/admin/users/new", "/policies/new", "/enterprises/new"],
    ("chief", "张科长"): [
        "/visits/new",
        "/problems/new?enterprise_id={enterprise}",
        "/problems/",
        "/visits/",
        "/enterprises/",
    ],
}


def test_every_choice_offered_on_a_form_is_in_chinese(client, create_user, create_enterprise):
    """A choice's label is looked up when the page is drawn, not once when its form class was
    defined (then there is no request, and the label would stay English)."""
    english = {}
    enterprise = create_enterprise()
    for (role, name), pages in FORM_PAGES.items():
        log_in(client, create_user(role, CITY, display_name=name))
        for url in pages:
            page = client.get(url.format(enterprise=enterprise.id))
            assert page.status_code == 200, url
            options = re.findall(r"<option[^>]*>([^<]*)</option>", page.text)
            assert options, url
            found = [o for o in options if re.search(r"[A-Za-z]{3,}", o)]
            if found:
                english[url] = found
        client.post("/logout")
    assert english == {}


def test_a_new_user_is_offered_as_an_officer_not_an_administrator(client, login):
    login(role="admin", region=CITY)
    page = client.get("/admin/users/new").text
    assert re.search(r'<option selected value="officer">|<option value="officer" selected>', page)


def test_no_template_names_a_control_in_english():
    """aria-label, title, placeholder and alt are read or shown to the user: written through
    _() like any text, never as English words in the markup."""
    attribute = re.compile(r'\b(aria-label|title|placeholder|alt)="([^"{]*[A-Za-z]{3,}[^"{]*)"')
    english = [
        f"{path.relative_to(ROOT)}: {match[0]}={match[1]!r}"
        for path in (ROOT / "templates").rglob("*.html")
        for match in attribute.findall(path.read_text())
    ]
    assert english == []


def test_words_shared_in_english_read_right_in_each_chinese_context(app):
    """One English word, two Chinese meanings: each place has its own message."""
    from crm.certification.models import Stage
    from crm.enterprises.queries import EnterpriseFilterForm
    from crm.followups.forms import FollowUpForm
    from crm.problems.forms import StepForm
    from crm.visits.forms import VisitForm
    from crm.visits.models import VisitMode

    with app.test_request_context():
        shown = {
            "tech SME registered": Stage.REGISTERED.label,
            "visit by phone": VisitMode.PHONE.label,
            "place of a visit": str(VisitForm.location.args[0]),
            "task deadline": str(FollowUpForm.due_on.args[0]),
            "problem handler": str(StepForm.assignee_id.args[0]),
            "qualification filter": str(EnterpriseFilterForm.flag.args[0]),
        }
    assert shown == {
        "tech SME registered": "已入库",
        "visit by phone": "电话",
        "place of a visit": "走访地点",
        "task deadline": "截止日期",
        "problem handler": "承办干部",
        "qualification filter": "资质",
    }
