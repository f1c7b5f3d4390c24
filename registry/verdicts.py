"""Stored verdicts: load the facts, call the pure ``evaluation.evaluate``,
store what it returns.

One path refreshes everything: ``refresh_products(ids)`` re-judges every batch
of those products against every standard and stores batch and product
verdicts. Callers run it inside the transaction that changed the facts
(approval, withdrawal, a batch going on or off sale, a lab or standard edited),
so a reader never sees a verdict that disagrees with the data. Public pages
read the stored rows only; nothing is evaluated on the read path.
"""

import datetime as dt
import gc
import hashlib
import multiprocessing
import os
import sys
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import batched
from pathlib import Path
from typing import NamedTuple

import orjson
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from vendors.models import Batch, Product
from vendors.signals import batches_changed

from . import caching, evaluation
from .evaluation import CertificateFacts, ProductFacts, RequirementSpec, ResultFacts, StandardSpec
from .models import (
    Analyte,
    BatchVerdict,
    Certificate,
    CertificateBatch,
    Lab,
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


WITHIN = {evaluation.PASS: True, evaluation.FAIL: False}


def results_within_limits(certificate, standard):
    """Each of ``certificate``'s results against ``standard`` (a
    ``StandardSpec``): ``{analyte code: True | False | None}``, ``None``
    where the standard sets no limit, the outcome is indeterminate, or the
    products the certificate covers would be judged differently (a per-
    serving limit and two serving sizes)."""
    return {code: WITHIN.get(o) for code, o in result_outcomes(certificate, standard).items()}


def result_outcomes(certificate, standard):
    """Each of ``certificate``'s results judged alone against ``standard``:
    ``{analyte code: outcome}`` (``evaluation.PASS``, ``FAIL``,
    ``REPORTED`` when it sets no limit, ``INDETERMINATE``), ``None`` where
    no requirement of the standard applies. Products the certificate covers
    that would be judged differently make it ``INDETERMINATE``. Reads the
    certificate's results and batches' products as prefetched."""
    facts = CertificateFacts(certificate.pk, certificate.tested_on, certificate.state)
    results = [
        ResultFacts(
            r.analyte.code,
            r.analyte.panel,
            facts,
            r.value_canonical,
            r.qualifier,
            r.loq_canonical,
            r.analyte.unit,
        )
        for r in certificate.results.all()
    ]
    products = {product_facts(b.product) for b in certificate.batches.all()}
    answers = {}
    for product in products:
        for code, outcome in evaluation.judge_results(results, product, standard).items():
            agreed = answers.get(code, outcome) == outcome
            answers[code] = outcome if agreed else evaluation.INDETERMINATE
    for r in results:
        answers.setdefault(r.analyte, None)
    return answers


def product_facts(product):
    return ProductFacts(
        form=product.form,
        serving_size_g=product.serving_size_g,
        max_servings_per_day=product.max_servings_per_day,
        label_mitragynine_mg=product.label_mitragynine_mg,
    )


class _Reader:
    """Reads a chunk's facts with plain SQL: this is the hot read path of a
    full refresh (every result of every batch), where the ORM's per-row work
    cost more than the judging. Values come out as the ORM gives them
    (decimals through the ORM's own converters: SQLite stores them as
    floats), so a verdict is the same whichever path loaded the facts; a
    test holds the two to that."""

    def __init__(self):
        self.decimal = _remembering(_converter(Result, "value_canonical"))
        self.date = _remembering(dt.date.fromisoformat)
        self.serving = _remembering(_converter(Product, "serving_size_g"))
        self.label = _remembering(_converter(Product, "label_mitragynine_mg"))
        self.analytes = {
            pk: (code, panel, unit)
            for pk, code, panel, unit in Analyte.objects.values_list("pk", "code", "panel", "unit")
        }

    def _rows(self, sql, params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def products(self, ids):
        """``{product: ProductFacts}``, and each product's batches, newest
        first: ``{product: [(batch, on_sale)]}``."""
        marks = ", ".join(["%s"] * len(ids))
        serving, label = self.serving, self.label
        products = {
            pk: ProductFacts(form, serving(serving_size), servings, label(claim))
            for pk, form, serving_size, servings, claim in self._rows(
                f"SELECT id, form, serving_size_g, max_servings_per_day, label_mitragynine_mg "  # noqa: S608
                f"FROM {Product._meta.db_table} WHERE id IN ({marks})",
                ids,
            )
        }
        batches = {pk: [] for pk in products}
        for product_id, batch_id, on_sale in self._rows(
            f"SELECT product_id, id, on_sale FROM {Batch._meta.db_table} "  # noqa: S608
            f"WHERE product_id IN ({marks}) ORDER BY product_id, created DESC, id DESC",
            ids,
        ):
            batches[product_id].append((batch_id, bool(on_sale)))
        return products, batches

    def results(self, batch_ids):
        """Facts for every approved result on certificates naming these
        batches: ``({batch: [ResultFacts]}, {batch: [certificate
        fingerprint]})``. A fingerprint is a digest of a certificate's facts
        and results as read, the stuff of the input digest."""
        if not batch_ids:
            return {}, {}
        # Two plain index look-ups (by batch, then by certificate id) rather
        # than one join: SQLite's planner otherwise walks every approved
        # certificate.
        links = self._rows(
            f"SELECT batch_id, certificate_id FROM {CertificateBatch._meta.db_table} "  # noqa: S608
            f"WHERE batch_id IN ({', '.join(['%s'] * len(batch_ids))})",
            batch_ids,
        )
        wanted = sorted({c for _, c in links})
        if not wanted:
            return {}, {}
        marks = ", ".join(["%s"] * len(wanted))
        to_date = self.date
        approved = Certificate.State.APPROVED
        certificates, raw = {}, {}
        for row in self._rows(
            # Dates as text, parsed here once per distinct date: SQLite's
            # driver would parse each one as it is fetched.
            f"SELECT c.id, CAST(c.tested_on AS TEXT), CAST(c.issued_on AS TEXT), c.state, "  # noqa: S608
            f"CAST(l.accredited_from AS TEXT), CAST(l.accredited_until AS TEXT) "
            f"FROM {Certificate._meta.db_table} c "
            f"JOIN {Lab._meta.db_table} l ON l.id = c.lab_id "
            # Approval checked here, not in SQL: SQLite's planner would
            # then walk every approved certificate by the state index
            # instead of looking up these few by id.
            f"WHERE c.id IN ({marks})",
            wanted,
        ):
            pk, tested_on, issued_on, state, accredited_from, accredited_until = row
            if state != approved:
                continue
            certificates[pk] = CertificateFacts(
                pk,
                to_date(tested_on),
                state,
                to_date(issued_on),
                to_date(accredited_from),
                to_date(accredited_until),
            )
            raw[pk] = [row]
        by_certificate = {pk: [] for pk in certificates}
        decimal = self.decimal
        analytes = self.analytes
        if certificates:
            for row in self._rows(
                f"SELECT certificate_id, analyte_id, value_canonical, qualifier, loq_canonical "  # noqa: S608
                f"FROM {Result._meta.db_table} WHERE certificate_id IN "
                f"({', '.join(['%s'] * len(certificates))}) ORDER BY certificate_id, analyte_id",
                list(certificates),
            ):
                certificate_id, analyte_id, value, qualifier, loq = row
                code, panel, unit = analytes[analyte_id]
                by_certificate[certificate_id].append(
                    ResultFacts(
                        code,
                        panel,
                        certificates[certificate_id],
                        None if value is None else decimal(value),
                        qualifier,
                        None if loq is None else decimal(loq),
                        unit,
                    )
                )
                raw[certificate_id].append(row)
        fingerprints = {pk: _hash(orjson.dumps(rows, default=_plain)) for pk, rows in raw.items()}
        by_batch, prints = {}, {}
        for batch_id, certificate_id in links:
            if certificate_id in certificates:
                by_batch.setdefault(batch_id, []).extend(by_certificate[certificate_id])
                prints.setdefault(batch_id, []).append(fingerprints[certificate_id])
        return by_batch, prints


def _converter(model, name):
    """The database's converters for a column, as the ORM applies them."""
    from django.db.models.expressions import Col

    field = model._meta.get_field(name)
    column = Col(model._meta.db_table, field)
    found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)

    def convert(value):
        for each in found:
            value = each(value, column, connection)
        return value

    return convert


def _remembering(convert, size=50_000):
    """``convert`` for non-empty values, remembering what it gave: the same
    numbers and dates recur across a registry's results, and converting a
    stored decimal costs more than looking it up."""
    known = {}

    def converted(value):
        if value is None:
            return None
        found = known.get(value)
        if found is None:
            if len(known) >= size:
                known.clear()
            found = known[value] = convert(value)
        return found

    return converted


def _results_by_batch(batch_ids):
    """``_Reader.results`` for these batches (tests and one-off callers)."""
    return _Reader().results(list(batch_ids))


def _hash(data):
    """A short stable digest of bytes (the same in every process, which
    ``hash`` is not). SHA-256 because processors compute it in hardware:
    twice as fast as BLAKE2 here, and only change is being detected."""
    return hashlib.sha256(data).hexdigest()[:16]


def _hash_rows(product_row, batch_rows):
    """The digest of a product's rows under one standard, as they are
    written. The JSON columns go in as they are, one after another (each is
    one JSON array, so the run reads back one way only); the other columns
    through orjson. Escaping the JSON inside JSON cost more than the rest."""
    plain = orjson.dumps(
        (
            product_row[:3],
            product_row[4:],
            [(b[0], b[1], b[2], b[3], b[6]) for b in batch_rows],
        ),
        default=_plain,
    )
    texts = [product_row[3]]
    for row in batch_rows:
        texts += (row[4], row[5])
    return _hash(plain + "".join(texts).encode())


def _digest(*parts):
    """A short stable digest of plain values: strings, numbers, dates,
    decimals, and the fact dataclasses field by field (their JSON is the same
    in every process; ``hash`` is not)."""
    return _hash(orjson.dumps(parts, default=_plain))


# The engine's own code is an input to every verdict: a deploy that changes
# the rules, the unit conversions or what this module stores makes the next
# refresh recompute all.
ENGINE = hashlib.blake2b(
    b"".join(
        Path(path).read_bytes()
        for path in (evaluation.__file__, evaluation.units.__file__, __file__)
    ),
    digest_size=8,
).hexdigest()


def _standard_inputs(standards):
    return {
        # Whether the standard is the default decides whether its rows keep
        # the judgements that explain a product's verdict.
        standard.pk: _digest(
            ENGINE,
            spec.requirements,
            spec.max_age_days,
            spec.requires_accreditation,
            standard.is_default,
        ).encode()
        for standard, spec in standards
    }


def refresh_products(product_ids, *, as_of=None, standards=None, force=False):
    """Re-judge every batch of these products and store the verdicts, in the
    caller's transaction (the one that changed the facts), or in one of its
    own.

    A product's rows under a standard are recomputed only when the digest of
    their inputs changed (or with ``force``): verdicts are a pure function of
    those inputs. The date is not an input: stored verdicts are never
    ``stale``, staleness is read off ``current_until``. Recomputed rows are
    written only if they differ from those stored (``force`` writes them
    all). Returns how many products had rows rewritten."""
    with transaction.atomic():
        _take_turn()
        judge = _Judge(
            standards if standards is not None else load_standards(),
            as_of or timezone.localdate(),
            force,
        )
        changed = 0
        for chunk in batched(sorted(set(product_ids)), CHUNK):
            changed += _store(judge(chunk))
        if changed:
            caching.bump()
    return changed


# Any number that no other part of the application uses as an advisory lock.
VERDICT_WRITERS_LOCK = 0x7665726469637473  # "verdicts"


def _take_turn():
    """Writers of verdicts take turns, each for the rest of its transaction:
    between reading what is stored and writing, nobody else writes. SQLite's
    immediate transactions already admit one writer at a time; PostgreSQL
    takes a transaction-level advisory lock. One lock rather than a lock
    per product, because a standard's edit rewrites every product: a writer
    after it must wait and read the new rules, not judge by the old."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [VERDICT_WRITERS_LOCK])


class _Judge:
    """Judges chunks of products: reads their facts, evaluates those whose
    inputs changed and returns the rows to store, encoded. It only reads, so
    chunks can be judged in other processes while one process writes."""

    def __init__(self, standards, as_of, force):
        self.standards = standards
        self.as_of = as_of
        self.force = force
        self.by_standard = _standard_inputs(standards)
        self.default_id = next((s.pk for s, _ in standards if s.is_default), None)
        # (standard, the digest of its own inputs), in the standards' order
        self.inputs = [(standard.pk, self.by_standard[standard.pk]) for standard, _ in standards]
        self._plans = {}
        self._reader = None

    def __call__(self, chunk):
        with _no_cycle_collection():
            return self._judge(list(chunk))

    def _judge(self, chunk):
        reader = self.reader()
        # The stored digests first, then the facts: a change committed in
        # between shows in both, and ``_store_checked`` sees the digests move.
        seen = _stored_digests(chunk)
        products, batches = reader.products(chunk)
        results, prints = reader.results([b for mine in batches.values() for b, _ in mine])
        judged = Judged(seen=seen)
        rows = _Rows()
        panels, judgements, date = rows.encoder.panels, rows.encoder.judgements, rows.date
        force, default_id, as_of = self.force, self.default_id, self.as_of
        for product_id, facts in products.items():
            mine = batches[product_id]
            common = orjson.dumps(
                (
                    facts.form,
                    facts.serving_size_g,
                    facts.max_servings_per_day,
                    facts.label_mitragynine_mg,
                    [(pk, on, sorted(prints.get(pk, ()))) for pk, on in mine],
                ),
                default=_plain,
            )
            todo = []
            for standard_id, standard_inputs in self.inputs:
                inputs = _hash(common + standard_inputs)
                if force or seen.get((product_id, standard_id), ("",))[0] != inputs:
                    todo.append((standard_id, inputs))
            if not todo:
                continue
            plan = self.plan(tuple(standard_id for standard_id, _ in todo))
            verdicts = [plan.evaluate(results.get(pk, ()), facts, as_of) for pk, _ in mine]
            for index, (standard_id, inputs) in enumerate(todo):
                mine_now = [each[index] for each in verdicts]
                on_sale = [
                    (batch_id, verdict)
                    for (batch_id, batch_on_sale), verdict in zip(mine, mine_now, strict=True)
                    if batch_on_sale
                ]
                combined = evaluation.combine([(v.status, v.current_until) for _, v in on_sale])
                deciding, verdict = (
                    on_sale[combined.deciding] if combined.deciding is not None else (None, None)
                )
                # The row that explains the product's verdict keeps each
                # result against its limit (see ``_Rows``).
                explained = deciding if standard_id == default_id else None
                batch_rows = [
                    (
                        batch_id,
                        standard_id,
                        v.status,
                        None if v.current_until is None else date(v.current_until),
                        panels(v),
                        judgements(v.judgements) if batch_id == explained else "[]",
                        None if v.label_accuracy is None else format(v.label_accuracy, "f"),
                    )
                    for (batch_id, _), v in zip(mine, mine_now, strict=True)
                ]
                product_row = rows.product(combined, deciding, verdict)
                judged.add(product_id, standard_id, inputs, product_row, batch_rows, force)
        return judged

    def reader(self):
        # Made on first use, in the process that reads (a forked worker, say).
        if self._reader is None:
            self._reader = _Reader()
        return self._reader

    def plan(self, standard_ids):
        """The plan judging these standards (all of them, or those whose
        inputs changed for a product), made once per set."""
        found = self._plans.get(standard_ids)
        if found is None:
            wanted = set(standard_ids)
            found = self._plans[standard_ids] = evaluation.Plan(
                [spec for standard, spec in self.standards if standard.pk in wanted]
            )
        return found


@contextmanager
def _no_cycle_collection():
    """Judging a chunk allocates many small objects that reference counting
    frees (verdicts hold no cycles); the cycle collector, run every few
    hundred allocations, cost a third of the judging. It is paused for a
    chunk and runs after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Rows:
    """Encodes verdicts as the columns stored (without keys and stamps).

    Each result against its limit is kept where a page reads it: on the
    default standard's row of the batch that decides a product's verdict,
    which the product page explains result by result. Every other row keeps
    the verdict, its dates and its panels (what the pages and the API read).
    Judgements nobody reads were two fifths of a full refresh's writes, and
    most of its encoding."""

    def __init__(self):
        self.encoder = _Encoder()
        self.date = connection.ops.adapt_datefield_value

    def product(self, combined, batch_id, verdict):
        return (
            combined.status,
            None if combined.current_until is None else self.date(combined.current_until),
            batch_id,
            self.encoder.panels(verdict),
            *self.panel_dates(verdict),
        )

    def panel_dates(self, verdict):
        if verdict is None:
            return NO_PANEL_DATES
        present = {p.panel: p.current_until for p in verdict.panels if p.present}
        date = self.date
        return [None if present.get(p) is None else date(present[p]) for p in PANELS]


@dataclass
class Judged:
    """One chunk's judgement, ready to store. ``seen`` is the stored digests
    (inputs, outputs) it started from; rows are led by their product's id."""

    seen: dict
    batches: list = field(default_factory=list)
    products: list = field(default_factory=list)
    touched: list = field(default_factory=list)  # (product, standard, inputs)
    pid: int = field(default_factory=os.getpid)  # the process that judged

    def add(self, product_id, standard_id, inputs, product_row, batch_rows, force):
        """A product's rows under one standard, written only if they differ
        from those stored (by digest; ``force`` writes them all): new inputs
        that judge the same keep their rows and only record the new inputs."""
        outputs = _hash_rows(product_row, batch_rows)
        was = self.seen.get((product_id, standard_id))
        if not force and was is not None and was[1] == outputs:
            if was[0] != inputs:
                self.touched.append((product_id, standard_id, inputs))
            return
        self.batches.extend((product_id, *row) for row in batch_rows)
        self.products.append((product_id, standard_id, *product_row, inputs, outputs))

    def product_ids(self):
        return {row[0] for row in self.products} | {row[0] for row in self.touched}


def _store(judged, keep=None, stored=None):
    """Write a chunk's rows (only those of the products in ``keep``, when
    given); returns how many products had verdict rows rewritten.
    ``stored``: the digests stored for the chunk as read in this
    transaction, when they were; none means the rows are new."""
    ids = judged.product_ids() if keep is None else keep
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    new = stored is not None and not stored
    _upsert(
        BatchVerdict._meta.db_table,
        BATCH_KEY,
        BATCH_COLUMNS,
        [(*row[1:], stamp) for row in judged.batches if row[0] in ids],
        new=new,
    )
    products = [(*row, stamp) for row in judged.products if row[0] in ids]
    _upsert(ProductVerdict._meta.db_table, PRODUCT_KEY, PRODUCT_COLUMNS, products, new=new)
    touched = [(inputs, p, s) for p, s, inputs in judged.touched if p in ids]
    if touched:
        table = ProductVerdict._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET inputs = %s WHERE product_id = %s AND standard_id = %s",  # noqa: S608
                touched,
            )
    return len({row[0] for row in products})


