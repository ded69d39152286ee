"""Finding an enterprise on a tablet and adding a contact on its page."""

import pytest

from tests.browser.conftest import BOTH_TABLETS
from tests.browser.test_shell import (
    NO_HORIZONTAL_SCROLL,
    log_in,
    read_whole_with_longest_choices,
)

pytestmark = pytest.mark.browser


@BOTH_TABLETS
def test_the_filters_read_whole_with_their_longest_choices(open_page, viewport):
    page = open_page(viewport)
    log_in(page, "chief")
    tab = page.open("/enterprises/")
    read_whole_with_longest_choices(tab, ("industry", "flag", "liaison", "not_visited", "sort"))
    page.screenshot(f"enterprise-filters-{viewport['width']}x{viewport['height']}")
    assert page.errors == []


@BOTH_TABLETS
def test_find_by_initials_open_and_add_a_contact(open_page, viewport):
    page = open_page(viewport)
    log_in(page, "yiyang")
    tab = page.open("/enterprises/")
    box = tab.locator("#q")
    box.tap()
    box.press_sequentially("lyqh", delay=60)  # as typed on the on-screen keyboard
    match = tab.locator("#typeahead-results a", has_text="洛阳启航必达科技有限公司")
    match.wait_for()
    size = f"{viewport['width']}x{viewport['height']}"
    page.screenshot(f"enterprise-typeahead-{size}")
    match.tap()
    tab.wait_for_url("**/enterprises/*")
    assert tab.locator("h1").inner_text() == "洛阳启航必达科技有限公司"
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    actions = tab.get_by_role("link", name="记录走访").bounding_box()
    facts = tab.locator(".enterprise-facts").bounding_box()
    assert facts["y"] - (actions["y"] + actions["height"]) >= 12  # the buttons do not touch them

    contacts = tab.locator("#contacts")
    phone = f"138 0379 {viewport['width']:04d}"  # each viewport adds its own contact
    contacts.get_by_label("姓名").fill("李总")
    contacts.get_by_label("职务").fill("总经理")
    contacts.get_by_label("电话").fill(phone)
    contacts.get_by_role("button", name="添加联系人").tap()
    call = tab.locator(f'#contacts a[href="tel:{phone.replace(" ", "")}"]')
    call.wait_for()
    assert "李总" in tab.locator("#contacts").inner_text()
    assert "主要" in tab.locator("#contacts").inner_text()  # the first contact is the primary one
    assert call.bounding_box()["height"] >= 40
    page.screenshot(f"enterprise-page-{size}")
    assert page.errors == []


def qihang_as_chief(open_page):
    """启航's page on a portrait tablet, signed in as the chief: (page, tab, its contacts)."""
    page = open_page()
    log_in(page, "chief")
    tab = page.open("/enterprises/?q=lyqh")
    tab.get_by_role("link", name="洛阳启航必达科技有限公司").first.tap()
    return page, tab, tab.locator("#contacts")


def test_a_bad_phone_number_is_shown_beside_the_field(open_page):
    page, _tab, contacts = qihang_as_chief(open_page)
    contacts.get_by_label("姓名").fill("王工")
    contacts.get_by_label("电话").fill("call me")
    contacts.get_by_role("button", name="添加联系人").tap()
    contacts.locator(".invalid-feedback").wait_for()
    assert "请填写电话号码" in contacts.locator(".invalid-feedback").inner_text()
    assert contacts.get_by_label("姓名").input_value() == "王工"  # nothing typed is lost
    # Chromium logs the (expected) 422 answer itself; nothing else may appear.
    assert [error for error in page.errors if "status of 422" not in error] == []


def test_township_choices_follow_the_county(open_page):
    page = open_page()
    log_in(page, "chief")
    tab = page.open("/enterprises/new")
    tab.select_option("#county_code", "410327")
    tab.locator('#township_code option[value="410327001"]').wait_for(state="attached")
    assert "兴宜街道" in tab.locator("#township_code").inner_text()
    tab.select_option("#county_code", "410308")
    tab.locator('#township_code option[value="410308002"]').wait_for(state="attached")
    assert "兴宜街道" not in tab.locator("#township_code").inner_text()
    assert page.errors == []


