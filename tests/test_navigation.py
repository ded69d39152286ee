"""The top bar: each role's links, the one of the page marked, the language switch; and links to
many records of one kind built once (crm.navigation.record_url)."""

import re

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from crm import MAX_RECORD_ID
from crm.navigation import record_url
from tests.conftest import log_in

LINK = re.compile(r'<a class="nav-link( active)?" href="([^"]+)"( aria-current="page")?>')
LANGUAGE_FORM = re.compile(r'<form method="post" action="/language"[^>]*>(.*?)</form>', re.S)
EVERYONE = ["/", "/enterprises/", "/visits/", "/problems/", "/certification/", "/policies/"]


def top_bar(client: FlaskClient, path: str) -> list[tuple[str, bool]]:
    """The top bar's links of the page at `path`, each with whether it is marked as the page's."""
    response = client.get(path)
    assert response.status_code == 200, path
    links = []
    for active, href, current in LINK.findall(response.text):
        assert bool(active) == bool(current), href  # the class and aria-current agree
        links.append((href, bool(active)))
    return links


@pytest.mark.parametrize(
    ("role", "own"),
    [
        ("officer", ["/tasks/"]),
        ("chief", ["/tasks/", "/reports/"]),
        ("viewer", ["/reports/"]),
        ("admin", ["/reports/"]),
    ],
)
def test_each_role_sees_the_links_it_may_follow(client, create_user, role: str, own: list[str]):
    log_in(client, create_user(role))
    hrefs = [href for href, _active in top_bar(client, "/")]
    expected = EVERYONE[:4] + (["/tasks/"] if "/tasks/" in own else []) + EVERYONE[4:]
    assert hrefs == expected + (["/reports/"] if "/reports/" in own else [])


@pytest.mark.parametrize(
    ("path", "link"),
    [
        ("/", "/"),
        ("/enterprises/import/", "/enterprises/"),  # the import pages are the enterprises'
        ("/visits/new", "/visits/"),
        ("/tasks/board", "/tasks/"),
        ("/notifications/", None),
    ],
)
def test_the_link_of_the_page_is_marked(client, create_user, path: str, link: str | None):
    log_in(client, create_user("chief"))
    marked = [href for href, active in top_bar(client, path) if active]
    assert marked == ([link] if link else [])


def test_the_language_switch_is_one_form_with_a_button_per_language(client, create_user, app):
    log_in(client, create_user("officer"))
    forms = LANGUAGE_FORM.findall(client.get("/visits/?page=2").text)
    assert len(forms) == 1
    buttons = re.findall(r'<button type="submit" name="locale" value="([^"]+)"([^>]*)>', forms[0])
    assert [code for code, _rest in buttons] == list(app.config["LANGUAGES"])
    assert [code for code, rest in buttons if "aria-current" in rest] == ["zh_CN"]
    assert 'name="next" value="/visits/?page=2"' in forms[0]

    token = re.search(r'name="csrf_token" value="([^"]+)"', forms[0]).group(1)
    answer = client.post(
        "/language", data={"csrf_token": token, "next": "/visits/?page=2", "locale": "en"}
    )
    assert answer.status_code == 302 and answer.location.endswith("/visits/?page=2")
    assert 'lang="en"' in client.get("/").text


def test_record_url_is_url_for_with_the_record_id(app: Flask):
    with app.test_request_context("/"):
        task = record_url("followups.show", "followup_id")
        complete = record_url("followups.act", "followup_id", action="complete")
        for record_id in (1, 42, MAX_RECORD_ID):
            assert task(record_id) == url_for("followups.show", followup_id=record_id)
            assert complete(record_id) == url_for(
                "followups.act", followup_id=record_id, action="complete"
            )
        assert task("17") == "/tasks/17"  # an id is written as the number it is
        with pytest.raises(ValueError):
            task("17/../../admin")
