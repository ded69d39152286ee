"""The API under generated input (schemathesis, from /api/v1/openapi.json): with a county
officer's token and a county chief's, no answer is a server error, every answer matches the
documented schema, and none holds a record of another county.

Bounded: FUZZ_EXAMPLES generated cases per operation, each sent with both tokens.
(tests/test_access.py holds the same rule for every route, page or API, with fixed requests.)"""

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import MENGJIN, YIYANG
from tests.test_api import bearer

FUZZ_EXAMPLES = int(os.environ.get("CRM_FUZZ_EXAMPLES", "15"))
# What the API promises: no server error, and every answer (its status, content type and body)
# as documented. (A schema-valid body may still break a rule the schema cannot state, such as
# a credit code's check digit: a 422 with the field's message is the right answer there.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def tokens(app, create_user, create_token, create_enterprise) -> dict[str, str]:
    """Tokens of 宜阳县's officer and chief. 孟津区's enterprises come first: ids 1 to 5, which
    the test asks for by name besides the generated ids."""
    for number in range(1, 6):
        create_enterprise(name=f"洛阳孟津测试{number}号科技有限公司", county_code=MENGJIN)
    create_enterprise(name="洛阳宜阳测试科技有限公司", county_code=YIYANG)
    return {role: create_token(create_user(role, YIYANG)) for role in ("officer", "chief")}


def county_codes(value: Any) -> Iterator[str]:
    """Every county_code in a JSON answer, however deep."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "county_code" and isinstance(item, str):
                yield item
            else:
                yield from county_codes(item)
    elif isinstance(value, list):
        for item in value:
            yield from county_codes(item)


def holds(case, tokens: dict[str, str]) -> None:
    """Each token's answer to the case: no server error, as documented, nothing of 孟津区."""
    for role, token in tokens.items():
        # Uncompressed: the WSGI client does not unpack what Flask-Compress packs.
        response = case.call(headers={**bearer(token), "Accept-Encoding": "identity"})
        case.validate_response(response, checks=CHECKS)
        try:
            body = response.json()
        except ValueError:
            body = None  # a workbook, an empty answer
        outside = {code for code in county_codes(body) if not code.startswith(YIYANG)}
        assert not outside, f"{role} was given records of {outside}: {case.formatted_path}"


def test_the_api_holds_under_generated_input(app, tokens):
    api = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, headers=bearer(tokens["officer"])
    )
    generated = 0
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), database=None)  # fmt: skip
        def fuzz(case) -> None:
            nonlocal generated
            generated += 1
            holds(case, tokens)

        fuzz()
        # Generated ids seldom name the few records there are: ask for each of them too, and
        # for every list without a filter.
        names = [p.name for p in operation.path_parameters]
        if operation.method.upper() == "GET" and len(names) == 1:
            for ident in range(1, 8):
                holds(operation.Case(path_parameters={names[0]: ident}), tokens)
        elif operation.method.upper() == "GET" and not names:
            holds(operation.Case(query={"q": "测试"} if "q" in operation.query else {}), tokens)
    assert generated >= 20 * FUZZ_EXAMPLES
