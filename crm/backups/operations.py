"""Backing up and restoring an SQLite instance: the database and the visits' attachments in one
archive, consistent while the application goes on writing.

The archive (a gzipped tar) holds `manifest.json`, `database.sqlite3` and the attachment files
under `attachments/`. The database is copied with SQLite's online backup API, in one step, so it
is one moment's state; the attachments are those that copy names, each checked against the
SHA-256 its row holds. The manifest gives, per table, the row count and a checksum of the rows;
a restore checks the database and every file against it before anything is replaced.

PostgreSQL is backed up with its own tools (pg_dump; README, 备份与恢复).
"""

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from crm.db import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import gettext as _
from crm.visits import attachments

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "database.sqlite3"
FILES = "attachments/"
DATA_TABLES = ("users", "enterprises")  # empty in a new instance, whatever the migrations add
# A stored attachment's name: YYYY/MM/<hex>.<ext>, and its thumbnail.
STORED_NAME = re.compile(r"\d{4}/\d{2}/[0-9a-f]{32}\.[a-z0-9]{1,5}(\.thumb\.jpg)?")


@dataclass
class Manifest:
    created_at: str
    schema: str | None
    tables: dict[str, dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)  # stored name → SHA-256
    missing: list[str] = field(default_factory=list)  # named by a row, not found on disk
    format: int = FORMAT

    @property
    def rows(self) -> int:
        return sum(table["rows"] for table in self.tables.values())

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=1, sort_keys=True).encode()


def database_path() -> Path:
    """The SQLite file of this instance; a refusal on any other database."""
    url = sa.make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        raise DomainError(
            _("This command backs up SQLite; back up PostgreSQL with pg_dump (see the README).")
        )
    if not url.database or url.database == ":memory:":
        raise DomainError(_("An in-memory database cannot be backed up."))
    return Path(url.database).resolve()


