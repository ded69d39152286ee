"""The UI shell on a tablet: login, home, navigation by touch, Chinese text, no CSP errors."""

import pytest

from crm.demo import DEMO_PASSWORD
from tests.browser.conftest import BOTH_TABLETS, TABLET_LANDSCAPE, TABLET_PORTRAIT

pytestmark = pytest.mark.browser

# Draws two different Chinese characters in the page's font. Without a CJK font both come out
# as the same "tofu" box, so equal pixels mean the Chinese text is not readable.
CHINESE_GLYPHS_DIFFER = """
() => {
  const font = getComputedStyle(document.body).fontFamily;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const ctx = canvas.getContext("2d");
  const draw = (text) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = `48px ${font}`;
    ctx.fillText(text, 4, 52);
    return ctx.getImageData(0, 0, 64, 64).data.join(",");
  };
  const deng = draw("登"), lu = draw("录"), missing = draw("\\u{10FFFD}");
  return deng !== lu && deng !== missing && lu !== missing;
}
"""
NO_HORIZONTAL_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
# The names of the visible selects whose chosen option does not fit the box (it reads cut off).
CUT_OFF_CHOICES = """() => {
  const pen = document.createElement("canvas").getContext("2d");
  return [...document.querySelectorAll("select")].filter((select) => {
    if (!select.offsetParent || select.multiple || select.selectedIndex < 0) return false;
    const style = getComputedStyle(select);
    pen.font = style.font;
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const room = select.clientWidth - padding;
    return pen.measureText(select.options[select.selectedIndex].text).width > room;
  }).map((select) => select.name);
}"""


def read_whole_with_longest_choices(tab, names: tuple[str, ...]) -> None:
    """Each select named chooses its longest option, and every select still reads whole."""
    for name in names:
        select = tab.locator(f"select[name={name}]")
        longest = max(select.locator("option").all_inner_texts(), key=len)
        select.select_option(label=longest)
        assert tab.evaluate(CUT_OFF_CHOICES) == [], (name, longest)


def log_in(page, username="admin"):
    page.open("/login")
    page.page.fill("#username", username)
    page.page.fill("#password", DEMO_PASSWORD)
    page.page.press("#password", "Enter")  # the keyboard works as well as a tap
    page.page.wait_for_url(page.base_url + "/")


@BOTH_TABLETS
def test_login_page_on_a_tablet(open_page, viewport):
    page = open_page(viewport)
    tab = page.open("/login")
    assert tab.locator("h1").inner_text() == "企业服务走访系统"
    assert tab.evaluate(CHINESE_GLYPHS_DIFFER)
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    assert tab.get_by_role("button", name="登录").bounding_box()["height"] >= 44
    page.screenshot(f"login-{viewport['width']}x{viewport['height']}")
    assert page.errors == []


def test_wrong_password_shows_the_chinese_error(open_page):
    page = open_page()
    tab = page.open("/login")
    tab.fill("#username", "admin")
    tab.fill("#password", "wrong-password")
    tab.get_by_role("button", name="登录").tap()
    assert tab.locator(".alert-danger").inner_text() == "用户名或密码错误。"


@BOTH_TABLETS
def test_home_page_after_login(open_page, viewport):
    page = open_page(viewport)
    log_in(page)
    tab = page.page
    assert tab.locator("h1").inner_text() == "您好，系统管理员"
    assert tab.evaluate(CHINESE_GLYPHS_DIFFER)
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    # At tablet width the navigation is spread out, not behind a menu button.
    assert tab.locator(".navbar-toggler").is_hidden()
    for item in ("首页", "企业", "政策", "管理"):
        link = tab.locator("#main-nav").get_by_text(item, exact=True).first
        assert link.is_visible()
        assert link.bounding_box()["height"] < 50  # 44 px touch target; a wrapped label is ~64
    tab.locator("#main-nav").get_by_role("button", name="管理", exact=True).tap()
    assert tab.locator("#main-nav").get_by_role("link", name="用户管理", exact=True).is_visible()
    assert tab.locator(".user-menu").inner_text().replace("\n", " ").startswith("系统管理员")
    page.screenshot(f"home-{viewport['width']}x{viewport['height']}")
    assert page.errors == []


