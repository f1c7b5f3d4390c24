"""Demo data for ``manage.py load_demo``: made-up vendors, products, batches,
labs and certificates (real PDF files laid out like lab reports), covering
every verdict. Dates are relative to the day it runs so the demo stays
meaningful; loading twice adds nothing.
"""

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from vendors.models import Batch, Membership, Product, Vendor

from . import coa_pdf, review, verdicts
from .catalogue import Catalogue
from .importing import import_document, read_document
from .models import Certificate, Lab

LABS = [
    # name, body, id, accredited_from, accredited_until (days from today), address
    ("Northfield Botanical Labs", "A2LA", "4417.01", -2000, 580, "12 Mill Road, Northfield, MN"),
    ("Cascade Analytical", "PJLA", "L21-309", -1500, 800, "300 Harbor Ave, Tacoma, WA"),
    ("Lakeshore Testing Services", "ANAB", "AT-2214", -1200, 400, "88 Dune Street, Muskegon, MI"),
    ("Brněnská analytická laboratoř", "ČIA", "1572", -2500, 1100, "Hradecká 9, 612 00 Brno"),
    # Accreditation lapsed: certificates from it count for nothing.
    ("Sunbelt Quick Labs", "A2LA", "5120.02", -2000, -200, "7 Commerce Pkwy, Tampa, FL"),
]

VENDORS = [
    ("Example Botanicals", "example-botanicals"),
    ("Golden Leaf Trading", "golden-leaf-trading"),
    ("Riverbend Kratom", "riverbend-kratom"),
    ("Sumatra Select", "sumatra-select"),
    ("Borneo Roots", "borneo-roots"),
    ("Harbor Herbals", "harbor-herbals"),
    ("Verde Valley Supply", "verde-valley-supply"),
    ("Pražská bylinná", "prazska-bylinna"),
]

# name, form, serving g, max servings/day, label mg mitragynine/serving
PRODUCTS = [
    ("Green Maeng Da Powder", "powder", "3", 3, "45"),
    ("Red Bali Capsules", "capsule", "2.5", 4, "30"),
    ("White Borneo Powder", "powder", "3", 3, "40"),
    ("Yellow Vietnam Tablets", "tablet", "2", 4, "28"),
    ("Full Spectrum Extract", "extract", "0.5", 2, "60"),
    ("Kratom Tea Shot", "liquid", "30", 1, "25"),
    ("Kratom Gummies", "gummy", "4", 2, "20"),
    ("Gold Reserve Extract", "extract", "0.25", 2, "40"),
]

# Which story each product's batches tell (cycled over the 40 products).
SCENARIOS = [
    "current",
    "current_split",
    "stale",
    "incomplete",
    "fails_lead",
    "current",
    "untested",
    "fails_share",
    "lapsed_lab",
    "current_two_batches",
    "pending",
    "withdrawn",
    "current_czech",
    "rejected",
]


@dataclass
class Context:
    today: dt.date
    labs: list
    catalogue: Catalogue
    reviewer: object
    counter: int = 0


def alkaloids(mit="1.52", oh="0.021"):
    return [
        {"analyte": "mitragynine", "value": mit, "unit": "%"},
        {"analyte": "7-hydroxymitragynine", "value": oh, "unit": "%"},
        {"analyte": "paynantheine", "value": "0.41", "unit": "%"},
        {"analyte": "speciogynine", "value": "0.33", "unit": "%"},
    ]


def metals(lead="0.21"):
    return [
        {"analyte": "lead", "value": lead, "unit": "ppm", "loq": "0.01"},
        {"analyte": "arsenic", "value": "0.12", "unit": "ppm", "loq": "0.01"},
        {"analyte": "cadmium", "qualifier": "ND", "loq": "0.01", "unit": "ppm"},
        {"analyte": "mercury", "qualifier": "<", "value": "0.005", "loq": "0.005", "unit": "ppm"},
    ]


def microbials():
    return [
        {"analyte": "salmonella", "qualifier": "absent", "basis": "25 g"},
        {"analyte": "e-coli", "qualifier": "absent", "basis": "10 g"},
        {"analyte": "total-aerobic-count", "value": "12000", "unit": "CFU/g"},
        {"analyte": "total-yeast-mold", "raw": "<100 CFU/g"},
    ]


