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
import multiprocessing
import os
import sys
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import batched
from pathlib import Path
from typing import NamedTuple

import orjson
from django.db import connection, connections, transaction
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
    """Facts for every approved result on certificates naming these batches:
    ``({batch: [ResultFacts]}, {batch: [certificate fingerprint]})``. A
    fingerprint is a digest of a certificate's facts and results as read (in
    any order), the stuff of the input digest."""
    # Two plain index look-ups (by batch, then by certificate id) rather
    # than one join: SQLite's planner otherwise walks every approved
    # certificate.
    links = list(
        CertificateBatch.objects.filter(batch_id__in=batch_ids)
        .order_by()
        .values_list("batch_id", "certificate_id")
    )
    certificates, rows_of = {}, {}
    for row in (
        Certificate.objects.filter(pk__in={c for _, c in links}, state=Certificate.State.APPROVED)
        .order_by()
        .values_list(
            "id",
            "tested_on",
            "issued_on",
            "state",
            "lab__accredited_from",
            "lab__accredited_until",
        )
    ):
        pk, tested_on, issued_on, state, accredited_from, accredited_until = row
        certificates[pk] = CertificateFacts(
            id=pk,
            tested_on=tested_on,
            issued_on=issued_on,
            state=state,
            lab_accredited_from=accredited_from,
            lab_accredited_until=accredited_until,
        )
        rows_of[pk] = [row]
    by_certificate = {pk: [] for pk in certificates}
    for row in (
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
    ):
        certificate_id, code, panel, value, qualifier, loq, unit = row
        by_certificate[certificate_id].append(
            ResultFacts(code, panel, certificates[certificate_id], value, qualifier, loq, unit)
        )
        rows_of[certificate_id].append(row)
    fingerprints = {
        pk: hashlib.blake2b(
            b"\n".join(sorted(orjson.dumps(row, default=_plain) for row in rows)), digest_size=8
        ).hexdigest()
        for pk, rows in rows_of.items()
    }
    by_batch, prints = {}, {}
    for batch_id, certificate_id in links:
        if certificate_id in certificates:
            by_batch.setdefault(batch_id, []).extend(by_certificate[certificate_id])
            prints.setdefault(batch_id, []).append(fingerprints[certificate_id])
    return by_batch, prints


def _digest(*parts):
    """A short stable digest of plain values: strings, numbers, dates,
    decimals, and the fact dataclasses field by field (their JSON is the same
    in every process; ``hash`` is not)."""
    return hashlib.blake2b(orjson.dumps(parts, default=_plain), digest_size=8).hexdigest()


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
        self.every = evaluation.Plan([spec for _, spec in standards])

    def __call__(self, chunk):
        # The stored digests first, then the facts: a change committed in
        # between shows in both, and ``_store_checked`` sees the digests move.
        seen = {
            (product_id, standard_id): (inputs, outputs)
            for product_id, standard_id, inputs, outputs in ProductVerdict.objects.filter(
                product_id__in=chunk
            ).values_list("product_id", "standard_id", "inputs", "outputs")
        }
        products = {
            pk: ProductFacts(form, serving, servings, label)
            for pk, form, serving, servings, label in Product.objects.filter(
                pk__in=chunk
            ).values_list(
                "pk", "form", "serving_size_g", "max_servings_per_day", "label_mitragynine_mg"
            )
        }
        batches = {pk: [] for pk in products}
        for product_id, batch_id, on_sale in (
            Batch.objects.filter(product_id__in=chunk)
            .order_by("product_id", "-created", "-id")
            .values_list("product_id", "id", "on_sale")
        ):
            batches[product_id].append((batch_id, on_sale))
        results, prints = _results_by_batch([b for mine in batches.values() for b, _ in mine])
        judged = Judged(seen=seen)
        rows = _Rows(self.default_id)
        for product_id, facts in products.items():
            mine = batches[product_id]
            common = _digest(
                facts, [(pk, on_sale, sorted(prints.get(pk, ()))) for pk, on_sale in mine]
            )
            todo = []
            for standard, spec in self.standards:
                inputs = _digest(common, self.by_standard[standard.pk])
                if self.force or seen.get((product_id, standard.pk), ("",))[0] != inputs:
                    todo.append((standard, spec, inputs))
            if not todo:
                continue
            plan = self.every
            if len(todo) < len(self.standards):
                plan = evaluation.Plan([spec for _, spec, _ in todo])
            verdicts = [plan.evaluate(results.get(pk, ()), facts, self.as_of) for pk, _ in mine]
            for index, (standard, _, inputs) in enumerate(todo):
                batch_rows, on_sale = [], []
                for (batch_id, batch_on_sale), verdict in zip(
                    mine, (each[index] for each in verdicts), strict=True
                ):
                    batch_rows.append(rows.batch(batch_id, standard.pk, verdict))
                    if batch_on_sale:
                        on_sale.append((batch_id, verdict))
                combined = evaluation.combine([(v.status, v.current_until) for _, v in on_sale])
                deciding, verdict = (
                    on_sale[combined.deciding] if combined.deciding is not None else (None, None)
                )
                product_row = rows.product(combined, deciding, verdict)
                judged.add(product_id, standard.pk, inputs, product_row, batch_rows, self.force)
        return judged


