"""Visit attachments on disk: checked by content, stored under names the server chooses.

Files live in ATTACHMENT_FOLDER (the instance folder by default), outside the web root; the
name a device gave a file is kept only to be shown and offered on download.
"""

import hashlib
import io
import unicodedata
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import filetype
from flask import current_app, g
from PIL import Image, ImageOps, UnidentifiedImageError

from crm.i18n import gettext as _
from crm.visits.models import AttachmentKind

IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
DOCUMENT_TYPES = {
    "application/pdf": (AttachmentKind.PDF, "pdf"),
    "application/msword": (AttachmentKind.OFFICE, "doc"),
    "application/vnd.ms-excel": (AttachmentKind.OFFICE, "xls"),
    "application/vnd.ms-powerpoint": (AttachmentKind.OFFICE, "ppt"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        AttachmentKind.OFFICE,
        "docx",
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        AttachmentKind.OFFICE,
        "xlsx",
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        AttachmentKind.OFFICE,
        "pptx",
    ),
}
THUMBNAIL_SIZE = (480, 480)
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; more is a decompression bomb, not a camera


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: which field it came in, the name the device gave it, its bytes."""

    field: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    kind: AttachmentKind
    content_type: str
    extension: str
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def shown_name(filename: str, extension: str = "") -> str:
    """The device's file name without paths or control characters, at most 200 characters,
    ending in `extension` (the real type's) when one is given."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    endings = (".jpg", ".jpeg") if extension == "jpg" else (f".{extension}",)
    if extension and not name.lower().endswith(endings):
        name = f"{name or 'attachment'}.{extension}"
    return name[-200:]


def check_upload(upload: Upload) -> CheckedFile:
    """The upload's real type, from its content; ValueError with a message for the user."""
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    if len(upload.data) > limit:
        raise ValueError(
            _(
                "%(name)s is larger than %(limit)d MB.",
                name=shown_name(upload.filename),
                limit=limit // (1024 * 1024),
            )
        )
    if not upload.data:
        raise ValueError(_("%(name)s is empty.", name=shown_name(upload.filename)))
    guessed = filetype.guess(upload.data)
    mime = guessed.mime if guessed else ""
    if mime in IMAGE_TYPES:
        _verify_image(upload)
        kind, extension = AttachmentKind.PHOTO, IMAGE_TYPES[mime]
    elif mime in DOCUMENT_TYPES:
        kind, extension = DOCUMENT_TYPES[mime]
    else:
        raise ValueError(
            _(
                "%(name)s is not a photo, PDF or Office document.",
                name=shown_name(upload.filename),
            )
        )
    return CheckedFile(kind, mime, extension, shown_name(upload.filename, extension), upload.data)


def _open_image(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise Image.DecompressionBombError("too many pixels")
        return image


def _verify_image(upload: Upload) -> None:
    try:
        _open_image(upload.data).verify()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise ValueError(
            _("%(name)s is not a readable picture.", name=shown_name(upload.filename))
        ) from error


def folder() -> Path:
    return Path(current_app.config["ATTACHMENT_FOLDER"])


def path_of(stored_name: str, thumbnail: bool = False) -> Path:
    """Where a stored file lives; the name always comes from the database, never from a URL."""
    name = f"{stored_name}.thumb.jpg" if thumbnail else stored_name
    base = folder().resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise ValueError("attachment path outside the attachment folder")
    return path


def store(checked: CheckedFile, today: date) -> tuple[str, bool]:
    """Write the file (and a thumbnail for photos); the stored name and whether a thumb exists."""
    stored_name = f"{today:%Y}/{today:%m}/{uuid.uuid4().hex}.{checked.extension}"
    path = path_of(stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    g.setdefault("attachments_written", []).append(stored_name)
    path.write_bytes(checked.data)
    photo = checked.kind == AttachmentKind.PHOTO
    return stored_name, photo and _make_thumbnail(checked, path_of(stored_name, thumbnail=True))


def _make_thumbnail(checked: CheckedFile, path: Path) -> bool:
    """Best effort: a photo whose thumbnail cannot be made is still kept (and shown as is)."""
    try:
        image = ImageOps.exif_transpose(_open_image(checked.data))
        image.thumbnail(THUMBNAIL_SIZE)
        image.convert("RGB").save(path, "JPEG", quality=80)
    except Exception as error:  # Pillow raises many kinds on odd EXIF or pixel data
        current_app.logger.warning("no thumbnail for %s: %s", path.name, error)
        path.unlink(missing_ok=True)
        return False
    return True


@contextmanager
def removed_on_failure() -> Iterator[None]:
    """Files stored inside the block are deleted again when it raises (nothing refers to them:
    the block's transaction did not commit)."""
    written = g.setdefault("attachments_written", [])
    first = len(written)
    try:
        yield
    except BaseException:
        remove_files(written[first:])
        del written[first:]
        raise


def remove_files(stored_names: list[str]) -> None:
    """Delete stored files (after a failed save); missing files are fine."""
    for stored_name in stored_names:
        for thumbnail in (False, True):
            path_of(stored_name, thumbnail).unlink(missing_ok=True)
