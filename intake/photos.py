"""Photos of a need: checked and cleaned with Pillow before they are kept.

An upload is opened as an image whatever its name or declared type says; only JPEG, PNG and WebP are
taken, up to ``MAX_PHOTO_BYTES`` and ``MAX_PIXELS`` (a small file that would decode into gigabytes — a
decompression bomb — is refused before it is decoded). The image is then turned upright by its EXIF
orientation, scaled down to ``MAX_SIDE`` and encoded again: what is kept carries no metadata, so no GPS
position of a resident's home leaves with it. Files are named by the hash of the kept bytes in the photo
store (``SANKU_PHOTO_DIR``); a row of ``need_photos`` ties each to its need.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import setting
from core.errors import InvalidData
from models import Need, NeedPhoto, User

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is already more than any phone takes
MAX_SIDE = 2560  # pixels on the longer side of what is kept
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
    out = io.BytesIO()
    if kind == "JPEG":
        upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif kind == "PNG":
        upright.save(out, "PNG", optimize=True)
    else:
        upright.save(out, "WEBP", quality=85)
    return CleanPhoto(out.getvalue(), content_type, extension, upright.width, upright.height)


def photo_store() -> Path:
    return Path(str(setting("PHOTO_DIR")))


def photo_path(photo: NeedPhoto) -> Path:
    return photo_store() / photo.stored_name


def _write(folder: Path, name: str, data: bytes) -> None:
    """Written whole or not at all (a temporary file renamed into place); the same bytes twice are one file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():
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
    _write(photo_store(), name, photo.data)
    row = NeedPhoto(need_id=need.id, stored_name=name, content_type=photo.content_type, width=photo.width,
                    height=photo.height, size_bytes=len(photo.data), uploaded_by_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    return row


def photos_of(session: Session, need: Need) -> list[NeedPhoto]:
    return list(session.scalars(select(NeedPhoto).where(NeedPhoto.need_id == need.id).order_by(NeedPhoto.id)))
