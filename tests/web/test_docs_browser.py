"""`/docs` works with the network restricted to this server: Swagger UI comes from a package, not a CDN."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Route, expect

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the database plays no part here
def test_docs_render_with_nothing_fetched_from_elsewhere(chromium: Any, live_server: str) -> None:
    context = chromium.new_context(base_url=live_server)  # Swagger UI needs JavaScript
    context.set_default_timeout(15_000)
    elsewhere: list[str] = []
    problems: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(live_server + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto("/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Safe Share")
        expect(page.get_by_role("button", name="Authorize")).to_be_visible()
        expect(page.locator(".opblock-summary-path", has_text="/api/v1/reports").first).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "docs-1280.png"))
        page.get_by_role("button", name="Authorize").click()
        dialog = page.locator(".auth-container")
        expect(dialog.filter(has_text="sst_")).to_have_count(1)  # the staff scheme, described
        expect(dialog.filter(has_text="ssr_")).to_have_count(1)  # the reporter scheme
    finally:
        context.close()
    assert elsewhere == []
    assert problems == []  # no CSP violation, no script error


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_docs_page_has_a_csp_that_allows_only_this_site(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp.split("style-src-attr")[0]
    assert "http" not in csp and "connect-src 'self'" in csp
    assert "<script>" not in r.text  # no inline script: the page's own start-up is a file
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_openapi_declares_which_token_each_operation_needs(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert set(doc["components"]["securitySchemes"]) == {"staff", "reporter"}
    paths = doc["paths"]
    assert all("security" in op for ops in paths.values() for op in ops.values())
    assert paths["/api/v1/reports"]["post"]["security"] == []
    assert paths["/api/v1/reporter/case"]["get"]["security"] == [{"reporter": []}]
    assert paths["/api/v1/cases"]["get"]["security"] == [{"staff": []}]
    assert paths["/api/v1/auth/login"]["post"]["security"] == []
