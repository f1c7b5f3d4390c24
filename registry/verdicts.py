"""Stored verdicts: load the facts, call the pure ``evaluation.evaluate``,
store what it returns.

One path refreshes everything: ``refresh_products(ids)`` re-judges every batch
of those products against every standard and stores batch and product
verdicts. Callers run it inside the transaction that changed the facts
(approval, withdrawal, a batch going on or off sale, a lab or standard edited),
so a reader never sees a verdict that disagrees with the data. Public pages
read the stored rows only; nothing is evaluated on the read path.
"""

from itertools import batched

from django.db import connection, transaction
from django.utils import timezone

from vendors.models import Batch, Product
from vendors.signals import batches_changed

from . import caching, evaluation
from .evaluation import CertificateFacts, ProductFacts, RequirementSpec, ResultFacts, StandardSpec
from .models import (
    BatchVerdict,
    Certificate,
    CertificateBatch,
    Panel,
    ProductVerdict,
    Requirement,
    Result,
    Standard,
)

CHUNK = 500  # products per round trip: bounded memory, few queries


def load_standards():
    """Every standard with its requirements as evaluation specs, default first."""
    standards = list(Standard.objects.order_by("-is_default", "position", "code"))
    requirements = {}
    for q in Requirement.objects.select_related("analyte").order_by("pk"):
        requirements.setdefault(q.standard_id, []).append(
            RequirementSpec(
                analyte=q.analyte.code,
                panel=q.analyte.panel,
                basis=q.basis,
                limit=q.limit,
                comparison=q.comparison,
                unit=q.unit,
                required=q.required,
                forms=tuple(q.forms or ()),
            )
        )
    return [
        (
            standard,
            StandardSpec(
                code=standard.code,
                requirements=tuple(requirements.get(standard.pk, ())),
                max_age_days=standard.max_age_days,
                requires_accreditation=standard.requires_accreditation,
            ),
        )
        for standard in standards
    ]


def product_facts(product):
    return ProductFacts(
        form=product.form,
        serving_size_g=product.serving_size_g,
        max_servings_per_day=product.max_servings_per_day,
        label_mitragynine_mg=product.label_mitragynine_mg,
    )


def _results_by_batch(batch_ids):
    """Facts for every approved result on certificates naming these batches."""
    # Two plain index look-ups (by batch, then by certificate id) rather
    # than one join: SQLite's planner otherwise walks every approved
    # certificate.
    links = list(
        CertificateBatch.objects.filter(batch_id__in=batch_ids)
        .order_by()
        .values_list("batch_id", "certificate_id")
    )
    certificates = {
        row["id"]: CertificateFacts(
            id=row["id"],
            tested_on=row["tested_on"],
            issued_on=row["issued_on"],
            state=row["state"],
            lab_accredited_from=row["lab__accredited_from"],
            lab_accredited_until=row["lab__accredited_until"],
        )
        for row in Certificate.objects.filter(pk__in={c for _, c in links})
        .order_by()
        .values(
            "id",
            "tested_on",
            "issued_on",
            "state",
            "lab__accredited_from",
            "lab__accredited_until",
        )
        if row["state"] == Certificate.State.APPROVED
    }
    by_certificate = {}
    rows = (
        Result.objects.filter(certificate_id__in=certificates)
        .order_by()
        .values_list(
            "certificate_id",
            "analyte__code",
            "analyte__panel",
            "value_canonical",
            "qualifier",
            "loq_canonical",
            "analyte__unit",
        )
    )
    for certificate_id, code, panel, value, qualifier, loq, unit in rows:
        by_certificate.setdefault(certificate_id, []).append(
            ResultFacts(
                analyte=code,
                panel=panel,
                certificate=certificates[certificate_id],
                value=value,
                qualifier=qualifier,
                loq=loq,
                unit=unit,
            )
        )
    by_batch = {}
    for batch_id, certificate_id in links:
        if certificate_id in certificates:
            by_batch.setdefault(batch_id, []).extend(by_certificate.get(certificate_id, ()))
    return by_batch


def refresh_products(product_ids, *, as_of=None, standards=None):
    """Re-judge every batch of these products and store the verdicts."""
    as_of = as_of or timezone.localdate()
    standards = standards if standards is not None else load_standards()
    now = timezone.now()
    for chunk in batched(sorted(set(product_ids)), CHUNK):
        products = {p.pk: p for p in Product.objects.filter(pk__in=chunk)}
        batches = list(
            Batch.objects.filter(product_id__in=chunk)
            .only("id", "product_id", "on_sale")
            .order_by("product_id", "-created", "-id")
        )
        results = _results_by_batch([b.pk for b in batches])
        specs = [spec for _, spec in standards]
        batch_rows, product_rows = [], []
        on_sale = {pk: [] for pk in products}
        for batch in batches:
            facts = product_facts(products[batch.product_id])
            judged = evaluation.evaluate_many(results.get(batch.pk, ()), facts, specs, as_of)
            for (standard, _), verdict in zip(standards, judged, strict=True):
                batch_rows.append((batch.pk, standard.pk, verdict))
                if batch.on_sale:
                    on_sale[batch.product_id].append((standard.pk, batch.pk, verdict))
        for product_id, rows in on_sale.items():
            for standard, _ in standards:
                mine = [(b, v) for s, b, v in rows if s == standard.pk]
                combined = evaluation.combine([(v.status, v.current_until) for _, v in mine])
                batch_id, verdict = (
                    mine[combined.deciding]
                    if combined.deciding is not None
                    else (
                        None,
                        None,
                    )
                )
                product_rows.append((product_id, standard.pk, combined, batch_id, verdict))
        default_id = next((s.pk for s, _ in standards if s.is_default), None)
        _store_batches(batch_rows, now, default_id)
        _store_products(product_rows, now)
    caching.bump()


