"""Photos of a need: checked and cleaned with Pillow before they are kept.

An upload is opened as an image whatever its name or declared type says; only JPEG, PNG and WebP are
taken, up to ``MAX_PHOTO_BYTES`` and ``MAX_PIXELS`` (a small file that would decode into gigabytes — a
decompression bomb — is refused before it is decoded). The image is then turned upright by its EXIF
orientation, scaled down to ``MAX_SIDE`` and encoded again: what is kept carries no metadata, so no GPS
position of a resident's home leaves with it. The GPS position is read first, though, and handed back:
a snapshot taken in the street (随手拍) places its need (``dispatch.addresses.locate_point``). Each photo is kept
with a thumbnail for lists, named by the hash of the kept bytes, in a :class:`PhotoStore` — a folder under the
instance by default (``SANKU_PHOTO_DIR``), an object store if one replaces it; a row of ``need_photos`` ties each
to its need.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.config import setting
from core.errors import InvalidData
from models import Need, NeedPhoto, User, utcnow

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is already more than any phone takes
MAX_SIDE = 2560  # pixels on the longer side of what is kept
THUMB_SIDE = 480  # and of its thumbnail
MAX_PHOTOS_PER_NEED = 4
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
FIELD = "photo"


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    thumbnail: bytes
    position: tuple[float, float] | None  # (lng, lat) from the photo's GPS, read before it was stripped


class PhotoStore(Protocol):
    """Where photo files live: ``put`` keeps bytes under a name (the same bytes twice are one file), ``get``
    gives them back (None if absent), ``listing`` names every file with when it was written."""

    def put(self, name: str, data: bytes) -> None: ...

    def get(self, name: str) -> bytes | None: ...

    def delete(self, name: str) -> None: ...

    def listing(self) -> list[tuple[str, datetime]]: ...


class FolderStore:
    """A folder on disk; each file written whole or not at all (a temporary file renamed into place)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, name: str, data: bytes) -> None:
        _write(self.folder, name, data)

    def get(self, name: str) -> bytes | None:
        path = self.folder / name
        return path.read_bytes() if path.is_file() and path.parent == self.folder else None

    def delete(self, name: str) -> None:
        path = self.folder / name
        if path.parent == self.folder:
            path.unlink(missing_ok=True)

    def listing(self) -> list[tuple[str, datetime]]:
        if not self.folder.is_dir():
            return []
        with os.scandir(self.folder) as entries:
            return [(e.name, datetime.fromtimestamp(e.stat().st_mtime, UTC).replace(tzinfo=None))
                    for e in entries if e.is_file()]


def _refuse(message: str) -> InvalidData:
    return InvalidData(fields={FIELD: [message]})


def clean_photo(data: bytes) -> CleanPhoto:
    """The upload as an image fit to keep; 422 on the ``photo`` field for anything else."""
    if not data:
        raise _refuse("照片是空文件，请重新选择")
    if len(data) > MAX_PHOTO_BYTES:
        raise _refuse(f"照片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                if kind not in FORMATS:
                    raise _refuse("只能上传 JPEG、PNG 或 WebP 格式的照片")
                if probe.width * probe.height > MAX_PIXELS:
                    raise _refuse("照片像素过多，请换一张或缩小后再上传")
                probe.verify()  # a truncated or corrupt file fails here, before decoding
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse("无法识别为图片，请上传 JPEG、PNG 或 WebP 格式的照片") from None
    except (OSError, SyntaxError, ValueError):
        raise _refuse("照片文件已损坏，请重新选择") from None
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    content_type, extension = FORMATS[kind]
    small = upright.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE))
    return CleanPhoto(_encode(upright, kind), content_type, extension, upright.width, upright.height,
                      thumbnail=_encode(small, kind), position=gps_position(data))


def _encode(image: Image.Image, kind: str) -> bytes:
    """The image alone, encoded afresh: no EXIF, no GPS, no comments go with it."""
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif kind == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=85)
    return out.getvalue()


def _degrees(value: Any) -> float:
    d, m, s = (float(part) for part in value)
    return d + m / 60 + s / 3600


