"""The vendor portal and the API write side: uploads through the real file
checks, and who may see and do what — every page and write in three steps
(anonymous → login or 401; another vendor's member → 404; the right user →
200)."""

import io
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from fpdf import FPDF
from rest_framework.authtoken.models import Token

from registry.models import Certificate, ReviewEvent
from vendors.models import Batch

from . import factories
from .factories import BatchFactory, LabFactory, certificate, full_panel_results


def lab_report_pdf(lot="GMD-0926", text="Certificate of Analysis"):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, text)
    pdf.ln()
    pdf.cell(0, 10, f"Lot: {lot}")
    return bytes(pdf.output())


def stored_files(media_root):
    root = Path(media_root)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def world(db):
    """Two vendors, each with a member, a product and a batch."""
    mine = factories.MembershipFactory(user__username="vendor")
    theirs = factories.MembershipFactory(user__username="vendor2")
    my_batch = BatchFactory(product__vendor=mine.vendor, lot_code="GMD-0926")
    their_batch = BatchFactory(product__vendor=theirs.vendor, lot_code="RB-1")
    lab = LabFactory()
    return {
        "me": mine.user,
        "other": theirs.user,
        "vendor": mine.vendor,
        "batch": my_batch,
        "their_batch": their_batch,
        "lab": lab,
        "staff": factories.UserFactory(username="reviewer", is_staff=True),
    }


def _named(data, name):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def upload_data(world, data=None, name="coa.pdf", **extra):
    return {
        "vendor": world["vendor"].slug,
        "file": _named(lab_report_pdf() if data is None else data, name),
        "batches": [world["batch"].pk],
        "lab": world["lab"].pk,
        "report_number": "EA-2026-001",
        "tested_on": "2026-09-04",
        **extra,
    }


def test_vendor_uploads_and_sees_it_pending_with_its_flags(client, world, media_root):
    client.force_login(world["me"])
    response = client.post(reverse("portal_upload"), upload_data(world))
    assert response.status_code == 302
    created = Certificate.objects.get()
    assert (created.state, created.vendor, created.uploaded_by) == (
        "pending",
        world["vendor"],
        world["me"],
    )
    assert list(created.batches.all()) == [world["batch"]]
    assert "GMD-0926" in created.document_text
    assert created.preview.name.startswith("previews/")
    assert len(stored_files(media_root)) == 2  # the file and its preview
    assert ReviewEvent.objects.get(certificate=created).action == "submitted"
    portal = client.get(reverse("portal")).content.decode()
    assert "EA-2026-001" in portal and "Pending review" in portal


def test_refused_upload_changes_nothing(client, world, media_root):
    client.force_login(world["me"])
    response = client.post(
        reverse("portal_upload"), upload_data(world, data=b"<html>hi</html>", name="coa.pdf")
    )
    assert response.status_code == 400
    assert Certificate.objects.count() == 0
    assert stored_files(media_root) == []
    assert client.get("/healthz").status_code == 200


def test_upload_over_the_limit_is_refused_before_reading(client, world, settings, media_root):
    settings.CERTIFICATE_MAX_UPLOAD_BYTES = 1000
    client.force_login(world["me"])
    response = client.post(
        reverse("portal_upload"), upload_data(world, data=b"%PDF-" + b"0" * 5000)
    )
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert Certificate.objects.count() == 0
    assert stored_files(media_root) == []


def test_cannot_upload_for_another_vendors_batch(client, world):
    client.force_login(world["me"])
    data = upload_data(world)
    data["batches"] = [world["their_batch"].pk]
    response = client.post(reverse("portal_upload"), data)
    assert response.status_code == 400  # not a choice offered to this vendor
    assert Certificate.objects.count() == 0


def test_storage_full_is_a_503_and_leaves_nothing(client, world, monkeypatch, media_root):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(default_storage, "_save", full)
    client.force_login(world["me"])
    response = client.post(reverse("portal_upload"), upload_data(world))
    assert response.status_code == 503
    assert Certificate.objects.count() == 0
    assert stored_files(media_root) == []


def test_rejected_upload_can_be_replaced(client, world):
    client.force_login(world["me"])
    client.post(reverse("portal_upload"), upload_data(world))
    first = Certificate.objects.get()
    from registry import review

    review.reject(first, by=world["staff"], code="illegible", reason="Blurred scan.")
    page = client.get(reverse("portal")).content.decode()
    assert "Blurred scan." in page and f"replaces={first.pk}" in page
    data = upload_data(world, data=lab_report_pdf(text="Second scan"))
    data["replaces"] = first.pk
    response = client.post(reverse("portal_upload"), data)
    assert response.status_code == 302
    assert Certificate.objects.get(replaces=first).state == "pending"