def test_the_navigation_by_keyboard_and_every_link_named(open_page):
    page = open_page(TABLET_PORTRAIT)
    log_in(page)
    tab = page.open("/enterprises/")  # a long list: a scroll would show
    admin_menu = tab.locator("#main-nav").get_by_role("button", name="管理", exact=True)
    admin_menu.focus()
    tab.keyboard.press("Space")
    tab.locator("#main-nav .dropdown-menu.show").wait_for()
    assert tab.evaluate("window.scrollY") == 0  # Space opened the menu, not scrolled the page
    tab.keyboard.press("Escape")
    assert tab.evaluate("document.activeElement.textContent.trim()") == "管理"
    nameless = tab.evaluate(
        """() => [...document.querySelectorAll("a[href]")]
            .filter((link) => link.offsetParent && !link.innerText.trim() && !link.ariaLabel)
            .map((link) => link.outerHTML)"""
    )
    assert nameless == []  # the logo, shown as an icon alone on a tablet, included
    # A page without a page before it offers 上一页 as text, not as a link going nowhere.
    assert tab.locator(".pagination").get_by_role("link", name="上一页").count() == 0
    assert tab.locator(".pagination").get_by_text("上一页").is_visible()

    tab = page.open("/enterprises/")
    tab.keyboard.press("Tab")  # the first stop: past the navigation bar, to the page itself
    skip = tab.get_by_role("link", name="跳到正文")
    assert skip.is_visible()
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "main"
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.closest('nav') === null")
    assert skip.bounding_box()["width"] <= 1  # out of sight again once passed
    assert page.errors == []


def test_navigation_collapses_on_a_phone_and_opens_by_touch(open_page):
    page = open_page({"width": 390, "height": 844})
    log_in(page)
    tab = page.page
    admin_menu = tab.locator("#main-nav").get_by_role("button", name="管理", exact=True)
    assert admin_menu.is_hidden()
    tab.tap(".navbar-toggler")
    # Tap only once the menu has finished sliding open: mid-slide, a tap aimed at one
    # item may land on the item above it.
    tab.locator("#main-nav.collapse.show").wait_for()
    admin_menu.tap()
    tab.locator("#main-nav .dropdown-menu.show").wait_for()
    tab.locator("#main-nav").get_by_role("link", name="用户管理").tap()
    tab.wait_for_url("**/admin/users/")
    assert page.errors == []


def test_user_menu_logs_out_by_touch(open_page):
    page = open_page()
    log_in(page, "chief")
    tab = page.page
    tab.tap(".user-menu")
    tab.get_by_role("button", name="退出登录").tap()
    tab.wait_for_url("**/login")
    assert "您已安全退出。" in tab.locator(".alert").inner_text()
    assert page.errors == []


def test_deactivation_asks_for_confirmation(open_page):
    page = open_page()
    log_in(page)
    tab = page.page
    tab.goto(page.base_url + "/admin/users/")
    tab.get_by_role("link", name="孙丽").tap()
    deactivate = tab.get_by_role("button", name="停用账号")
    tab.once("dialog", lambda dialog: dialog.dismiss())
    deactivate.tap()
    assert tab.locator(".badge", has_text="启用").is_visible()  # nothing happened
    tab.once("dialog", lambda dialog: dialog.accept())
    deactivate.tap()
    tab.locator(".alert-success").wait_for()
    assert "已停用 孙丽" in tab.locator(".alert-success").inner_text()
    tab.get_by_role("button", name="重新启用").tap()
    tab.locator(".alert-success").wait_for()
    assert page.errors == []


ADMIN_PAGES = {
    "enterprises": "/enterprises/",
    "enterprise-new": "/enterprises/new",
    "enterprise": "/enterprises/1",
    "import": "/enterprises/import/",
    "policies": "/policies/",
    "users": "/admin/users/",
    "user-new": "/admin/users/new",
    "user-edit": "/admin/users/5",
    "account": "/account",
    "password": "/account/password",
    "audit": "/admin/audit/",
    "visits": "/visits/",
    "ledger": "/problems/",
    "certification": "/certification/",
    "reports": "/reports/",
    "dashboard": "/",
    "notifications": "/notifications/",
}
# Controls a finger taps smaller than 44 px (on a touch screen, which every page is opened on).
SMALL_TAPS = """() => [...document.querySelectorAll(".btn, .nav-bell, .figure-link, .page-link")]
  .filter((e) => e.offsetParent !== null)
  .filter((e) => {
    const box = e.getBoundingClientRect();
    return box.height < 43.5 || box.width < 43.5;
  })
  .map((e) => e.textContent.trim() || e.className)"""


