"""The API's contract as a whole: one JSON error shape for every failure, a failed request that
changes nothing, and the OpenAPI document and docs page that describe it."""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.factories import error_of, make_account, make_map, signed_in, table_counts

API = "/api/v1"
COLLECTIONS = ("grids", "resources", "volunteers", "needs")

# A valid body for each collection, on the map of tests.factories.make_map.
VALID: dict[str, dict[str, Any]] = {
    "grids": {"code": "G5", "name": "上川社区第5网格", "community": "上川社区", "party_grid": "PG2",
              "neighbors": ["G3"]},
    "resources": {"ref": "R1", "name": "社保服务窗口", "service": "public", "grids": ["*"], "capacity": 5},
    "volunteers": {"ref": "V1", "name": "张小明", "grid": "G1", "services": ["volunteer"], "skills": ["陪诊"]},
    "needs": {"ref": "N1", "text": "想找人陪老人去医院复查", "grid": "G1", "service": "volunteer"},
}


@pytest.fixture
def api(app, client, session):  # type: ignore[no-untyped-def]
    """The test client signed in as an administrator, on the map G1–G2–G3 and G9 (tests.factories)."""
    make_map(session)
    admin = make_account(session, "admin")
    session.commit()
    return signed_in(client, app, admin)


def create(api: Any, collection: str, **overrides: Any) -> dict[str, Any]:
    response = api.post(f"{API}/{collection}", json={**VALID[collection], **overrides})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- malformed requests ------------------------------------------------------------------------

@pytest.mark.parametrize("collection", COLLECTIONS)
def test_malformed_json_is_a_400(api, collection):
    response = api.post(f"{API}/{collection}", data='{"name": "张小明",', content_type="application/json")

    error_of(response, 400, "malformed_json")


def test_malformed_json_in_a_patch_is_a_400(api):
    grid_id = api.get(f"{API}/grids").get_json()["items"][0]["id"]

    error_of(api.patch(f"{API}/grids/{grid_id}", data="{oops", content_type="application/json"), 400)


def test_a_json_body_that_is_not_an_object_is_a_400(api):
    error_of(api.post(f"{API}/resources", json=[VALID["resources"]]), 400, "malformed_json")


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_a_body_that_is_not_json_is_a_415(api, collection):
    response = api.post(f"{API}/{collection}", data={k: str(v) for k, v in VALID[collection].items()})

    error_of(response, 415, "unsupported_media_type")


def test_json_sent_as_plain_text_is_a_415(api):
    response = api.post(f"{API}/resources", data='{"ref": "R1"}', content_type="text/plain")

    error_of(response, 415, "unsupported_media_type")


def test_a_body_over_the_size_limit_is_a_413(app, api):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    body = {**VALID["resources"], "description": "很长的说明" * 400}

    error_of(api.post(f"{API}/resources", json=body), 413, "payload_too_large")
    assert api.get(f"{API}/resources").get_json()["total"] == 0


# --- schema violations: 422 with a message per field ----------------------------------------

def test_a_schema_violation_names_every_field_at_fault_at_once(api):
    body = {k: v for k, v in VALID["resources"].items() if k != "name"} | {"capacity": "很多"}

    error = error_of(api.post(f"{API}/resources", json=body), 422, "validation_error")

    assert set(error["fields"]) == {"name", "capacity"}
    assert all(isinstance(m, str) and m for msgs in error["fields"].values() for m in msgs)


def test_a_field_the_schema_does_not_know_is_refused_by_name(api):
    error = error_of(api.post(f"{API}/volunteers", json={**VALID["volunteers"], "salary": 100}), 422)

    assert list(error["fields"]) == ["salary"]


@pytest.mark.parametrize(("collection", "field", "value"), [
    ("resources", "grids", ["G1", "G404"]),
    ("volunteers", "grid", "G404"),
    ("needs", "grid", "G404"),
    ("grids", "neighbors", ["G404"]),
])
def test_an_unknown_grid_code_is_a_422_naming_the_code(api, collection, field, value):
    error = error_of(api.post(f"{API}/{collection}", json={**VALID[collection], field: value}), 422,
                     "validation_error")

    assert error["fields"] == {field: ["未知网格编码 G404"]}


@pytest.mark.parametrize(("collection", "field", "value"), [
    ("resources", "service", "publik"),
    ("volunteers", "services", ["volunteer", "publik"]),
    ("needs", "service", "publik"),
])
def test_an_unknown_service_code_is_a_422_naming_the_code(api, collection, field, value):
    error = error_of(api.post(f"{API}/{collection}", json={**VALID[collection], field: value}), 422,
                     "validation_error")

    assert list(error["fields"]) == [field]
    assert "publik" in str(error["fields"][field])


@pytest.mark.parametrize(("field", "value"), [
    ("phone", "12345"), ("availability", ["someday 9-5"]), ("force", "army"), ("kind", "robot"),
    ("capacity", -1), ("ref", "V 1"),
])
def test_a_bad_volunteer_value_is_a_422_on_its_field(api, field, value):
    error = error_of(api.post(f"{API}/volunteers", json={**VALID["volunteers"], field: value}), 422)

    assert list(error["fields"]) == [field]


