"""Recording a visit on a tablet: online, offline with a later sync, and a draft that survives
a reload."""

import io
import re
from datetime import datetime, time, timedelta

import pytest
from PIL import Image

from tests.browser.conftest import BOTH_TABLETS, TABLET_LANDSCAPE, Page
from tests.browser.test_shell import (
    NO_HORIZONTAL_SCROLL,
    log_in,
    read_whole_with_longest_choices,
)
from tests.conftest import bureau_today

pytestmark = pytest.mark.browser

QIHANG_NAME = "洛阳启航必达科技有限公司"
# Every control an officer taps: at least 44 px high (a finger, not a mouse).
SMALL_TARGETS = """
() => [...document.querySelectorAll(
    '#visit-form .btn, #visit-form .form-control, #visit-form .form-select')]
  .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().height < 43.5)
  .map((e) => e.outerHTML.slice(0, 80))
"""


@pytest.fixture
def photo(tmp_path):
    """A camera-sized photo (4000×3000, several MB): the form scales it down before sending."""
    path = tmp_path / "车间.jpg"
    Image.effect_noise((4000, 3000), 90).convert("RGB").save(path, "JPEG", quality=95)
    assert path.stat().st_size > 2_000_000
    return path


def choose_qihang(tab):
    box = tab.locator("#enterprise-search")
    box.tap()
    box.press_sequentially("lyqh", delay=40)
    option = tab.locator("#enterprise-results [role=option]", has_text=QIHANG_NAME)
    option.wait_for()
    option.tap()
    assert tab.locator("#chosen-name").inner_text() == QIHANG_NAME


def fill_visit(tab, summary: str, problem: str | None = None):
    choose_qihang(tab)
    tab.locator(".segmented label", has_text="座谈会").tap()
    tab.locator(".chip label", has_text="研发费用加计扣除").tap()
    tab.locator(".chip label", has_text="科技创新券").tap()
    tab.locator("#summary").fill(summary)
    if problem:
        tab.get_by_role("button", name="问题").tap()
        row = tab.locator("[data-problem-row]").last
        row.locator("select").select_option("financing")
        row.locator("input").fill(problem)


# Scaling a photo down takes 1.5 s longer: long enough to tap 保存 meanwhile.
SLOW_SCALING = """{
  const scale = window.createImageBitmap.bind(window);
  window.createImageBitmap = (...args) =>
    new Promise((wait) => setTimeout(wait, 1500)).then(() => scale(...args));
}"""


def offline_ready_form(open_page):
    """A county officer's new-visit form, once its service worker can serve it offline."""
    page = open_page()
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    tab.evaluate("navigator.serviceWorker.ready.then(() => true)")
    return page, tab


def stored_visits(tab, client_uuid: str) -> int:
    """How many stored visits carry this client_uuid (asked through the API, as the user)."""
    return len(_visits_numbered(tab, client_uuid))


def stored_visit(tab, client_uuid: str) -> dict:
    (visit,) = _visits_numbered(tab, client_uuid)
    return visit


def _visits_numbered(tab, client_uuid: str) -> list[dict]:
    answer = tab.request.get(tab.url.split("/visits")[0] + "/api/v1/visits?per_page=200").json()
    return [item for item in answer["items"] if item["client_uuid"] == client_uuid]


@BOTH_TABLETS
def test_record_a_visit_with_policies_a_problem_and_a_photo(open_page, viewport, photo):
    page = open_page(viewport)
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    fill_visit(tab, "企业计划扩建研发中心，咨询研发费用加计扣除政策。", "新建厂房贷款贴息")
    tab.set_input_files("#photos", str(photo))
    tab.locator("#attachments-preview img").wait_for()
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    assert tab.evaluate(SMALL_TARGETS) == []
    size = f"{viewport['width']}x{viewport['height']}"
    page.screenshot(f"visit-form-{size}")
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.wait_for_url(re.compile(r".*/visits/\d+$"))
    assert "新建厂房贷款贴息" in tab.locator("main").inner_text()
    assert "研发费用加计扣除" in tab.locator("main").inner_text()
    assert tab.locator(".photo-grid img").count() == 1
    original = tab.request.get(page.base_url + tab.locator(".photo-grid a").get_attribute("href"))
    sent = Image.open(io.BytesIO(original.body()))
    assert max(sent.size) == 2560 and len(original.body()) < photo.stat().st_size
    page.screenshot(f"visit-page-{size}")
    tab.go_back()  # the form again: empty, not the saved visit as if it were still unsent
    tab.wait_for_url("**/visits/new")
    assert tab.locator("#summary").input_value() == ""
    assert tab.locator("input[name=policy_ids]:checked").count() == 0
    tab.go_forward()
    tab.wait_for_url(re.compile(r".*/visits/\d+$"))
    tab.get_by_role("link", name=QIHANG_NAME).first.tap()
    tab.wait_for_url("**/enterprises/*")
    assert "座谈会" in tab.locator(".timeline").inner_text()
    assert page.errors == []


