"""POST /api/v1/import/<kind>: the file import over HTTP, with the same report as the CLI."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, send_file

from database import db_session
from errors import ApiError, InvalidData, NotFound
from web.openapi import documented
from workflow.guard import require

from .imports import KINDS, import_file
from .tabular import TEMPLATES_DIR, TableError, format_rejects_csv

bp = Blueprint("imports", __name__, url_prefix="/api/v1")


class ImportRejected(ApiError):
    status = 422
    code = "import_rejected"
    message = "文件有误，未导入任何数据"


@bp.post("/import/<kind>")
@documented("导入 CSV/XLSX 文件（multipart 字段 file；?skip_invalid=1 只导入合格行）", tag="import",
            content_type="multipart/form-data")
def import_upload(kind: str) -> Any:
    require("admin")
    if kind not in KINDS:
        raise NotFound(f"未知导入类型 {kind}，应为 {'、'.join(KINDS)}")
    if not request.mimetype.startswith("multipart/form-data"):
        from werkzeug.exceptions import UnsupportedMediaType
        raise UnsupportedMediaType()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidData(fields={"file": ["请上传文件（表单字段 file）"]})
    skip_invalid = request.args.get("skip_invalid", "").lower() in ("1", "true", "yes")
    from .classify import current_model

    def classify(texts: list[str]) -> list[tuple[str, float]]:
        return [(p.label, round(float(p.confidence), 4)) for p in current_model().predict_many(texts)]
    try:
        report = import_file(db_session(), kind, upload.read(), upload.filename, skip_invalid=skip_invalid,
                             classify=classify if kind == "needs" else None)
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
@documented("下载导入模板", tag="import")
def import_template(kind: str) -> Any:
    if kind not in KINDS:
        raise NotFound(f"未知导入类型 {kind}")
    return send_file(TEMPLATES_DIR / f"{kind}.csv", mimetype="text/csv", as_attachment=True)
