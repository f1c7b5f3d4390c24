"""Pages only a logged-in person may see tell every cache between them and
the browser not to keep them (``Cache-Control: private, no-store``)."""

from django.urls import reverse

from . import factories
from .factories import BatchFactory, ProductFactory, certificate


def assert_private(response):
    assert response.status_code == 200
    control = response["Cache-Control"]
    assert "private" in control and "no-store" in control, control


def test_portal_pages_are_private(client, db):
    membership = factories.MembershipFactory()
    product = ProductFactory(vendor=membership.vendor)
    batch = BatchFactory(product=product)
    client.force_login(membership.user)
    for url in (
        reverse("portal"),
        reverse("portal_upload"),
        reverse("portal_product", args=[product.pk]),
        reverse("portal_batch_new", args=[product.pk]),
        reverse("portal_batch", args=[batch.pk]),
    ):
        assert_private(client.get(url))


def test_review_pages_are_private(client, db):
    pending = certificate(BatchFactory(), approve=False)
    client.force_login(factories.UserFactory(username="reviewer", is_staff=True))
    for url in (
        reverse("review_queue"),
        reverse("review_detail", args=[pending.pk]),
        reverse("review_reports"),
    ):
        assert_private(client.get(url))
