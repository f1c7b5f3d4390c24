"""Staff can open every admin page for every model (search and filters
included), and the saves that change verdicts refresh them."""

import pytest
from django.contrib import admin
from django.urls import reverse

from registry.models import Lab

from .factories import BatchFactory, UserFactory, certificate, full_panel_results


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def test_every_changelist_and_change_page_opens(staff_client):
    cert = certificate(BatchFactory(), results=full_panel_results())
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = staff_client.get(url, {"q": "a"} if model_admin.search_fields else {})
        assert response.status_code == 200, url
        instance = model.objects.first()
        if instance is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[instance.pk])
            assert staff_client.get(change).status_code == 200, change
    page = staff_client.get(reverse("admin:registry_certificate_change", args=[cert.pk]))
    assert b"Lead" in page.content  # results inline


def test_lab_accreditation_edit_in_admin_refreshes_verdicts(staff_client):
    batch = BatchFactory()
    cert = certificate(batch, results=full_panel_results())
    lab = Lab.objects.get(pk=cert.lab_id)
    url = reverse("admin:registry_lab_change", args=[lab.pk])
    response = staff_client.post(
        url,
        {
            "name": lab.name,
            "slug": lab.slug,
            "address": "",
            "website": "",
            "accreditation_body": lab.accreditation_body,
            "accreditation_id": lab.accreditation_id,
            "accredited_from": "2020-01-01",
            "accredited_until": "2021-01-01",
        },
    )
    assert response.status_code == 302
    assert batch.product.verdicts.get(standard__is_default=True).status == "untested"


def test_admin_needs_staff(client, db):
    client.force_login(UserFactory(username="plain"))
    response = client.get(reverse("admin:registry_certificate_changelist"))
    assert response.status_code == 302


def test_a_batch_cannot_be_moved_to_another_product(staff_client):
    batch = BatchFactory()
    certificate(batch, results=full_panel_results())
    other = BatchFactory().product
    url = reverse("admin:vendors_batch_change", args=[batch.pk])
    response = staff_client.post(url, {"product": other.pk, "lot_code": "MOVED-1"})
    assert response.status_code == 302
    before = (batch.product_id, batch.lot_code)
    batch.refresh_from_db()
    assert (batch.product_id, batch.lot_code) == before
    assert batch.verdicts.get(standard__is_default=True).status == "current"
