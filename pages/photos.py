"""A need's photos, to whoever may see the need (``access.policy``): never cached, never public."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import select

from access.audit import record_access
from access.auth import signed_in
from access.policy import get_visible_need
from core.database import db_session
from core.errors import NotFound
from intake.photos import photo_bytes
from models import NeedPhoto
from web.routes import SIGNED_IN, allow

bp = Blueprint("photos", __name__)


@bp.get("/needs/<int:id_>/photos/<int:photo_id>")
@allow(*SIGNED_IN)
def photo(id_: int, photo_id: int) -> Any:
    session = db_session()
    user = signed_in()
    need = get_visible_need(session, user, id_)
    row = session.scalar(select(NeedPhoto).where(NeedPhoto.id == photo_id, NeedPhoto.need_id == need.id))
    data = photo_bytes(row, thumbnail=request.args.get("size") == "thumb") if row is not None else None
    if row is None or data is None:
        raise NotFound("找不到这张照片")
    record_access(session, user, need, "photo")
    return Response(data, mimetype=row.content_type)
