"""Small, readable fixtures of the domain, created through the services (as the API would)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from pools import grids, needs, providers


def make_map(session: Session) -> None:
    """Two communities, three grids in a row (G1–G2–G3) and a lone grid G9, two Party grids."""
    grids.create_grid(session, {"code": "G1", "name": "海滨社区第1网格", "community": "海滨社区", "party_grid": "PG1",
                                "neighbors": []})
    grids.create_grid(session, {"code": "G2", "name": "海滨社区第2网格", "community": "海滨社区", "party_grid": "PG1",
                                "neighbors": ["G1"]})
    grids.create_grid(session, {"code": "G3", "name": "上川社区第1网格", "community": "上川社区", "party_grid": "PG2",
                                "neighbors": ["G2"]})
    grids.create_grid(session, {"code": "G9", "name": "上川社区第9网格", "community": "上川社区", "party_grid": "PG2",
                                "neighbors": []})


def make_resource(session: Session, **overrides: Any):  # type: ignore[no-untyped-def]
    data = {"ref": "R1", "name": "社保服务窗口", "department": "街道社区事务受理服务中心", "service": "public",
            "grids": ["*"], "capacity": 5, "skills": ["社保", "医保"], "description": "社保医保业务办理",
            "hours": ["mon-fri 09:00-12:00"]}
    return providers.create_resource(session, {**data, **overrides})


def make_volunteer(session: Session, **overrides: Any):  # type: ignore[no-untyped-def]
    data = {"ref": "V1", "name": "张小明", "kind": "person", "phone": "13800138000", "grid": "G1",
            "skills": ["陪诊", "买菜"], "services": ["volunteer"], "availability": ["wed 08:00-12:00"],
            "capacity": 2, "force": "selfgov", "party_member": True, "description": "退休教师，热心助老"}
    return providers.create_volunteer(session, {**data, **overrides})


def make_need(session: Session, **overrides: Any):  # type: ignore[no-untyped-def]
    data = {"ref": "N1", "text": "我妈周三上午要去医院复查，想找人陪一下", "grid": "G1", "urgency": "normal",
            "window": None, "contact": "李女士 13900139000", "service": "volunteer"}
    return needs.create_need(session, {**data, **overrides})


# --- helpers of the API and import tests (added with tests/pools/test_api_*.py and test_imports.py) ---

def table_counts(bind: Any) -> dict[str, int]:
    """Rows in every table of the models (``bind``: a Session or a Connection), to show that a failed
    request or import left the database as it was."""
    from sqlalchemy import func, select

    from models import Base
    return {t.name: bind.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def csv_bytes(header: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    """A CSV file as a spreadsheet program writes it (CRLF line ends), in ``encoding``."""
    import csv
    import io
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else str(v) for v in row] for row in rows])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    """An .xlsx workbook of one sheet; numbers and booleans stay typed, as Excel would store them."""
    import io

    import openpyxl
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def error_of(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The ``error`` object of a failed response, after checking its status and the envelope's shape:
    ``{"error": {"code", "message", "fields"?}}`` and nothing else at the top."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert isinstance(body, dict) and list(body) == ["error"], body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "fields", "report"}, error
    if "fields" in error:
        assert error["fields"] and all(isinstance(v, (list, dict)) for v in error["fields"].values()), error
    if code is not None:
        assert error["code"] == code, error
    return error


TEST_PASSWORD = "correct-horse-9"


def make_user(session: Session, username: str, *, role: str, scope: list[str] | None = None,
              scope_type: str | None = None, volunteer_ref: str | None = None):  # type: ignore[no-untyped-def]
    from access.auth import create_user
    if scope and scope_type is None:
        scope_type = "party_grid" if role == "reviewer" else "grid"
    return create_user(session, username=username, password=TEST_PASSWORD, role=role, scope_type=scope_type,
                       scope_codes=scope, volunteer_ref=volunteer_ref)


def token_for(app, username: str) -> str:  # type: ignore[no-untyped-def]
    response = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def bearer_client(app, username: str):  # type: ignore[no-untyped-def]
    """A test client that sends ``username``'s bearer token with every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token_for(app, username)}"
    return client


_ACCOUNT_PASSWORD = "test-password-1"  # at least MIN_PASSWORD_LENGTH


@lru_cache(maxsize=1)
def _account_password_hash() -> str:
    # argon2 is slow on purpose (~0.2 s): hash once per run, not once per test.
    from access.auth import hash_password
    return hash_password(_ACCOUNT_PASSWORD)


