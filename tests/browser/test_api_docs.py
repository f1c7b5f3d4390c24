"""The API's docs page in Chromium: Swagger UI renders every operation
under the site's strict CSP (its scripts and styles from our own files)."""

import pytest

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_api_docs_render_under_the_csp(live_server, page):
    page.goto(live_server.url + "/api/v1/docs/")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.get_by_text("/api/v1/products/export/").count() == 1
    assert page.locator(".opblock").count() > 10
    shot(page, "api-docs-1280")
    assert page.console_errors == []
