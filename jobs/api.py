"""HTTP side of the jobs: queue a batch or an import and follow it.

    POST /api/v1/match/jobs {"grid"|"party_grid"|"subdistrict"}   202 {"id", "kind", "state", "jobs"}
    POST /api/v1/import/<kind>/jobs  (multipart file)  202 {"id", "kind", "state"}
    GET  /api/v1/jobs/<id>           {"id", "kind", "state", "progress", "result"}

(The queueing routes sit under what they queue, not under /jobs/, where /jobs/<id> would also match them.)

A job is seen by whoever queued it and by the admins of their subdistrict (404 for anyone else, as for a need
out of scope).
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

from celery.result import AsyncResult
from flask import Blueprint, request
from kombu.exceptions import OperationalError as BrokerError
from marshmallow import Schema, fields
from sqlalchemy import select

from access.auth import signed_in
from access.policy import in_subdistrict, may_match
from core.database import db_session
from core.errors import ApiError, Forbidden, NotFound
from core.vocab import Role
from models import Subdistrict, User
from pools.imports import KINDS
from pools.subdistricts import subdistrict_for
from web.http import json_body, uploaded_file
from web.openapi import documented
from web.routes import allow
from workflow.schemas import MatchIn
from workflow.service import batch_subdistricts

from .queue import celery_app

bp = Blueprint("jobs", __name__, url_prefix="/api/v1")
ARRANGERS = (Role.COORDINATOR, Role.ADMIN)
STAFF = (Role.COORDINATOR, Role.REVIEWER, Role.ADMIN)
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OWNER_KEY = "sanku-job-{}"
# Celery's states as the pages name them.
STATE_LABELS_ZH = {"PENDING": "排队中", "STARTED": "进行中", "PROGRESS": "进行中", "SUCCESS": "已完成",
                   "FAILURE": "失败", "RETRY": "重试中", "REVOKED": "已取消"}


class BrokerUnavailable(ApiError):
    status = 503
    code = "broker_unavailable"
    message = "任务队列暂不可用，请稍后重试"


class QueuedPartOut(Schema):
    id = fields.String(required=True)
    subdistrict = fields.String(required=True)
    state = fields.String(required=True)


class JobQueuedOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    state = fields.String(required=True)
    jobs = fields.List(fields.Nested(QueuedPartOut), metadata={
        "description": "批量匹配：每个街道一个任务（市级管理员不指明街道时分发到全市各街道；id 为第一个）"})


class JobOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": "PENDING, STARTED, PROGRESS, SUCCESS, FAILURE"})
    state_label = fields.String(required=True)
    progress = fields.Dict(allow_none=True, metadata={"description": "while it runs: its phase (and for an import, bytes)"})
    result = fields.Dict(allow_none=True, metadata={"description": "once done: the batch's stats or the import's report"})


class ImportUpload(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "CSV（UTF-8/GBK）或 XLSX 文件"})


def _queue(task_name: str, job_kind: str, owner_id: int, **kwargs: Any) -> dict[str, Any]:
    celery = celery_app()
    job_id = str(uuid.uuid4())
    try:
        # Who queued it is kept beside the result (a day, as the results are), before it may run.
        celery.backend.set(_OWNER_KEY.format(job_id), json.dumps({"owner": owner_id, "kind": job_kind}))
        celery.tasks[task_name].apply_async(kwargs=kwargs, task_id=job_id,
                                            retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2})
    except BrokerError:
        raise BrokerUnavailable() from None
    return {"id": job_id, "kind": job_kind, "state": AsyncResult(job_id, app=celery).state}


def _release_request_transaction() -> None:
    # The request has only read; end its transaction before the job starts, so an eager job (tests, a
    # machine without Redis) on SQLite does not queue behind this request's write lock. Its objects are
    # expired then: reading one again would open a transaction, so callers take what they need before.
    db_session().rollback()


@bp.post("/match/jobs")
@allow(*ARRANGERS)
@documented("排队批量匹配（后台任务）：一个网格、一个党建网格或全街道", body=MatchIn, response=JobQueuedOut,
            status=202, tag="jobs", unavailable=True)
def queue_match() -> Any:
    user = signed_in()
    args = json_body(MatchIn())
    session = db_session()
    if not may_match(session, user, args["grid"], args["party_grid"]):
        raise Forbidden("只能匹配自己负责的网格或党建网格")
    targets = batch_subdistricts(session, user, grid=args["grid"], party_grid=args["party_grid"],
                                 subdistrict=args["subdistrict"])
    codes = dict(session.execute(select(Subdistrict.id, Subdistrict.code).where(Subdistrict.id.in_(targets))).all())
    owner = user.id
    _release_request_transaction()
    # One job per subdistrict: the workers take them in parallel, each with its own result.
    parts = [{**_queue("jobs.match_scope", "match", owner, grid=args["grid"], party_grid=args["party_grid"],
                       subdistrict_id=sid), "subdistrict": codes.get(sid, "")} for sid in targets]
    return {"id": parts[0]["id"], "kind": "match", "state": parts[0]["state"],
            "jobs": [{k: p[k] for k in ("id", "subdistrict", "state")} for p in parts]}, 202


@bp.post("/import/<kind>/jobs")
@allow(Role.ADMIN)
@documented("排队导入大文件（后台任务，multipart 字段 file；?skip_invalid=1 只导入合格行）", body=ImportUpload,
            response=JobQueuedOut, status=202, tag="jobs", content_type="multipart/form-data", unavailable=True)
def queue_import(kind: str) -> Any:
    if kind not in KINDS:
        raise NotFound(f"未知导入类型 {kind}，应为 {'、'.join(KINDS)}")
    upload = uploaded_file("file", "请上传文件（表单字段 file）")
    skip_invalid = request.args.get("skip_invalid", "").lower() in ("1", "true", "yes")
    data = base64.b64encode(upload.read()).decode("ascii")
    user = signed_in()
    into = subdistrict_for(db_session(), user, request.args.get("subdistrict") or None).id
    owner = user.id
    _release_request_transaction()
    return _queue("jobs.import_file", f"import:{kind}", owner, kind=kind, data_b64=data,
                  filename=upload.filename or "", skip_invalid=skip_invalid, subdistrict_id=into), 202


def _admin_over(user: User, owner_id: int) -> bool:
    """Admins follow the jobs of their subdistrict's staff (the city's admins every job)."""
    owner = db_session().get(User, owner_id)
    return user.role == Role.ADMIN and owner is not None and in_subdistrict(user, owner.subdistrict_id)


@bp.get("/jobs/<job_id>")
@allow(*STAFF)
@documented("后台任务的状态与进度", response=JobOut, tag="jobs", unavailable=True)
def job_status(job_id: str) -> Any:
    return job_view(job_id, signed_in())


def job_view(job_id: str, user: User) -> dict[str, Any]:
    """A job as its owner (or their subdistrict's admin) sees it: its state, its progress while it runs, its
    result once done; 404 for anyone else and for an unknown id."""
    celery = celery_app()
    if not _JOB_ID.fullmatch(job_id):
        raise NotFound("找不到该任务")
    try:
        raw = celery.backend.get(_OWNER_KEY.format(job_id))
    except BrokerError:
        raise BrokerUnavailable() from None
    record = json.loads(raw) if raw else None
    if record is None or (record["owner"] != user.id and not _admin_over(user, record["owner"])):
        raise NotFound("找不到该任务")
    result = AsyncResult(job_id, app=celery)
    state, info = result.state, result.info
    body: dict[str, Any] = {"id": job_id, "kind": record["kind"], "state": state,
                            "state_label": STATE_LABELS_ZH.get(state, state), "progress": None, "result": None}
    if state == "SUCCESS":
        body["result"] = info if isinstance(info, dict) else {"value": info}
    elif state == "FAILURE":
        body["result"] = {"error": "任务失败，数据库未作任何改动"}  # the exception stays in the logs
    elif isinstance(info, dict):
        body["progress"] = info
    return body
