"""Reads for the public pages and the API: stored verdicts joined in SQL, so
every list and detail costs a fixed number of queries whatever the history."""

import datetime as dt

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from vendors.models import Batch, Product, Vendor

from . import verdicts
from .evaluation import (
    CURRENT,
    FAILS_LIMITS,
    INCOMPLETE,
    INDETERMINATE,
    STALE,
    UNTESTED,
    effective_status,
    panel_state,
)
from .models import Certificate, CertificateBatch, Lab, ProductVerdict, Result, Standard


def default_standard():
    return Standard.objects.get(is_default=True)


def _effective(prefix, as_of):
    """The stored status as it stands on ``as_of`` (``effective_status`` in
    SQL), of the verdict row at ``prefix`` ("" for the row itself)."""
    at = f"{prefix}__" if prefix else ""
    return Case(
        When(**{f"{at}status": CURRENT, f"{at}current_until__lt": as_of}, then=Value(STALE)),
        When(**{f"{at}status__isnull": True}, then=Value(UNTESTED)),
        default=F(f"{at}status"),
        output_field=CharField(),
    )


def _standard_id(standard):
    if standard is None:
        return Standard.objects.filter(is_default=True).values_list("pk", flat=True).first()
    return standard.pk


def products_with_verdict(standard=None, as_of=None):
    """Products with ``verdict`` (on ``as_of``) and ``verdict_until`` under
    one standard (the default when none is given), read in the same query.

    The verdict row is read per product shown (a subquery on its unique
    index), not joined: counting a page's products then reads the products
    alone, which a join of every product's row made 200 times slower. The
    row is also there to filter on, as ``chosen``, joined only when a filter
    uses it (``filters._through_chosen``)."""
    as_of = as_of or timezone.localdate()
    standard_id = _standard_id(standard)
    row = ProductVerdict.objects.filter(product=OuterRef("pk"), standard_id=standard_id)
    return (
        Product.objects.select_related("vendor")
        .alias(chosen=FilteredRelation("verdicts", condition=Q(verdicts__standard_id=standard_id)))
        .annotate(
            verdict=Coalesce(
                Subquery(row.annotate(effective=_effective("", as_of)).values("effective")[:1]),
                Value(UNTESTED),
            ),
            verdict_until=Subquery(row.values("current_until")[:1]),
        )
    )


def in_order(queryset, ids):
    """The rows of ``queryset`` with these ids, in the ids' order."""
    ids = list(ids)
    found = queryset.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def with_verdict_rank(queryset, as_of=None):
    """A queryset of ``products_with_verdict`` with ``verdict_rank`` to sort
    by, best verdict first. Ranked from the joined ``chosen`` row: sorting
    reads every product's verdict, which a join does at a fraction of the
    cost of a subquery per product."""
    as_of = as_of or timezone.localdate()
    return queryset.alias(chosen_verdict=_effective("chosen", as_of)).alias(
        verdict_rank=Case(
            *(When(chosen_verdict=status, then=Value(i)) for i, status in enumerate(VERDICT_ORDER)),
            default=Value(len(VERDICT_ORDER)),
        )
    )


# The catalogue's order: every list's, and what any other sort falls back on
# for its ties (so pages neither repeat nor skip a product).
CATALOGUE_ORDER = ("vendor__name", "name", "pk")

# "Sort by verdict", best first.
VERDICT_ORDER = [CURRENT, STALE, INCOMPLETE, UNTESTED, FAILS_LIMITS]


def batches_with_verdict(product, standard, as_of=None, *, panels=True, judgements=False):
    """The product's batches, on sale and newest first, each with
    ``verdict`` (on ``as_of``) under ``standard`` and, if asked for, its
    stored ``panels``, ``judgements`` (kept, under the default standard,
    only on the row of the batch that decides the product's verdict) and
    ``label_accuracy``. A
    list: the verdict is read from the stored status and date in Python
    (``effective_status``, the rule ``_effective`` puts in SQL), which costs
    less than compiling that rule into the query."""
    as_of = as_of or timezone.localdate()
    columns = {"stored_status": F("chosen__status"), "stored_until": F("chosen__current_until")}
    if panels:
        columns["panels"] = F("chosen__panels")
    if judgements:
        columns["judgements"] = F("chosen__judgements")
        columns["label_accuracy"] = F("chosen__label_accuracy")
    batches = list(
        Batch.objects.filter(product=product)
        .annotate(chosen=FilteredRelation("verdicts", condition=Q(verdicts__standard=standard)))
        .annotate(**columns)
        .order_by("-on_sale", "-created", "-id")
    )
    for batch in batches:
        batch.verdict = effective_status(batch.stored_status or UNTESTED, batch.stored_until, as_of)
    return batches


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


