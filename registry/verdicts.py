"""Stored verdicts: load the facts, call the pure ``evaluation.evaluate``,
store what it returns.

One path refreshes everything: ``refresh_products(ids)`` re-judges every batch
of those products against every standard and stores batch and product
verdicts. Callers run it inside the transaction that changed the facts
(approval, withdrawal, a batch going on or off sale, a lab or standard edited),
so a reader never sees a verdict that disagrees with the data. Public pages
read the stored rows only; nothing is evaluated on the read path.
"""

import hashlib
from decimal import Decimal
from itertools import batched
from pathlib import Path

import orjson
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
    interned = {}  # equal requirements of different standards: one object, judged once
    for q in Requirement.objects.select_related("analyte").order_by("pk"):
        spec = RequirementSpec(
            analyte=q.analyte.code,
            panel=q.analyte.panel,
            basis=q.basis,
            limit=q.limit,
            comparison=q.comparison,
            unit=q.unit,
            required=q.required,
            forms=tuple(q.forms or ()),
        )
        requirements.setdefault(q.standard_id, []).append(interned.setdefault(spec, spec))
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


def _digest(*parts):
    """A short stable digest of plain values (``repr`` of dates, decimals and
    the frozen fact dataclasses is stable across processes; ``hash`` is not)."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


# The engine's own code is an input to every verdict: a deploy that changes
# the rules, the unit conversions or what this module stores makes the next
# refresh recompute all.
ENGINE = _digest(
    *(
        Path(path).read_bytes()
        for path in (evaluation.__file__, evaluation.units.__file__, __file__)
    ),
)


def _standard_inputs(standards):
    return {
        # Whether the standard is the default decides which judgements its
        # rows keep (all, or only those that explain the verdict).
        standard.pk: _digest(
            ENGINE,
            spec.requirements,
            spec.max_age_days,
            spec.requires_accreditation,
            standard.is_default,
        )
        for standard, spec in standards
    }


def refresh_products(product_ids, *, as_of=None, standards=None, force=False):
    """Re-judge every batch of these products and store the verdicts.

    A product's rows under a standard are rewritten only when the digest of
    their inputs changed (or with ``force``): verdicts are a pure function of
    those inputs, so an unchanged digest means unchanged rows. The date is
    not an input: stored verdicts are never ``stale``, staleness is read off
    ``current_until``. Returns how many products had rows rewritten."""
    as_of = as_of or timezone.localdate()
    standards = standards if standards is not None else load_standards()
    by_standard = _standard_inputs(standards)
    default_id = next((s.pk for s, _ in standards if s.is_default), None)
    now = timezone.now()
    changed = 0
    for chunk in batched(sorted(set(product_ids)), CHUNK):
        products = {p.pk: p for p in Product.objects.filter(pk__in=chunk)}
        batches = {pk: [] for pk in products}
        for batch in (
            Batch.objects.filter(product_id__in=chunk)
            .only("id", "product_id", "on_sale")
            .order_by("product_id", "-created", "-id")
        ):
            batches[batch.product_id].append(batch)
        results = _results_by_batch([b.pk for mine in batches.values() for b in mine])
        stored = (
            {}
            if force
            else {
                (product_id, standard_id): inputs
                for product_id, standard_id, inputs in ProductVerdict.objects.filter(
                    product_id__in=chunk
                ).values_list("product_id", "standard_id", "inputs")
            }
        )
        batch_rows, product_rows = [], []
        for product_id, product in products.items():
            facts = product_facts(product)
            mine = batches[product_id]
            common = _digest(
                facts,
                [(b.pk, b.on_sale, sorted(map(repr, results.get(b.pk, ())))) for b in mine],
            )
            todo = []
            for standard, spec in standards:
                inputs = _digest(common, by_standard[standard.pk])
                if stored.get((product_id, standard.pk)) != inputs:
                    todo.append((standard, spec, inputs))
            if not todo:
                continue
            changed += 1
            specs = [spec for _, spec, _ in todo]
            judged = [
                evaluation.evaluate_many(results.get(b.pk, ()), facts, specs, as_of) for b in mine
            ]
            for index, (standard, _, inputs) in enumerate(todo):
                on_sale = []
                for batch, verdicts in zip(mine, judged, strict=True):
                    verdict = verdicts[index]
                    batch_rows.append((batch.pk, standard.pk, verdict))
                    if batch.on_sale:
                        on_sale.append((batch.pk, verdict))
                combined = evaluation.combine([(v.status, v.current_until) for _, v in on_sale])
                batch_id, verdict = (
                    on_sale[combined.deciding] if combined.deciding is not None else (None, None)
                )
                product_rows.append((product_id, standard.pk, combined, batch_id, verdict, inputs))
        encoder = _Encoder()
        _store_batches(batch_rows, now, default_id, encoder)
        _store_products(product_rows, now, encoder)
    if changed:
        caching.bump()
    return changed


def _plain(value):
    if isinstance(value, Decimal):
        return format(value, "f")  # as ``Judgement.as_dict`` writes it
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


class _Encoder:
    """JSON for the stored rows: the evaluation's dataclasses encoded by
    orjson field by field (the same keys and values ``as_dict`` gives, which
    a test holds it to), each tuple once per chunk, since a product row
    repeats its deciding batch's panels."""

    def __init__(self):
        self._memo = {}  # id(tuple) -> JSON; the tuples live as long as the chunk

    def array(self, items):
        if isinstance(items, tuple):
            text = self._memo.get(id(items))
            if text is None:
                text = self._memo[id(items)] = orjson.dumps(items, default=_plain).decode()
            return text
        return orjson.dumps(items, default=_plain).decode()

    def panels(self, verdict):
        return self.array(verdict.panels) if verdict else "[]"


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


