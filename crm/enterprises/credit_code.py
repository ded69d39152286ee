"""统一社会信用代码 (GB 32100-2015): normalisation and the check character.

18 characters from ALPHABET; characters 3–8 are the registering area's GB/T 2260 code; the 18th
is a check character over the first 17 with weights 3^(i-1) mod 31.
"""

import enum
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
VALUES = {character: value for value, character in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, position, 31) for position in range(17))
LENGTH = 18


class CodeStatus(enum.Enum):
    VALID = "valid"
    MALFORMED = "malformed"
    CHECK_MISMATCH = "check_mismatch"


def normalize(raw: str) -> str:
    """Full-width → half-width, spaces removed, upper case."""
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(
        VALUES[character] * weight for character, weight in zip(first17, WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def status(code: str) -> CodeStatus:
    """Whether a normalised code is well-formed and its check character matches."""
    if len(code) != LENGTH or any(character not in VALUES for character in code):
        return CodeStatus.MALFORMED
    return CodeStatus.VALID if code[-1] == check_character(code[:-1]) else CodeStatus.CHECK_MISMATCH


def registering_area(code: str) -> str | None:
    """Characters 3–8: the GB/T 2260 code of the area where the enterprise registered."""
    area = code[2:8]
    return area if len(area) == 6 and area.isdigit() else None