class _Rows:
    """Encodes verdicts as the columns stored (without keys and stamps)."""

    def __init__(self, default_id):
        self.default_id = default_id
        self.encoder = _Encoder()
        self.ops = connection.ops

    def batch(self, batch_id, standard_id, v):
        return (
            batch_id,
            standard_id,
            v.status,
            self.ops.adapt_datefield_value(v.current_until),
            self.encoder.panels(v),
            self.encoder.array(_judgements_kept(v, standard_id, self.default_id)),
            self.ops.adapt_decimalfield_value(v.label_accuracy, 7, 1),
        )

    def product(self, combined, batch_id, verdict):
        return (
            combined.status,
            self.ops.adapt_datefield_value(combined.current_until),
            batch_id,
            self.encoder.panels(verdict),
            *_panel_dates(verdict),
        )


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
        outputs = _digest(product_row, batch_rows)
        was = self.seen.get((product_id, standard_id))
        if not force and was is not None and was[1] == outputs:
            if was[0] != inputs:
                self.touched.append((product_id, standard_id, inputs))
            return
        self.batches.extend((product_id, *row) for row in batch_rows)
        self.products.append((product_id, standard_id, *product_row, inputs, outputs))

    def product_ids(self):
        return {row[0] for row in self.products} | {row[0] for row in self.touched}


def _store(judged, keep=None):
    """Write a chunk's rows (only those of the products in ``keep``, when
    given); returns how many products had verdict rows rewritten."""
    ids = judged.product_ids() if keep is None else keep
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    _upsert(
        BatchVerdict._meta.db_table,
        BATCH_KEY,
        BATCH_COLUMNS,
        [(*row[1:], stamp) for row in judged.batches if row[0] in ids],
    )
    products = [(*row, stamp) for row in judged.products if row[0] in ids]
    _upsert(ProductVerdict._meta.db_table, PRODUCT_KEY, PRODUCT_COLUMNS, products)
    touched = [(inputs, p, s) for p, s, inputs in judged.touched if p in ids]
    if touched:
        table = ProductVerdict._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET inputs = %s WHERE product_id = %s AND standard_id = %s",  # noqa: S608
                touched,
            )
    return len({row[0] for row in products})


def _store_checked(judged):
    """Write a chunk judged before this transaction took its turn, except the
    products that changed meanwhile: those whose stored digests moved (a
    change and its own refresh came in between, and their rows are newer)
    and those whose products or batches were deleted since."""
    ids = judged.product_ids()
    if not ids:
        return 0
    now = {
        (product_id, standard_id): (inputs, outputs)
        for product_id, standard_id, inputs, outputs in ProductVerdict.objects.filter(
            product_id__in=ids
        ).values_list("product_id", "standard_id", "inputs", "outputs")
    }
    seen = judged.seen
    moved = {key[0] for key in now.keys() | seen.keys() if now.get(key) != seen.get(key)}
    existing = set(Product.objects.filter(pk__in=ids).values_list("pk", flat=True))
    batch_ids = {row[1] for row in judged.batches}
    present = set(Batch.objects.filter(pk__in=batch_ids).values_list("pk", flat=True))
    gone = {row[0] for row in judged.batches if row[1] not in present}
    return _store(judged, keep=(ids & existing) - moved - gone)


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
        # id(tuple) -> (tuple, JSON). The tuple is held so that its id is not
        # reused by another while the memo lives.
        self._memo = {}

    def array(self, items):
        if isinstance(items, tuple):
            held = self._memo.get(id(items))
            if held is None:
                held = self._memo[id(items)] = (items, orjson.dumps(items, default=_plain).decode())
            return held[1]
        return orjson.dumps(items, default=_plain).decode()

    def panels(self, verdict):
        return self.array(verdict.panels) if verdict else "[]"


def _upsert(table, key, columns, rows):
    """Insert or update ``rows``. Raw SQL because this is the one hot write
    path (a full refresh writes a row per batch and standard); both SQLite
    and PostgreSQL speak ``ON CONFLICT``. SQLite takes several hundred rows
    to a statement. PostgreSQL takes them by ``COPY`` into a scratch table,
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
        width = len(key) + len(columns)
        one = "(" + ", ".join(["%s"] * width) + ")"
        per = max(1, min(UPSERT_ROWS, (connection.features.max_query_params or 999) // width))
        for group in batched(rows, per):
            values = ", ".join([one] * len(group))
            sql = f"INSERT INTO {table} ({names}) VALUES {values} {conflict}"  # noqa: S608
            cursor.execute(sql, [value for row in group for value in row])


UPSERT_ROWS = 500  # rows to a statement on SQLite


def _judgements_kept(verdict, standard_id, default_id):
    """Each result against its limit is kept under the default standard only:
    the product page shows it for the batch that decides the verdict. Under
    the others the row keeps the verdict and its panels (what the pages and
    the API read); storing judgements nobody reads made up two fifths of a
    full refresh's writes."""
    return verdict.judgements if standard_id == default_id else ()


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


def _panel_dates(verdict):
    if verdict is None:
        return [None] * len(PANELS)
    present = {p.panel: p.current_until for p in verdict.panels if p.present}
    adapt = connection.ops.adapt_datefield_value
    return [adapt(present.get(p)) for p in PANELS]


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