def test_files_added_while_editing_a_visit_are_stored(open_page, tmp_path, photo):
    """The edit page's script keeps the files chosen (listed, scaled down) and sends them with
    the changes, a photo still being scaled when 保存 is tapped among them. A refusal, or a
    network that fails, is told on the page and loses nothing: not the files either."""
    pdf = tmp_path / "座谈纪要.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    page = open_page()
    page.page.add_init_script(SLOW_SCALING)
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    fill_visit(tab, "回访企业，补充座谈纪要。")
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.wait_for_url(re.compile(r".*/visits/\d+$"))
    tab.get_by_role("link", name="编辑").tap()
    tab.set_input_files("#files", str(pdf))
    assert "座谈纪要.pdf" in tab.locator("#attachments-preview").inner_text()
    tab.set_input_files("#photos", str(photo))
    tab.locator("#summary").fill("")
    tab.get_by_role("button", name="保存").last.tap()  # while the photo is being scaled
    tab.locator("#summary.is-invalid").wait_for()
    assert tab.locator(".client-error").count() == 1  # beside 走访摘要, nowhere else
    assert "座谈纪要.pdf" in tab.locator("#attachments-preview").inner_text()
    assert tab.locator("#attachments-preview img").count() == 1
    tab.locator("#summary").fill("回访企业，补充座谈纪要和车间照片。")
    tab.route("**/edit", lambda route: route.abort(), times=1)
    tab.get_by_role("button", name="保存").last.tap()
    tab.locator("#form-alert", has_text="没有保存").wait_for()
    assert tab.locator("#attachments-preview li").count() == 2
    # Meanwhile the session ended and the officer logged in again in another tab: the page's
    # own token is of the ended session, and the save still goes through.
    tab.context.clear_cookies()
    again = Page(tab.context.new_page(), page.base_url)
    log_in(again, "yiyang")
    again.page.close()
    tab.get_by_role("button", name="保存").last.tap()
    tab.locator(".alert-success").wait_for()
    assert tab.get_by_role("link", name="座谈纪要.pdf").count() == 1
    assert tab.locator(".photo-grid img").count() == 1
    assert "车间照片" in tab.locator("main").inner_text()
    # Removing a file reloads the page: once something is changed, the question says so.
    tab.get_by_role("link", name="编辑").tap()
    asked = []
    tab.on("dialog", lambda dialog: asked.append(dialog.message) or dialog.dismiss())
    tab.locator("form[data-confirm-changed] button").first.tap()
    tab.locator("#summary").fill("又补充了一句。")
    tab.locator("form[data-confirm-changed] button").first.tap()
    assert "未保存的修改" not in asked[0] and "未保存的修改" in asked[1]
    assert tab.locator("#summary").input_value() == "又补充了一句。"  # dismissed: nothing sent
    # The refusal and the cut themselves, and nothing else.
    refused = (
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    )
    assert page.errors == [refused, "Failed to load resource: net::ERR_FAILED"]


def test_a_visit_recorded_offline_is_synced_once(open_page):
    page, tab = offline_ready_form(open_page)
    fill_visit(tab, "离线记录：企业反映招工难。", "缺少熟练技工")
    client_uuid = tab.locator("[name=client_uuid]").input_value()
    tab.context.set_offline(True)
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.locator("#outbox-count", has_text="待同步 1 条").wait_for()
    assert not tab.locator("#network-status").is_hidden()
    page.screenshot("visit-offline-810x1080")
    # The form is ready for the next visit, with a new number.
    assert tab.locator("[name=client_uuid]").input_value() != client_uuid
    assert tab.locator("#summary").input_value() == ""
    tab.context.set_offline(False)
    tab.locator("#outbox").wait_for(state="hidden")
    assert stored_visits(tab, client_uuid) == 1
    tab.locator("#outbox-sync").dispatch_event("click")  # nothing left to send twice
    tab.reload()
    assert tab.locator("#outbox").is_hidden()
    assert stored_visits(tab, client_uuid) == 1


