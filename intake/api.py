"""HTTP side of intake: submit a need (``POST /api/v1/needs``) and import a file
(``POST /api/v1/import/<kind>``, the same report as the CLI), with the files' templates."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, send_file
from marshmallow import Schema, fields

from access.auth import signed_in
from access.policy import get_visible_need, may_add_photo
from core.database import db_session
from core.errors import ApiError, Forbidden, InvalidData, NotFound
from core.vocab import Role
from pools.api import need_body
from pools.imports import KINDS
from pools.needs import lock_need
from pools.schemas import NeedIn, NeedOut
from pools.subdistricts import subdistrict_for
from pools.tabular import TEMPLATES_DIR, TableError, format_rejects_csv
from web.http import json_body, uploaded_file
from web.openapi import documented
from web.routes import SIGNED_IN, allow, public
from web.schemas import Timestamp, shared

from .photos import MAX_PHOTO_BYTES, MAX_PHOTOS_PER_NEED, attach_photo, clean_photo, photos_of
from .service import import_records, submit_need

bp = Blueprint("intake", __name__, url_prefix="/api/v1")


class ImportRejected(ApiError):
    status = 422
    code = "import_rejected"
    message = "文件有误，未导入任何数据"


@bp.post("/needs")
@allow(Role.RESIDENT, Role.COORDINATOR, Role.ADMIN, Role.VOLUNTEER)
@documented("提交需求（不填服务类型时自动分类）；工作人员、楼栋长和有责任田的党员可代没有账号的居民登记", body=NeedIn, response=NeedOut, status=201, tag="needs")
def create_need() -> Any:
    user = signed_in()
    session = db_session()
    need = submit_need(session, json_body(shared(NeedIn)), user)
    return need_body(session, need, user), 201


class PhotoUpload(Schema):
    photo = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                                "description": "照片文件（JPEG、PNG 或 WebP，不超过 10 MB）"})


class FileUpload(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "CSV（UTF-8/GBK）或 XLSX 文件"})


class PhotoOut(Schema):
    id = fields.Integer()
    need_id = fields.Integer()
    content_type = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    size_bytes = fields.Integer()
    url = fields.Function(lambda p: f"/needs/{p.need_id}/photos/{p.id}")
    thumbnail_url = fields.Function(lambda p: f"/needs/{p.need_id}/photos/{p.id}?size=thumb")
    created_at = Timestamp()


@bp.post("/needs/<int:id_>/photos")
@allow(*SIGNED_IN)
@documented(f"为需求上传照片（multipart 字段 photo；JPEG/PNG/WebP，每张不超过 10 MB，每条需求最多 {MAX_PHOTOS_PER_NEED} 张；"
            "按内容检查，保存前去掉 EXIF 和位置信息）", body=PhotoUpload, response=PhotoOut, status=201, tag="needs",
            content_type="multipart/form-data")
def add_photo(id_: int) -> Any:
    user = signed_in()
    session = db_session()
    need = lock_need(session, get_visible_need(session, user, id_))
    if not may_add_photo(user, need):
        raise Forbidden("只有需求的提交人和负责协调的工作人员可以在办结前添加照片")
    upload = uploaded_file("photo", "请上传照片（表单字段 photo）")
    row = attach_photo(session, need, clean_photo(upload.read(MAX_PHOTO_BYTES + 1)), user)
    return PhotoOut().dump(row), 201


@bp.get("/needs/<int:id_>/photos")
@allow(*SIGNED_IN)
@documented("需求的照片", response=PhotoOut, many=True, tag="needs")
def list_photos(id_: int) -> Any:
    session = db_session()
    need = get_visible_need(session, signed_in(), id_)
    return {"items": PhotoOut().dump(photos_of(session, need), many=True)}


@bp.post("/import/<kind>")
@allow(Role.ADMIN)
@documented("导入 CSV/XLSX 文件（multipart 字段 file；?skip_invalid=1 只导入合格行）", body=FileUpload, tag="import",
            content_type="multipart/form-data")
def import_upload(kind: str) -> Any:
    if kind not in KINDS:
        raise NotFound(f"未知导入类型 {kind}，应为 {'、'.join(KINDS)}")
    upload = uploaded_file("file", "请上传文件（表单字段 file）")
    skip_invalid = request.args.get("skip_invalid", "").lower() in ("1", "true", "yes")
    try:
        session = db_session()
        into = subdistrict_for(session, signed_in(), request.args.get("subdistrict") or None).id
        report = import_records(session, kind, upload.read(), upload.filename or "", skip_invalid=skip_invalid,
                                subdistrict_id=into)
    except TableError as exc:
        raise InvalidData(fields={"file": [str(exc)]}) from None
    body = report.to_dict()
    if not report.imported:
        raise ImportRejected(extra={"report": body})
    if report.rejected_rows and request.args.get("rejects") == "csv":
        columns = list(report.rejected_rows[0][0].values)
        return Response(format_rejects_csv(columns, report.rejected_rows), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={kind}.rejects.csv"})
    return body


@bp.get("/import/templates/<kind>.csv")
@public
@documented("下载导入模板", tag="import")
def import_template(kind: str) -> Any:
    if kind not in KINDS:
        raise NotFound(f"未知导入类型 {kind}")
    return send_file(TEMPLATES_DIR / f"{kind}.csv", mimetype="text/csv", as_attachment=True)