def test_star_with_other_grids_is_refused(api):
    error = error_of(api.post(f"{API}/resources", json={**VALID["resources"], "grids": ["*", "G1"]}), 422)

    assert "grids" in error["fields"]


# --- unknown ids, routes and query parameters ---------------------------------------------------

@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_an_unknown_id_is_a_404(api, collection, method):
    kwargs = {"json": {}} if method == "patch" else {}

    error_of(getattr(api, method)(f"{API}/{collection}/2000000000", **kwargs), 404, "not_found")


def test_an_unknown_route_under_the_api_is_a_json_404(api):
    error_of(api.get(f"{API}/nothing-here"), 404, "not_found")


def test_a_method_the_route_does_not_take_is_a_json_405(api):
    error_of(api.put(f"{API}/grids", json={}), 405, "method_not_allowed")


@pytest.mark.parametrize(("collection", "parameter"), [
    ("grids", "skill"), ("resources", "kind"), ("volunteers", "urgency"), ("needs", "colour"),
])
def test_an_unknown_query_parameter_is_a_422_naming_it(api, collection, parameter):
    error = error_of(api.get(f"{API}/{collection}", query_string={parameter: "x"}), 422, "validation_error")

    assert list(error["fields"]) == [parameter]


@pytest.mark.parametrize(("parameter", "value"), [
    ("page", "0"), ("page", "二"), ("per_page", "501"), ("active", "maybe"), ("service", "publik"),
])
def test_a_bad_query_value_is_a_422_naming_the_parameter(api, parameter, value):
    error = error_of(api.get(f"{API}/resources", query_string={parameter: value}), 422, "validation_error")

    assert list(error["fields"]) == [parameter]


def test_listing_by_an_unknown_grid_is_a_422_naming_it(api):
    error = error_of(api.get(f"{API}/volunteers", query_string={"grid": "G404"}), 422, "validation_error")

    assert error["fields"] == {"grid": ["未知网格编码 G404"]}


# --- conflicts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("collection", ["resources", "volunteers", "needs"])
def test_a_duplicate_ref_is_a_409(api, collection):
    create(api, collection)

    error = error_of(api.post(f"{API}/{collection}", json=VALID[collection]), 409, "conflict")

    assert VALID[collection]["ref"] in error["message"]
    assert list(error["fields"]) == ["ref"]


def test_a_duplicate_grid_code_is_a_409(api):
    error = error_of(api.post(f"{API}/grids", json={**VALID["grids"], "code": "G1"}), 409, "conflict")

    assert "G1" in error["message"] and list(error["fields"]) == ["code"]


# --- who may ------------------------------------------------------------------------------------

def test_a_request_without_credentials_is_a_401_in_the_same_shape(app):
    error_of(app.test_client().post(f"{API}/resources", json=VALID["resources"]), 401, "unauthorized")


def test_a_resident_changing_the_resource_pool_is_a_403_in_the_same_shape(app, session):
    resident = make_account(session, "resident")
    session.commit()
    client = signed_in(app.test_client(), app, resident)

    error_of(client.post(f"{API}/resources", json=VALID["resources"]), 403, "forbidden")


# --- a failed request changes nothing -----------------------------------------------------------

def test_a_grid_refused_after_its_community_was_created_leaves_the_database_as_it_was(api, connection):
    before = table_counts(connection)
    body = {**VALID["grids"], "community": "新建社区", "party_grid": "PG9", "neighbors": ["G1", "G404"]}

    error_of(api.post(f"{API}/grids", json=body), 422)

    assert table_counts(connection) == before
    assert api.get(f"{API}/grids", query_string={"community": "新建社区"}).get_json()["total"] == 0


def test_a_patch_refused_halfway_keeps_the_fields_it_had_already_set(api):
    volunteer = create(api, "volunteers")

    error_of(api.patch(f"{API}/volunteers/{volunteer['id']}", json={"name": "张大明", "grid": "G404"}), 422)

    assert api.get(f"{API}/volunteers/{volunteer['id']}").get_json()["name"] == "张小明"


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_a_refused_creation_leaves_every_table_as_it_was(api, connection, collection):
    if collection != "grids":
        create(api, collection)  # so that the second one is a duplicate
    before = table_counts(connection)

    body = {**VALID[collection], "code": "G1"} if collection == "grids" else VALID[collection]
    assert api.post(f"{API}/{collection}", json=body).status_code == 409

    assert table_counts(connection) == before


# --- OpenAPI ---------------------------------------------------------------------------------

SPEC_URL = f"{API}/openapi.json"


def openapi_path(rule: str) -> str:
    # A view's id_ (id is a Python builtin) is documented as id.
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+?)_?>", r"{\1}", rule)