def _stored_digests(product_ids):
    """The digests stored with these products' verdict rows:
    ``{(product, standard): (inputs, outputs)}``."""
    if not product_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT product_id, standard_id, inputs, outputs "  # noqa: S608
            f"FROM {ProductVerdict._meta.db_table} "
            f"WHERE product_id IN ({', '.join(['%s'] * len(product_ids))})",
            product_ids,
        )
        return {(p, s): (inputs, outputs) for p, s, inputs, outputs in cursor.fetchall()}


def _store_checked(judged):
    """Write a chunk judged before this transaction took its turn, except the
    products that changed meanwhile: those whose stored digests moved (a
    change and its own refresh came in between, and their rows are newer)
    and those whose products or batches were deleted since."""
    ids = judged.product_ids()
    if not ids:
        return 0
    now = _stored_digests(list(ids))
    seen = judged.seen
    moved = {key[0] for key in now.keys() | seen.keys() if now.get(key) != seen.get(key)}
    existing = set(Product.objects.filter(pk__in=ids).values_list("pk", flat=True))
    batch_ids = {row[1] for row in judged.batches}
    present = set(Batch.objects.filter(pk__in=batch_ids).values_list("pk", flat=True))
    gone = {row[0] for row in judged.batches if row[1] not in present}
    return _store(judged, keep=(ids & existing) - moved - gone, stored=now)


