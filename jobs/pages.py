"""The pages of background jobs: a large file queued from the admin's import page, and a job followed on a
page that refreshes itself (its phase, rows checked of all, then the report) until it ends. No script: the
page asks again every few seconds, which works on any phone."""
from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request

from access.auth import signed_in
from access.policy import city_wide
from core.database import db_session
from core.errors import ApiError
from core.vocab import STAFF, Role
from pools.imports import KINDS
from pools.subdistricts import subdistrict_for
from web.routes import allow

from .api import _queue, _release_request_transaction, job_view

bp = Blueprint("job_pages", __name__, template_folder="templates")
REFRESH_SECONDS = 2
KIND_LABELS_ZH = {"grids": "网格", "resources": "政府资源", "volunteers": "志愿者和组织", "buildings": "楼栋",
                  "needs": "需求"}
PHASE_LABELS_ZH = {"reading": "正在读取文件", "checking": "正在逐行检查", "writing": "正在写入数据库",
                   "matching": "正在匹配"}
ENDED = ("SUCCESS", "FAILURE", "REVOKED")


@bp.post("/admin/import/jobs")
@allow(Role.ADMIN)
def queue_import() -> Any:
    """The import form's 在后台导入: the file goes to a worker, the page follows it."""
    kind = (request.form.get("kind") or "")[:16]
    upload = request.files.get("file")
    if kind not in KINDS or upload is None or not upload.filename:
        flash("请选择导入哪一类数据，并选择文件（.csv 或 .xlsx）", "error")
        return redirect("/admin/import" + (f"?kind={kind}" if kind in KINDS else ""))
    user = signed_in()
    try:
        named = (request.form.get("subdistrict") or "")[:32] if city_wide(user) else ""
        into = subdistrict_for(db_session(), user, named or None).id
    except ApiError as exc:
        flash("；".join(m for ms in (exc.fields or {}).values() for m in ms) or exc.message, "error")
        return redirect(f"/admin/import?kind={kind}")
    data = base64.b64encode(upload.read()).decode("ascii")
    owner = user.id
    _release_request_transaction()
    job = _queue("jobs.import_file", f"import:{kind}", owner, kind=kind, data_b64=data,
                 filename=upload.filename, skip_invalid=request.form.get("skip_invalid") == "1", subdistrict_id=into)
    return redirect(f"/jobs/{job['id']}")


@bp.get("/jobs/<job_id>")
@allow(*STAFF)
def job_page(job_id: str) -> Any:
    job = job_view(job_id, signed_in())
    progress = job.get("progress") or {}
    done, total = progress.get("rows_done"), progress.get("rows_total")
    percent = round(100 * done / total) if isinstance(done, int) and isinstance(total, int) and total else None
    kind = job["kind"].partition(":")[2] if job["kind"].startswith("import:") else ""
    return render_template("jobs/job.html", user=signed_in(), job=job, title="后台任务",
                           refresh=REFRESH_SECONDS if job["state"] not in ENDED else None,
                           phase=PHASE_LABELS_ZH.get(progress.get("phase", ""), ""), percent=percent,
                           kind_label=KIND_LABELS_ZH.get(kind, ""), result=job.get("result") or {})