# The link a finger lands on `inset` px inside an element's lower right corner: a row's title
# link covers its whole cell (stretched-link), not just the 19 px of its text.
LINK_NEAR_CORNER = """(e, inset) => {
  e.scrollIntoView({block: "center"});
  const box = e.getBoundingClientRect();
  const hit = document.elementFromPoint(box.right - inset, box.bottom - inset);
  return hit?.closest("a")?.getAttribute("href") ?? null;
}"""
# Short labels (a button, a badge, a column's heading, a cell of up to 8 characters such as a
# month) broken over two lines: "下/载", "2026-/10".
WRAPPED_LABELS = """() => [...document.querySelectorAll(".btn, .badge, th, td")]
  .filter((e) => e.offsetParent !== null && !e.closest(".chip")
    && (e.matches(".btn, .badge") || e.textContent.trim().length <= 8))
  .filter((e) => {
    const range = document.createRange();
    range.selectNodeContents(e);
    const boxes = [...range.getClientRects()].filter((b) => b.width > 1);  // not visually-hidden
    return boxes.some((b) => b.top >= boxes[0].bottom - 2);
  })
  .map((e) => e.textContent.trim())"""


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_every_page_fits_a_portrait_tablet(open_page, name):
    page = open_page(TABLET_PORTRAIT)
    log_in(page)
    tab = page.open(ADMIN_PAGES[name])
    assert tab.locator("h1").first.is_visible()
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    assert tab.evaluate(CUT_OFF_CHOICES) == []
    assert tab.evaluate(WRAPPED_LABELS) == []
    assert tab.evaluate(SMALL_TAPS) == []
    page.screenshot(f"{name}-810x1080")
    assert page.errors == []


# Resolves once the window has stopped scrolling (the page scrolls smoothly).
SCROLLED = """() => new Promise((done) => {
  let last = -1, still = 0;
  const frame = () => {
    still = window.scrollY === last ? still + 1 : 0;
    last = window.scrollY;
    still > 5 ? done() : requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})"""
# Where the focused control is against the sticky navigation bar: hidden under it, or clear.
UNDER_THE_NAVBAR = """() => {
  const field = document.activeElement;
  const navbar = document.querySelector(".app-navbar");
  if (navbar.contains(field)) return null;
  const under = navbar.getBoundingClientRect().bottom - field.getBoundingClientRect().top;
  return under > 1 ? (field.id || field.name || field.textContent.trim()) : "";
}"""


@BOTH_TABLETS
def test_the_keyboard_walking_back_up_a_form_is_never_under_the_navigation(open_page, viewport):
    """Shift+Tab scrolls a control to the window's top edge, where the sticky navigation bar
    would cover it; it comes to rest below the bar."""
    page = open_page(viewport)
    log_in(page, "chief")
    tab = page.open("/enterprises/new")
    tab.get_by_role("button", name="保存").last.focus()
    hidden = []
    for _ in range(30):
        tab.keyboard.press("Shift+Tab")
        tab.evaluate(SCROLLED)
        place = tab.evaluate(UNDER_THE_NAVBAR)
        if place is None:
            break  # reached the navigation itself
        if place:
            hidden.append(place)
    assert hidden == []
    assert page.errors == []


@pytest.mark.parametrize("url", ["/enterprises/", "/admin/users/"])
def test_a_lists_first_cell_opens_its_record_anywhere_in_it(open_page, url):
    """A finger need not find the 19 px of the name: the whole cell is its link."""
    page = open_page(TABLET_PORTRAIT)
    log_in(page)
    tab = page.open(url)
    cell = tab.locator("tbody tr td").first
    link = cell.locator("a").first
    assert cell.bounding_box()["height"] >= 40
    assert cell.evaluate(LINK_NEAR_CORNER, 4) == link.get_attribute("href")


def test_a_form_sent_back_with_errors_starts_at_the_first_of_them(open_page):
    page = open_page(TABLET_LANDSCAPE)
    log_in(page)
    tab = page.open("/admin/users/new")
    tab.locator("#username").fill("zhaoliu")
    tab.get_by_role("button", name="创建用户").tap()
    tab.locator(".is-invalid").first.wait_for()
    first = tab.locator("main .is-invalid").first.get_attribute("id")
    assert tab.evaluate("document.activeElement.id") == first
    tab.evaluate(SCROLLED)
    assert tab.evaluate(UNDER_THE_NAVBAR) == ""  # and in sight
    assert page.errors == []


def test_a_new_api_token_is_copied_by_one_tap(open_page):
    """Shown once: a tap on 复制 puts it on the clipboard (on HTTPS, or this machine)."""
    page = open_page()
    page.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, "officer")
    tab = page.open("/account")
    tab.get_by_label("令牌名称").fill("台账同步")
    tab.get_by_role("button", name="生成令牌").tap()
    token = tab.locator("#new-token").inner_text()
    copy = tab.get_by_role("button", name="复制")
    assert copy.bounding_box()["height"] >= 43.5
    copy.tap()
    tab.get_by_role("button", name="已复制").wait_for()
    assert tab.evaluate("navigator.clipboard.readText()") == token
    assert page.errors == []
