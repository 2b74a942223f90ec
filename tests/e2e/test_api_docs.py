"""The API docs page works without internet: every request the page makes (its script,
its stylesheet, the OpenAPI document) is answered by the product itself, not a CDN."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_renders_the_operations_from_our_own_origin(page, live_server):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.url}/api/v1/docs")

    # Swagger UI has run: the operations of the OpenAPI document are listed.
    expect(page.get_by_role("heading", name="ICB API")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/accounts").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    foreign = [url for url in requested if not url.startswith(f"{live_server.url}/")]
    assert not foreign, f"requests to other origins: {foreign}"
    assert any(url.endswith("/api/v1/openapi.json") for url in requested)