def gps_position(data: bytes) -> tuple[float, float] | None:
    """(lng, lat) of the photo's EXIF GPS, if it has a usable one."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            gps = image.getexif().get_ifd(0x8825)  # GPSInfo
        if not gps or 2 not in gps or 4 not in gps:
            return None
        lat, lng = _degrees(gps[2]), _degrees(gps[4])
    except (OSError, ValueError, TypeError, ZeroDivisionError):
        return None
    lat = -lat if str(gps.get(1, "N")).upper().startswith("S") else lat
    lng = -lng if str(gps.get(3, "E")).upper().startswith("W") else lng
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat == 0 and lng == 0):
        return None
    return round(lng, 6), round(lat, 6)


def photo_store() -> PhotoStore:
    return FolderStore(Path(str(setting("PHOTO_DIR"))))


def thumbnail_name(photo: NeedPhoto) -> str:
    return _thumbnail_of(photo.stored_name)


def _thumbnail_of(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return f"{stem}.thumb{dot}{extension}"


def forget_photos(session: Session, need_ids: list[int]) -> int:
    """Delete the photos of these needs: their rows now, and their files (and thumbnails) once the transaction
    commits — only the files no other need still uses (a file is named by its content). How many photos."""
    rows = list(session.scalars(select(NeedPhoto).where(NeedPhoto.need_id.in_(need_ids))))
    names = {r.stored_name for r in rows}
    for row in rows:
        session.delete(row)
    session.flush()
    still_used = set(session.scalars(select(NeedPhoto.stored_name).where(NeedPhoto.stored_name.in_(names))))
    gone = [n for n in names if n not in still_used]
    if gone:
        files = [f for name in gone for f in (name, _thumbnail_of(name))]
        event.listen(session, "after_commit", lambda _session: remove_files(files), once=True)
    return len(rows)


# A photo's files are written before its row is committed (so a backup's dump never names a missing file): a request
# that then fails leaves them behind, named by no row. Older than this, no request in flight can still commit them.
STRAY_FILE_GRACE = timedelta(hours=1)


def stray_files(session: Session) -> list[str]:
    """Files of the photo store that no photo names (a failed upload's photo and thumbnail, a temporary file a
    crash left), written more than ``STRAY_FILE_GRACE`` ago (by the real clock: it is about requests in flight)."""
    kept = set(session.scalars(select(NeedPhoto.stored_name)))
    cutoff = utcnow() - STRAY_FILE_GRACE

    def photo_of(name: str) -> str:
        stem, dot, extension = name.rpartition(".")
        return f"{stem.removesuffix('.thumb')}{dot}{extension}"
    return sorted(name for name, written in photo_store().listing()
                  if written < cutoff and photo_of(name) not in kept)


def remove_files(names: list[str]) -> None:
    store = photo_store()
    for name in names:
        store.delete(name)


def photo_bytes(photo: NeedPhoto, *, thumbnail: bool = False) -> bytes | None:
    return photo_store().get(thumbnail_name(photo) if thumbnail else photo.stored_name)


def _write(folder: Path, name: str, data: bytes) -> None:
    """Written whole or not at all (a temporary file renamed into place); the same bytes twice are one file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():
        os.utime(target)  # in use again: retention must not take it for a failed upload's file (stray_files)
        return
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def attach_photo(session: Session, need: Need, photo: CleanPhoto, actor: User | None) -> NeedPhoto:
    """Keep a cleaned photo (:func:`clean_photo`) as one of ``need``'s (at most ``MAX_PHOTOS_PER_NEED``)."""
    count = len(session.scalars(select(NeedPhoto.id).where(NeedPhoto.need_id == need.id)).all())
    if count >= MAX_PHOTOS_PER_NEED:
        raise _refuse(f"每条需求最多 {MAX_PHOTOS_PER_NEED} 张照片")
    name = hashlib.sha256(photo.data).hexdigest() + photo.extension
    store = photo_store()
    store.put(name, photo.data)
    row = NeedPhoto(need_id=need.id, stored_name=name, content_type=photo.content_type, width=photo.width,
                    height=photo.height, size_bytes=len(photo.data), uploaded_by_id=actor.id if actor else None)
    store.put(thumbnail_name(row), photo.thumbnail)
    session.add(row)
    session.flush()
    return row


def photos_of(session: Session, need: Need) -> list[NeedPhoto]:
    return list(session.scalars(select(NeedPhoto).where(NeedPhoto.need_id == need.id).order_by(NeedPhoto.id)))
