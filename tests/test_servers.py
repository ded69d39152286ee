"""Several app servers: two gunicorn instances on their own loopback ports, one database, one
Redis, one attachment folder. What a user does on one server holds on the other."""

import io
import re
import secrets
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from PIL import Image

from tests.conftest import bureau_today
from tests.servers import LOOPBACK, Server, start_server, stop, wait_until_up, write_settings

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

pytestmark = pytest.mark.slow


@pytest.fixture
def servers(app, redis_url, tmp_path) -> Iterator[tuple[Server, Server]]:
    """Two app servers with production settings (CSRF on), sharing the database of `app`, one
    Redis (throttling and cache, under a prefix of their own) and one attachment folder."""
    prefix = f"crm-servers-{secrets.token_hex(4)}"
    shared = tmp_path / "shared"
    settings = write_settings(
        tmp_path / "production.py",
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": secrets.token_hex(32),
            "RATELIMIT_STORAGE_URI": redis_url,
            "RATELIMIT_KEY_PREFIX": prefix,
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"{prefix}-cache-",
            "ATTACHMENT_FOLDER": str(shared / "attachments"),
            "REPORT_FOLDER": str(shared / "reports"),
            "IMPORT_FOLDER": str(shared / "imports"),
        },
    )
    started: list[Server] = []
    try:
        for number in (1, 2):
            started.append(start_server(settings, tmp_path / f"server-{number}.log"))
        for server in started:
            wait_until_up(server)
        yield started[0], started[1]
    finally:
        stop(started)


class Browser(requests.Session):
    """One browser: its cookies are per host, not per port, so a session made on one server
    goes along to the other. Redirects are not followed; no proxy is ever asked."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False

    def request(self, method, url, **kwargs):  # type: ignore[no-untyped-def,override]
        kwargs["allow_redirects"] = False  # Session.get asks for them: never here
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, **kwargs)


@pytest.fixture
def http() -> Iterator[Browser]:
    with Browser() as browser:
        yield browser


def csrf_token(http: Browser, url: str) -> str:
    page = http.get(url)
    assert page.status_code == 200, (url, page.status_code)
    match = TOKEN.search(page.text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def log_in(http: Browser, server: Server, username: str, password: str) -> int:
    token = csrf_token(http, f"{server.url}/login")
    response = http.post(
        f"{server.url}/login",
        data={"csrf_token": token, "username": username, "password": password},
    )
    return response.status_code


def landing(url: str, session_cookie: str) -> str:
    """Where a browser holding only this session cookie ends up when it opens `url`."""
    request = urllib.request.Request(url, headers={"Cookie": f"crm_session={session_cookie}"})
    with LOOPBACK.open(request, timeout=10) as answer:
        return answer.geturl()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_session_a_visit_and_its_photo_travel_between_servers(
    servers, http, create_user, create_enterprise
):
    one, two = servers
    officer = create_user("officer")
    enterprise = create_enterprise(name="洛阳启航必达科技有限公司")
    assert http.get(f"{two.url}/visits/mine").status_code == 302  # not signed in yet

    assert log_in(http, one, officer.username, officer.password) == 302
    mine = http.get(f"{two.url}/visits/mine")
    assert mine.status_code == 200, two.output()

    # The visit is recorded through the second server; the first serves its photo.
    token = csrf_token(http, f"{two.url}/visits/new?enterprise_id={enterprise.id}")
    client_uuid = str(uuid.uuid4())
    photo = jpeg()
    form = {
        "csrf_token": token,
        "client_uuid": client_uuid,
        "enterprise_id": str(enterprise.id),
        "visit_date": (bureau_today() - timedelta(days=1)).isoformat(),
        "mode": "onsite",
        "summary": "两台服务器之间的走访：研发投入与高企申报辅导。",
        "policy_ids": "1",
        "problems-0-category": "financing",
        "problems-0-title": "设备更新贷款贴息",
        "problems-0-description": "需要 300 万元设备贷款",
    }
    files = {"photos": ("现场.jpg", photo, "image/jpeg")}
    headers = {"Accept": "application/json"}
    created = http.post(f"{two.url}/visits/new", data=form, files=files, headers=headers)
    assert created.status_code == 201, created.text
    visit_url = created.json()["url"]
    # The tablet's retry after a lost answer reaches the other server: the same visit, once.
    again = http.post(f"{one.url}/visits/new", data=form, files=files, headers=headers)
    assert again.status_code == 200 and again.json()["url"] == visit_url

    detail = http.get(f"{one.url}{visit_url}")
    assert detail.status_code == 200 and "设备更新贷款贴息" in detail.text
    attachment = rf"{re.escape(visit_url)}/attachments/\d+(?=[\"?])"
    links = sorted(set(re.findall(attachment, detail.text)))
    assert len(links) == 1, links
    served = http.get(f"{one.url}{links[0]}")
    assert served.status_code == 200 and served.content == photo

    # Signing out on one server ends the session on both: the old cookie, kept and sent to the
    # other server afterwards (as a stolen copy would be), opens nothing there.
    cookie = http.cookies["crm_session"]
    mine = f"{two.url}/visits/mine"
    assert landing(mine, cookie) == mine  # the copy works while the session lives
    token = csrf_token(http, mine)
    assert http.post(f"{one.url}/logout", data={"csrf_token": token}).status_code == 302
    for server in (two, one):
        assert "/login" in landing(f"{server.url}/visits/mine", cookie)


def test_login_throttling_counts_across_servers(servers, http, create_user):
    """Five wrong passwords spread over both servers lock the name on both, through Redis."""
    one, two = servers
    officer = create_user("officer")
    for attempt in range(5):
        server = (one, two)[attempt % 2]
        assert log_in(http, server, officer.username, "wrong-password") == 200
    assert log_in(http, two, officer.username, officer.password) == 429
    assert log_in(http, one, officer.username, officer.password) == 429
