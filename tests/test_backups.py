"""Backups: taken while the application writes, restored into a fresh instance, the same data.

SQLite: `crm backup` / `crm restore` (the database and the attachments in one checked archive).
PostgreSQL: the README's pg_dump / pg_restore recipe, run as written."""

import io
import os
import shutil
import sqlite3
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.enterprises import operations
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.visits.models import Attachment
from tests.conftest import MENGJIN, UserInfo, code_for, log_in, make_app, migrate
from tests.test_visits import form_visit, post_form

README = Path(__file__).resolve().parents[1] / "README.md"


@contextmanager
def writing(app: Flask) -> Iterator[list[int]]:
    """Enterprises, each with its contact, committed one batch after another in a thread of
    their own until the block ends; yields the list of batches committed so far."""
    committed: list[int] = []
    stop = threading.Event()

    def write() -> None:
        with app.app_context():
            number = 0
            while not stop.is_set() and number < 100_000:
                entries = []
                for _ in range(20):
                    number += 1
                    values = {
                        "name": f"洛阳备份测试{number:05d}科技有限公司",
                        "credit_code": code_for(MENGJIN, number),
                        "county_code": MENGJIN,
                    }
                    entries.append((values, {"name": f"联系人{number}", "phone": "13800000000"}))
                operations.insert_enterprises(None, entries)
                db.session.commit()
                committed.append(number)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        while len(committed) < 3:
            stop.wait(0.01)
        yield committed
    finally:
        stop.set()
        thread.join()


def sqlite_file(app: Flask) -> Path:
    return Path(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database or "")


def invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["crm", *args])