def vendors_named(text, limit=10):
    """Vendors whose name contains ``text`` in any case (or whose slug it
    is), by name: what the product list offers someone who typed part of a
    vendor's name, where its filter (the API's too) wants the whole name or
    the slug. The vendor table is read alone, not the products."""
    return list(
        Vendor.objects.filter(Q(name__icontains=text.strip()) | Q(slug=text.strip()))
        .only("name", "slug")
        .order_by("name")[:limit]
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
    """Every standard's verdict row for one product, default standard first:
    its verdict, date, panels and deciding batch, with the standard's name
    (the columns kept for the refresh's bookkeeping stay unread)."""
    return list(
        ProductVerdict.objects.filter(product=product)
        .select_related("standard")
        .only(
            "product_id",
            "batch_id",
            "status",
            "current_until",
            "panels",
            "standard__code",
            "standard__name",
            "standard__jurisdiction",
            "standard__is_default",
            "standard__position",
        )
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


def certificate_links(product):
    """Every certificate naming one of the product's batches, once per batch
    it names, with its lab and the batch: read from the batch side (an index
    look-up), never by walking certificates, in one query that the history
    and the trend are both drawn from. Only the columns they show are read
    (a certificate's text layer alone runs to kilobytes)."""
    return list(
        CertificateBatch.objects.filter(batch__product_id=product.pk)
        .select_related("certificate__lab", "batch")
        .only(
            "certificate__report_number",
            "certificate__tested_on",
            "certificate__state",
            "certificate__reason",
            "certificate__lab__name",
            "certificate__lab__accreditation_body",
            "certificate__lab__accreditation_id",
            "certificate__lab__accredited_from",
            "certificate__lab__accredited_until",
            "batch__lot_code",
            "batch__on_sale",
        )
    )


def certificate_history(product, limit=20, links=None):
    """Published certificates of a product's batches, newest first, each with
    ``lots``: the product's lots it covers. A withdrawn one carries its reason
    (each certificate's own page has its full history)."""
    links = certificate_links(product) if links is None else links
    lots = {}
    for link in links:
        if link.certificate.state in Certificate.PUBLIC_STATES:
            lots.setdefault(link.certificate, []).append(link.batch.lot_code)
    for certificate, codes in lots.items():
        certificate.lots = sorted(codes)
    return sorted(lots, key=lambda c: (c.tested_on, c.pk), reverse=True)[:limit]


def alkaloid_trend(product, limit=24, links=None):
    """Mitragynine and 7-OH (% w/w) per batch from the newest counted
    certificate reporting them, oldest batch first: approved, from a lab
    accredited on the test date (as every shipped standard counts them). For
    the trend chart and its table; the dose calculator reads the deciding
    batch's judgements instead (``registry/dose.py``). Drawn from the
    product's own certificate links, so a large registry costs no more."""
    links = certificate_links(product) if links is None else links
    counted = sorted(
        (
            link
            for link in links
            if link.certificate.state == Certificate.State.APPROVED and link.certificate.counts
        ),
        key=lambda link: (link.certificate.tested_on, link.certificate_id),
        reverse=True,
    )
    # The newest few certificates are enough for ``limit`` batches.
    newest = list(dict.fromkeys(link.certificate_id for link in counted))[: limit * 4]
    values = {}
    for certificate_id, code, value in Result.objects.filter(
        certificate_id__in=newest,
        analyte__code__in=["mitragynine", "7-hydroxymitragynine"],
        qualifier="",
    ).values_list("certificate_id", "analyte__code", "value_canonical"):
        key = "mitragynine" if code == "mitragynine" else "seven_oh"
        values.setdefault(certificate_id, {})[key] = value
    batches = {}
    for link in counted:
        found = values.get(link.certificate_id)
        if not found:
            continue
        point = batches.setdefault(
            link.batch_id,
            {
                "batch": link.batch_id,
                "lot": link.batch.lot_code,
                "on_sale": link.batch.on_sale,
                "tested_on": link.certificate.tested_on,
            },
        )
        for key, value in found.items():
            point.setdefault(key, value)
    points = sorted(batches.values(), key=lambda p: (p["tested_on"], p["batch"]))
    return points[-limit:]


def labs_with_counts():
    """Labs by name with their published certificates counted apart:
    ``approved_count`` and ``withdrawn_count`` (pending and rejected uploads
    are nobody's business but their vendor's and never counted). One query."""
    return Lab.objects.annotate(
        approved_count=Count(
            "certificates", filter=Q(certificates__state=Certificate.State.APPROVED)
        ),
        withdrawn_count=Count(
            "certificates", filter=Q(certificates__state=Certificate.State.WITHDRAWN)
        ),
    ).order_by("name")


def certificate_page(certificate):
    """What the certificate page shows besides the certificate's own fields,
    in five queries whatever the history (four unless it is withdrawn):

    * ``results``, each with ``within_limits`` against the default standard
      as the API gives it (``verdicts.WITHIN`` of ``result_outcomes``) and
      ``cannot_tell``: the standard sets a limit this result cannot be shown
      to be within, so that it does not read as "no limit" (``cannot_tell``
      on the page: whether any result is so);
    * ``batches``, with their products and vendors;
    * ``standard``, the default standard;
    * ``not_accredited``: when the lab's ISO/IEC 17025 accreditation did not
      cover the test date (so no verdict counts the certificate, DESIGN.md
      "The rules"), why: ``none`` on record, testing ``before`` it began or
      ``after`` it ended; ``None`` when it did. ``counted_by`` names the
      standards that do not ask for accreditation (none ship);
    * ``replacement``: for a withdrawn certificate, the approved one uploaded
      after it for one of its batches, earliest first (a correction is a
      withdrawal plus a new upload); ``None`` if there is none yet."""
    prefetch_related_objects(
        [certificate],
        Prefetch("results", queryset=Result.objects.select_related("analyte")),
        Prefetch("batches", queryset=Batch.objects.select_related("product__vendor")),
    )
    results = list(certificate.results.all())
    batches = list(certificate.batches.all())
    standards = verdicts.load_standards()
    default = next(((s, spec) for s, spec in standards if s.is_default), None)
    outcomes = verdicts.result_outcomes(certificate, default[1]) if default else {}
    for result in results:
        outcome = outcomes.get(result.analyte.code)
        result.within_limits = verdicts.WITHIN.get(outcome)
        result.cannot_tell = outcome == INDETERMINATE
    return {
        "results": results,
        "cannot_tell": any(r.cannot_tell for r in results),
        "batches": batches,
        "standard": default[0] if default else None,
        "not_accredited": _not_accredited(certificate.lab, certificate.tested_on),
        "counted_by": [s.name for s, spec in standards if not spec.requires_accreditation],
        "replacement": _replacement(certificate, batches)
        if certificate.state == Certificate.State.WITHDRAWN
        else None,
    }


def _not_accredited(lab, day):
    if lab.accredited_on(day):
        return None
    if lab.accredited_until is None:
        return "none"
    if lab.accredited_from and day < lab.accredited_from:
        return "before"
    return "after"


def _replacement(certificate, batches):
    covering = CertificateBatch.objects.filter(batch__in=[b.pk for b in batches])
    return (
        Certificate.objects.approved()
        .filter(pk__in=covering.values("certificate_id"))
        .filter(
            Q(created__gt=certificate.created)
            | Q(created=certificate.created, pk__gt=certificate.pk)
        )
        .select_related("lab")
        .only("report_number", "tested_on", "created", "lab__name")
        .order_by("created", "pk")
        .first()
    )
