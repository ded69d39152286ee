"""Follow-up tasks on a tablet: a chief gives one, the officer sees the bell, opens 我的任务 and
completes it with a note, and the chief sees it done."""

import re
from datetime import timedelta

import pytest

from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT
from tests.browser.test_shell import LINK_NEAR_CORNER, NO_HORIZONTAL_SCROLL, log_in
from tests.conftest import bureau_today

pytestmark = pytest.mark.browser
TITLE = "核对高企申报材料清单"


def test_a_task_from_the_chief_to_the_officer_and_back(open_page):
    chief = open_page(TABLET_LANDSCAPE)
    log_in(chief, "chief")
    tab = chief.open("/enterprises/?q=lyqh")
    tab.get_by_role("link", name="洛阳启航必达科技有限公司").first.tap()
    tab.get_by_role("link", name="新建任务").tap()
    tab.locator("#title").fill(TITLE)
    tab.locator("#assignee_id").select_option(label="李明（洛阳市）")
    tab.locator("#due_on").fill((bureau_today() + timedelta(days=2)).isoformat())
    tab.locator("label", has_text="高").first.tap()
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    chief.screenshot("task-new-1080x810")
    tab.get_by_role("button", name="创建任务").tap()
    tab.locator(".alert-success", has_text=TITLE).wait_for()
    task_path = tab.url.removeprefix(chief.base_url)

    officer = open_page(TABLET_PORTRAIT)
    log_in(officer, "officer")
    home = officer.page
    bell = home.locator(".bell-count:visible")
    assert int(bell.get_attribute("data-unread")) >= 1
    bell.tap()
    home.wait_for_url("**/notifications/")
    assert TITLE in home.locator("#notification-list").inner_text()
    mine = officer.open("/tasks/")
    item = mine.locator(".task-item", has_text=TITLE)
    assert item.count() == 1
    assert "高优先级" in item.inner_text()
    # The task's whole text opens it; its enterprise's link still opens the enterprise.
    text = item.locator(".task-main")
    enterprise = item.get_by_role("link", name="洛阳启航必达科技有限公司")
    task_href = item.get_by_role("link", name=TITLE).get_attribute("href")
    assert text.evaluate(LINK_NEAR_CORNER, 6) == task_href
    assert enterprise.evaluate(LINK_NEAR_CORNER, 2) == enterprise.get_attribute("href")
    assert mine.evaluate(NO_HORIZONTAL_SCROLL)
    officer.screenshot("my-tasks-810x1080")
    item.get_by_placeholder("完成情况（选填）").fill("清单已发企业，约定周五前补齐。")
    item.get_by_role("button", name="完成").tap()
    mine.locator(".alert-success", has_text=TITLE).wait_for()
    assert mine.locator(".task-item", has_text=TITLE).count() == 0
    assert "清单已发企业" in mine.locator("#recently-done").inner_text()

    page = chief.open(task_path)
    assert re.search(r"/tasks/\d+$", page.url)
    assert "已完成" in page.locator("#task-status").inner_text()
    assert "清单已发企业" in page.locator("#task-outcome").inner_text()
    chief.screenshot("task-done-1080x810")
    assert chief.errors == [] and officer.errors == []


def test_cancelling_a_task_without_a_reason_is_not_asked_about_first(open_page):
    """The confirmation comes once the reason is there: not a 确定取消？ answered yes only to
    be told then that the reason is missing."""
    chief = open_page(TABLET_LANDSCAPE)
    log_in(chief, "chief")
    tab = chief.open("/enterprises/?q=lyqh")
    tab.get_by_role("link", name="洛阳启航必达科技有限公司").first.tap()
    tab.get_by_role("link", name="新建任务").tap()
    tab.locator("#title").fill("补充走访记录照片")
    tab.locator("#assignee_id").select_option(label="李明（洛阳市）")
    tab.locator("#due_on").fill((bureau_today() + timedelta(days=5)).isoformat())
    tab.get_by_role("button", name="创建任务").tap()
    tab.locator(".alert-success").wait_for()
    asked = []
    tab.on("dialog", lambda dialog: asked.append(dialog.message) or dialog.accept())
    cancel = tab.get_by_role("button", name="取消任务")
    cancel.tap()
    tab.locator("#cancel-reason.is-invalid").wait_for()
    assert asked == []
    tab.locator("#cancel-reason").fill("企业已搬离本市")
    tab.get_by_role("button", name="取消任务").tap()
    tab.locator(".alert-success").wait_for()
    assert asked == ["确定取消此任务？取消后不能恢复。"]
    assert "已取消" in tab.locator("#task-status").inner_text()
    refused = (
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    )
    assert chief.errors == [refused]  # the refusal itself, and nothing else