# --- three-step authorization ---------------------------------------------


def portal_pages(world):
    return [
        reverse("portal"),
        reverse("portal_upload"),
        reverse("portal_product", args=[world["batch"].product_id]),
        reverse("portal_batch", args=[world["batch"].pk]),
    ]


def test_portal_pages_need_login_then_membership(client, world):
    for url in portal_pages(world):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    client.force_login(world["other"])
    assert (
        client.get(reverse("portal_product", args=[world["batch"].product_id])).status_code == 404
    )
    assert client.get(reverse("portal_batch", args=[world["batch"].pk])).status_code == 404
    client.force_login(world["me"])
    for url in portal_pages(world):
        assert client.get(url).status_code == 200, url


def test_pending_certificate_page_and_file(client, world):
    pending = certificate(world["batch"], approve=False)
    pages = [
        reverse("certificate_detail", args=[pending.pk]),
        reverse("certificate_file", args=[pending.pk]),
    ]

    def status(url):
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)  # read to the end, which closes the file
        return response.status_code

    for url in pages:
        assert status(url) == 404, url  # anonymous: not public
    client.force_login(world["other"])
    for url in pages:
        assert status(url) == 404, url
    client.force_login(world["me"])
    for url in pages:
        assert status(url) == 200, url
    client.force_login(world["staff"])
    for url in pages:
        assert status(url) == 200, url


def test_review_pages_are_staff_only(client, world):
    pending = certificate(world["batch"], approve=False)
    urls = [
        reverse("review_queue"),
        reverse("review_reports"),
        reverse("review_detail", args=[pending.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302, url
    client.force_login(world["me"])
    for url in urls:
        assert client.get(url).status_code == 302, url  # to the admin login
    client.force_login(world["staff"])
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_decisions_only_by_post_with_csrf(world):
    from django.test import Client

    pending = certificate(world["batch"], approve=False, results=full_panel_results())
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world["staff"])
    url = reverse("review_approve", args=[pending.pk])
    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403  # no CSRF token
    pending.refresh_from_db()
    assert pending.state == "pending"


def test_vendor_edits_only_their_own_batches(client, world):
    client.force_login(world["me"])
    url = reverse("portal_batch", args=[world["batch"].pk])
    response = client.post(url, {"lot_code": "GMD-0926", "on_sale": ""})
    assert response.status_code == 302
    assert Batch.objects.get(pk=world["batch"].pk).on_sale is False
    other = reverse("portal_batch", args=[world["their_batch"].pk])
    assert client.post(other, {"lot_code": "X", "on_sale": ""}).status_code == 404
    assert Batch.objects.get(pk=world["their_batch"].pk).lot_code == "RB-1"


def test_token_create_and_revoke(client, world):
    client.force_login(world["me"])
    client.post(reverse("portal_token"), {"action": "create"})
    key = Token.objects.get(user=world["me"]).key
    client.post(reverse("portal_token"), {"action": "revoke"})
    assert not Token.objects.filter(key=key).exists()


def test_login_lockout_after_repeated_failures(client, world, settings):
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "vendor", "password": "wrong"})
    response = client.post(url, {"username": "vendor", "password": "correct horse battery staple"})
    assert response.status_code == 429
    assert "locked out" in response.content.decode()


# --- API write side -------------------------------------------------------


def api_upload(world, **extra):
    return {
        "file": _named(lab_report_pdf(), "coa.pdf"),
        "batch": world["batch"].pk,
        "lab": world["lab"].pk,
        "report_number": "EA-2026-009",
        "tested_on": "2026-09-04",
        **extra,
    }


