"""The one factory module. Certificates go through the real import path
(``registry.importing``) so tests store what production stores."""

import datetime as dt
import itertools
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from registry import coa_pdf
from registry.catalogue import Catalogue
from registry.importing import import_document, read_document
from registry.models import Lab
from vendors.models import Batch, Membership, Product, Vendor


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Vendor {n}")
    slug = factory.Sequence(lambda n: f"vendor-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    vendor = factory.SubFactory(VendorFactory)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    vendor = factory.SubFactory(VendorFactory)
    name = factory.Sequence(lambda n: f"Green Maeng Da {n}")
    slug = factory.Sequence(lambda n: f"green-maeng-da-{n}")
    form = Product.Form.POWDER
    serving_size_g = Decimal("3")
    max_servings_per_day = 3
    label_mitragynine_mg = Decimal("45")


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    product = factory.SubFactory(ProductFactory)
    lot_code = factory.Sequence(lambda n: f"LOT-{n:04d}")
    on_sale = True


class LabFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lab
        django_get_or_create = ("name",)

    name = "Example Analytical"
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))
    accreditation_body = "A2LA"
    accreditation_id = "1234.01"
    accredited_from = dt.date(2020, 1, 1)
    accredited_until = dt.date(2030, 12, 31)


def full_panel_results(**overrides):
    """coa/1 results that pass every required baseline panel."""
    results = {
        "mitragynine": {"value": "1.52", "unit": "%"},
        "7-hydroxymitragynine": {"value": "0.021", "unit": "%"},
        "lead": {"value": "0.21", "unit": "ppm"},
        "arsenic": {"value": "0.12", "unit": "ppm"},
        "cadmium": {"qualifier": "ND", "loq": "0.05", "unit": "ppm"},
        "mercury": {"value": "0.01", "unit": "ppm"},
        "salmonella": {"qualifier": "absent", "basis": "25 g"},
        "e-coli": {"qualifier": "absent", "basis": "10 g"},
        "total-yeast-mold": {"raw": "<100 CFU/g"},
    }
    for code, value in overrides.items():
        code = code.replace("_", "-")
        if value is None:
            results.pop(code, None)
        else:
            results[code] = value
    return [{"analyte": code, **item} for code, item in results.items()]


REPORT_NUMBERS = itertools.count(1)


def coa_document(batch, *, results=None, tested_on=None, report_number=None, lab=None, **extra):
    tested_on = tested_on or dt.date.today() - dt.timedelta(days=30)
    lab = lab or LabFactory()
    doc = {
        "format": "coa/1",
        "lab": {"name": lab.name},
        "report_number": report_number or f"R-{batch.pk}-{next(REPORT_NUMBERS)}",
        "vendor": batch.product.vendor.slug,
        "product": batch.product.slug,
        "lots": [batch.lot_code],
        "sampled_on": (tested_on - dt.timedelta(days=3)).isoformat(),
        "tested_on": tested_on.isoformat(),
        "issued_on": tested_on.isoformat(),
        "results": results if results is not None else full_panel_results(),
    }
    doc.update(extra)
    return doc


def certificate(batch, *, approve=True, **kwargs):
    """A certificate for ``batch`` through the real import path, as a real PDF."""
    doc = coa_document(batch, **kwargs)
    clean = read_document(doc, catalogue=Catalogue.load())
    return import_document(
        clean, data=coa_pdf.render_coa_pdf(doc, core_fonts=True), approve=approve
    )


def stored_bytes(certificate):
    with certificate.file.open("rb") as handle:
        return handle.read()