@pytest.fixture
def spec(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get(SPEC_URL)
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_openapi_document_is_valid(spec):
    try:
        from openapi_spec_validator import validate
    except ImportError:  # not a dependency of the project: check the bones by hand
        assert spec["openapi"].startswith("3.") and spec["info"]["title"] and spec["info"]["version"]
        for path, operations in spec["paths"].items():
            assert path.startswith("/")
            for operation in operations.values():
                assert operation["responses"] and operation["operationId"]
        return
    validate(spec)


def test_the_openapi_document_lists_every_api_route_and_method(app, spec):
    api_rules = [rule for rule in app.url_map.iter_rules()
                 if rule.rule.startswith(f"{API}/") and rule.rule != SPEC_URL]  # the document need not list itself
    expected = {(openapi_path(rule.rule), method.lower())
                for rule in api_rules for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, operations in spec["paths"].items() for method in operations}

    assert expected - documented == set()
    assert ("/api/v1/volunteers/search", "get") in documented


def test_the_operation_ids_of_the_openapi_document_are_unique(spec):
    ids = [op["operationId"] for operations in spec["paths"].values() for op in operations.values()]

    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("schema_name", ["GridIn", "GridOut", "ResourceIn", "ResourceOut", "VolunteerIn",
                                         "VolunteerOut", "NeedIn", "NeedOut"])
def test_the_openapi_document_holds_every_field_of_the_pool_schemas(spec, schema_name):
    from pools import schemas
    fields = set(getattr(schemas, schema_name)().fields)

    assert fields <= set(spec["components"]["schemas"][schema_name]["properties"])


def test_the_openapi_document_says_which_fields_a_body_requires(spec):
    assert set(spec["components"]["schemas"]["ResourceIn"]["required"]) == {"ref", "name", "service", "grids"}


def test_the_openapi_document_describes_the_error_envelope(spec):
    error = spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]

    assert set(error) >= {"code", "message", "fields"}
    create_op = spec["paths"]["/api/v1/resources"]["post"]
    assert create_op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_query_parameter_the_document_offers_is_accepted(api, spec, collection):
    parameters = spec["paths"][f"{API}/{collection}"]["get"]["parameters"]
    offered = {p["name"] for p in parameters if p["in"] == "query"}

    answers = {name: api.get(f"{API}/{collection}", query_string={name: "1"}).get_json() for name in offered}
    refused = {name for name, body in answers.items()
               if "未知字段" in str(body.get("error", {}).get("fields", {}).get(name, ""))}

    assert refused == set()


# --- the docs page -------------------------------------------------------------------------------

def test_the_docs_page_is_html_that_loads_only_local_assets(client):
    response = client.get("/api/docs")
    html = response.get_data(as_text=True)
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)

    assert response.status_code == 200 and response.mimetype == "text/html"
    assert urls, html
    assert [u for u in urls if re.match(r"(?i)(https?:)?//", u)] == []
    for url in urls:
        with client.get(url) as asset:  # a file response: close it, or its file is left open
            assert asset.status_code == 200 and asset.get_data(), url


def test_the_docs_page_points_at_the_local_openapi_document(client):
    # The page starts Swagger UI from a script of its own (no inline script under the CSP).
    html = client.get("/api/docs").get_data(as_text=True) + client.get("/api/docs/init.js").get_data(as_text=True)

    assert SPEC_URL in html and "http://" not in html and "https://" not in html


def test_the_docs_page_turns_off_the_online_validator_badge(client):
    # Swagger UI otherwise sends the spec's address to validator.swagger.io from every browser.
    # The page starts Swagger UI from a script of its own (no inline script under the CSP).
    html = client.get("/api/docs").get_data(as_text=True) + client.get("/api/docs/init.js").get_data(as_text=True)

    assert re.search(r"validatorUrl\s*:\s*null", html)


# --- the document matches the answers (schemathesis found each of these; `make fuzz` keeps it so) ---------

def test_every_timestamp_is_a_date_time_in_the_document(spec):
    need = spec["components"]["schemas"]["NeedOut"]["properties"]

    assert (need["created_at"]["type"], need["created_at"]["format"]) == ("string", "date-time")
    assert "status_label" in need and "current_proposal" in need


def test_every_error_an_operation_can_answer_is_documented(spec):
    token = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    grids = spec["paths"]["/api/v1/grids"]["get"]
    patch = spec["paths"]["/api/v1/grids/{id}"]["patch"]["responses"]

    assert {"400", "401", "403", "409", "413", "415", "422", "429"} <= set(token)  # a public write
    assert {"401", "403"}.isdisjoint(grids["responses"]) and grids["security"] == []  # public read: no token
    assert {"401", "403", "404", "409", "415", "422"} <= set(patch)


def test_a_patch_body_requires_nothing(spec):
    body = spec["paths"]["/api/v1/grids/{id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    patch = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]

    assert "required" not in patch and set(patch["properties"]) == set(spec["components"]["schemas"]["GridIn"]["properties"])


def test_a_method_a_route_does_not_take_says_which_it_does(client):
    response = client.put("/api/v1/grids")

    assert response.status_code == 405 and set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
