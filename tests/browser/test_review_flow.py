"""The whole path in Chromium: a vendor logs in and uploads a certificate, a
reviewer claims it, corrects a value and approves it, and the public
product page shows the new verdict."""

from pathlib import Path

import pytest

from ..factories import BatchFactory, LabFactory, MembershipFactory, UserFactory, coa_document
from .conftest import shot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]

PASSWORD = "correct horse battery staple"


def log_in(page, base, username):
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_upload_review_approve_publish(live_server, page, tmp_path):
    from registry import coa_pdf

    membership = MembershipFactory(user__username="vendor")
    batch = BatchFactory(
        product__vendor=membership.vendor,
        product__name="Green Maeng Da Powder",
        lot_code="GMD-0926",
    )
    lab = LabFactory()
    UserFactory(username="reviewer", is_staff=True)
    document = coa_document(batch, lab=lab)
    pdf = Path(tmp_path) / "coa.pdf"
    pdf.write_bytes(coa_pdf.render_coa_pdf(document, core_fonts=True))
    base = live_server.url

    log_in(page, base, "vendor")
    page.goto(base + "/portal/upload/")
    page.get_by_label("File").set_input_files(str(pdf))
    page.get_by_label("Green Maeng Da Powder · lot GMD-0926").check()
    page.get_by_label("Lab", exact=False).and_(page.locator("select")).select_option(label=lab.name)
    page.get_by_label("Lab report number").fill("EA-2026-777")
    page.get_by_label("Tested on").fill(document["tested_on"])
    page.get_by_role("button", name="Upload for review").click()
    page.wait_for_url("**/certificates/*/")
    assert "Pending review" in page.content()
    shot(page, "vendor-uploaded")

    page.context.clear_cookies()
    log_in(page, base, "reviewer")
    page.goto(base + "/review/")
    page.get_by_role("link", name="EA-2026-777").click()
    page.get_by_role("button", name="Claim for 30 minutes").click()
    assert "claimed by reviewer" in page.content()
    # Extraction prefilled the form from the PDF; correct the lead value.
    lead_row = page.locator("tr", has=page.locator("select option[selected][value=lead]"))
    lead_row.locator("input[name$='-value']").fill("0.25")
    page.get_by_role("button", name="Save results").click()
    assert "Saved" in page.content()
    shot(page, "review-page")
    page.get_by_role("button", name="Approve").click()
    assert "Approved report EA-2026-777" in page.content()

    page.context.clear_cookies()
    page.goto(base + batch.product.get_absolute_url())
    assert "Tested &amp; current" in page.content() or "Tested & current" in page.inner_text("body")
    lead = page.get_by_role("row", name="Lead")
    assert "0.25 ppm" in lead.inner_text()
    assert page.console_errors == []