def _plain(value):
    if isinstance(value, Decimal):
        return format(value, "f")  # as ``Judgement.as_dict`` writes it
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


class _Encoder:
    """JSON for the stored rows, with the keys and values ``as_dict`` gives
    (a test holds it to that). Written out here rather than by a general
    encoder because this is the hot path of a full refresh: orjson reads a
    slotted dataclass several times slower than the text below is put
    together from pieces that recur (a panel's name, a requirement's
    terms, dates, what a group of panels found).

    Each panel, judgement and tuple of them is encoded once per chunk (the
    standards of a batch share panels, batches share their "missing"
    judgements, a product row repeats its deciding batch's panels)."""

    def __init__(self):
        # id(object) -> (object, JSON). The object is held so that its id is
        # not reused by another while the memo lives.
        self._memo = {}
        self._texts = {None: "null"}  # str or date -> its JSON
        self._pieces = {}  # recurring parts of panels and judgements

    def array(self, items):
        """Any tuple or list of plain values or the evaluation's dataclasses."""
        if isinstance(items, tuple):
            held = self._memo.get(id(items))
            if held is None:
                held = self._memo[id(items)] = (items, orjson.dumps(items, default=_plain).decode())
            return held[1]
        return orjson.dumps(items, default=_plain).decode()

    def panels(self, verdict):
        if not verdict:
            return "[]"
        held = self._memo.get(id(verdict.panels))
        if held is None:
            items = verdict.panels
            text = "[" + ",".join([self._panel(p) for p in items]) + "]"
            held = self._memo[id(items)] = (items, text)
        return held[1]

    def judgements(self, items):
        held = self._memo.get(id(items))
        if held is None:
            text = "[" + ",".join([self._judgement(j) for j in items]) + "]"
            held = self._memo[id(items)] = (items, text)
        return held[1]

    def _text(self, value):
        """The JSON of a string, a date or None."""
        found = self._texts.get(value)
        if found is None:
            if isinstance(value, dt.date):
                found = f'"{value.isoformat()}"'
            else:
                found = orjson.dumps(value).decode()
            self._texts[value] = found
        return found

    def _piece(self, key, make):
        found = self._pieces.get(key)
        if found is None:
            found = self._pieces[key] = make(*key[1:])
        return found

    def _panel(self, p):
        held = self._memo.get(id(p))
        if held is None:
            texts, pieces = self._texts, self._pieces
            head = pieces.get(("panel", p.panel, p.required)) or self._piece(
                ("panel", p.panel, p.required),
                lambda panel, required: (
                    f'{{"panel":{self._text(panel)},"required":{_JSON[required]},"present":'
                ),
            )
            tail = pieces.get(("found", p.missing_analytes, p.certificates)) or self._piece(
                ("found", p.missing_analytes, p.certificates),
                lambda missing, certificates: (
                    f',"missing_analytes":[{",".join([self._text(a) for a in missing])}],'
                    f'"certificates":[{",".join([str(int(c)) for c in certificates])}]}}'
                ),
            )
            tested_on = texts.get(p.tested_on) or self._text(p.tested_on)
            until = texts.get(p.current_until) or self._text(p.current_until)
            encoded = (
                f"{head}{_JSON[p.present]},"
                f'"within_limits":{_JSON[p.within_limits]},'
                f'"tested_on":{tested_on},"current_until":{until}{tail}'
            )
            held = self._memo[id(p)] = (p, encoded)
        return held[1]

    def _judgement(self, j):
        held = self._memo.get(id(j))
        if held is None:
            terms = ("terms", j.analyte, j.panel, j.basis, j.required, j.limit, j.comparison)
            head = self._pieces.get(terms) or self._piece(terms, self._terms)
            text = self._text
            certificate = "null" if j.certificate is None else str(int(j.certificate))
            encoded = (
                f'{head[0]}{text(j.outcome)},"limit":{head[1]},'
                f'"comparison":{text(j.comparison)},"unit":{text(j.unit)},'
                f'"measured":{_json_decimal(j.measured)},"certificate":{certificate},'
                f'"note":{text(j.note)},"qualifier":{text(j.qualifier)}}}'
            )
            held = self._memo[id(j)] = (j, encoded)
        return held[1]

    def _terms(self, analyte, panel, basis, required, limit, comparison):
        text = self._text
        return (
            f'{{"analyte":{text(analyte)},"panel":{text(panel)},'
            f'"basis":{text(basis)},"required":{_JSON[required]},"outcome":',
            _json_decimal(limit),
        )