def test_api_upload_three_steps(api, world):
    url = "/api/v1/certificates/"
    assert api.post(url, api_upload(world), format="multipart").status_code == 401
    api.force_authenticate(world["other"])
    assert api.post(url, api_upload(world), format="multipart").status_code == 403
    api.force_authenticate(world["me"])
    response = api.post(url, api_upload(world, state="approved"), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "pending"  # a vendor posting state=approved is ignored
    assert isinstance(body["flags"], list)
    mine = api.get(url, {"mine": 1}).json()["results"]
    assert [c["id"] for c in mine] == [body["id"]]


def test_api_upload_by_product_and_new_lot(api, world):
    api.force_authenticate(world["me"])
    data = api_upload(world, product=world["batch"].product_id, lot="NEW-LOT-1")
    del data["batch"]
    response = api.post("/api/v1/certificates/", data, format="multipart")
    assert response.status_code == 201, response.content
    assert Batch.objects.filter(lot_code="NEW-LOT-1", product=world["batch"].product).exists()


def test_api_refused_file_creates_no_batch(api, world):
    api.force_authenticate(world["me"])
    data = api_upload(world, product=world["batch"].product_id, lot="NEW-LOT-2")
    del data["batch"]
    data["file"] = _named(b"GIF89a....", "coa.pdf")
    response = api.post("/api/v1/certificates/", data, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()
    assert not Batch.objects.filter(lot_code="NEW-LOT-2").exists()


def test_api_token_auth_and_staff_decisions(api, world):
    pending = certificate(world["batch"], approve=False)
    token = Token.objects.create(user=world["me"])
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    url = f"/api/v1/certificates/{pending.pk}/approve"
    assert api.post(url).status_code == 403  # a vendor cannot approve
    api.credentials()
    assert api.post(url).status_code == 401
    api.force_authenticate(world["staff"])
    results = full_panel_results()
    put = api.put(
        f"/api/v1/certificates/{pending.pk}/results/", {"results": results}, format="json"
    )
    assert put.status_code == 200, put.content
    assert api.post(url).json()["state"] == "approved"
    again = api.post(url)
    assert again.status_code == 409
    assert "approved now" in again.json()["detail"]
    bad = api.post(f"/api/v1/certificates/{pending.pk}/withdraw", {}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()
    done = api.post(f"/api/v1/certificates/{pending.pk}/withdraw", {"reason": "Reissued"})
    assert done.json()["state"] == "withdrawn"


def test_api_reject_needs_code_and_reason(api, world):
    pending = certificate(world["batch"], approve=False)
    api.force_authenticate(world["staff"])
    url = f"/api/v1/certificates/{pending.pk}/reject"
    assert set(api.post(url, {}, format="json").json()) == {"code", "reason"}
    done = api.post(url, {"code": "illegible", "reason": "Blurred"}, format="json")
    assert done.json()["state"] == "rejected"


# --- regressions from review ----------------------------------------------


def test_lot_code_is_fixed_once_the_batch_exists(client, world):
    client.force_login(world["me"])
    url = reverse("portal_batch", args=[world["batch"].pk])
    client.post(url, {"lot_code": "B-999", "on_sale": "on"})
    assert Batch.objects.get(pk=world["batch"].pk).lot_code == "GMD-0926"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("---", "at least one letter"),
        ("gmd 0926", "already has lot"),
        ("ＧＭＤ－０９２６", "already has lot"),  # fullwidth reads the same
        ("ﷺ" * 5, "at most 64 characters"),  # folds to 75 letters
    ],
)
def test_new_lot_codes_are_checked(client, world, code, message):
    client.force_login(world["me"])
    url = reverse("portal_batch_new", args=[world["batch"].product_id])
    response = client.post(url, {"lot_code": code, "on_sale": "on"})
    assert response.status_code == 200 and message in response.content.decode()


@pytest.mark.parametrize(
    ("lot", "message"),
    [
        ("---", "A lot code needs at least one letter or digit."),
        ("ﷺ" * 5, "A lot code can be at most 64 characters."),  # its key: 75 letters
        ("ﬃ" * 30, "A lot code can be at most 64 characters."),  # 90
    ],
)
def test_api_lot_that_cannot_be_keyed_is_a_400(api, world, lot, message):
    api.force_authenticate(world["me"])
    data = api_upload(world, product=world["batch"].product_id, lot=lot)
    del data["batch"]
    batches = Batch.objects.count()
    response = api.post("/api/v1/certificates/", data, format="multipart")
    assert response.status_code == 400 and response.json()["lot"] == [message]
    assert Batch.objects.count() == batches


def test_labs_page_counts_only_published_certificates(client, world):
    certificate(world["batch"], approve=False)
    certificate(world["batch"])
    page = client.get(reverse("lab_list")).content.decode()
    assert 'data-label="Certificates">1 approved</td>' in page


def test_admin_cannot_delete_certificates_or_events(client, world):
    admin_user = factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    approved = certificate(world["batch"])
    client.force_login(admin_user)
    delete = reverse("admin:registry_certificate_delete", args=[approved.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    event = approved.events.first()
    assert (
        client.post(
            reverse("admin:registry_reviewevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Certificate.objects.filter(pk=approved.pk).exists()


def test_cached_labs_page_follows_a_lab_rename(client, world):
    client.get(reverse("lab_list"))
    world["lab"].name = "Renamed Analytical"
    world["lab"].save()
    response = client.get(reverse("lab_list"))
    assert "Renamed Analytical" in response.content.decode()
