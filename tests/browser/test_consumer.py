"""A consumer in Chromium: search a lot code from the home page and land on
that batch; filter the list; read a product's verdict and the
per-jurisdiction table; use the dose calculator; no console errors; no
serious or critical axe-core violations; screenshots at 360 and 1280 px."""

import pytest
from django.urls import reverse

from registry.models import Certificate

from ..factories import BatchFactory, ProductFactory, certificate, full_panel_results
from .conftest import axe_violations, shot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]


@pytest.fixture
def shop(db):
    tested = BatchFactory(
        lot_code="GMD-0926",
        product__name="Green Maeng Da Powder",
        product__slug="green-maeng-da-powder",
        product__vendor__name="Example Botanicals",
        product__vendor__slug="example-botanicals",
    )
    certificate(tested, results=full_panel_results())
    failing = BatchFactory(
        lot_code="RB-0101",
        product__name="Red Bali Capsules",
        product__slug="red-bali-capsules",
        product__form="capsule",
        product__vendor=tested.product.vendor,
    )
    heavy = [r for r in full_panel_results() if r["analyte"] != "lead"]
    certificate(failing, results=[*heavy, {"analyte": "lead", "value": "2.4", "unit": "ppm"}])
    ProductFactory(name="White Borneo", vendor=tested.product.vendor)
    return tested


def test_lot_search_lands_on_the_batch(live_server, page, shop):
    page.goto(live_server.url + "/")
    page.get_by_label("Product, vendor, lot code or barcode").fill("gmd 0926")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/lots/?code=*")
    row = page.get_by_role("row", name="Green Maeng Da Powder")
    assert "Tested & current" in row.inner_text()
    assert page.console_errors == []


def test_filter_the_list(live_server, page, shop):
    page.goto(live_server.url + reverse("product_list"))
    assert not page.get_by_label("Verdict").is_visible()  # folded: products first
    page.get_by_text("Filter and sort").click()
    page.get_by_label("Verdict").select_option("fails_limits")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**verdict=fails_limits*")
    body = page.locator("tbody").inner_text()
    assert "Red Bali Capsules" in body and "Green Maeng Da" not in body


def test_product_page_verdict_jurisdictions_dose(live_server, page, shop):
    url = live_server.url + shop.product.get_absolute_url()
    page.goto(url)
    verdict = page.locator("#verdict-heading").inner_text()
    assert "Tested & current" in verdict
    table = page.locator("section[aria-labelledby=jurisdiction-heading] table").inner_text()
    assert "Georgia" in table and "Czech" in table
    page.get_by_label("Grams of product").first.fill("3")
    page.get_by_role("button", name="Calculate").click()
    status = page.get_by_role("status").inner_text()
    assert "45.6 mg mitragynine" in status  # 1.52 % of 3 g
    assert page.console_errors == []
    assert axe_violations(page) == []
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        # Responsive from 360 px: nothing makes the page scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"product-{width}")
        page.goto(live_server.url + "/")
        shot(page, f"home-{width}")
        page.goto(live_server.url + "/lots/?code=GMD-0926")
        shot(page, f"lot-{width}")
        page.goto(url)


def test_on_a_phone_each_result_reads_without_scrolling_sideways(live_server, page, shop):
    """At 360 px the results, panels and certificates become one card per
    row: every cell in view, under its column's name, and still a table with
    rows and cells to a screen reader."""
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(live_server.url + "/products/example-botanicals/red-bali-capsules/")
    for heading in ("panels-heading", "results-heading", "certs-heading"):
        cells = page.locator(f"section[aria-labelledby={heading}] td")
        assert cells.count() >= 4, heading
        for i in range(cells.count()):
            box = cells.nth(i).bounding_box()
            if box:  # an empty cell (no bar to draw) is not shown
                assert box["x"] + box["width"] <= 360, (heading, cells.nth(i).inner_text())
    results = page.locator("section[aria-labelledby=results-heading] table")
    lead = results.get_by_role("row", name="Lead")
    assert lead.get_by_role("rowheader").inner_text() == "Lead"
    assert "over the limit" in lead.get_by_role("cell").last.inner_text()
    assert axe_violations(page) == []
    assert page.console_errors == []


def test_on_a_phone_no_public_page_scrolls_sideways(live_server, page, shop):
    """Responsive from 360 px: a certificate's digest, its first page's
    preview or a long table never make a page wider than the phone."""
    report = Certificate.objects.filter(batches=shop).get()
    assert report.preview  # the preview image is part of what must fit
    page.set_viewport_size({"width": 360, "height": 800})
    for path in [
        "/",
        "/products/",
        "/lots/?code=GMD-0926",
        "/labs/",
        "/vendors/example-botanicals/",
        shop.product.get_absolute_url(),
        report.get_absolute_url(),
    ]:
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        # A table's caption runs the width of the page, not one word a line.
        for caption in page.locator("caption").all():
            assert caption.bounding_box()["width"] > 250, (path, caption.inner_text())
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["/", "/products/", "/lots/?code=GMD-0926", "/labs/"])
def test_public_pages_pass_axe(live_server, page, shop, path):
    page.goto(live_server.url + path)
    assert axe_violations(page) == []
    assert page.console_errors == []