_JSON = {True: "true", False: "false", None: "null"}


def _json_decimal(value):
    # As ``Judgement.as_dict``: a plain decimal string, never an exponent.
    return "null" if value is None else f'"{format(value, "f")}"'


def _upsert(table, key, columns, rows, new=False):
    """Insert or update ``rows``. Raw SQL because this is the one hot write
    path (a full refresh writes a row per batch and standard); both SQLite
    and PostgreSQL speak ``ON CONFLICT``. SQLite runs one prepared statement
    per row (``executemany``). PostgreSQL takes them by ``COPY`` into a scratch table,
    then one ``INSERT … SELECT``: a statement per row, or many rows bound in
    one, spent its time binding and parsing (3,500 product rows: 0.6 s by
    statements, 0.15 s by ``COPY``)."""
    if not rows:
        return
    names = ", ".join([*key, *columns])
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    # Table and column names are this module's own; values are parameters
    # or copied data.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and new and _copied(cursor, table, names, rows):
            return
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TEMPORARY TABLE incoming_verdicts ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {names} FROM {table} WITH NO DATA"
            )
            with cursor.copy(f"COPY incoming_verdicts ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM incoming_verdicts {conflict}"  # noqa: S608
            )
            cursor.execute("DROP TABLE incoming_verdicts")
            return
        # One statement, prepared once and run per row: SQLite's own loop.
        marks = ", ".join(["%s"] * (len(key) + len(columns)))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}", rows)  # noqa: S608


