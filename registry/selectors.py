"""Reads for the public pages and the API: stored verdicts joined in SQL, so
every list and detail costs a fixed number of queries whatever the history."""

import datetime as dt
from decimal import Decimal

from django.db.models import Case, CharField, Count, F, FilteredRelation, Q, Value, When
from django.utils import timezone

from vendors.models import Batch, Product, Vendor

from .evaluation import (
    CURRENT,
    FAILS_LIMITS,
    INCOMPLETE,
    STALE,
    UNTESTED,
    accredited_on,
    panel_state,
)
from .models import BatchVerdict, Certificate, CertificateBatch, ProductVerdict, Result, Standard


def default_standard():
    return Standard.objects.get(is_default=True)


def _effective(prefix, as_of):
    return Case(
        When(
            **{f"{prefix}__status": CURRENT, f"{prefix}__current_until__lt": as_of},
            then=Value(STALE),
        ),
        When(**{f"{prefix}__status__isnull": True}, then=Value(UNTESTED)),
        default=F(f"{prefix}__status"),
        output_field=CharField(),
    )


def _standard_id(standard):
    if standard is None:
        return Standard.objects.filter(is_default=True).values_list("pk", flat=True).first()
    return standard.pk


def products_with_verdict(standard=None, as_of=None):
    """Products with ``verdict`` (on ``as_of``) and ``verdict_until`` under
    one standard (the default when none is given), joined in the same query."""
    as_of = as_of or timezone.localdate()
    condition = Q(verdicts__standard_id=_standard_id(standard))
    return (
        Product.objects.select_related("vendor")
        .annotate(chosen=FilteredRelation("verdicts", condition=condition))
        .annotate(verdict=_effective("chosen", as_of), verdict_until=F("chosen__current_until"))
        .alias(
            verdict_rank=Case(
                *(When(verdict=status, then=Value(i)) for i, status in enumerate(VERDICT_ORDER)),
                default=Value(len(VERDICT_ORDER)),
            )
        )
    )


# "Sort by verdict", best first.
VERDICT_ORDER = [CURRENT, STALE, INCOMPLETE, UNTESTED, FAILS_LIMITS]


def batches_with_verdict(product, standard, as_of=None):
    as_of = as_of or timezone.localdate()
    return (
        Batch.objects.filter(product=product)
        .annotate(chosen=FilteredRelation("verdicts", condition=Q(verdicts__standard=standard)))
        .annotate(verdict=_effective("chosen", as_of), panels=F("chosen__panels"))
        .order_by("-on_sale", "-created", "-id")
    )


def lot_batches(code, as_of=None):
    """Batches with this lot code across vendors, verdict under the default."""
    as_of = as_of or timezone.localdate()
    return (
        Batch.objects.with_lot(code)
        .select_related("product__vendor")
        .annotate(
            chosen=FilteredRelation(
                "verdicts", condition=Q(verdicts__standard_id=_standard_id(None))
            )
        )
        .annotate(verdict=_effective("chosen", as_of), panels=F("chosen__panels"))
        .order_by("product__vendor__name", "product__name", "pk")
    )


def vendors_with_share(as_of=None):
    """Vendors with their product count and how many are ``current`` under
    the default standard."""
    as_of = as_of or timezone.localdate()
    current = Q(
        products__verdicts__standard__is_default=True,
        products__verdicts__status=CURRENT,
        products__verdicts__current_until__gte=as_of,
    )
    return Vendor.objects.annotate(
        product_count=Count("products", distinct=True),
        current_count=Count("products", filter=current, distinct=True),
    )


def product_verdicts(product):
    """Every standard's verdict row for one product, default standard first."""
    return list(
        ProductVerdict.objects.filter(product=product)
        .select_related("standard")
        .order_by("-standard__is_default", "standard__position", "standard__code")
    )


def panels_on(panels, as_of):
    """Stored panel dicts with their state on ``as_of`` added."""
    return [
        {**panel, "state": panel_state(panel["present"], _date(panel["current_until"]), as_of)}
        for panel in panels or ()
    ]