def test_an_archive_that_cannot_be_written_is_said_so(app, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    result = invoke(app, "backup", "--out", str(blocked / "crm.tar.gz"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"无法写入 {blocked}：" in result.output


def test_commands_on_a_database_not_yet_set_up_say_what_to_do(tmp_path):
    bare = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    for args in (
        ("create-user", "--username", "a1", "--role", "admin", "--password", "Abcd1234"),
        ("create-token", "--username", "a1"),
        ("run-job", "session_cleanup"),
    ):
        result = invoke(bare, *args)
        assert result.exit_code == 1 and result.exception is not None, args
        assert "数据库尚未建表，请先运行 `flask --app crm db upgrade`。" in result.output, args


def fresh_instance(tmp_path: Path) -> Flask:
    """A new instance: its own (not yet created) database file and attachment folder."""
    folder = tmp_path / "restored"
    return make_app(f"sqlite:///{folder / 'crm.sqlite3'}", ATTACHMENT_FOLDER=str(folder / "files"))


def readme_recipe() -> tuple[str, str]:
    """The pg_dump and pg_restore lines of the README's backup section."""
    lines = README.read_text().splitlines()
    dump = next(line for line in lines if line.startswith("pg_dump "))
    restore = next(line for line in lines if line.startswith("pg_restore "))
    return dump, restore


class PostgresRecipe:
    """The README's recipe, run as written, into a database of its own."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.source = sa.make_url(url).set(drivername="postgresql")
        self.copy = self.source.set(database=f"crm_restore_{os.getpid()}")
        self.server = sa.create_engine(
            sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        self.environment = {
            **os.environ,
            "CRM_PG_URL": self.source.render_as_string(hide_password=False),
            "CRM_RESTORE_URL": self.copy.render_as_string(hide_password=False),
            "BACKUP": str(tmp_path / "crm.dump"),
        }
        self.tmp_path = tmp_path
        self._run_sql(f"DROP DATABASE IF EXISTS {self.copy.database}")
        self._run_sql(f"CREATE DATABASE {self.copy.database}")

    def _run_sql(self, statement: str) -> None:
        with self.server.connect() as connection:
            connection.exec_driver_sql(statement)

    def _run(self, command: str) -> None:
        subprocess.run(command, shell=True, check=True, env=self.environment, cwd=self.tmp_path)

    def back_up(self) -> None:
        self._run(readme_recipe()[0])

    def restore(self) -> str:
        self._run(readme_recipe()[1])
        return self.copy.set(drivername="postgresql+psycopg").render_as_string(False)

    def drop(self) -> None:
        self._run_sql(f"DROP DATABASE IF EXISTS {self.copy.database} WITH (FORCE)")
        self.server.dispose()


def table_rows(url: str) -> dict[str, list]:
    """Every table's rows in key order, read through SQLAlchemy (the same on both databases)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = {
            table.name: connection.execute(
                sa.select(table).order_by(*(table.primary_key.columns or table.columns))
            ).all()
            for table in db.metadata.sorted_tables
        }
    engine.dispose()
    return rows


def test_a_backup_taken_during_writes_restores_one_moment_of_the_data(
    app, database, client, login, create_enterprise, tmp_path
):
    login("chief")
    create_enterprise(name="洛阳备份之前科技有限公司")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    recipe = PostgresRecipe(url, tmp_path) if database.backend == "postgresql" else None
    archive = tmp_path / "backups" / "crm.tar.gz"
    try:
        with writing(app) as committed:
            before = committed[-1]
            if recipe is not None:
                recipe.back_up()
            else:
                result = invoke(app, "backup", "--out", str(archive))
                assert result.exit_code == 0, result.output
            during = committed[-1]
        if recipe is not None:
            restored_url = recipe.restore()
            refused = invoke(app, "backup", "--out", str(archive))  # SQLite's command
            assert refused.exit_code == 1 and "pg_dump" in refused.output
            assert not archive.exists()
        else:
            restored = fresh_instance(tmp_path)
            result = invoke(restored, "restore", str(archive))
            assert result.exit_code == 0, result.output
            restored_url = restored.config["SQLALCHEMY_DATABASE_URI"]
        copy, source = table_rows(restored_url), table_rows(url)
    finally:
        if recipe is not None:
            recipe.drop()

    written = [row for row in copy["enterprises"] if row.name.startswith("洛阳备份测试")]
    # One moment of the writer's: whole batches, at least those committed before the backup.
    assert before <= len(written) <= during and len(written) % 20 == 0
    assert len(copy["contacts"]) == len(written)  # no enterprise without its contact
    newest = copy["enterprises"][-1].id
    assert copy["enterprises"] == [row for row in source["enterprises"] if row.id <= newest]
    assert copy["contacts"] == [row for row in source["contacts"] if row.enterprise_id <= newest]
    for name in source.keys() - {"enterprises", "contacts"}:
        assert copy[name] == source[name], name
    assert len(copy["users"]) == 1 and len(copy["policies"]) > 5  # not empty tables alike


def rewritten(archive: Path, out: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the archive with each member's (name, bytes) passed through `change`."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(out, "w:gz") as target:
        for member in source:
            name, data = change(member.name, source.extractfile(member).read())
            info = tarfile.TarInfo(name)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    return out


def flip_last_byte(name: str, data: bytes) -> tuple[str, bytes]:
    if name.startswith("attachments/") and not name.endswith(".thumb.jpg"):
        return name, data[:-1] + bytes([data[-1] ^ 1])
    return name, data


def escape_folder(name: str, data: bytes) -> tuple[str, bytes]:
    return ("attachments/../../outside.jpg" if name.startswith("attachments/") else name), data


def change_a_row(name: str, data: bytes) -> tuple[str, bytes]:
    if name != "database.sqlite3":
        return name, data
    path = Path(os.environ["CRM_TEST_TAMPER"])
    path.write_bytes(data)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE enterprises SET name = '改过的名字'")
        connection.commit()
    return name, path.read_bytes()


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backups") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


class TestTheSQLiteArchive:
    """`crm backup` and `crm restore` on SQLite (whichever database the rest of the suite uses)."""

    @pytest.fixture
    def app(self, sqlite_template: Path, tmp_path: Path) -> Iterator[Flask]:
        shutil.copyfile(sqlite_template, tmp_path / "crm.sqlite3")
        app = make_app(f"sqlite:///{tmp_path / 'crm.sqlite3'}",
                       ATTACHMENT_FOLDER=str(tmp_path / "attachments"))  # fmt: skip
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    @pytest.fixture
    def visit_with_photo(self, app, client, login, create_enterprise) -> tuple[int, UserInfo]:
        officer = login("officer")
        enterprise = create_enterprise()
        response = post_form(client, form_visit(enterprise.id), json=True)
        assert response.status_code == 201, response.json
        return response.json["id"], officer

    def test_the_restored_instance_serves_the_same_photos(
        self, app, client, visit_with_photo, tmp_path
    ):
        visit_id, officer = visit_with_photo
        archive = tmp_path / "crm.tar.gz"
        result = invoke(app, "backup", "--out", str(archive))
        assert result.exit_code == 0 and "2 个文件" in result.output  # the photo and its thumbnail
        restored = fresh_instance(tmp_path)
        sqlite_file(restored).parent.mkdir()
        migrate(restored.config["SQLALCHEMY_DATABASE_URI"])  # as on a new server: db upgrade
        assert invoke(restored, "restore", str(archive)).exit_code == 0
        with app.app_context():
            photo = db.session.scalars(sa.select(Attachment)).one()
        browser = restored.test_client()
        log_in(browser, officer)
        for path in (f"/visits/{visit_id}/attachments/{photo.id}",
                     f"/visits/{visit_id}/attachments/{photo.id}/thumbnail"):  # fmt: skip
            original = client.get(path)
            served = browser.get(path)
            assert served.status_code == 200 and served.data == original.data
            assert len(original.data) > 500

    def test_a_restore_never_overwrites_data_unasked_and_keeps_what_it_replaces(
        self, app, create_enterprise, tmp_path
    ):
        create_enterprise(name="洛阳备份前科技有限公司")
        archive = tmp_path / "crm.tar.gz"
        assert invoke(app, "backup", "--out", str(archive)).exit_code == 0
        create_enterprise(name="洛阳备份后科技有限公司")
        target = sqlite_file(app)

        refused = invoke(app, "restore", str(archive))
        assert refused.exit_code == 1 and "--replace" in refused.output
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 2

        result = invoke(app, "restore", "--replace", str(archive))
        assert result.exit_code == 0, result.output
        with app.app_context():
            names = db.session.scalars(sa.select(Enterprise.name)).all()
        assert names == ["洛阳备份前科技有限公司"]
        (kept,) = target.parent.glob(f"{target.name}.before-restore-*[0-9]")
        with closing(sqlite3.connect(kept)) as old:
            assert old.execute("SELECT count(*) FROM enterprises").fetchone()[0] == 2

    @pytest.mark.parametrize("change", [flip_last_byte, escape_folder, change_a_row])
    def test_a_damaged_or_tampered_archive_restores_nothing(
        self, app, visit_with_photo, tmp_path, monkeypatch, change
    ):
        archive = tmp_path / "crm.tar.gz"
        assert invoke(app, "backup", "--out", str(archive)).exit_code == 0
        monkeypatch.setenv("CRM_TEST_TAMPER", str(tmp_path / "tamper.sqlite3"))
        bad = rewritten(archive, tmp_path / "bad.tar.gz", change)
        restored = fresh_instance(tmp_path)
        result = invoke(restored, "restore", str(bad))
        assert result.exit_code == 1 and "Error" in result.output
        assert not sqlite_file(restored).exists()
        assert not any(sqlite_file(restored).parent.rglob("*.jpg"))
        assert not (tmp_path / "outside.jpg").exists()

        not_an_archive = tmp_path / "notes.tar.gz"
        not_an_archive.write_bytes(b"just some text")
        assert "不是本系统的备份文件" in invoke(restored, "restore", str(not_an_archive)).output