def _copied(cursor, table, names, rows):
    """PostgreSQL, rows expected to be new (a first fill): ``COPY`` them
    straight into the table, a third of the server's work of going through a
    scratch table and ``ON CONFLICT``. If one is there after all (a batch's
    row kept while its product's were not), the copy is undone and False
    returned, for the upsert to write them."""
    statement = f"COPY {table} ({names}) FROM STDIN"  # noqa: S608 - this module's names
    try:
        # psycopg raises the copy's errors itself, at its end: translated
        # here into Django's, as the cursor's own calls are.
        with (
            transaction.atomic(),
            connection.wrap_database_errors,
            cursor.copy(statement) as copy,
        ):
            for row in rows:
                copy.write_row(row)
    except IntegrityError:
        return False
    return True


BATCH_KEY = ["batch_id", "standard_id"]
BATCH_COLUMNS = ["status", "current_until", "panels", "judgements", "label_accuracy", "computed_at"]

PANELS = tuple(Panel.values)
PANEL_COLUMNS = [f"{panel}_until" for panel in PANELS]
PRODUCT_KEY = ["product_id", "standard_id"]
PRODUCT_COLUMNS = [
    "status",
    "current_until",
    "batch_id",
    "panels",
    *PANEL_COLUMNS,
    "inputs",
    "outputs",
    "computed_at",
]