@pytest.mark.parametrize("cut", ["before the server has it", "after the server stored it"])
def test_a_visit_whose_upload_loses_the_network_is_synced_once(open_page, photo, cut):
    """The network drops while a visit and its photo are on their way: either the server never
    got it, or it stored it and the answer never came back. Either way the visit waits in the
    outbox, is sent again when the network returns, and is stored once, with one photo."""
    page = open_page()
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    fill_visit(tab, "上传途中断网：企业反映流动资金紧张。", "流动资金贷款")
    tab.set_input_files("#photos", str(photo))
    tab.locator("#attachments-preview img").wait_for()
    client_uuid = tab.locator("[name=client_uuid]").input_value()
    posts = []

    def lose_the_network(route):
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.post_data_buffer)
        if len(posts) == 1 and cut == "after the server stored it":
            route.fetch()  # the server receives it all and answers; the tablet never hears
        if len(posts) == 1:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    tab.route(re.compile(r".*/visits/new$"), lose_the_network)
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.locator("#outbox-list .outbox-status", has_text="发送未成功").wait_for()
    assert tab.locator("#outbox-count").inner_text() == "待同步 1 条"
    assert len(posts[0]) > 100_000  # the photo was on its way
    assert stored_visits(tab, client_uuid) == (cut == "after the server stored it")
    tab.context.set_offline(True)
    tab.context.set_offline(False)  # the network is back: the outbox is sent by itself
    tab.locator("#outbox").wait_for(state="hidden")
    assert len(posts) == 2
    assert stored_visits(tab, client_uuid) == 1
    visit = stored_visit(tab, client_uuid)
    tab.goto(f"{page.base_url}/visits/{visit['id']}")
    assert tab.locator(".photo-grid img").count() == 1
    assert "流动资金贷款" in tab.locator("main").inner_text()
    lost = "Failed to load resource: net::ERR_INTERNET_DISCONNECTED"
    assert page.errors == [lost]  # the cut itself, and nothing else


def test_the_form_opens_without_network(open_page):
    _page, tab = offline_ready_form(open_page)
    tab.reload()  # now the service worker controls the page and has kept the form
    tab.wait_for_function("navigator.serviceWorker.controller !== null")
    first_number = tab.locator("[name=client_uuid]").input_value()
    tab.context.set_offline(True)
    tab.reload()
    assert tab.locator("#visit-form").is_visible()
    # The kept page is the same each time; each opening still gets a visit number of its own.
    assert tab.locator("[name=client_uuid]").input_value() not in ("", first_number)
    box = tab.locator("#enterprise-search")
    box.press_sequentially("lyqh", delay=40)
    tab.locator("#enterprise-results [role=option]", has_text=QIHANG_NAME).wait_for()
    assert "离线" in tab.locator("#enterprise-hint").inner_text()
    tab.context.set_offline(False)


def test_a_draft_survives_a_reload(open_page, photo):
    page = open_page(TABLET_LANDSCAPE)
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    fill_visit(tab, "正在填写的走访记录……", "研发场地不足")
    tab.locator("#people_met").fill("王总经理")
    tab.set_input_files("#photos", str(photo))
    tab.locator("#attachments-preview li").wait_for()
    tab.wait_for_timeout(600)  # the draft is saved a moment after typing stops
    tab.reload()
    tab.locator("#draft-restored").wait_for()
    # The photo could not be kept with the draft: the banner says so, not silently dropped.
    assert tab.locator("#draft-files").inner_text() == "草稿不保存照片和附件，请重新添加。"
    assert tab.locator("#summary").input_value() == "正在填写的走访记录……"
    assert tab.locator("#people_met").input_value() == "王总经理"
    assert tab.locator("#chosen-name").inner_text() == QIHANG_NAME
    assert tab.locator("[data-problem-row] input").first.input_value() == "研发场地不足"
    assert tab.locator("input[name=policy_ids]:checked").count() == 2
    assert tab.locator("input[name=mode]:checked").get_attribute("value") == "meeting"
    page.screenshot("visit-draft-restored-1080x810")
    tab.get_by_role("button", name="放弃草稿").tap()
    tab.wait_for_load_state()
    assert tab.locator("#summary").input_value() == ""
    assert page.errors == []