# Alkaloid content relative to plain leaf powder, by form: extracts are
# concentrated, drinks and gummies dilute the leaf.
STRENGTH = {"extract": Decimal("8"), "liquid": Decimal("0.05"), "gummy": Decimal("0.33")}
ALKALOIDS = {"mitragynine", "7-hydroxymitragynine", "paynantheine", "speciogynine"}


def scale(form, results):
    factor = STRENGTH.get(form)
    if factor is None:
        return results
    return [
        {**item, "value": str((Decimal(item["value"]) * factor).normalize())}
        if item["analyte"] in ALKALOIDS and "value" in item
        else item
        for item in results
    ]


def certify(ctx, batch, results, *, days_ago, lab=0, layout="us_table", state="approved"):
    """A certificate through the real import path, with a rendered PDF."""
    ctx.counter += 1
    lab_obj = ctx.labs[lab]
    tested = ctx.today - dt.timedelta(days=days_ago)
    prefix = "".join(w[0] for w in lab_obj.name.split()[:2]).upper()
    doc = {
        "format": "coa/1",
        "lab": {
            "name": lab_obj.name,
            "accreditation_body": lab_obj.accreditation_body,
            "accreditation_id": lab_obj.accreditation_id,
            "accredited_until": lab_obj.accredited_until.isoformat(),
        },
        "report_number": f"{prefix}-{tested:%Y}-{batch.pk:05d}{ctx.counter:03d}",
        "vendor": batch.product.vendor.slug,
        "product": batch.product.slug,
        "lots": [batch.lot_code],
        "sampled_on": (tested - dt.timedelta(days=4)).isoformat(),
        "tested_on": tested.isoformat(),
        "issued_on": (tested + dt.timedelta(days=2)).isoformat(),
        "results": scale(batch.product.form, results),
    }
    if Certificate.objects.filter(lab=lab_obj, report_number=doc["report_number"]).exists():
        return None
    pdf = coa_pdf.render_coa_pdf(
        doc,
        layout=layout,
        lab_address=lab_obj.address,
        client_name=batch.product.vendor.name,
        product_name=batch.product.name,
        seed=batch.pk,
        # Embedding a Unicode font is ten times slower; only Czech needs it.
        core_fonts=layout != "eu_czech",
    )
    clean = read_document(doc, catalogue=ctx.catalogue, today=ctx.today)
    certificate = import_document(
        clean, data=pdf, approve=False, original_filename=f"COA-{doc['report_number']}.pdf"
    )
    if state in ("approved", "withdrawn"):
        review.approve(certificate, by=ctx.reviewer)
    if state == "withdrawn":
        review.withdraw(
            certificate,
            by=ctx.reviewer,
            reason="The lab reissued this report with corrected metal results.",
        )
    if state == "rejected":
        review.reject(
            certificate,
            by=ctx.reviewer,
            code="wrong_batch",
            reason="The lot code on the report does not match the batch it was uploaded for.",
        )
    return certificate


def tell(ctx, scenario, product, batches):
    main = batches[0]
    full = alkaloids() + metals() + microbials()
    if scenario == "current":
        certify(ctx, main, full, days_ago=40, lab=0)
    elif scenario == "current_split":
        # Chemistry and microbiology as separate reports a week apart.
        certify(ctx, main, alkaloids() + metals(), days_ago=60, lab=1, layout="us_compact")
        certify(ctx, main, microbials(), days_ago=53, lab=1, layout="us_compact")
    elif scenario == "current_czech":
        certify(ctx, main, full, days_ago=20, lab=3, layout="eu_czech")
    elif scenario == "stale":
        certify(ctx, main, full, days_ago=420, lab=2)
    elif scenario == "incomplete":
        certify(ctx, main, alkaloids(), days_ago=30, lab=0)  # potency only
    elif scenario == "fails_lead":
        certify(ctx, main, alkaloids() + metals(lead="1.6") + microbials(), days_ago=25, lab=1)
    elif scenario == "fails_share":
        spiked = alkaloids(mit="0.40", oh="0.35")
        certify(ctx, main, spiked + metals() + microbials(), days_ago=15, lab=2)
    elif scenario == "lapsed_lab":
        certify(ctx, main, full, days_ago=30, lab=4)
    elif scenario == "current_two_batches":
        certify(ctx, batches[1], full, days_ago=300, lab=0)
        certify(ctx, main, full, days_ago=10, lab=0)
    elif scenario == "pending":
        certify(ctx, batches[1], full, days_ago=90, lab=0)
        certify(ctx, main, full, days_ago=5, lab=0, state="pending")
    elif scenario == "withdrawn":
        certify(ctx, main, full, days_ago=70, lab=1, state="withdrawn")
        certify(ctx, main, full, days_ago=35, lab=1)
    elif scenario == "rejected":
        certify(ctx, main, full, days_ago=12, lab=2, state="rejected")
    # "untested": no certificate at all.


