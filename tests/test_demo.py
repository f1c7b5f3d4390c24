"""``manage.py load_demo``: the demo set covers every verdict, holds real
PDF files, and loading it twice adds nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from registry.models import Certificate, Lab, ProductVerdict
from vendors.models import Membership, Product, Vendor

from .factories import stored_bytes


@pytest.fixture
def demo(db, capsys):
    call_command("load_demo", "--password", "demo-pass-123")
    return capsys.readouterr().out


def counts():
    return (
        Vendor.objects.count(),
        Product.objects.count(),
        Certificate.objects.count(),
        Lab.objects.count(),
    )


def test_demo_covers_every_verdict(demo):
    today = timezone.localdate()
    rows = ProductVerdict.objects.filter(standard__is_default=True)
    seen = {row.status_on(today) for row in rows}
    assert seen == {"current", "stale", "incomplete", "fails_limits", "untested"}
    assert Vendor.objects.count() >= 8
    assert Product.objects.count() >= 40
    assert set(Product.objects.values_list("form", flat=True)) == {
        "powder",
        "capsule",
        "tablet",
        "extract",
        "liquid",
        "gummy",
    }


def test_demo_certificates_are_real_pdfs_in_every_state(demo):
    states = set(Certificate.objects.values_list("state", flat=True))
    assert states == {"approved", "pending", "rejected", "withdrawn"}
    for certificate in Certificate.objects.all()[:5]:
        assert stored_bytes(certificate).startswith(b"%PDF-")
    lapsed = Lab.objects.get(name="Sunbelt Quick Labs")
    assert lapsed.accredited_until < timezone.localdate()
    # Split reports: one batch covered by a chemistry and a microbiology report.
    split = list(Certificate.objects.filter(lab__name="Cascade Analytical"))
    assert any(not c.results.filter(analyte__panel="microbials").exists() for c in split)
    assert any(not c.results.filter(analyte__panel="alkaloids").exists() for c in split)


def test_demo_users(demo):
    users = get_user_model().objects
    assert users.get(username="reviewer").is_staff
    assert users.get(username="reviewer").check_password("demo-pass-123")
    vendor = Membership.objects.get(user__username="vendor").vendor
    vendor2 = Membership.objects.get(user__username="vendor2").vendor
    assert vendor != vendor2
    assert "reviewer" in demo and "demo-pass-123" in demo


def test_demo_is_idempotent(demo, capsys):
    before = counts()
    call_command("load_demo")
    assert counts() == before
    out = capsys.readouterr().out
    assert "vendor2" in out  # prints the logins with a fresh random password
