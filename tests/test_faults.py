"""Faults: the database restarted under load. The app recovers by itself, and no request leaves
part of its work behind.

(The other faults have their tests beside their features: an import process killed half-way in
tests/test_import.py, a scheduler killed mid-job in tests/test_scheduler.py, a tablet losing
the network mid-upload in tests/browser/test_visits.py.)"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from crm.extensions import db
from tests.conftest import YIYANG, bureau_today, code_for, make_app, migrate
from tests.servers import start_server, stop, wait_until_up, write_settings

pytestmark = pytest.mark.slow

LOAD_THREADS = 4
BEFORE, AFTER = 3.0, 6.0  # seconds of load before the restart and after it is back
RECOVERY = 3.0  # seconds after the restart within which every request must succeed again


def postgresql_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


def as_postgres(command: list) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the postgres user."""
    command = [str(part) for part in command]
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Cluster:
    """A PostgreSQL server of the test's own, so that restarting it disturbs no other test."""

    bin: Path
    data: Path
    url: str

    def pg_ctl(self, *arguments: str) -> None:
        """pg_ctl, the server's output going to its log (a pipe would be held open)."""
        log = self.data.parent / "server.log"
        command = [self.bin / "pg_ctl", "-D", self.data, "-l", log, "-w", *arguments]
        subprocess.run(as_postgres(command), check=True, capture_output=True, timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pg_bin = postgresql_bin()
    if pg_bin is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's programs are missing (/usr/lib/postgresql/*/bin)")
        pytest.skip("PostgreSQL's programs are not installed")
    folder = Path(tempfile.mkdtemp(prefix="crm-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    initdb = [pg_bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    subprocess.run(as_postgres([*initdb, "--no-locale"]), check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    running = Cluster(pg_bin, data, f"postgresql+psycopg://postgres@127.0.0.1:{port}/crm")
    running.pg_ctl("-o", options, "start")
    try:
        engine = sa.create_engine(running.url.replace("/crm", "/postgres"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("CREATE DATABASE crm")
        engine.dispose()
        migrate(running.url)
        yield running
    finally:
        subprocess.run(
            as_postgres([pg_bin / "pg_ctl", "-D", data, "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Sent:
    client_uuid: str
    started: float
    status: int  # 0: no answer at all
    retry_after: str | None = None


@dataclass
class Load:
    """Officers recording visits (two policies and a problem each) through the API and reading
    the visit list, as fast as the server answers."""

    url: str
    token: str
    enterprise_id: int
    sent: list[Sent] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def visit(self, client_uuid: str) -> dict:
        return {
            "client_uuid": client_uuid,
            "enterprise_id": self.enterprise_id,
            "visit_date": bureau_today().isoformat(),
            "mode": "onsite",
            "summary": "数据库重启期间的走访。",
            "policy_ids": [1, 3],
            "problems": [{"category": "financing", "title": "流动资金贷款"}],
        }

    def officer(self) -> None:
        with requests.Session() as http:
            http.trust_env = False  # loopback only, whatever proxy is configured
            http.headers["Authorization"] = f"Bearer {self.token}"
            while not self.stop.is_set():
                client_uuid, started = str(uuid.uuid4()), time.monotonic()
                try:
                    answer = http.post(
                        f"{self.url}/api/v1/visits", json=self.visit(client_uuid), timeout=30
                    )
                    http.get(f"{self.url}/api/v1/visits?per_page=5", timeout=30)
                except requests.RequestException:
                    self.sent.append(Sent(client_uuid, started, 0))
                    continue
                self.sent.append(
                    Sent(
                        client_uuid, started, answer.status_code, answer.headers.get("Retry-After")
                    )
                )


def seed(url: str) -> tuple[str, int]:
    """An officer of 宜阳县 with an API token, and an enterprise there."""
    from crm.auth import operations as auth_operations
    from crm.auth.models import Role
    from crm.enterprises import operations as enterprise_operations

    app = make_app(url)
    with app.app_context():
        officer = auth_operations.create_user(
            None,
            role=Role.OFFICER,
            region_code=YIYANG,
            username="officer1",
            display_name="走访干部",
            password="Officer-pass-2026",
            must_change_password=False,
        )
        _record, token = auth_operations.issue_api_token(None, officer, "负载")
        values = {
            "name": "重启测试科技有限公司",
            "county_code": YIYANG,
            "credit_code": code_for(YIYANG, 9),
        }
        enterprise = enterprise_operations.create_enterprise(None, values)
        db.session.commit()
        result = token, enterprise.id
        db.engine.dispose()
    return result


def stored(url: str) -> dict[str, tuple[int, int]]:
    """client_uuid → (policies, problems) of every stored visit."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT v.client_uuid,"
                " (SELECT count(*) FROM visit_policies p WHERE p.visit_id = v.id),"
                " (SELECT count(*) FROM problems q WHERE q.visit_id = v.id) FROM visits v"
            )
        ).all()
    engine.dispose()
    return {str(client_uuid): (policies, problems) for client_uuid, policies, problems in rows}


def trouble(log: str) -> str:
    """The server log without its successful requests: warnings, tracebacks, 5xx answers."""
    answered = re.compile(r'" [23]\d\d \d+ "')
    return "\n".join(line for line in log.splitlines() if not answered.search(line))[-8000:]


@pytest.mark.timed  # its windows of seconds hold on a machine doing nothing else
def test_the_app_recovers_by_itself_from_a_database_restart_under_load(cluster, tmp_path):
    token, enterprise_id = seed(cluster.url)
    settings = write_settings(
        tmp_path / "production.py",
        {"SQLALCHEMY_DATABASE_URI": cluster.url, "SECRET_KEY": "restart-test-" + "x" * 32},
    )
    server = start_server(settings, tmp_path / "server.log", workers=2, threads=4)
    try:
        wait_until_up(server)
        load = Load(server.url, token, enterprise_id)
        threads = [threading.Thread(target=load.officer) for _ in range(LOAD_THREADS)]
        for thread in threads:
            thread.start()
        time.sleep(BEFORE)
        cluster.pg_ctl("-m", "fast", "restart")
        back = time.monotonic()
        time.sleep(AFTER)
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        log = trouble(server.log.read_text(errors="replace"))
    finally:
        stop([server])
    visits = stored(cluster.url)
    before = [s for s in load.sent if s.started < back - 2]
    after = [s for s in load.sent if s.started > back + RECOVERY]
    failed = [s for s in load.sent if s.status != 201]
    # Load ran on both sides of the restart, and the restart was felt.
    assert len(before) >= 10 and len(after) >= 10, (len(before), len(after))
    assert {s.status for s in before} == {201}, log
    # Recovered by itself: everything sent once the database was back succeeded.
    assert {s.status for s in after} == {201}, log
    # Whatever failed failed cleanly: a 503 that asks to come back later, never a 500.
    assert {(s.status, s.retry_after) for s in failed} <= {(503, "5")}, log
    # Nothing partial: every stored visit is whole; every confirmed one is stored; a refused
    # one is either not stored or stored whole (its commit went through as the line dropped).
    assert set(visits.values()) <= {(2, 1)}
    assert {s.client_uuid for s in load.sent if s.status == 201} <= visits.keys()
    assert "Traceback" not in log


def test_a_lost_database_is_a_503_that_asks_to_come_back(app, client, login, monkeypatch):
    """Without a server to restart: a page and an API route whose query meets a dropped
    connection."""
    from crm.enterprises import api, views

    user = login("officer")

    def dropped(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(views, "render_template", dropped)
    monkeypatch.setattr(api, "searched", dropped)
    page = client.get("/enterprises/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "暂时无法连接数据库" in page.text
    answer = client.get("/api/v1/enterprises")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json["error"]["code"] == "unavailable"
    assert client.get("/api/v1/me").json["username"] == user.username  # the session goes on


def drop_next_rollback(app, monkeypatch) -> list:
    """The next rollback meets a connection the server has closed; the list it returns fills
    when it did."""
    with app.app_context():
        dialect = db.engine.dialect
    rollback, lost = dialect.do_rollback, []

    def dropped(connection):
        if not lost:
            lost.append(True)
            connection.driver_connection.close()  # as the driver does when the server goes
            raise dialect.loaded_dbapi.OperationalError("server closed the connection")
        rollback(connection)

    monkeypatch.setattr(dialect, "do_rollback", dropped)
    return lost


def test_a_connection_lost_after_the_work_still_answers(app, client, login, monkeypatch):
    """The connection dies once the request's work is done: the rollback that ends the request
    fails. The answer still goes out, and the next request gets a connection that works."""
    user = login("officer")
    lost = drop_next_rollback(app, monkeypatch)
    answer = client.get("/api/v1/me")
    assert answer.status_code == 200 and answer.json["username"] == user.username
    assert lost  # the request did end in a failed rollback
    assert client.get("/api/v1/me").json["username"] == user.username


def test_a_connection_lost_for_good_mid_request_is_still_a_503(app, client, login, monkeypatch):
    """The query fails, and so does the rollback after it: a 503 still, and the next request
    gets a connection that works."""
    from crm.enterprises import api

    user = login("officer")

    def dropped(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    with monkeypatch.context() as patched:
        patched.setattr(api, "searched", dropped)
        lost = drop_next_rollback(app, patched)
        answer = client.get("/api/v1/enterprises")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5" and lost
    assert client.get("/api/v1/me").json["username"] == user.username
