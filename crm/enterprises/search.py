"""Finding an enterprise the way Chinese users type: name fragment, pinyin, initials or code.

Each enterprise stores its name's full pinyin and initials (lower-case letters and digits only).
One box matches any of them; results rank the exact code first, then prefixes, then the rest.
"""

import re

import sqlalchemy as sa
from pypinyin import lazy_pinyin

from crm.enterprises import credit_code
from crm.enterprises.models import Enterprise

_NOT_CHINESE = "\x00"  # marks the runs pypinyin passes through (latin letters, digits, brackets)
_KEY_CHARACTERS = re.compile(r"[^a-z0-9]")


def _syllables(name: str) -> list[str]:
    return lazy_pinyin(name, errors=lambda run: [_NOT_CHINESE + run])


def search_keys(name: str) -> tuple[str, str]:
    """The name's full pinyin and its initials: 洛阳启航 → ("luoyangqihang", "lyqh")."""
    full, initials = [], []
    for syllable in _syllables(name):
        if syllable.startswith(_NOT_CHINESE):
            full.append(syllable[1:])
            initials.append(syllable[1:])
        else:
            full.append(syllable)
            initials.append(syllable[:1])
    clean = lambda parts: _KEY_CHARACTERS.sub("", "".join(parts).lower())  # noqa: E731
    return clean(full)[:600], clean(initials)[:200]


def _escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def match(query: str) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[int]] | None:
    """The condition finding `query`, and a rank to order by (0 exact code, 1 prefix, 2 other)."""
    text = " ".join(query.split())[:100]
    if not text:
        return None
    code = credit_code.normalize(text)
    letters = _KEY_CHARACTERS.sub("", text.lower()) if text.isascii() else ""
    pattern = _escape_like(text)
    conditions = [Enterprise.name.ilike(f"%{pattern}%", escape="/")]
    prefixes = [Enterprise.name.ilike(f"{pattern}%", escape="/")]
    if code.isalnum() and code.isascii():
        conditions.append(Enterprise.credit_code.startswith(code, autoescape=True))
        prefixes.append(Enterprise.credit_code.startswith(code, autoescape=True))
    if letters:
        for column in (Enterprise.name_initials, Enterprise.name_pinyin):
            conditions.append(column.contains(letters, autoescape=True))
            prefixes.append(column.startswith(letters, autoescape=True))
    rank = sa.case(
        (Enterprise.credit_code == code, 0),
        (sa.or_(*prefixes), 1),
        else_=2,
    )
    return sa.or_(*conditions), rank