def test_a_draft_never_takes_the_place_of_the_enterprise_the_form_was_opened_for(open_page):
    """A draft for 启航, then the form opened from another enterprise's page: that enterprise
    stays chosen and the draft is offered, not imposed. A draft naming no enterprise is put back
    around the one chosen. Enter in a one-line field sends nothing; 取消 gives the draft up."""
    page = open_page(TABLET_LANDSCAPE)
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    choose_qihang(tab)
    tab.locator("#summary").fill("给启航的草稿")
    tab.wait_for_timeout(600)
    listed = tab.request.get(page.base_url + "/api/v1/enterprises?per_page=20").json()["items"]
    other = next(item for item in listed if item["name"] != QIHANG_NAME)
    tab = page.open(f"/visits/new?enterprise_id={other['id']}")
    tab.locator("#draft-elsewhere").wait_for()
    assert QIHANG_NAME in tab.locator("#draft-elsewhere").inner_text()
    assert tab.locator("#chosen-name").inner_text() == other["name"]
    assert tab.locator("#summary").input_value() == ""
    page.screenshot("visit-draft-elsewhere-1080x810")
    asked = []
    tab.on("dialog", lambda dialog: asked.append(dialog.message) or dialog.accept())
    tab.get_by_role("link", name="取消").tap()  # the draft only offered here is not given up
    tab.wait_for_url("**/visits/mine")
    assert asked == []
    tab = page.open(f"/visits/new?enterprise_id={other['id']}")
    tab.locator("#draft-elsewhere").wait_for()
    tab.get_by_role("button", name="打开该草稿").tap()
    assert tab.locator("#chosen-name").inner_text() == QIHANG_NAME
    assert tab.locator("#summary").input_value() == "给启航的草稿"
    tab.locator("#people_met").fill("王总")
    tab.locator("#people_met").press("Enter")
    tab.wait_for_timeout(300)
    assert tab.url.endswith(f"/visits/new?enterprise_id={other['id']}")  # nothing was sent
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.get_by_role("link", name="取消").tap()
    tab.wait_for_url("**/visits/mine")
    tab = page.open("/visits/new")
    assert tab.locator("#draft-restored").is_hidden()
    tab.locator("#people_met").fill("李经理")  # a draft naming no enterprise
    tab.wait_for_timeout(600)
    tab = page.open(f"/visits/new?enterprise_id={other['id']}")
    tab.locator("#draft-restored").wait_for()
    assert tab.locator("#chosen-name").inner_text() == other["name"]
    assert tab.locator("#people_met").input_value() == "李经理"
    assert page.errors == []


def test_what_is_missing_is_told_at_once_before_the_visit_is_kept(open_page):
    page = open_page(TABLET_LANDSCAPE)
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    tab.get_by_role("button", name="问题").tap()  # a problem row left empty
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.locator(".client-error").first.wait_for()
    told = {
        name: tab.locator(f"[name='{name}']").evaluate(
            "(e) => e.closest('.mb-3, .col-12, .col-md-4, .col-md-8, .card-body')"
            ".querySelector('.client-error')?.textContent"
        )
        for name in ("summary", "problems-0-category", "problems-0-title")
    }
    assert told == {
        "summary": "请填写走访情况。",
        "problems-0-category": "请选择问题类别。",
        "problems-0-title": "请填写问题标题。",
    }, told
    assert tab.locator(".client-error").count() == 4  # and the enterprise's
    assert tab.locator("#outbox").is_hidden()  # nothing kept to send
    assert page.errors == []


def test_the_enterprise_is_chosen_by_keyboard_and_never_by_a_closed_list(open_page):
    page = open_page()
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    box = tab.locator("#enterprise-search")
    box.focus()
    box.press_sequentially("lyqh", delay=40)
    tab.locator("#enterprise-results [role=option]", has_text=QIHANG_NAME).wait_for()
    box.press("ArrowDown")
    box.press("Enter")
    assert tab.locator("#chosen-name").inner_text() == QIHANG_NAME
    assert tab.evaluate("document.activeElement.id") == "change-enterprise"  # not lost

    tab.keyboard.press("Enter")  # 更换: back to the search box
    box.press_sequentially("科技", delay=40)
    tab.locator("#enterprise-results [role=option]").first.wait_for()
    box.press("Escape")  # the list closes (and the box empties)
    box.press("Enter")  # nothing is offered now, so nothing is chosen
    assert tab.locator("#chosen-enterprise").is_hidden()
    assert tab.locator("input[name=enterprise_id]").input_value() == ""
    assert page.errors == []