NO_PANEL_DATES = (None,) * len(PANELS)


class Refreshed(NamedTuple):
    products: int  # products looked at
    rewritten: int  # products whose rows were written
    processes: int  # processes that judged them


def refresh_all(*, progress=None, as_of=None, force=False, workers=1):
    """Bring every stored verdict up to date; ``progress(done, total)`` per
    chunk. Verdicts whose inputs are unchanged are not recomputed, and
    recomputed ones are written only where they differ, unless ``force``.

    Chunks are judged outside any transaction, by ``workers`` processes when
    more than one (see ``_judged``), and each is written in a short
    transaction of its own, in turn with every other writer of verdicts
    (``_take_turn``), skipping products changed meanwhile
    (``_store_checked``): a long run never holds the database for more than
    a moment, and never overwrites a newer verdict. If a standard was edited
    since the run began, the rest is judged anew under the new rules, in
    turn. Inside a transaction (a standard edited in the admin) it all runs
    there, in this process, as ``refresh_products``."""
    as_of = as_of or timezone.localdate()
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    if connection.in_atomic_block:
        changed = refresh_products(ids, as_of=as_of, force=force)
        if progress:
            progress(len(ids), len(ids))
        return Refreshed(len(ids), changed, 1)
    judge = _Judge(load_standards(), as_of, force)
    fresh = False  # whether chunks must be judged anew, in turn
    processes, done, changed = set(), 0, 0
    for chunk, judged in _judged(judge, list(batched(ids, CHUNK)), workers):
        with transaction.atomic():
            _take_turn()
            standards = load_standards()
            if _standard_inputs(standards) != judge.by_standard:
                judge, fresh = _Judge(standards, as_of, force), True
            if fresh:
                written = _store(judge(chunk))
                processes.add(os.getpid())
            else:
                written = _store_checked(judged)
                processes.add(judged.pid)
            if written:
                caching.bump()
        changed += written
        done += len(chunk)
        if progress:
            progress(done, len(ids))
    return Refreshed(len(ids), changed, len(processes) or 1)