def make_account(session: Session, role: str = "admin", username: str | None = None,
                 **fields: Any):  # type: ignore[no-untyped-def]
    """An active user of ``role`` (password ``test-password-1``), built directly: no test pays for hashing."""
    from sqlalchemy import select

    from models import Subdistrict, User
    fields.setdefault("scope_codes", [])
    if role not in ("admin", "resident") and "subdistrict_id" not in fields:
        # Staff belong to a subdistrict (create_user takes their scope's); an admin made here is the city's.
        only = list(session.scalars(select(Subdistrict.id).limit(2)))
        fields["subdistrict_id"] = only[0] if len(only) == 1 else None
    user = User(username=username or f"test-{role}", password_hash=_account_password_hash(), role=role,
                display_name=username or f"测试{role}", **fields)
    session.add(user)
    session.flush()
    return user


def bearer_for(app: Any, user: Any) -> str:
    """The Authorization header value of ``user`` for ``app``."""
    from access.auth import issue_token
    with app.app_context():
        return f"Bearer {issue_token(user)}"


def signed_in(client: Any, app: Any, user: Any) -> Any:
    """``client`` sending ``user``'s bearer token with every request."""
    client.environ_base["HTTP_AUTHORIZATION"] = bearer_for(app, user)
    return client


# --- helpers of the workflow tests (tests/workflow/test_end_to_end.py, test_authorisation.py) ---

ACCOUNT_PASSWORD = _ACCOUNT_PASSWORD  # the password of every make_account user
ESCORT_TEXT = "我妈周三上午要去医院复查，想找人陪一下"  # the classifier is sure: volunteer service
WEDNESDAY_MORNING = "2026-12-09T09:00/2026-12-09T12:00"


def make_cast(session: Session) -> Any:
    """The map of :func:`make_map`, three volunteers and accounts of every role, committed. V1 (G1,
    same grid) is the best match for a G1 escort on Wednesday morning, V2 (G2, the neighbouring grid)
    the next best; V3 (a barber in G9, Saturdays only) never fits one.

    Accounts (password ``test-password-1``): residents res-a and res-b; coordinators coord-g1 (grid
    G1), coord-g3 (grid G3) and coord-pg2 (Party grid PG2); reviewers rev-pg1 and rev-pg2;
    volunteers vol-1 (V1), vol-2 (V2) and vol-3 (V3, in G9, never proposed); admin."""
    from types import SimpleNamespace
    make_map(session)
    v1 = make_volunteer(session, ref="V1", name="张小明", grid="G1", phone="13800138000")
    v2 = make_volunteer(session, ref="V2", name="王芳", grid="G2", phone="13700137000",
                        skills=["陪诊"], description="社区志愿者")
    v3 = make_volunteer(session, ref="V3", name="赵强", grid="G9", phone="13600136000",
                        skills=["理发"], availability=["sat 08:00-12:00"], description="义务理发")
    cast = SimpleNamespace(v1=v1, v2=v2, v3=v3)
    accounts = {
        "res_a": ("resident", "res-a", {}), "res_b": ("resident", "res-b", {}),
        "coord_g1": ("coordinator", "coord-g1", {"scope_type": "grid", "scope_codes": ["G1"]}),
        "coord_g3": ("coordinator", "coord-g3", {"scope_type": "grid", "scope_codes": ["G3"]}),
        "coord_pg2": ("coordinator", "coord-pg2", {"scope_type": "party_grid", "scope_codes": ["PG2"]}),
        "rev_pg1": ("reviewer", "rev-pg1", {"scope_type": "party_grid", "scope_codes": ["PG1"]}),
        "rev_pg2": ("reviewer", "rev-pg2", {"scope_type": "party_grid", "scope_codes": ["PG2"]}),
        "vol_1": ("volunteer", "vol-1", {"volunteer_id": v1.id}),
        "vol_2": ("volunteer", "vol-2", {"volunteer_id": v2.id}),
        "vol_3": ("volunteer", "vol-3", {"volunteer_id": v3.id}),
        "admin": ("admin", "boss", {}),
    }
    for key, (role, username, fields) in accounts.items():
        setattr(cast, key, make_account(session, role, username, **fields))
    session.commit()
    return cast


def act(api: Any, need_id: int, action: str, **body: Any) -> Any:
    """POST an action on a need (reason, provider, rating, hours, service in ``body``)."""
    return api.post(f"/api/v1/needs/{need_id}/actions", json={"action": action, **body})


def audit_of(api: Any, need_id: int) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/needs/{need_id}/audit")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def story_of(api: Any, need_id: int) -> list[tuple[str, str, str]]:
    """The audit trail as (actor, from, to); the system is 系统."""
    return [(e["actor"], e["from_status"], e["to_status"]) for e in audit_of(api, need_id)]


def notices_of(app: Any, user: Any, marker: str = "") -> list[str]:
    """The messages of ``user``'s in-app notifications that contain ``marker``, oldest first."""
    response = signed_in(app.test_client(), app, user).get("/api/v1/notifications")
    assert response.status_code == 200, response.get_json()
    return [n["message"] for n in reversed(response.get_json()["items"]) if marker in n["message"]]