# Where the keyboard is, on the page: the focused element's box (for an input hidden behind its
# label, a chip's or a file button's, the label's) and whether the sticky save bar covers it.
FOCUS_PLACE = """() => {
  let shown = document.activeElement;
  if (shown.type === "file" || shown.classList.contains("btn-check")) {
    shown = document.querySelector(`label[for="${shown.id}"]`);
  }
  const box = shown.getBoundingClientRect();
  const bar = document.querySelector(".submit-bar");
  const covered = !bar.contains(shown) && box.bottom > bar.getBoundingClientRect().top + 1;
  return {name: shown.id || shown.name || shown.textContent.trim(), covered,
          outline: getComputedStyle(shown).outlineStyle};
}"""


@BOTH_TABLETS
def test_the_keyboard_walks_the_whole_visit_form_in_sight(open_page, viewport):
    page = open_page(viewport)
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    tab.locator("#enterprise-search").focus()
    seen = []
    for _ in range(80):
        tab.keyboard.press("Tab")
        place = tab.evaluate(FOCUS_PLACE)
        seen.append(place["name"])
        assert not place["covered"], f"{place['name']} is under the save bar"
        if place["name"] == "拍照":
            assert place["outline"] == "solid"  # the label shows where the keyboard is
        if place["name"] == "visit-submit":  # 保存走访记录, in the bar itself
            break
    assert "科技副总" in seen and "拍照" in seen and "visit-submit" in seen
    # A tap on the page itself (which focuses it: the skip link's target) scrolls nothing.
    scrolled = tab.evaluate("window.scrollY")
    tab.mouse.click(4, 300)  # the page's left padding, clear of any field
    tab.wait_for_timeout(200)
    assert tab.evaluate("window.scrollY") == scrolled
    assert page.errors == []


def test_a_queued_visit_the_server_refuses_is_kept_and_can_be_corrected(open_page):
    """What the page cannot check (a follow-up due in the past: "today" is the bureau's) is
    refused by the server when the visit is synced; the visit stays, to be corrected."""
    page = open_page()
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    fill_visit(tab, "离线记录：跟进日期填错。", "待补充")
    tab.locator("#followup_title").fill("送申报指南")
    tab.locator("#followup_due_on").fill((bureau_today() - timedelta(days=3)).isoformat())
    client_uuid = tab.locator("[name=client_uuid]").input_value()
    tab.context.set_offline(True)
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.locator("#outbox-count", has_text="待同步 1 条").wait_for()
    tab.context.set_offline(False)
    refused = tab.locator(".outbox-item .text-danger")
    refused.wait_for()
    assert "截止日期不能早于今天" in refused.inner_text()
    assert tab.locator("#outbox-count").inner_text() == "1 条待修改"  # not waiting to sync
    assert tab.locator("#outbox-sync").is_hidden()
    assert stored_visits(tab, client_uuid) == 0
    page.screenshot("visit-refused-810x1080")
    tab.locator(".outbox-item").get_by_role("button", name="修改").tap()
    assert "截止日期不能早于今天" in tab.locator("[data-errors-for=followup_due_on]").inner_text()
    assert tab.locator("#summary").input_value() == "离线记录：跟进日期填错。"
    tab.locator("#followup_due_on").fill((bureau_today() + timedelta(days=3)).isoformat())
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.wait_for_url(re.compile(r".*/visits/\d+$"))
    assert stored_visits(tab, client_uuid) == 1
    assert "送申报指南" in tab.locator("main").inner_text()
    tab.goto(page.base_url + "/visits/new")
    assert tab.locator("#outbox").is_hidden()


