"""Finding an enterprise the way Chinese users type: name fragment, pinyin, initials or code.

Each enterprise stores its name's full pinyin and initials, and a search document: for each of
its name, credit code, pinyin and initials, the character bigrams as ASCII tokens, preceded by a
start token (the field's first bigram, tagged) and followed by an end token. A full-text index
over the document (SQLite FTS5; a GIN index on PostgreSQL, both created by migration 0003) then
answers, through the index alone:

- "contains q": the phrase of q's bigrams (启航 → one token; qihang → qi ih ha an ng);
- "starts with q": the same phrase behind the start token, which few documents share.

Two-character Chinese queries, the most common ones, need bigrams: trigram indexes cannot
serve them. A credit-code prefix is served by the ordinary index on the code.
"""

import functools
import itertools
import re
import unicodedata

import sqlalchemy as sa
from pypinyin import lazy_pinyin
from pypinyin.constants import RE_HANS

from crm.enterprises import credit_code
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.text import strip_unusable

_NOT_CHINESE = "\x00"  # marks the runs pypinyin passes through (latin letters, digits, brackets)
_KEY_CHARACTERS = re.compile(r"[^a-z0-9]")
FTS_TABLE = "enterprises_fts"  # SQLite: an FTS5 table over enterprises.search_doc
TSVECTOR = "search_vector"  # PostgreSQL: a stored tsvector of search_doc


# Words most registered names are made of. Their pinyin is worked out once and cached; only the
# rest of a name goes through pypinyin's (slower) word segmentation. None of them is read
# differently next to other characters, so splitting there never changes the result.
_AFFIXES = re.compile(
    "("
    + "|".join(
        sorted(
            (
                "洛阳市",
                "洛阳",
                "河南省",
                "河南",
                "中原",
                "河洛",
                "股份有限公司",
                "有限责任公司",
                "有限公司",
                "分公司",
                "集团",
                "科技",
                "技术",
                "制造",
                "新材料",
                "电子",
                "机械",
            ),
            key=len,
            reverse=True,
        )
    )
    + ")"
)


# A run of the characters pypinyin reads (its own RE_HANS, unanchored). Outside them, pypinyin
# passes each whole run of other characters through as it is: a name's number or latin letters
# (启航新材料000123) are taken out before the cache is asked, which they would fill with misses.
_CHINESE_RUN = re.compile("(" + RE_HANS.pattern.removeprefix("^").removesuffix("$") + ")")


@functools.lru_cache(maxsize=65536)
def _piece_syllables(piece: str) -> tuple[str, ...]:
    return tuple(lazy_pinyin(piece))


def _syllables(name: str) -> list[str]:
    syllables = []
    for piece in _AFFIXES.split(name):
        for number, run in enumerate(_CHINESE_RUN.split(piece)):
            if number % 2:  # the split's odd items are the runs of Chinese characters
                syllables.extend(_piece_syllables(run))
            elif run:
                syllables.append(_NOT_CHINESE + run)
    return syllables


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


def search_fields(name: str, county_code: str) -> dict[str, str]:
    """The columns search reads, derived from the name and the county."""
    pinyin, initials = search_keys(name)
    return {
        "name_pinyin": pinyin,
        "name_initials": initials,
        "search_doc": search_document(name, pinyin, initials, county_code),
    }


def normalize_text(text: str) -> str:
    """As matched: full-width → half-width, no spaces or unusable characters, lower case."""
    return strip_unusable("".join(unicodedata.normalize("NFKC", text).split())).lower()


def normalize_query(text: str) -> str:
    """A search box's text, normalised and cut to a sensible length."""
    return normalize_text(text)[:100]


def _token(first: str, second: str, tag: str = "g") -> str:
    return f"{tag}{ord(first):x}x{ord(second):x}"


class _HexCodes(dict[str, str]):
    """A character's code point in hex, worked out once per character (an import of 100 000
    names asks some five million times, for a few thousand characters)."""

    def __missing__(self, character: str) -> str:
        code = self[character] = format(ord(character), "x")
        return code


_HEX_CODES = _HexCodes()


def _field_tokens(text: str, ending: bool = False) -> list[str]:
    """The start token, the bigrams, and (when asked) a token for the last character alone."""
    if len(text) < 2:
        return [f"s{ord(text):x}xz"] if text else []
    codes = list(map(_HEX_CODES.__getitem__, text))
    pairs = list(map("g{}x{}".format, codes, codes[1:]))
    start = ["s" + codes[0] + "x" + codes[1]]
    return start + pairs + (["g" + codes[-1] + "xz"] if ending else [])


def _county_token(county_code: str) -> str:
    return f"c{county_code}"


