"""Security headers on every response (web.security): JSON, errors, the docs page and the printable
council agenda; ``no-store`` wherever personal data may be, cacheable Swagger UI assets; and a docs page
that still works under a policy that allows no inline script."""
from __future__ import annotations

import re
import threading
import urllib.request
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.factories import error_of, make_map, make_need
from web.routes import public

API = "/api/v1"
EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Server": "sanku",
}


def directives(response: Any) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in
            (part.strip() for part in policy.split(";")) if d}


def assert_security_headers(response: Any) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    policy = directives(response)
    assert policy["default-src"] == "'self'"
    assert "script-src" not in policy or "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert policy["img-src"] == "'self' data:"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"


def assert_no_store(response: Any) -> None:
    assert response.headers.get("Cache-Control") == "no-store", (response.request.path,
                                                                  response.headers.get("Cache-Control"))


@pytest.fixture
def grid_map(session):  # type: ignore[no-untyped-def]
    make_map(session)
    session.commit()


# --- every kind of response --------------------------------------------------------------------------

def test_a_json_response_carries_the_headers_and_is_not_stored(anon_client, grid_map):
    response = anon_client.get(f"{API}/grids")

    assert response.status_code == 200
    assert_security_headers(response)
    assert_no_store(response)


@pytest.mark.parametrize(("path", "status"), [(f"{API}/grids/404404", 404), (f"{API}/me", 401),
                                              (f"{API}/grids?page=0", 422), ("/api/nowhere", 404)])
def test_an_error_response_carries_the_headers(anon_client, grid_map, path, status):
    response = anon_client.get(path)

    error_of(response, status)
    assert_security_headers(response)
    assert_no_store(response)


def test_an_unexpected_error_carries_the_headers(app):
    @public
    def broken() -> Any:
        raise RuntimeError("a bug")
    app.add_url_rule("/api/broken-for-test", view_func=broken)

    response = app.test_client().get("/api/broken-for-test")

    error_of(response, 500, "internal_error")
    assert_security_headers(response)
    assert_no_store(response)


def test_a_write_answer_is_not_stored_either(anon_client):
    # A token is the most personal answer of all, and it comes from a POST.
    response = anon_client.post(f"{API}/auth/token", json={"username": "nobody", "password": "wrong-pass"})

    assert response.status_code == 401
    assert_security_headers(response)
    assert_no_store(response)


# --- pages ----------------------------------------------------------------------------------------

def test_the_docs_page_has_no_inline_script_and_starts_swagger_ui_from_its_own_script(anon_client):
    page = anon_client.get("/api/docs")

    assert page.status_code == 200
    assert_security_headers(page)
    assert_no_store(page)
    html = page.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts), scripts
    assert '<script src="/api/docs/init.js"></script>' in html

    init = anon_client.get("/api/docs/init.js")
    assert init.status_code == 200 and init.mimetype == "text/javascript"
    assert "SwaggerUIBundle(" in init.get_data(as_text=True)
    script = init.get_data(as_text=True)
    assert re.search(r"validatorUrl\s*:\s*null", script)  # still no call out of the subdistrict's network
    assert f"{API}/openapi.json" in script and "http://" not in script and "https://" not in script
    assert_security_headers(init)


def test_every_script_and_stylesheet_of_the_docs_page_is_served_here(anon_client):
    html = anon_client.get("/api/docs").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls)  # 'self' only
    for url in urls:
        response = anon_client.get(url)
        assert response.status_code == 200, url
        response.close()


def test_the_index_page_carries_the_headers(anon_client):
    response = anon_client.get("/")

    assert_security_headers(response)
    assert "<script" not in response.get_data(as_text=True)


def test_the_council_page_carries_the_headers_and_is_not_stored(client, grid_map):
    response = client.get("/council/PG1")

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    assert_security_headers(response)
    assert_no_store(response)
    assert "<script" not in response.get_data(as_text=True)  # its styles are inline, which the policy allows
    assert "'unsafe-inline'" in directives(response)["style-src"]


# --- no-store where personal data is --------------------------------------------------------------

def test_personal_data_is_never_stored(client, grid_map, session):
    need = make_need(session)
    session.commit()
    paths = [f"{API}/needs/{need.id}/audit", f"{API}/notifications", f"{API}/reports/closure",
             f"{API}/reports/volunteer-hours", f"{API}/council/PG1", "/council/PG1", f"{API}/me",
             f"{API}/needs", f"{API}/needs/{need.id}", f"{API}/volunteers", f"{API}/reports/closure?format=csv"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_no_store(response)


def test_the_swagger_ui_assets_stay_cacheable(anon_client):
    response = anon_client.get("/api/docs/assets/swagger-ui-bundle.js")

    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "max-age=86400" in response.headers["Cache-Control"]
    assert_security_headers(response)
    response.close()


# --- the real server -----------------------------------------------------------------------------------

def test_the_development_server_names_itself_sanku_and_no_versions_on_the_wire(app):
    # Werkzeug's server sends its own "Werkzeug/… Python/…" line whatever the app set (http.server's
    # send_response): web.security has it say sanku too.
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/") as response:  # noqa: S310 (local)
            servers = response.headers.get_all("Server")
    finally:
        server.shutdown()
        thread.join()

    assert set(servers) == {"sanku"}
