"""Text as people type it: runs of spaces collapsed; control and unencodable characters refused.

A NUL byte or a lone surrogate cannot be stored (PostgreSQL refuses them), so every rule that
takes free text checks it with `is_clean` and reports the field, instead of failing at insert.
"""

import re
import unicodedata

# Characters that show nothing and mean nothing in the product's text, yet make two equal names
# differ and an empty summary look written: zero-width space, word joiner, byte-order mark.
# (The zero-width joiner and non-joiner stay: they shape emoji and scripts.)
INVISIBLE = str.maketrans(dict.fromkeys("\u200b\u2060\ufeff"))


def collapse(value: object) -> str:
    """The text with surrounding spaces gone, inner runs of spaces made one, and the invisible
    characters dropped."""
    return " ".join(str(value or "").translate(INVISIBLE).split())


def tidy(value: object) -> str:
    """Text of several lines: surrounding spaces and the invisible characters dropped, its
    lines kept as typed."""
    return str(value or "").translate(INVISIBLE).strip()


PHONE = re.compile(r"[0-9+\-() ]{5,32}")


def is_phone(text: str) -> bool:
    """A phone number as people write one: digits with + - ( ) and spaces, 5 to 32 of them."""
    return PHONE.fullmatch(text) is not None


def phone_text(value: object) -> str:
    """A phone number as typed on a Chinese keyboard, read as plain: full-width digits and
    brackets (１３８…, （０３７９）) made ASCII."""
    return unicodedata.normalize("NFKC", collapse(value))


LINE_BREAKS = frozenset("\n\r\t")


# The overrides of the bidirectional algorithm: they make the text shown differ from the text
# stored (a "Trojan Source" spoof). Embeddings and isolates, which text pasted from a phone may
# carry, only order what is there, and pass.
BIDI_CONTROLS = frozenset("\u202d\u202e")


def is_clean(text: str, *, multiline: bool = False) -> bool:
    """No control characters (line breaks allowed when `multiline`) nor bidirectional
    overrides, all writable as UTF-8."""
    allowed = LINE_BREAKS if multiline else frozenset()
    if any(
        (unicodedata.category(character) in ("Cc", "Cs") and character not in allowed)
        or character in BIDI_CONTROLS
        for character in text
    ):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def strip_unusable(text: str) -> str:
    """For search boxes: drop what could never match instead of refusing the query."""
    return "".join(
        c for c in text.translate(INVISIBLE) if unicodedata.category(c) not in ("Cc", "Cs")
    )