_worker_judge = None  # the judge a worker process was started with


def _start_worker(judge):
    global _worker_judge  # noqa: PLW0603 - one per worker process, set once
    _worker_judge = judge
    # What the worker inherited (Django, the judge) lives as long as it does:
    # the cycle collector need not look at it again.
    gc.freeze()


def _judge_in_worker(chunk):
    return _worker_judge(chunk)


def _judged(judge, chunks, workers):
    """Each chunk with its judgement, in order. With ``workers`` > 1, judged
    by that many forked processes, a few chunks ahead of the writer. In this
    process instead with an in-memory database (other processes could not
    see it), off Linux, or when this process runs other threads (a test's
    live server, say): a child forked beside them may inherit a lock one of
    them held, and wait on it for ever."""
    parallel = (
        workers > 1
        and len(chunks) > 1
        and sys.platform == "linux"
        and threading.active_count() == 1
        and not (connection.vendor == "sqlite" and connection.is_in_memory_db())
    )
    if not parallel:
        for chunk in chunks:
            yield chunk, judge(chunk)
        return
    # Forked children must not share this process's connection: close it
    # before they start (all at the first submit, as fork requires); this
    # process reconnects when it writes.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(judge,)
    ) as pool:
        pending = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(_judge_in_worker, chunk)))
            if len(pending) > 2 * workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


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