@BOTH_TABLETS
def test_the_visit_list_on_a_tablet(open_page, viewport):
    page = open_page(viewport)
    log_in(page, "chief")
    tab = page.open("/visits/")
    tab.get_by_label("县（区）").select_option(label="宜阳县")
    township = tab.get_by_label("乡镇（街道）")
    township.locator("option", has_text="兴宜街道").wait_for(state="attached")  # at once
    assert township.locator("option").first.inner_text() == "全部"
    tab.get_by_label("县（区）").select_option(label="孟津区")
    township.locator("option", has_text="康乐街道").wait_for(state="attached")
    assert township.locator("option", has_text="兴宜街道").count() == 0
    tab.get_by_label("县（区）").select_option(label="宜阳县")
    township.locator("option", has_text="兴宜街道").wait_for(state="attached")
    tab.get_by_role("button", name="筛选").tap()
    tab.wait_for_url("**/visits/?*county=410327*")
    rows = tab.locator(".visit-table tbody tr")
    assert rows.count() >= 1 and "宜阳县" in rows.first.inner_text()
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    read_whole_with_longest_choices(tab, ("officer", "policy", "mode", "problems"))
    page.screenshot(f"visit-list-{viewport['width']}x{viewport['height']}")
    assert page.errors == []


def test_a_form_kept_from_an_earlier_day_dates_the_visit_today(open_page):
    """Opened offline from the cache, the form was drawn days ago: its date (and the latest a
    visit may have, the earliest a follow-up may) is the device's today, not that day's."""
    page = open_page()
    log_in(page, "yiyang")
    later = bureau_today() + timedelta(days=2)
    page.page.clock.set_fixed_time(datetime.combine(later, time(10, 0)))
    tab = page.open("/visits/new")
    date = tab.locator("#visit_date")
    assert date.input_value() == date.get_attribute("max") == later.isoformat()
    assert tab.locator("#followup_due_on").get_attribute("min") == later.isoformat()
    assert not page.errors


def test_a_second_tap_on_save_while_offline_keeps_one_visit_and_no_false_errors(open_page):
    _page, tab = offline_ready_form(open_page)
    fill_visit(tab, "离线记录：连点两次保存。")
    tab.context.set_offline(True)
    save = tab.get_by_role("button", name="保存走访记录")
    save.tap()
    tab.wait_for_timeout(120)
    save.tap(force=True)  # as a finger does: on whatever the button is by then
    tab.locator("#outbox-count", has_text="待同步 1 条").wait_for()
    tab.wait_for_timeout(300)
    assert tab.locator("#visit-form .is-invalid").count() == 0
    assert tab.locator("#summary").input_value() == ""
    tab.context.set_offline(False)
    tab.locator("#outbox").wait_for(state="hidden")


def test_a_number_another_tab_saved_with_other_words_stores_this_page_too(open_page):
    """The draft came back in a second tab, which saved it first with its own changes: this
    page's visit, sent under the same number, is stored under a new one, not dropped."""
    page = open_page()
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    fill_visit(tab, "第一个页面：企业提出用地问题。")
    client_uuid = tab.locator("[name=client_uuid]").input_value()
    enterprise_id = tab.locator("[name=enterprise_id]").input_value()
    base = tab.url.split("/visits")[0]
    token = tab.request.get(base + "/visits/sync-token").json()["csrf_token"]
    other = {
        "client_uuid": client_uuid,
        "enterprise_id": int(enterprise_id),
        "visit_date": bureau_today().isoformat(),
        "mode": "onsite",
        "summary": "第二个页面：改过的内容。",
    }
    saved = tab.request.post(base + "/api/v1/visits", data=other, headers={"X-CSRFToken": token})
    assert saved.status == 201
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.wait_for_url(re.compile(r"/visits/\d+$"))
    assert "第一个页面：企业提出用地问题。" in tab.content()
    summaries = {item["summary"] for item in _visits_of_today(tab)}
    assert {"第一个页面：企业提出用地问题。", "第二个页面：改过的内容。"} <= summaries


def _visits_of_today(tab) -> list[dict]:
    base = tab.url.split("/visits")[0]
    return tab.request.get(base + "/api/v1/visits?per_page=200").json()["items"]


