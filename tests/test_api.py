"""The read side of the JSON API as API.md shapes it, with pinned query
budgets, and the token endpoint."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registry import review

from . import factories
from .factories import BatchFactory, ProductFactory, UserFactory, certificate, full_panel_results


def queries(call):
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, len(captured)


@pytest.fixture
def tested(db):
    batch = BatchFactory(lot_code="GMD-0926")
    certificate(batch, results=full_panel_results())
    return batch


def test_product_list_shape(api, tested):
    data = api.get("/api/v1/products/").json()
    assert set(data) == {"count", "next", "previous", "results"}
    item = data["results"][0]
    assert item["id"] == tested.product.pk
    assert item["vendor"] == {
        "slug": tested.product.vendor.slug,
        "name": tested.product.vendor.name,
    }
    assert item["verdict"] == "current"
    assert item["api_url"].endswith(f"/api/v1/products/{tested.product.pk}/")
    assert item["url"].endswith(f"/products/{tested.product.vendor.slug}/{tested.product.slug}/")


def test_product_detail_shape(api, tested):
    today = timezone.localdate()
    data = api.get(f"/api/v1/products/{tested.product.pk}/").json()
    status = data["status"]
    assert status["verdict"] == "current"
    assert status["standard"] == "baseline"
    assert status["as_of"] == today.isoformat()
    panels = {p["panel"]: p for p in status["panels"]}
    assert set(panels) == {"alkaloids", "heavy_metals", "microbials"}
    metals = panels["heavy_metals"]
    tested_on = today - dt.timedelta(days=30)
    assert metals["state"] == "current"
    assert metals["within_limits"] is True
    assert metals["tested_on"] == tested_on.isoformat()
    assert metals["current_until"] == (tested_on + dt.timedelta(days=365)).isoformat()
    assert metals["missing_analytes"] == []
    assert metals["certificates"][0].startswith("http://testserver/api/v1/certificates/")
    assert status["batches"] == [
        {
            "id": tested.pk,
            "lot": "GMD-0926",
            "on_sale": True,
            "verdict": "current",
            "api_url": "http://testserver/api/v1/lots/?code=GMD-0926",
        }
    ]
    assert data["verdicts"]["baseline"] == "current"
    assert set(data["verdicts"]) == {
        "baseline",
        "us-ut",
        "us-ok",
        "us-ga",
        "us-kcpa",
        "cz-448-2025",
        "usp-botanical",
    }


def test_product_detail_under_another_standard(api, tested):
    data = api.get(f"/api/v1/products/{tested.product.pk}/?standard=us-ga").json()
    assert data["status"]["standard"] == "us-ga"
    assert data["status"]["verdict"] == data["verdicts"]["us-ga"]


def test_unknown_standard_is_a_400_naming_the_field(api, tested):
    response = api.get(f"/api/v1/products/{tested.product.pk}/?standard=mars")
    assert response.status_code == 400
    assert "Unknown standard 'mars'" in response.json()["standard"][0]


def test_untested_product(api, db):
    product = ProductFactory()
    BatchFactory(product=product)
    data = api.get(f"/api/v1/products/{product.pk}/").json()
    assert data["status"]["verdict"] == "untested"
    assert all(p["state"] == "missing" for p in data["status"]["panels"])


def test_missing_product_is_404(api, db):
    assert api.get("/api/v1/products/999999/").status_code == 404


def test_list_filters(api, tested):
    other = ProductFactory(name="Red Bali Capsules", form="capsule")
    BatchFactory(product=other)
    assert [p["id"] for p in api.get("/api/v1/products/?verdict=untested").json()["results"]] == [
        other.pk
    ]
    assert [p["id"] for p in api.get("/api/v1/products/?form=capsule").json()["results"]] == [
        other.pk
    ]
    by_lot = api.get("/api/v1/products/?search=gmd-0926").json()["results"]
    assert [p["id"] for p in by_lot] == [tested.product.pk]
    assert api.get("/api/v1/products/?form=spaceship").status_code == 400


def test_product_detail_queries_do_not_grow_with_history(api, tested):
    """One product with one batch and one with 50 batches and 100
    certificates cost the same number of queries: everything is read from
    stored verdicts, joined in SQL."""
    _, small = queries(lambda: api.get(f"/api/v1/products/{tested.product.pk}/"))
    big = ProductFactory()
    for _ in range(50):
        batch = BatchFactory(product=big)
        certificate(batch, results=full_panel_results()[:4])
        certificate(batch, results=full_panel_results()[4:])
    response, large = queries(lambda: api.get(f"/api/v1/products/{big.pk}/"))
    assert len(response.json()["status"]["batches"]) == 50
    assert small == large
    assert large <= 8


def test_product_list_queries_do_not_grow_with_page_size(api, db):
    """The list is one count and one page query whatever its length."""
    for _ in range(3):
        certificate(BatchFactory(), results=full_panel_results())
    _, few = queries(lambda: api.get("/api/v1/products/"))
    for _ in range(20):
        certificate(BatchFactory(), results=full_panel_results())
    response, many = queries(lambda: api.get("/api/v1/products/"))
    assert response.json()["count"] == 23
    assert few == many
    assert many <= 6


def test_lots_endpoint(api, tested):
    other = BatchFactory(lot_code="gmd 0926")  # the same print at another vendor
    BatchFactory(lot_code="GMD-0927")
    data = api.get("/api/v1/lots/?code=GMD-0926").json()
    assert {b["id"] for b in data["results"]} == {tested.pk, other.pk}
    mine = next(b for b in data["results"] if b["id"] == tested.pk)
    assert mine["verdict"] == "current"
    assert mine["vendor"]["slug"] == tested.product.vendor.slug
    # Case, spaces and punctuation never tell two prints apart.
    for spelling in ("GMD0926", "gmd 0926", " GMD.0926 "):
        found = api.get("/api/v1/lots/", {"code": spelling}).json()["results"]
        assert {b["id"] for b in found} == {tested.pk, other.pk}
    assert api.get("/api/v1/lots/").status_code == 400


def test_vendors_labs_analytes_standards(api, tested):
    vendors = api.get("/api/v1/vendors/").json()["results"]
    assert vendors[0]["slug"] == tested.product.vendor.slug
    assert vendors[0]["product_count"] == 1
    assert vendors[0]["current_share"] == 1.0
    detail = api.get(f"/api/v1/vendors/{tested.product.vendor.slug}/").json()
    assert detail["name"] == tested.product.vendor.name
    labs = api.get("/api/v1/labs/").json()["results"]
    assert labs[0]["accreditation_body"] == "A2LA"
    analytes = {a["code"]: a for a in api.get("/api/v1/analytes/?page_size=100").json()["results"]}
    assert "Pb" in analytes["lead"]["synonyms"]
    standards = {s["code"]: s for s in api.get("/api/v1/standards/").json()["results"]}
    assert standards["baseline"]["is_default"] is True
    lead = next(r for r in standards["baseline"]["requirements"] if r["analyte"] == "lead")
    assert (lead["limit"], lead["comparison"], lead["unit"]) == ("1.200000000", "lt", "ppm")


def test_mine_needs_a_login_and_lists_only_own_vendors(api, db):
    mine = factories.MembershipFactory()
    factories.VendorFactory()
    assert api.get("/api/v1/vendors/?mine=1").status_code == 401
    api.force_authenticate(mine.user)
    assert [v["slug"] for v in api.get("/api/v1/vendors/?mine=1").json()["results"]] == [
        mine.vendor.slug
    ]


def test_token_from_password(api, db):
    UserFactory(username="vendor")
    response = api.post(
        "/api/v1/auth/token", {"username": "vendor", "password": "correct horse battery staple"}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/vendors/?mine=1").status_code == 200
    wrong = api.post("/api/v1/auth/token", {"username": "vendor", "password": "nope"})
    assert wrong.status_code == 400
    assert "non_field_errors" in wrong.json()


def test_certificate_visibility(api, db):
    """Approved and withdrawn certificates are public; pending ones only for
    the uploading vendor's members and staff."""
    membership = factories.MembershipFactory()
    product = ProductFactory(vendor=membership.vendor)
    batch = BatchFactory(product=product)
    pending = certificate(batch, approve=False)
    approved = certificate(batch)
    assert api.get(f"/api/v1/certificates/{approved.pk}/").status_code == 200
    assert api.get(f"/api/v1/certificates/{pending.pk}/").status_code == 404
    api.force_authenticate(UserFactory())
    assert api.get(f"/api/v1/certificates/{pending.pk}/").status_code == 404
    api.force_authenticate(membership.user)
    assert api.get(f"/api/v1/certificates/{pending.pk}/").json()["state"] == "pending"
    api.force_authenticate(UserFactory(username="staff", is_staff=True))
    assert api.get(f"/api/v1/certificates/{pending.pk}/").status_code == 200
    review.withdraw(approved, by=None, reason="Reissued")
    api.force_authenticate(None)
    withdrawn = api.get(f"/api/v1/certificates/{approved.pk}/").json()
    assert (withdrawn["state"], withdrawn["reason"]) == ("withdrawn", "Reissued")