def table_summary(connection: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Per table: the number of rows and a SHA-256 of all of them, in key order."""
    names = [
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    summary = {}
    for name in names:
        width = len(connection.execute(f'PRAGMA table_info("{name}")').fetchall())
        order = ", ".join(str(n) for n in range(1, width + 1))
        digest, rows = hashlib.sha256(), 0
        # Names from the schema itself, quoted; positions are numbers.
        for row in connection.execute(f'SELECT * FROM "{name}" ORDER BY {order}'):  # nosec B608
            digest.update(repr(row).encode())
            rows += 1
        summary[name] = {"rows": rows, "sha256": digest.hexdigest()}
    return summary


def _schema(connection: sqlite3.Connection) -> str | None:
    try:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except sqlite3.Error:
        return None


def _stored_files(connection: sqlite3.Connection) -> Iterator[tuple[str, str | None]]:
    """(stored name, SHA-256 or None for a thumbnail) of every file the database names."""
    rows = connection.execute("SELECT stored_name, sha256, has_thumbnail FROM attachments")
    for stored_name, sha256, has_thumbnail in rows:
        yield stored_name, sha256
        if has_thumbnail:
            yield f"{stored_name}.thumb.jpg", None


def backup(out: Path) -> Manifest:
    """Write an archive of this instance to `out` (replaced only once the archive is whole)."""
    source_path = database_path()
    if not source_path.exists():
        raise DomainError(_("There is no database at %(path)s.", path=source_path))
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as work:
        copy_path = Path(work) / DATABASE
        with (
            closing(sqlite3.connect(source_path)) as source,
            closing(sqlite3.connect(copy_path)) as copy,
        ):
            source.backup(copy)  # all pages in one step: one moment's state
        with closing(sqlite3.connect(copy_path)) as copy:
            manifest = Manifest(utcnow().isoformat(), _schema(copy), table_summary(copy))
            stored = list(_stored_files(copy))
        partial = Path(work) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(copy_path, DATABASE)
            for stored_name, expected in stored:
                path = attachments.path_of(stored_name)
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    manifest.missing.append(stored_name)
                    continue
                digest = hashlib.sha256(data).hexdigest()
                if expected is not None and digest != expected:
                    manifest.missing.append(stored_name)  # not the file the row describes
                    continue
                manifest.files[stored_name] = digest
                _add_bytes(archive, FILES + stored_name, data)
            _add_bytes(archive, MANIFEST, manifest.to_json())
        os.replace(partial, out)
    return manifest


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    archive.addfile(info, io.BytesIO(data))


def restore(archive_path: Path, replace: bool = False) -> Manifest:
    """Put an archive's database and attachments in place of this instance's.

    Everything is checked against the manifest first; a database that holds data is replaced
    only with `replace`, and then kept beside the new one (`….before-restore-<time>`)."""
    target = database_path()
    if target.exists() and _holds_data(target) and not replace:
        raise DomainError(
            _(
                "The database %(path)s already holds data; restore into a new instance, or "
                "pass --replace to keep it aside and replace it.",
                path=target,
            )
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".restore-") as work:
        manifest, database, files = _unpack(archive_path, Path(work))
        db.session.remove()
        db.engine.dispose()  # no connection of this process keeps the old file open
        if target.exists():
            stamp = utcnow().strftime("%Y%m%d%H%M%S")
            for suffix in ("", "-wal", "-shm"):
                old = Path(f"{target}{suffix}")
                if old.exists():
                    os.replace(old, f"{target}.before-restore-{stamp}{suffix}")
        os.replace(database, target)
        for stored_name, unpacked in files.items():
            path = attachments.path_of(stored_name)
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(unpacked, path)  # the attachment folder may be on another disk
    return manifest


def _holds_data(path: Path) -> bool:
    """True once the instance has users or enterprises: a database just migrated holds only
    what the migrations put there (regions, the first policies)."""
    with closing(sqlite3.connect(path)) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        return any(
            connection.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone()  # nosec B608
            for name in DATA_TABLES
            if name in tables
        )


def _unpack(archive_path: Path, work: Path) -> tuple[Manifest, Path, dict[str, Path]]:
    """The archive's manifest, its database and files written under `work`, all checked."""
    database = work / DATABASE
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            manifest = _read_manifest(archive, archive_path)
            files = _extract(archive, manifest, work)
    except (OSError, EOFError, tarfile.TarError) as error:
        raise DomainError(_("%(path)s is not a backup archive.", path=archive_path)) from error
    if not database.exists():
        raise DomainError(_("The archive holds no database."))
    if set(files) != set(manifest.files):
        raise DomainError(_("Files named in the manifest are missing from the archive."))
    with closing(sqlite3.connect(database)) as connection:
        if table_summary(connection) != manifest.tables:
            raise DomainError(_("The archive's database does not match its manifest."))
    return manifest, database, files


def _extract(archive: tarfile.TarFile, manifest: Manifest, work: Path) -> dict[str, Path]:
    """Write the database and the files under `work`, only where they belong; the files."""
    files: dict[str, Path] = {}
    for member in archive:
        if member.name == MANIFEST:
            continue
        if member.name == DATABASE and member.isfile():
            _write(archive, member, work / DATABASE)
            continue
        stored_name = member.name.removeprefix(FILES)
        if not (member.isfile() and member.name.startswith(FILES)
                and STORED_NAME.fullmatch(stored_name)):  # fmt: skip
            raise DomainError(_("Unexpected entry in the archive: %(name)s", name=member.name))
        unpacked = work / "files" / stored_name
        if manifest.files.get(stored_name) != _write(archive, member, unpacked):
            raise DomainError(_("%(name)s does not match the manifest.", name=stored_name))
        files[stored_name] = unpacked
    return files


def _read_manifest(archive: tarfile.TarFile, archive_path: Path) -> Manifest:
    try:
        member = archive.getmember(MANIFEST)
        values = json.loads(archive.extractfile(member).read())  # type: ignore[union-attr]
        manifest = Manifest(**values)
    except (KeyError, AttributeError, TypeError, ValueError) as error:
        raise DomainError(_("%(path)s is not a backup archive.", path=archive_path)) from error
    if manifest.format != FORMAT:
        raise DomainError(_("This backup's format is not known to this version."))
    return manifest


def _write(archive: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> str:
    """Copy one archived file to `path`; its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    source = archive.extractfile(member)
    assert source is not None
    with source, path.open("wb") as target:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            target.write(chunk)
    return digest.hexdigest()
