"""The dashboard on a tablet: the charts render and follow the window, a key figure opens the
list behind it, and the page fits landscape and portrait without sideways scrolling."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT
from tests.browser.test_shell import NO_HORIZONTAL_SCROLL, log_in

pytestmark = pytest.mark.browser
CHARTS = ("visits", "categories", "statuses", "rates", "funnel")
# The size of the canvas ECharts drew in each chart's container.
CANVAS_SIZES = """
(keys) => keys.map((key) => {
  const canvas = document.querySelector(`#chart-${key} canvas`);
  if (!canvas) return [key, 0, 0];
  const box = canvas.getBoundingClientRect();
  return [key, Math.round(box.width), Math.round(box.height)];
})
"""


def wait_for_charts(tab) -> dict[str, tuple[int, int]]:
    for key in CHARTS:
        tab.locator(f"#chart-{key} canvas").first.wait_for()
    return {key: (width, height) for key, width, height in tab.evaluate(CANVAS_SIZES, CHARTS)}


def test_the_dashboard_renders_its_charts_at_1080x810(open_page):
    chief = open_page(TABLET_LANDSCAPE)
    log_in(chief, "chief")
    tab = chief.page
    sizes = wait_for_charts(tab)
    assert all(width > 0 and height > 0 for width, height in sizes.values()), sizes
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    chief.screenshot("dashboard-1080x810")

    # Turned to portrait: the charts follow the narrower page.
    tab.set_viewport_size(TABLET_PORTRAIT)
    tab.wait_for_function(
        "(width) => document.querySelector('#chart-visits canvas')"
        ".getBoundingClientRect().width < width",
        arg=sizes["visits"][0],
    )
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    assert chief.errors == []


def test_overdue_problems_open_the_filtered_ledger(open_page):
    # Six weeks on, the demo's problems in hand have passed their due dates (the live server
    # runs in this process, so it travels too; the browser keeps its own clock).
    later = datetime.now(UTC) + timedelta(days=45)
    with time_machine.travel(later, tick=True):
        chief = open_page(TABLET_LANDSCAPE)
        log_in(chief, "chief")
        tab = chief.page
        overdue = tab.locator("#kpi-overdue_open .kpi-value")
        count = int(overdue.inner_text())
        assert count > 0
        overdue.tap()
        tab.wait_for_url(re.compile(r".*/problems/\?.*overdue=1.*"))
        assert tab.locator("#overdue").input_value() == "1"
        everything = tab.locator(".status-tabs .nav-link").first.locator(".badge")
        assert int(everything.inner_text()) == count
        assert tab.locator("tbody tr").count() == count
        chief.screenshot("dashboard-overdue-ledger-1080x810")
        assert chief.errors == []


def test_the_dashboard_fits_a_portrait_tablet(open_page):
    viewer = open_page(TABLET_PORTRAIT)
    log_in(viewer, "viewer")
    sizes = wait_for_charts(viewer.page)
    assert all(width > 0 and height > 0 for width, height in sizes.values()), sizes
    assert viewer.page.evaluate(NO_HORIZONTAL_SCROLL)
    viewer.screenshot("dashboard-810x1080")
    assert viewer.errors == []


def test_an_officer_gets_their_own_summary_on_a_tablet(open_page):
    officer = open_page(TABLET_PORTRAIT)
    log_in(officer, "officer")
    tab = officer.page
    assert tab.locator("#mine-visits .kpi-value").is_visible()
    assert tab.locator(".chart").count() == 0
    assert tab.evaluate(NO_HORIZONTAL_SCROLL)
    officer.screenshot("home-officer-810x1080")
    tab.locator("#mine-tasks-overdue .kpi-value").tap()
    tab.wait_for_url(re.compile(r".*/tasks/#group-overdue$"))
    assert officer.errors == []