def test_certificate_file_follows_visibility(client, db):
    batch = BatchFactory()
    pending = certificate(batch, approve=False)
    approved = certificate(batch)
    response = client.get(f"/certificates/{approved.pk}/file")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert f'filename="certificate-{approved.pk}.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert client.get(f"/certificates/{pending.pk}/file").status_code == 404


def test_schema_and_docs(api, db):
    schema = api.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/products/" in schema.content
    assert api.get("/api/v1/docs/").status_code == 200


def test_every_read_endpoint_costs_the_same_for_a_long_history(api, db):
    """Query counts of the read API for a short and a long history: equal,
    and pinned."""
    first = BatchFactory(lot_code="LOT-A")
    early = certificate(first, results=full_panel_results())

    def urls():
        return {
            "lots": "/api/v1/lots/?code=LOT-A",
            "vendors": "/api/v1/vendors/",
            "vendor": f"/api/v1/vendors/{first.product.vendor.slug}/",
            "labs": "/api/v1/labs/",
            "analytes": "/api/v1/analytes/",
            "standards": "/api/v1/standards/",
            "certificates": "/api/v1/certificates/",
            "certificate": f"/api/v1/certificates/{early.pk}/",
        }

    def counts():
        return {name: queries(lambda url=url: api.get(url))[1] for name, url in urls().items()}

    short = counts()
    for n in range(15):
        batch = BatchFactory(product=first.product, lot_code=f"LOT-A{n}")
        certificate(batch, results=full_panel_results())
        BatchFactory(lot_code="LOT-A")
    assert counts() == short
    assert short == {
        "lots": 3,
        "vendors": 2,
        "vendor": 1,
        "labs": 2,
        "analytes": 3,
        "standards": 4,
        # certificates: + the default standard and its requirements (within_limits)
        "certificates": 9,
        "certificate": 8,
    }


def test_a_locked_out_username_gets_429_from_the_token_endpoint(api, db, settings):
    UserFactory(username="vendor")
    wrong = {"username": "vendor", "password": "x"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert api.post("/api/v1/auth/token", wrong).status_code == 400
    # The failure that reaches the limit locks, and so does the right password after it.
    assert api.post("/api/v1/auth/token", wrong).status_code == 429
    right = {"username": "vendor", "password": "correct horse battery staple"}
    locked = api.post("/api/v1/auth/token", right)
    assert locked.status_code == 429
    assert "locked" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == 900
    assert "token" not in locked.json()
