"""The problem ledger on a tablet: 批量交办, then the officer's steps and the chief's call-back."""

import re

import pytest

from tests.browser.conftest import BROWSER_PROBLEMS, TABLET_LANDSCAPE, TABLET_PORTRAIT
from tests.browser.test_shell import CUT_OFF_CHOICES, LINK_NEAR_CORNER, NO_HORIZONTAL_SCROLL, log_in

pytestmark = pytest.mark.browser

# Whether the element comes before the one the selector finds, in the document's order.
FOLLOWED_BY = """(element, selector) => Boolean(
    element.compareDocumentPosition(document.querySelector(selector))
    & Node.DOCUMENT_POSITION_FOLLOWING)"""


def test_a_problem_from_assignment_to_closing(open_page):
    chief = open_page(TABLET_LANDSCAPE)
    log_in(chief, "chief")
    tab = chief.open("/problems/?status=new")
    for title in BROWSER_PROBLEMS:
        tab.locator("tr", has_text=title).locator("input[type=checkbox]").tap()
    tab.locator("#bulk-assignee").select_option(label="李明（洛阳市）")
    chief.screenshot("problem-ledger-1080x810")
    tab.get_by_role("button", name="交办", exact=True).tap()
    tab.locator(".alert-success", has_text="已交办 2 个问题").wait_for()
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)

    officer = open_page(TABLET_PORTRAIT)
    log_in(officer, "officer")
    mine = officer.open("/problems/mine")
    for title in BROWSER_PROBLEMS:
        assert mine.locator("tr", has_text=title).count() == 1
    title = mine.get_by_role("link", name=BROWSER_PROBLEMS[0])
    cell = mine.locator("td", has=title)
    assert cell.bounding_box()["height"] >= 44
    assert cell.evaluate(LINK_NEAR_CORNER, 6) == title.get_attribute("href")
    title.tap()
    mine.wait_for_url(re.compile(r".*/problems/\d+$"))
    problem_url = mine.url
    mine.get_by_role("button", name="签收").tap()
    # The resolution half-written, progress reported: the page comes back with it still there.
    resolution = "通过“院录企用”引进高级工程师 2 名。"
    mine.locator("#resolve-resolution").fill(resolution)
    mine.locator("#progress-note").fill("已联系市人社局人才办，约定下周面谈。")
    mine.get_by_role("button", name="报告进展").tap()
    mine.locator(".alert-success", has_text="报告进展").wait_for()
    assert (
        mine.locator("#resolve-resolution").input_value() == "通过“院录企用”引进高级工程师 2 名。"
    )
    assert mine.locator("#progress-note").input_value() == ""  # sent, so not put back
    mine.reload()  # kept once: a later visit to the page starts empty
    assert mine.locator("#resolve-resolution").input_value() == ""
    mine.locator("#resolve-resolution").fill(resolution)
    mine.get_by_role("button", name="办结").tap()
    mine.locator(".alert-success", has_text="办结").wait_for()
    assert mine.evaluate(NO_HORIZONTAL_SCROLL)
    officer.screenshot("problem-resolved-810x1080")

    page = chief.open(problem_url.removeprefix(chief.base_url))
    assert page.locator(".step-card h2").all_inner_texts() == ["回访"]  # one act, one card
    page.locator("label", has_text="基本满意").first.tap()
    page.locator("#close-comment").fill("企业表示问题已基本解决。")
    asked = []
    page.once("dialog", lambda dialog: asked.append(dialog.message) or dialog.accept())
    page.get_by_role("button", name="保存回访结果").tap()
    page.locator(".alert-success", has_text="回访销号").wait_for()
    assert "销号后不能再重新办理" in asked[0]
    history = page.locator("#history").inner_text()
    for step in ("提出问题", "交办", "签收", "报告进展", "办结", "回访销号"):
        assert step in history, step
    assert "已销号" in page.locator("header").inner_text()
    chief.screenshot("problem-closed-1080x810")
    assert chief.errors == [] and officer.errors == []


def test_the_ledger_on_a_portrait_tablet_ticks_by_the_cell(open_page):
    page = open_page(TABLET_PORTRAIT)
    log_in(page, "chief")
    tab = page.open("/problems/")  # nothing is sent: the ticks leave the data as it is
    row = tab.locator("tr", has=tab.locator(".select-hit")).first
    hit = row.locator(".select-hit").bounding_box()
    assert hit["width"] >= 40 and hit["height"] >= 40  # a finger's size, not the box's 26 px
    tab.mouse.click(hit["x"] + 3, hit["y"] + hit["height"] - 3)  # the cell's corner, off the box
    assert row.locator("input[type=checkbox]").is_checked()
    assert tab.get_by_role("columnheader", name="承办").is_visible()  # who holds each problem
    due = tab.locator("#bulk-due").bounding_box()
    assert due["width"] >= 150  # room for a whole date
    # 批量交办 comes after the rows it acts on, for Tab as for the eye; once a row is ticked it
    # stays in sight at the foot of the screen, wherever the ledger is scrolled.
    boxes = tab.locator("input[name=problem_ids]")
    assert boxes.count() >= 2
    assert boxes.last.evaluate(FOLLOWED_BY, "#bulk-assignee")
    tab.evaluate("window.scrollTo(0, 0)")
    form = tab.locator("#bulk-assign").bounding_box()
    assert form["y"] > 0 and form["y"] + form["height"] <= TABLET_PORTRAIT["height"] + 1
    page.screenshot("problem-ledger-ticked-810x1080")
    row.locator("input[type=checkbox]").focus()
    tab.keyboard.press("Space")  # untick by keyboard: the form goes back below the rows
    assert not row.locator("input[type=checkbox]").is_checked()
    assert tab.locator("#bulk-assign").bounding_box()["y"] >= TABLET_PORTRAIT["height"] - 1
    tab.keyboard.press("Space")
    assert tab.evaluate(CUT_OFF_CHOICES) == []
    page.screenshot("problem-ledger-810x1080")
    assert page.errors == []


def test_a_problem_from_the_ledger_is_recorded_after_choosing_its_enterprise(open_page):
    page = open_page(TABLET_PORTRAIT)
    log_in(page, "chief")
    tab = page.open("/problems/")
    tab.get_by_role("link", name="登记问题").tap()
    tab.locator("#q").press_sequentially("lyqh", delay=40)
    match = tab.locator("#typeahead-results a", has_text="洛阳启航必达科技有限公司")
    match.tap()
    assert tab.locator("#chosen-enterprise").inner_text() == "洛阳启航必达科技有限公司"
    tab.locator("#category").select_option("talent")
    tab.locator("#title").fill("缺少熟练数控技工")
    page.screenshot("problem-new-810x1080")
    tab.get_by_role("button", name="保存").tap()
    tab.locator(".alert-success").wait_for()
    assert "缺少熟练数控技工" in tab.locator("h1").inner_text()
    assert page.errors == []
