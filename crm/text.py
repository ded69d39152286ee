"""Text as people type it: runs of spaces collapsed; control and unencodable characters refused.

A NUL byte or a lone surrogate cannot be stored (PostgreSQL refuses them), so every rule that
takes free text checks it with `is_clean` and reports the field, instead of failing at insert.
"""

import unicodedata


def collapse(value: object) -> str:
    """The text with surrounding spaces gone and inner runs of spaces made one."""
    return " ".join(str(value or "").split())


def is_clean(text: str) -> bool:
    """No control characters and nothing that cannot be written as UTF-8."""
    if any(unicodedata.category(character) in ("Cc", "Cs") for character in text):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def strip_unusable(text: str) -> str:
    """For search boxes: drop what could never match instead of refusing the query."""
    return "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cs"))