def _date(text):
    return dt.date.fromisoformat(text) if text else None


def deciding_judgements(row):
    """Each result against its limit for the batch that decides a product's
    verdict (``row``: its ProductVerdict), under that standard."""
    if row is None or row.batch_id is None:
        return []
    found = (
        BatchVerdict.objects.filter(batch_id=row.batch_id, standard_id=row.standard_id)
        .values_list("judgements", "label_accuracy")
        .first()
    )
    return found or ([], None)


def product_certificate_ids(product):
    """Every certificate naming one of the product's batches: read from the
    batch side (an index look-up), never by walking certificates."""
    return set(
        CertificateBatch.objects.filter(batch__product_id=product.pk).values_list(
            "certificate_id", flat=True
        )
    )


def certificate_history(product, limit=20, ids=None):
    """Published certificates of a product's batches, newest first, with the
    lots they cover; a withdrawn one carries its reason (each certificate's
    page has its full history). The document's text and extraction stay
    unread: a certificate's text layer runs to kilobytes."""
    ids = product_certificate_ids(product) if ids is None else ids
    return list(
        Certificate.objects.public()
        .filter(pk__in=ids)
        .select_related("lab")
        .defer("document_text", "extracted", "flags")
        .prefetch_related("batches")
        .order_by("-tested_on", "-id")[:limit]
    )


def alkaloid_trend(product, limit=24, ids=None):
    """Mitragynine and 7-OH (% w/w) per batch from the newest counted
    certificate reporting them, oldest batch first: approved, from a lab
    accredited on the test date (as every shipped standard counts them; the
    dose calculator reads these figures). Driven from the product's own
    certificates (``ids``), so a large registry costs no more."""
    ids = product_certificate_ids(product) if ids is None else ids
    approved = {
        pk: tested_on
        for pk, tested_on, accredited_from, accredited_until in Certificate.objects.approved()
        .filter(pk__in=ids)
        .order_by("-tested_on", "-id")
        .values_list("id", "tested_on", "lab__accredited_from", "lab__accredited_until")[
            : limit * 4
        ]
        if accredited_on(accredited_from, accredited_until, tested_on)
    }
    links = CertificateBatch.objects.filter(certificate_id__in=approved).values_list(
        "certificate_id", "batch_id", "batch__lot_code", "batch__on_sale"
    )
    values = {}
    for certificate_id, code, value in Result.objects.filter(
        certificate_id__in=approved,
        analyte__code__in=["mitragynine", "7-hydroxymitragynine"],
        qualifier="",
    ).values_list("certificate_id", "analyte__code", "value_canonical"):
        key = "mitragynine" if code == "mitragynine" else "seven_oh"
        values.setdefault(certificate_id, {})[key] = value
    batches = {}
    newest_first = sorted(links, key=lambda link: (approved[link[0]], link[0]), reverse=True)
    for certificate_id, batch_id, lot, on_sale in newest_first:
        found = values.get(certificate_id)
        if not found:
            continue
        point = batches.setdefault(
            batch_id,
            {
                "batch": batch_id,
                "lot": lot,
                "on_sale": on_sale,
                "tested_on": approved[certificate_id],
            },
        )
        for key, value in found.items():
            point.setdefault(key, value)
    points = sorted(batches.values(), key=lambda p: (p["tested_on"], p["batch"]))
    return points[-limit:]


def dose(point, grams):
    """Milligrams of mitragynine and 7-OH in ``grams`` of product, from one
    batch's measured % w/w (1 % of 1 g is 10 mg)."""
    if point is None or grams is None:
        return None
    return {
        "mitragynine": _mg(point.get("mitragynine"), grams),
        "seven_oh": _mg(point.get("seven_oh"), grams),
    }


def _mg(percent, grams):
    if percent is None:
        return None
    return (percent * grams * 10).quantize(Decimal("0.1"))