def search_document(name: str, pinyin: str, initials: str, county_code: str) -> str:
    """The tokens the full-text index holds for one enterprise: its county's (so that a county
    user's search is narrowed by the index itself), then name, pinyin and initials. The credit
    code is not among them: its own index serves a code prefix."""
    tokens = [
        _county_token(county_code),
        *_field_tokens(normalize_text(name), ending=True),
        *_field_tokens(pinyin),
        *_field_tokens(initials),
    ]
    return " ".join(tokens)


def _phrase(query: str, prefix: bool) -> tuple[list[str], bool]:
    """The query's tokens in order, and whether the last one is a prefix (one character)."""
    if len(query) == 1:
        return [f"{'s' if prefix else 'g'}{ord(query):x}x"], True
    pairs = [_token(a, b) for a, b in itertools.pairwise(query)]
    return ([_token(query[0], query[1], "s"), *pairs] if prefix else pairs), False


def _postgresql_match(
    query: str, prefix: bool, county: str | None = None
) -> sa.ColumnElement[bool]:
    tokens, open_end = _phrase(query, prefix)
    expression = " <-> ".join(tokens) + (":*" if open_end else "")
    if county:
        expression = f"({expression}) & {_county_token(county)}"
    return sa.literal_column(f"enterprises.{TSVECTOR}").op("@@")(
        sa.func.to_tsquery("simple", expression)
    )


def _sqlite_match(query: str, prefix: bool, county: str | None = None) -> sa.TextClause:
    tokens, open_end = _phrase(query, prefix)
    expression = '"' + " ".join(tokens) + '"' + (" *" if open_end else "")
    if county:
        expression += f" AND {_county_token(county)}"
    return sa.text(f"{FTS_TABLE} MATCH :phrase").bindparams(
        sa.bindparam("phrase", expression, unique=True)
    )


def _fts_condition(query: str, prefix: bool) -> sa.ColumnElement[bool]:
    if db.engine.dialect.name == "postgresql":
        return _postgresql_match(query, prefix)
    matching = sa.select(sa.literal_column("rowid")).select_from(sa.table(FTS_TABLE))
    return Enterprise.id.in_(matching.where(_sqlite_match(query, prefix)))


def restrict(
    stmt: sa.Select, query: str, *, prefix: bool = False, county: str | None = None
) -> sa.Select:
    """`stmt` limited to the matches of the (normalised) query, read from the index so that a
    LIMIT stops the reading early (SQLite joins the FTS table rather than materialising it).

    `county` narrows the index lookup for a county user; `stmt` must still carry the scope.
    """
    if db.engine.dialect.name == "postgresql":
        return stmt.where(_postgresql_match(query, prefix, county))
    index = sa.table(FTS_TABLE, sa.column("rowid"))
    matching = _sqlite_match(query, prefix, county)
    return stmt.join(index, index.c.rowid == Enterprise.id).where(matching)


def code_prefix(query: str) -> sa.ColumnElement[bool] | None:
    """For a query that may begin a credit code: the codes it begins."""
    code = _looks_like_code(normalize_query(query))
    return _code_prefix(code) if code else None


def _looks_like_code(query: str) -> str | None:
    code = credit_code.normalize(query)
    if len(code) >= 2 and code[0].isdigit() and all(c in credit_code.VALUES for c in code):
        return code
    return None


def _code_prefix(code: str) -> sa.ColumnElement[bool]:
    """A range on the code's own index (LIKE 'x%' would not use it on every database).

    The upper bound steps within the code's alphabet, which sorts the same in every collation.
    """
    for cut in range(len(code), 0, -1):
        position = credit_code.ALPHABET.find(code[cut - 1])
        if position + 1 < len(credit_code.ALPHABET):
            stop = code[: cut - 1] + credit_code.ALPHABET[position + 1]
            return sa.and_(Enterprise.credit_code >= code, Enterprise.credit_code < stop)
    return Enterprise.credit_code >= code


def match(query: str, *, prefix: bool = False) -> sa.ColumnElement[bool] | None:
    """Enterprises whose name, code, pinyin or initials contain (or start with) the query."""
    text = normalize_query(query)
    if not text:
        return None
    condition = _fts_condition(text, prefix)
    if code := _looks_like_code(text):
        return sa.or_(condition, _code_prefix(code))
    return condition


def rank(query: str) -> sa.ColumnElement[int]:
    """0 for the exact code, 1 where a field starts with the query, 2 for the rest."""
    text = normalize_query(query)
    starts = [
        sa.func.lower(Enterprise.name).startswith(text, autoescape=True),
        Enterprise.name_pinyin.startswith(text, autoescape=True),
        Enterprise.name_initials.startswith(text, autoescape=True),
    ]
    if code := _looks_like_code(text):
        starts.append(_code_prefix(code))
    return sa.case(
        (Enterprise.credit_code == credit_code.normalize(text), 0),
        (sa.or_(*starts), 1),
        else_=2,
    )
