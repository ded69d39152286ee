"""Static files named by their content and kept for a year; text compressed; the icon subset
holding every icon the product names."""

import gzip
import hashlib
import re
from pathlib import Path

from flask import url_for

from crm import assets
from crm.assets import ICON_RULE, PROJECT_ROOT, SUBSET, all_icons, icons_in_use

STATIC = Path(__file__).resolve().parents[1] / "static"


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_static_urls_carry_their_content_hash_and_are_kept_for_a_year(client, login):
    login()
    page = client.get("/visits/new")
    urls = static_urls(page.text)
    assert any("bootstrap.min.css" in url for url in urls)
    for url in urls:
        path, _, version = url.partition("?v=")
        content = (STATIC / path.removeprefix("/static/")).read_bytes()
        assert version == hashlib.sha256(content).hexdigest()[:12], url
        answer = client.get(url)
        assert answer.status_code == 200
        assert answer.cache_control.max_age == assets.YEAR
        assert answer.cache_control.immutable and not answer.cache_control.no_cache
        # A browser that asks again anyway (Chromium for its favicon) is told the same.
        again = client.get(url, headers={"If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304 and again.cache_control.immutable, url
    # Without a version (the service worker's own list) a file is revalidated as before.
    plain = client.get("/static/js/app.js")
    assert plain.cache_control.max_age is None and plain.cache_control.no_cache


def test_a_changed_file_gets_a_new_url_where_templates_reload(app, tmp_path):
    app.static_folder = str(tmp_path)
    app.config["TEMPLATES_AUTO_RELOAD"] = True
    (tmp_path / "a.js").write_text("one")
    with app.test_request_context():
        first = url_for("static", filename="a.js")
        (tmp_path / "a.js").write_text("two, longer")
        second = url_for("static", filename="a.js")
        missing = url_for("static", filename="missing.js")
    assert first != second and "?v=" in second
    assert missing == "/static/missing.js"


def test_a_served_version_is_kept_by_the_process_in_production(app, tmp_path):
    """Without template reloading the hash is taken once per file: a deploy starts new workers,
    and no page pays a stat() per static URL."""
    app.static_folder = str(tmp_path)
    app.config["TEMPLATES_AUTO_RELOAD"] = False
    (tmp_path / "a.js").write_text("one")
    with app.test_request_context():
        first = url_for("static", filename="a.js")
        (tmp_path / "a.js").unlink()
        again = url_for("static", filename="a.js")
    assert again == first and first.endswith(hashlib.sha256(b"one").hexdigest()[:12])


def test_text_travels_gzipped_and_files_as_they_are(client, login):
    login()
    page = client.get("/visits/new", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in page.headers["Vary"]
    html = gzip.decompress(page.data).decode()
    assert "visit-form" in html
    assert len(page.data) * 3 < len(html.encode())
    css = next(url for url in static_urls(html) if "bootstrap.min.css" in url)
    answer = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert answer.headers["Content-Encoding"] == "gzip"
    original = (STATIC / "vendor/bootstrap/bootstrap.min.css").read_bytes()
    assert gzip.decompress(answer.data) == original
    font = client.get(
        "/static/vendor/bootstrap-icons/subset/bootstrap-icons.woff2",
        headers={"Accept-Encoding": "gzip"},
    )
    assert "Content-Encoding" not in font.headers  # already compressed
    unasked = client.get("/visits/new")
    assert "Content-Encoding" not in unasked.headers


def test_the_icon_subset_holds_every_icon_the_product_names():
    used = icons_in_use()
    assert {"house", "person-walking", "check-circle", "x-circle", "alarm"} <= used
    subset = dict(ICON_RULE.findall((SUBSET / "bootstrap-icons.css").read_text()))
    missing = sorted(used - subset.keys())
    assert not missing, f"icons missing from the subset, run `make icons`: {missing}"
    icons = all_icons()
    assert all(icons[name] == code for name, code in subset.items())
    assert (SUBSET / "bootstrap-icons.woff2").stat().st_size < 20_000


def test_icon_names_are_written_whole():
    """The subset holds the names the files mention: a name put together from pieces
    (bi-arrow-{{ direction }}) is never found, and its icon is left out of the font."""
    pieced = re.compile(r"\bbi-[a-z0-9-]+(\{\{|\$\{)")
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for folder, pattern in (("templates", "*.html"), ("static/js", "*.js"))
        for path in (PROJECT_ROOT / folder).rglob(pattern)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pieced.search(line)
    ]
    assert offenders == []


def test_a_new_icon_name_is_found(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "x.html").write_text(
        '<i class="bi bi-rocket"></i> {{ "trophy" if won else "emoji-frown text-muted" }}'
    )
    found = icons_in_use(tmp_path)
    assert found == {"rocket", "trophy", "emoji-frown"}
