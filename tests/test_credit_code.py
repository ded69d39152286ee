"""统一社会信用代码 rules (GB 32100-2015), as pure functions."""

import pytest

from crm.enterprises.credit_code import (
    ALPHABET,
    CodeStatus,
    check_character,
    normalize,
    registering_area,
    status,
)

VALID = "91350100M000100Y43"


def test_the_reference_code_is_valid():
    assert status(VALID) is CodeStatus.VALID
    assert check_character(VALID[:17]) == "3"


@pytest.mark.parametrize("position", range(18))
def test_changing_any_one_character_is_refused(position):
    for replacement in ALPHABET:
        if replacement == VALID[position]:
            continue
        changed = VALID[:position] + replacement + VALID[position + 1 :]
        assert status(changed) is not CodeStatus.VALID, changed


@pytest.mark.parametrize("letter", "IOSVZ")
def test_codes_with_letters_outside_the_alphabet_are_malformed(letter):
    for position in range(18):
        assert status(VALID[:position] + letter + VALID[position + 1 :]) is CodeStatus.MALFORMED


@pytest.mark.parametrize(
    "code", ["", "91350100M000100Y4", "91350100M000100Y433", "9135-0100M000100Y4"]
)
def test_wrong_lengths_and_characters_are_malformed(code):
    assert status(normalize(code)) is CodeStatus.MALFORMED


@pytest.mark.parametrize(
    "raw",
    [
        "91350100m000100y43",
        "９１３５０１００Ｍ０００１００Ｙ４３",
        " 9135 0100 M000 100Y43 ",
        "91350100M000100Y43\u3000",
    ],
)
def test_lower_case_full_width_and_spaced_forms_normalise(raw):
    assert normalize(raw) == VALID
    assert status(normalize(raw)) is CodeStatus.VALID


def test_a_check_character_mismatch_is_told_apart_from_a_malformed_code():
    assert status(VALID[:17] + "4") is CodeStatus.CHECK_MISMATCH


def test_registering_area_is_characters_three_to_eight():
    assert registering_area(VALID) == "350100"
    assert registering_area("91A10327MA9F4K2X3B") is None