def _panels_json(verdict):
    return [p.as_dict() for p in verdict.panels] if verdict else []


def _upsert(table, key, columns, rows):
    """Insert or update ``rows`` in one statement per row set. Raw SQL because
    this is the one hot write path (a full refresh writes a row per batch and
    standard) and both SQLite and PostgreSQL speak ``ON CONFLICT``."""
    if not rows:
        return
    names = ", ".join([*key, *columns])
    marks = ", ".join(["%s"] * (len(key) + len(columns)))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    # Table and column names are this module's own; values are parameters.
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"  # noqa: E501, S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _explaining(verdict, standard_id, default_id):
    """Judgements worth storing: all of them under the default standard (the
    product and lot pages show each result against its limit), and under the
    others only those that explain a verdict (fails, cannot tell, missing)."""
    if standard_id == default_id:
        return [j.as_dict() for j in verdict.judgements]
    return [j.as_dict() for j in verdict.judgements if j.outcome not in QUIET]


QUIET = {evaluation.PASS, evaluation.REPORTED}


def _store_batches(rows, now, default_id):
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    encoded = {}  # standards with identical rules share one verdict: encode it once

    def json_of(verdict, standard_id):
        key = (id(verdict), standard_id == default_id)
        if key not in encoded:
            encoded[key] = (
                ops.adapt_json_value(_panels_json(verdict), None),
                ops.adapt_json_value(_explaining(verdict, standard_id, default_id), None),
            )
        return encoded[key]

    _upsert(
        BatchVerdict._meta.db_table,
        ["batch_id", "standard_id"],
        ["status", "current_until", "panels", "judgements", "label_accuracy", "computed_at"],
        [
            (
                batch_id,
                standard_id,
                v.status,
                ops.adapt_datefield_value(v.current_until),
                *json_of(v, standard_id),
                ops.adapt_decimalfield_value(v.label_accuracy, 7, 1),
                stamp,
            )
            for batch_id, standard_id, v in rows
        ],
    )


PANEL_COLUMNS = [f"{panel}_until" for panel in Panel.values]


def _panel_dates(verdict):
    present = {p.panel: p.current_until for p in verdict.panels if p.present} if verdict else {}
    return [connection.ops.adapt_datefield_value(present.get(p)) for p in Panel.values]


def _store_products(rows, now):
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    _upsert(
        ProductVerdict._meta.db_table,
        ["product_id", "standard_id"],
        ["status", "current_until", "batch_id", "panels", "computed_at", *PANEL_COLUMNS],
        [
            (
                product_id,
                standard_id,
                combined.status,
                ops.adapt_datefield_value(combined.current_until),
                batch_id,
                ops.adapt_json_value(_panels_json(verdict), None),
                stamp,
                *_panel_dates(verdict),
            )
            for product_id, standard_id, combined, batch_id, verdict in rows
        ],
    )


def refresh_all(*, progress=None, as_of=None):
    """Recompute every stored verdict; ``progress(done, total)`` per chunk.
    Each chunk is its own transaction, so a long run never holds the database
    (SQLite has one writer) for more than a moment."""
    standards = load_standards()
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    done = 0
    for chunk in batched(ids, CHUNK):
        with transaction.atomic():
            refresh_products(chunk, as_of=as_of, standards=standards)
        done += len(chunk)
        if progress:
            progress(done, len(ids))
    return len(ids)


def products_of_certificate(certificate):
    return set(Batch.objects.filter(certificates=certificate).values_list("product_id", flat=True))


def refresh_for_certificate(certificate):
    refresh_products(products_of_certificate(certificate))


def refresh_for_lab(lab):
    refresh_products(
        Batch.objects.filter(certificates__lab=lab).values_list("product_id", flat=True).distinct()
    )


def refresh_for_standards():
    """A standard or its requirements changed: every product is re-judged."""
    refresh_all()


def _on_batches_changed(sender, *, batch_ids, product_ids, **kwargs):
    refresh_products(product_ids)


def connect_signals():
    batches_changed.connect(_on_batches_changed, dispatch_uid="registry.verdicts")