def copied_upload(ctx, vendors):
    """A pending upload a reviewer should catch: another vendor's approved
    report, re-uploaded unchanged for a batch it does not name."""
    source = (
        Certificate.objects.filter(vendor=vendors[2], state=Certificate.State.APPROVED)
        .order_by("pk")
        .first()
    )
    batch = Batch.objects.filter(product__vendor=vendors[3]).order_by("pk").first()
    if source is None or batch is None:
        return
    if Certificate.objects.filter(vendor=vendors[3], report_number=source.report_number).exists():
        return
    with source.file.open("rb") as handle:
        data = handle.read()
    review.submit(
        vendor=vendors[3],
        user=None,
        data=data,
        filename="coa-final.pdf",
        batches=[batch],
        lab=source.lab,
        report_number=source.report_number,
        tested_on=source.tested_on,
        sampled_on=source.sampled_on,
        issued_on=source.issued_on,
    )


def ensure_user(username, *, password, staff=False):
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = staff
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def load(*, password=None, today=None):
    """Create the demo set (idempotent). Returns the demo password used."""
    today = today or timezone.localdate()
    password = password or secrets.token_urlsafe(9)
    reviewer = ensure_user("reviewer", password=password, staff=True)
    labs = []
    for name, body, ident, since, until, address in LABS:
        lab, _ = Lab.objects.update_or_create(
            name=name,
            defaults={
                "slug": slugify(name)[:100],  # ASCII, as the slug field and the API say
                "accreditation_body": body,
                "accreditation_id": ident,
                "accredited_from": today + dt.timedelta(days=since),
                "accredited_until": today + dt.timedelta(days=until),
                "address": address,
            },
        )
        labs.append(lab)
    ctx = Context(today=today, labs=labs, catalogue=Catalogue.load(), reviewer=reviewer)
    number = 0
    vendors = []
    for v_index, (name, slug) in enumerate(VENDORS):
        vendor, _ = Vendor.objects.get_or_create(slug=slug, defaults={"name": name})
        vendors.append(vendor)
        for p_index in range(5):
            pname, form, serving, per_day, claim = PRODUCTS[(v_index + p_index * 3) % len(PRODUCTS)]
            product, created = Product.objects.get_or_create(
                vendor=vendor,
                slug=pname.lower().replace(" ", "-"),
                defaults={
                    "name": pname,
                    "form": form,
                    "serving_size_g": Decimal(serving),
                    "max_servings_per_day": per_day,
                    "label_mitragynine_mg": Decimal(claim),
                    "gtin": f"0860{v_index:03d}{p_index:05d}",
                },
            )
            scenario = SCENARIOS[number % len(SCENARIOS)]
            number += 1
            if not created:
                continue
            code = f"{slug[:3].upper()}-{today:%y%m}-{p_index + 1:02d}"
            batches = [Batch.objects.create(product=product, lot_code=code)]
            if scenario in ("current_two_batches", "pending"):
                older = Batch.objects.create(
                    product=product, lot_code=f"{slug[:3].upper()}-OLD-{p_index + 1:02d}"
                )
                batches.append(older)
            tell(ctx, scenario, product, batches)
    # A lot code two vendors share: lot look-ups list both.
    shared = "SHARED-0926"
    for vendor in vendors[:2]:
        product = vendor.products.order_by("pk").first()
        if not Batch.objects.with_lot(shared).filter(product=product).exists():
            batch = Batch.objects.create(product=product, lot_code=shared, on_sale=False)
            certify(ctx, batch, alkaloids() + metals() + microbials(), days_ago=50, lab=0)
    copied_upload(ctx, vendors)
    vendor_user = ensure_user("vendor", password=password)
    Membership.objects.get_or_create(user=vendor_user, vendor=vendors[0])
    vendor2 = ensure_user("vendor2", password=password)
    Membership.objects.get_or_create(user=vendor2, vendor=vendors[1])
    verdicts.refresh_all()
    return password
