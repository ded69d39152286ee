"""Static files for a tablet on a weak network: every static URL carries a hash of the file's
content (`?v=…`), so a browser may keep it for a year and still gets a changed file at once;
text answers travel compressed (gzip).

Run as `python -m crm.assets icons` (`make icons`) to rebuild the icon subset: the tablet
downloads the few dozen Bootstrap Icons the templates use, not all two thousand."""

import hashlib
import re
import sys
from pathlib import Path

from flask import Flask, Response, current_app, request
from flask_compress import Compress

PROJECT_ROOT = Path(__file__).resolve().parents[1]
YEAR = 365 * 24 * 3600
compress = Compress()

ICONS = PROJECT_ROOT / "static" / "vendor" / "bootstrap-icons"
SUBSET = ICONS / "subset"
ICON_RULE = re.compile(r'\.bi-([a-z0-9-]+)::before\{content:"(\\[0-9a-f]+)"\}')
# Where icon names are written: templates, scripts and Python (names built in a template are
# written out whole somewhere, e.g. 'check-circle' in a conditional).
ICON_SOURCES = (("templates", "*.html"), ("static/js", "*.js"), ("crm", "*.py"))
NAME_LIKE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
QUOTED = re.compile(r"""(["'])((?:(?!\1)[^\n]){1,200})\1""")


def content_version(filename: str) -> str | None:
    """A short hash of a static file's content. A server that reloads templates (development)
    looks at the file on every URL and hashes it again once it changes; otherwise the hash is
    kept per process from the first URL on (a deploy starts new workers), without a stat() for
    each of the seven static URLs of every page."""
    versions: dict = current_app.extensions.setdefault("crm.assets", {})
    watching = current_app.debug or current_app.config.get("TEMPLATES_AUTO_RELOAD")
    if not watching and filename in versions:
        return versions[filename]
    path = Path(current_app.static_folder or "") / filename
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (filename, stat.st_mtime_ns, stat.st_size)
    if key not in versions:
        versions[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    versions[filename] = versions[key]
    return versions[key]


def version_static_urls(endpoint: str, values: dict) -> None:
    if endpoint != "static" or "filename" not in values or "v" in values:
        return
    if version := content_version(values["filename"]):
        values["v"] = version


def cache_versioned_files(response: Response) -> Response:
    """A versioned static URL never changes its content: a year, without revalidation. A 304
    (a browser that asked anyway, as Chromium does for favicons) says the same."""
    if (
        request.endpoint == "static"
        and response.status_code in (200, 304)
        and request.args.get("v")
    ):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["gzip"])
    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/plain",
            "text/csv",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/manifest+json",
            "image/svg+xml",
        ],
    )
    app.url_defaults(version_static_urls)
    app.after_request(cache_versioned_files)
    compress.init_app(app)


def icons_in_use(root: Path = PROJECT_ROOT, known: set[str] | None = None) -> set[str]:
    """The Bootstrap Icons names the product's files mention: after `bi-`, or as a word of a
    quoted string that is an icon's name."""
    known = known if known is not None else set(all_icons())
    found: set[str] = set()
    for folder, pattern in ICON_SOURCES:
        for path in (root / folder).rglob(pattern):
            text = path.read_text(encoding="utf-8")
            found.update(re.findall(r"\bbi-([a-z0-9]+(?:-[a-z0-9]+)*)", text))
            for _quote, quoted in QUOTED.findall(text):
                found.update(NAME_LIKE.findall(quoted))
    return found & known


def all_icons() -> dict[str, str]:
    """Every icon of the vendored distribution: name → its CSS escape (e.g. "\\f425")."""
    css = (ICONS / "bootstrap-icons.min.css").read_text(encoding="utf-8")
    return dict(ICON_RULE.findall(css))


def build_icon_subset() -> tuple[int, int]:
    """Write subset/bootstrap-icons.css and subset/bootstrap-icons.woff2 holding the icons in
    use; returns (icons, font bytes). Needs fonttools with brotli (the test extra)."""
    from fontTools import subset

    icons = all_icons()
    used = sorted(icons_in_use(known=set(icons)))
    codepoints = [int(icons[name].lstrip("\\"), 16) for name in used]
    SUBSET.mkdir(exist_ok=True)
    font = SUBSET / "bootstrap-icons.woff2"
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = []
    options.name_IDs = []
    options.notdef_outline = True
    source = subset.load_font(str(ICONS / "fonts" / "bootstrap-icons.woff2"), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(source)
    subset.save_font(source, str(font), options)
    css = (ICONS / "bootstrap-icons.min.css").read_text(encoding="utf-8")
    head = css[: css.index(".bi-")]
    version = hashlib.sha256(font.read_bytes()).hexdigest()[:12]
    source_url = f'src:url("bootstrap-icons.woff2?v={version}") format("woff2")}}'
    head = re.sub(r"src:url\([^}]*\}", source_url, head)
    rules = "".join(f'.bi-{name}::before{{content:"{icons[name]}"}}' for name in used)
    (SUBSET / "bootstrap-icons.css").write_text(
        f"/* Bootstrap Icons 1.13.1 (MIT), the {len(used)} icons this product uses: "
        f"made by `make icons` */\n{head}{rules}\n",
        encoding="utf-8",
    )
    return len(used), font.stat().st_size


if __name__ == "__main__":
    if sys.argv[1:] != ["icons"]:
        sys.exit("usage: python -m crm.assets icons")
    count, size = build_icon_subset()
    print(f"{count} icons, {size} bytes: {SUBSET.relative_to(PROJECT_ROOT)}")