def test_removing_a_contact_asks_once_and_cancel_keeps_it(open_page):
    page, tab, contacts = qihang_as_chief(open_page)
    contacts.get_by_label("姓名").fill("周会计")
    contacts.get_by_label("电话").fill("138 0379 0001")
    contacts.get_by_role("button", name="添加联系人").tap()
    remove = contacts.get_by_role("button", name="删除 周会计")
    remove.wait_for()
    asked, accept = [], [False]

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept[0] else dialog.dismiss()

    tab.on("dialog", answer)
    remove.tap()
    tab.wait_for_timeout(500)  # a second question, or the removal, would come by now
    assert asked == ["确定删除联系人 周会计 吗？"]
    assert "周会计" in contacts.inner_text()  # cancelled: nothing removed

    accept[0] = True
    remove.tap()
    contacts.get_by_text("周会计").wait_for(state="detached")
    assert len(asked) == 2  # asked once more, for this second removal
    assert page.errors == []


def add_contact(contacts, name: str):
    """Add a contact by its name alone; its 编辑 link, once the card shows it."""
    contacts.get_by_label("姓名").fill(name)
    contacts.get_by_role("button", name="添加联系人").tap()
    edit = contacts.get_by_role("link", name=f"编辑 {name}")
    edit.wait_for()
    return edit


def test_a_contact_is_edited_in_place_by_keyboard(open_page):
    page, tab, contacts = qihang_as_chief(open_page)
    edit = add_contact(contacts, "吴工")
    contact_id = edit.get_attribute("href").rsplit("/", 1)[1]
    edit.focus()
    tab.keyboard.press("Enter")
    name = tab.locator(f"#contact-{contact_id}-name")
    name.wait_for()
    assert tab.evaluate("document.activeElement.id") == name.get_attribute("id")  # not lost
    ids = tab.evaluate("[...document.querySelectorAll('[id]')].map((element) => element.id)")
    assert len(ids) == len(set(ids))  # each label points at its own form's field
    tab.keyboard.press("End")
    tab.keyboard.type("程师")
    tab.keyboard.press("Enter")
    contacts.get_by_text("吴工程师").wait_for()
    assert page.errors == []


def test_a_refused_contact_edit_stays_in_its_row_and_can_be_corrected(open_page):
    page, tab, contacts = qihang_as_chief(open_page)
    edit = add_contact(contacts, "郑主任")
    contact_id = edit.get_attribute("href").rsplit("/", 1)[1]
    edit.tap()
    row = tab.locator(f"#contact-{contact_id}")
    title = row.locator(f"#contact-{contact_id}-title")
    title.evaluate("(e) => e.removeAttribute('maxlength')")
    title.fill("办" * 60)
    row.get_by_role("button", name="保存").tap()
    row.locator(".invalid-feedback").wait_for()
    assert "50" in row.locator(".invalid-feedback").inner_text()
    # The card is whole: the other contacts and the new-contact form are still there.
    assert contacts.get_by_role("button", name="添加联系人").count() == 1
    assert row.locator(f"#contact-{contact_id}-name").input_value() == "郑主任"
    title.fill("办公室主任")
    row.get_by_role("button", name="保存").tap()
    contacts.get_by_text("办公室主任").wait_for()
    assert [error for error in page.errors if "status of 422" not in error] == []


def test_a_contact_edited_on_its_own_page_is_saved(open_page):
    page, _tab, contacts = qihang_as_chief(open_page)
    edit = add_contact(contacts, "钱经理")
    own = page.open(edit.get_attribute("href"))  # as a link opened in a new tab would be
    own.get_by_label("职务").fill("财务经理")
    own.get_by_role("button", name="保存").tap()
    own.wait_for_url("**/enterprises/*")
    assert "财务经理" in own.locator("#contacts").inner_text()
    assert page.errors == []
