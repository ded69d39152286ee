"""The certification pipeline on a tablet: the eligibility check on an enterprise, a case opened
and moved across the board to "submitted", the chief records the certificate, and the
enterprise page shows it."""

import re

import pytest

from crm.certification.operations import certificate_valid_until
from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT
from tests.browser.test_shell import NO_HORIZONTAL_SCROLL, log_in
from tests.conftest import bureau_today

pytestmark = pytest.mark.browser
QIHANG = "洛阳启航必达科技有限公司"


def fully_inside(inner, outer) -> bool:
    box, frame = inner.bounding_box(), outer.bounding_box()
    return frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]


def test_from_eligibility_to_certificate(open_page):
    officer = open_page(TABLET_PORTRAIT)
    log_in(officer, "officer")
    tab = officer.open("/enterprises/?q=lyqh")
    tab.get_by_role("link", name=QIHANG).first.tap()
    tab.get_by_role("link", name="资格测评").tap()
    tab.locator("#eligibility-result").wait_for()
    tab.locator("#staff").fill("80")
    tab.locator("#tech_staff").fill("12")
    tab.get_by_role("button", name="测评").tap()
    tab.wait_for_url("**check=1**")
    assert "科技人员占比 15.0%" in tab.locator('[data-key="tech_staff_ratio"]').inner_text()
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    officer.screenshot("eligibility-810x1080")
    tab.get_by_role("link", name="纳入培育").first.tap()
    tab.locator("#batch").fill("2026年第二批")
    tab.get_by_role("button", name="纳入培育").tap()
    tab.locator(".alert-success", has_text="已纳入培育").wait_for()

    board = officer.open("/certification/?programme=high_tech")
    asked = []  # a move from the board asks first: a case never moves back
    board.on("dialog", lambda dialog: asked.append(dialog.message) or dialog.accept())
    for stage in ("培育辅导", "材料准备"):
        card = board.locator(".kanban-card", has_text=QIHANG)
        card.get_by_role("button", name="转入阶段").tap()
        card.get_by_role("button", name=stage).tap()
        board.locator(".alert-success", has_text=stage).wait_for()
    assert len(asked) == 2 and all("不能退回" in question for question in asked)
    # 已申报 goes to the case's page, where its date is given.
    card = board.locator(".kanban-card", has_text=QIHANG)
    card.get_by_role("button", name="转入阶段").tap()
    card.get_by_role("link", name="已申报…").tap()
    board.locator("#submitted-on").fill("2026-11-20")
    board.locator("#move-submitted").get_by_role("button", name="已申报").tap()
    board.locator(".alert-success", has_text="已申报").wait_for()
    board.goto(officer.base_url + "/certification/?programme=high_tech")
    column = board.locator('.kanban-column[data-stage="submitted"]')
    assert column.locator(".kanban-card", has_text=QIHANG).count() == 1
    # Reached by the keyboard in a column scrolled partly out of sight, the card comes wholly
    # into view (the browser alone stops once a sliver of the focused link shows).
    card = column.locator(".kanban-card", has_text=QIHANG)
    card.get_by_role("link", name=QIHANG).focus()
    board.keyboard.press("Shift+Tab")
    board.locator("#kanban").evaluate("(e) => { e.scrollLeft = 0; }")
    assert not fully_inside(card, board.locator("#kanban"))
    board.keyboard.press("Tab")
    assert fully_inside(card, board.locator("#kanban"))
    officer.screenshot("certification-board-810x1080")

    chief = open_page(TABLET_LANDSCAPE)
    log_in(chief, "chief")
    board = chief.open("/certification/?programme=high_tech")
    chief.screenshot("certification-board-1080x810")
    board.locator(".kanban-card", has_text=QIHANG).get_by_role("link", name=QIHANG).tap()
    # An end stage cannot be left again: asked first, once what it needs is filled in (not
    # asked only to be refused); a no leaves the case where it was.
    asked, answer = [], ["no"]

    def reply(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if answer[0] == "yes" else dialog.dismiss()

    board.on("dialog", reply)
    board.wait_for_url(re.compile(r".*/certification/\d+$"))
    case_url = board.url
    board.locator("#move-certified").get_by_role("button", name="已认定").tap()
    board.locator("#certified-number.is-invalid").wait_for()
    assert asked == []
    board.locator("#certified-number").fill("GR202641000777")
    board.locator("#certified-on").fill(bureau_today().isoformat())
    board.locator("#move-certified").get_by_role("button", name="已认定").tap()
    board.wait_for_function("() => document.readyState === 'complete'")
    assert asked == [f"确定将{QIHANG}转入“已认定”吗？之后不能再变更阶段。"]
    board.goto(case_url)
    assert board.locator("#move-certified").count() == 1  # not moved: still to be certified
    board.locator("#certified-number").fill("GR202641000777")
    board.locator("#certified-on").fill(bureau_today().isoformat())
    answer[0] = "yes"
    board.locator("#move-certified").get_by_role("button", name="已认定").tap()
    board.locator(".alert-success", has_text="已认定").wait_for()
    valid_until = certificate_valid_until(bureau_today()).isoformat()
    assert board.locator("#valid-until").inner_text() == valid_until

    page = chief.open("/enterprises/?q=lyqh")
    page.get_by_role("link", name=QIHANG).first.tap()
    page.locator(".badge-high-tech").first.wait_for()
    assert valid_until in page.content()
    chief.screenshot("enterprise-certified-1080x810")
    refused = (
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    )
    assert chief.errors == [refused] and officer.errors == []  # the empty 已认定, and no more