QUIET = {evaluation.PASS, evaluation.REPORTED}


def _explaining(verdict, standard_id, default_id):
    """Judgements worth storing: all of them under the default standard (the
    product and lot pages show each result against its limit), and under the
    others only those that explain a verdict (fails, cannot tell, missing)."""
    if standard_id == default_id:
        return verdict.judgements
    return [j for j in verdict.judgements if j.outcome not in QUIET]


def _store_batches(rows, now, default_id, encoder):
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
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
                encoder.panels(v),
                encoder.array(_explaining(v, standard_id, default_id)),
                ops.adapt_decimalfield_value(v.label_accuracy, 7, 1),
                stamp,
            )
            for batch_id, standard_id, v in rows
        ],
    )


PANELS = tuple(Panel.values)
PANEL_COLUMNS = [f"{panel}_until" for panel in PANELS]


def _panel_dates(verdict):
    if verdict is None:
        return [None] * len(PANELS)
    present = {p.panel: p.current_until for p in verdict.panels if p.present}
    adapt = connection.ops.adapt_datefield_value
    return [adapt(present.get(p)) for p in PANELS]


def _store_products(rows, now, encoder):
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    _upsert(
        ProductVerdict._meta.db_table,
        ["product_id", "standard_id"],
        ["status", "current_until", "batch_id", "panels", "inputs", "computed_at", *PANEL_COLUMNS],
        [
            (
                product_id,
                standard_id,
                combined.status,
                ops.adapt_datefield_value(combined.current_until),
                batch_id,
                encoder.panels(verdict),
                inputs,
                stamp,
                *_panel_dates(verdict),
            )
            for product_id, standard_id, combined, batch_id, verdict, inputs in rows
        ],
    )


def refresh_all(*, progress=None, as_of=None, force=False):
    """Bring every stored verdict up to date; ``progress(done, total)`` per
    chunk. Rows whose inputs are unchanged are left alone unless ``force``.
    Each chunk is its own transaction, so a long run never holds the database
    (SQLite has one writer) for more than a moment. Returns ``(products,
    products rewritten)``."""
    standards = load_standards()
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    done = changed = 0
    for chunk in batched(ids, CHUNK):
        with transaction.atomic():
            changed += refresh_products(chunk, as_of=as_of, standards=standards, force=force)
        done += len(chunk)
        if progress:
            progress(done, len(ids))
    return len(ids), changed


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