def test_an_expired_token_is_sent_again_and_a_body_too_large_says_what_to_do(open_page):
    """A CSRF refusal (the session changed while the visit was on its way) leaves the visit
    waiting to be sent, not to be corrected; a proxy's bare 413 tells the officer what to do."""
    page = open_page()
    log_in(page, "yiyang")
    tab = page.open("/visits/new")
    fill_visit(tab, "令牌过期后重发。")
    client_uuid = tab.locator("[name=client_uuid]").input_value()
    expired = {"error": {"code": "csrf_failed", "message": "页面已过期"}}
    tab.route(
        "**/visits/new",
        lambda route: (
            route.fulfill(status=400, json=expired)
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.locator("#outbox-list .outbox-status", has_text="发送未成功").wait_for()
    assert tab.locator("#outbox-count").inner_text() == "待同步 1 条"
    tab.unroute("**/visits/new")
    tab.locator("#outbox-sync").tap()
    tab.locator("#outbox").wait_for(state="hidden")
    assert stored_visits(tab, client_uuid) == 1
    fill_visit(tab, "附件太大。")
    tab.route(
        "**/visits/new",
        lambda route: (
            route.fulfill(status=413, body="<html>413 Request Entity Too Large</html>")
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.locator("#form-alert", has_text="请删掉一两张照片后再保存").wait_for()
    assert tab.locator("#outbox-count").inner_text() == "1 条待修改"


def test_after_an_offline_save_and_its_sync_the_page_tells_nothing_stale(open_page):
    """Once the queued visit is sent, the status line no longer says the network was down, and
    the emptied form kept no draft to announce as restored."""
    _page, tab = offline_ready_form(open_page)
    fill_visit(tab, "离线保存后再同步。")
    tab.context.set_offline(True)
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.locator("#outbox-count", has_text="待同步 1 条").wait_for()
    assert "本机" in tab.locator("#send-status").inner_text()
    tab.wait_for_timeout(600)  # past the draft's pause
    tab.context.set_offline(False)
    tab.locator("#outbox").wait_for(state="hidden")
    assert tab.locator("#send-status").inner_text() == ""
    tab.reload()
    assert tab.locator("#draft-restored").is_hidden()


def test_a_visit_not_yet_sent_is_told_on_every_page_and_in_the_outbox_says_how_it_went(
    open_page,
):
    """A visit whose send failed says when it failed; the other pages say that visits are still
    on the device and lead to the form, which sends them, saying which one is on its way."""
    page, tab = offline_ready_form(open_page)
    fill_visit(tab, "发送失败后在首页提示。")
    client_uuid = tab.locator("[name=client_uuid]").input_value()
    tab.route(re.compile(r".*/visits/new$"), lambda route: route.abort("internetdisconnected"))
    tab.get_by_role("button", name="保存走访记录").tap()
    status = tab.locator("#outbox-list .outbox-status")
    status.filter(has_text=re.compile(r"^\d\d:\d\d 发送未成功，将自动重试$")).wait_for()
    tab.unroute(re.compile(r".*/visits/new$"))
    tab.route(re.compile(r".*/visits/new$"), lambda route: route.abort("internetdisconnected"))
    tab.goto(page.base_url + "/")
    waiting = tab.locator("#outbox-waiting")
    waiting.wait_for()
    assert waiting.inner_text().strip().startswith("本设备上有 1 条走访记录尚未保存到系统。")
    page.screenshot("outbox-waiting-home-810x1080")
    tab.unroute(re.compile(r".*/visits/new$"))
    tab.add_init_script(
        """new MutationObserver(() => {
             const shown = document.querySelector("#outbox-list .outbox-status");
             (window.statuses = window.statuses || []).push(shown ? shown.textContent : "-");
           }).observe(document, { subtree: true, childList: true, characterData: true });"""
    )
    waiting.get_by_role("link", name="去发送").click()
    tab.wait_for_function("() => (window.statuses || []).includes('正在发送…')")
    tab.wait_for_function("() => window.statuses.at(-1) === '-'")  # sent: the list is empty
    assert tab.locator("#outbox").is_hidden() and stored_visits(tab, client_uuid) == 1
    tab.goto(page.base_url + "/")
    tab.wait_for_timeout(300)
    assert tab.locator("#outbox-waiting").is_hidden()
    assert [e for e in page.errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def test_a_visit_is_kept_offline_even_with_an_older_cached_app_script(open_page):
    """The page's scripts come from the tablet's cache, each refreshed on its own: a visit-form
    script newer than the app script it runs with still keeps the visit."""
    page, tab = offline_ready_form(open_page)
    tab.add_init_script(  # an app.js from before it opened the outbox for every page
        "Object.defineProperty(window, 'crmOutbox', { get: () => undefined, set: () => {} });"
    )
    tab.reload()
    assert tab.evaluate("typeof window.crmOutbox") == "undefined"
    fill_visit(tab, "旧版脚本下离线保存。")
    tab.context.set_offline(True)
    tab.get_by_role("button", name="保存走访记录").tap()
    tab.locator("#outbox-count", has_text="待同步 1 条").wait_for()
    assert page.errors == []
