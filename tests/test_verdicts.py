"""Stored verdicts stay in step with what changes them, in the same
transaction: approval, withdrawal, a batch on or off sale, a lab's
accreditation or a standard edited. ``refresh_verdicts`` recomputes everything
and agrees with the incremental path."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from registry import review, verdicts
from registry.models import BatchVerdict, ProductVerdict, Requirement
from vendors import services

from . import factories
from .factories import BatchFactory, LabFactory, certificate, full_panel_results


def baseline(obj):
    """The verdict of a product or batch under the default standard, today."""
    row = obj.verdicts.get(standard__is_default=True)
    return row.status_on(timezone.localdate())


full_results = full_panel_results  # passes every required baseline panel


@pytest.fixture
def reviewer(db):
    return factories.UserFactory(username="rev", is_staff=True)


def test_approval_refreshes_verdicts(db, reviewer):
    batch = BatchFactory()
    pending = certificate(batch, approve=False, results=full_results())
    batch.refresh_from_db()
    assert baseline(batch) == "untested"
    review.approve(pending, by=reviewer)
    assert baseline(batch) == "current"
    assert baseline(batch.product) == "current"


def test_withdrawal_refreshes_verdicts_and_keeps_history(db, reviewer):
    batch = BatchFactory()
    approved = certificate(batch, results=full_results())
    assert baseline(batch.product) == "current"
    review.withdraw(approved, by=reviewer, reason="Lab reissued the report.")
    assert baseline(batch.product) == "untested"
    actions = list(approved.events.values_list("action", "to_state"))
    assert actions == [("imported", "approved"), ("withdrawn", "withdrawn")]


def test_taking_a_failing_batch_off_sale_changes_the_product(db):
    good = BatchFactory()
    bad = BatchFactory(product=good.product)
    certificate(good, results=full_results())
    failing = [r for r in full_results() if r["analyte"] != "lead"]
    certificate(bad, results=[*failing, {"analyte": "lead", "value": "5", "unit": "ppm"}])
    assert baseline(good.product) == "fails_limits"
    services.set_on_sale(bad, False)
    assert baseline(good.product) == "current"
    services.set_on_sale(bad, True)
    assert baseline(good.product) == "fails_limits"
    assert baseline(bad) == "fails_limits"  # every batch keeps its own verdict


def test_new_untested_batch_on_sale_makes_product_incomplete(db):
    batch = BatchFactory()
    certificate(batch, results=full_results())
    services.create_batch(batch.product, lot_code="NEW-1")
    assert baseline(batch.product) == "incomplete"


def test_lab_accreditation_edit_refreshes(db):
    lab = LabFactory()
    batch = BatchFactory()
    certificate(batch, results=full_results(), lab=lab)
    assert baseline(batch.product) == "current"
    lab.accredited_until = timezone.localdate() - dt.timedelta(days=365)
    lab.save()
    verdicts.refresh_for_lab(lab)
    assert baseline(batch.product) == "untested"


def test_standard_edit_refreshes(db):
    batch = BatchFactory()
    certificate(batch, results=full_results())
    lead = Requirement.objects.get(standard__code="baseline", analyte__code="lead")
    lead.limit = "0.1"
    lead.save()
    verdicts.refresh_for_standards()
    assert baseline(batch.product) == "fails_limits"


def test_every_product_and_batch_has_a_verdict_under_every_standard(db):
    batch = BatchFactory()
    certificate(batch, results=full_results())
    codes = set(
        ProductVerdict.objects.filter(product=batch.product).values_list(
            "standard__code", flat=True
        )
    )
    assert codes == {
        "baseline",
        "us-ut",
        "us-ok",
        "us-ga",
        "us-kcpa",
        "cz-448-2025",
        "usp-botanical",
    }
    assert BatchVerdict.objects.filter(batch=batch).count() == 7


def test_stale_is_read_from_the_date_without_recomputing(db):
    batch = BatchFactory()
    old = timezone.localdate() - dt.timedelta(days=400)
    certificate(batch, results=full_results(), tested_on=old)
    row = batch.product.verdicts.get(standard__is_default=True)
    assert row.status == "current"
    assert row.current_until == old + dt.timedelta(days=365)
    assert row.status_on(timezone.localdate()) == "stale"
    annotated = ProductVerdict.objects.with_effective_status().get(pk=row.pk)
    assert annotated.effective_status == "stale"


def snapshot():
    rows = BatchVerdict.objects.values_list(
        "batch_id", "standard_id", "status", "current_until", "panels"
    )
    products = ProductVerdict.objects.values_list(
        "product_id", "standard_id", "status", "current_until", "batch_id", "panels"
    )
    return sorted(map(repr, rows)), sorted(map(repr, products))


def test_full_refresh_agrees_with_incremental_path(db, reviewer, capsys):
    """Build a history through the services (each refreshing incrementally),
    then recompute everything from scratch: the stored rows must not change."""
    a, b, c = BatchFactory(), BatchFactory(), BatchFactory()
    b2 = BatchFactory(product=b.product)
    certificate(a, results=full_results())
    certificate(b, results=full_results(), tested_on=timezone.localdate() - dt.timedelta(days=500))
    pending = certificate(b2, approve=False, results=full_results()[:3])
    review.approve(pending, by=reviewer)
    withdrawn = certificate(c, results=full_results())
    review.withdraw(withdrawn, by=reviewer, reason="wrong lot")
    services.set_on_sale(a, False)
    incremental = snapshot()
    BatchVerdict.objects.all().delete()
    ProductVerdict.objects.all().delete()
    call_command("refresh_verdicts")
    assert snapshot() == incremental
    assert "refreshed verdicts of" in capsys.readouterr().out


# The input digest: a refresh rewrites exactly the rows whose inputs changed.


def stamps():
    rows = ProductVerdict.objects.values_list("product_id", "standard__code", "computed_at")
    return {(product, standard): at for product, standard, at in rows}


def test_refresh_keeps_unchanged_rows_and_catches_changes_behind_its_back(db):
    """A change written without the services (a raw queryset update fires no
    signal) is still found by the next full refresh; products whose inputs did
    not change keep their rows untouched."""
    lab = LabFactory()
    changed, untouched = BatchFactory(), BatchFactory()
    certificate(changed, results=full_results(), lab=lab)
    certificate(untouched, results=full_results(), lab=LabFactory(name="Other Lab"))
    before = stamps()
    assert verdicts.refresh_all()[:2] == (2, 0)
    assert stamps() == before
    type(lab).objects.filter(pk=lab.pk).update(
        accredited_until=timezone.localdate() - dt.timedelta(days=365)
    )
    assert baseline(changed.product) == "current"  # nothing refreshed it yet
    assert verdicts.refresh_all()[:2] == (2, 1)
    assert baseline(changed.product) == "untested"
    after = stamps()
    mine = changed.product_id
    assert all(after[k] != before[k] for k in after if k[0] == mine)
    assert all(after[k] == before[k] for k in after if k[0] != mine)


def test_standard_edit_rewrites_only_that_standards_rows(db):
    batch = BatchFactory()
    certificate(batch, results=full_results())
    before = stamps()
    lead = Requirement.objects.get(standard__code="cz-448-2025", analyte__code="lead")
    lead.limit = "0.01"
    lead.save()
    verdicts.refresh_for_standards()
    after = stamps()
    product = batch.product_id
    assert after[(product, "cz-448-2025")] != before[(product, "cz-448-2025")]
    assert {k for k in after if after[k] != before[k]} == {(product, "cz-448-2025")}
    assert batch.product.verdicts.get(standard__code="cz-448-2025").status == "fails_limits"
    assert baseline(batch.product) == "current"


def test_recomputed_verdicts_are_written_only_where_they_differ(db, capsys):
    """After a deploy that changes the engine every input digest moves: every
    verdict is recomputed, and only rows that come out differently are
    written. ``--force`` recomputes and rewrites them all."""
    a, _ = BatchFactory(), BatchFactory()  # the factory stores no verdict for the second
    certificate(a, results=full_results())
    assert verdicts.refresh_all()[:2] == (2, 1)
    rows = snapshot()
    before = stamps()
    # As if an older engine had judged one product wrongly and stored it.
    wrong = ProductVerdict.objects.filter(product=a.product, standard__is_default=True)
    wrong.update(status="fails_limits", outputs="older", inputs="older")
    ProductVerdict.objects.exclude(pk__in=wrong).update(inputs="older")
    call_command("refresh_verdicts", "--workers", "1")
    assert "(1 product's verdicts were rewritten)" in capsys.readouterr().out
    assert baseline(a.product) == "current"
    assert snapshot() == rows
    after = stamps()
    assert {k for k in after if after[k] != before[k]} == {(a.product_id, "baseline")}
    call_command("refresh_verdicts", "--force", "--workers", "1")
    assert "(2 products' verdicts were rewritten)" in capsys.readouterr().out
    assert snapshot() == rows
    assert all(stamps()[k] != after[k] for k in after)


def test_new_inputs_that_judge_the_same_only_record_the_inputs(db):
    """A certificate's issue date corrected (it only breaks ties between
    certificates, and this batch has one): the inputs move, the verdicts do
    not. The rows stay as written and only the new inputs are recorded, so
    the next refresh finds nothing to do."""
    from registry.models import Certificate

    batch = BatchFactory()
    BatchFactory(product=batch.product)
    report = certificate(batch, results=full_results())
    verdicts.refresh_all()
    rows, before = snapshot(), stamps()
    inputs = dict(ProductVerdict.objects.values_list("standard_id", "inputs"))
    Certificate.objects.filter(pk=report.pk).update(issued_on=timezone.localdate())
    assert verdicts.refresh_all()[:2] == (1, 0)
    assert snapshot() == rows
    assert stamps() == before
    moved = dict(ProductVerdict.objects.values_list("standard_id", "inputs"))
    assert all(moved[k] != inputs[k] for k in inputs)


def test_input_digest_is_the_same_in_another_process(db):
    """Digests are compared across processes (a worker stores one, the
    nightly command reads it): they must not depend on hash randomisation."""
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup();"
        "from decimal import Decimal; import datetime as dt;"
        "from registry.verdicts import _digest, ENGINE;"
        "from registry.evaluation import ProductFacts;"
        "print(ENGINE, _digest(ProductFacts(form='powder', serving_size_g=Decimal('2.5')),"
        " [(1, True, ['x'])], dt.date(2026, 1, 2)))"
    )
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
        "DJANGO_SETTINGS_MODULE": "registry.test_settings",
    }
    other = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    from decimal import Decimal

    from registry.evaluation import ProductFacts

    here = [
        verdicts.ENGINE,
        verdicts._digest(
            ProductFacts(form="powder", serving_size_g=Decimal("2.5")),
            [(1, True, ["x"])],
            dt.date(2026, 1, 2),
        ),
    ]
    assert other == here


def test_stored_json_is_what_as_dict_says(db):
    """The hot write path encodes the evaluation's dataclasses with orjson;
    what it stores must be exactly their ``as_dict`` (decimals as plain
    strings, dates in ISO form)."""
    import json

    batch = BatchFactory()
    certificate(
        batch,
        results=[
            *[r for r in full_results() if r["analyte"] != "lead"],
            {"analyte": "lead", "value": "1E-1", "unit": "ppm"},
        ],
    )
    standards = verdicts.load_standards()
    facts = verdicts.product_facts(batch.product)
    results = verdicts._results_by_batch([batch.pk])[0][batch.pk]
    verdict = verdicts.evaluation.evaluate(results, facts, standards[0][1], timezone.localdate())
    encoder = verdicts._Encoder()
    assert json.loads(encoder.panels(verdict)) == [p.as_dict() for p in verdict.panels]
    assert json.loads(encoder.judgements(verdict.judgements)) == [
        j.as_dict() for j in verdict.judgements
    ]
    lead = next(
        j for j in json.loads(encoder.judgements(verdict.judgements)) if j["analyte"] == "lead"
    )
    assert "E" not in lead["measured"]  # a plain decimal, never 1E-1
    assert float(lead["measured"]) == 0.1
    stored = BatchVerdict.objects.get(batch=batch, standard=standards[0][0])
    assert stored.judgements == [j.as_dict() for j in verdict.judgements]


def test_the_refresh_reads_the_facts_the_orm_reads(db):
    """A full refresh reads results with plain SQL (its hot path); the facts
    must be those the ORM gives: exact decimals with the field's places,
    dates, the lab's accreditation, approved certificates only."""
    from registry.evaluation import CertificateFacts, ProductFacts, ResultFacts
    from registry.models import Certificate, Result
    from vendors.models import Product

    batch = BatchFactory(product__serving_size_g="2.5", product__label_mitragynine_mg="37.5")
    approved = certificate(
        batch,
        results=full_panel_results(
            lead={"value": "0.000123", "unit": "ppm"},
            cadmium={"qualifier": "<LOQ", "loq": "0.05", "unit": "ppm"},
        ),
    )
    certificate(batch, approve=False, results=full_results())
    product = Product.objects.get(pk=batch.product_id)  # as stored
    facts, batches = verdicts._Reader().products([product.pk])
    assert facts == {product.pk: verdicts.product_facts(product)}
    assert facts[product.pk] == ProductFacts(
        product.form,
        product.serving_size_g,
        product.max_servings_per_day,
        product.label_mitragynine_mg,
    )
    assert batches == {product.pk: [(batch.pk, True)]}
    results = verdicts._Reader().results([batch.pk])[0][batch.pk]
    stored = Certificate.objects.select_related("lab").get(pk=approved.pk)
    expected_certificate = CertificateFacts(
        stored.pk,
        stored.tested_on,
        stored.state,
        stored.issued_on,
        stored.lab.accredited_from,
        stored.lab.accredited_until,
    )
    expected = sorted(
        (
            ResultFacts(
                r.analyte.code,
                r.analyte.panel,
                expected_certificate,
                r.value_canonical,
                r.qualifier,
                r.loq_canonical,
                r.analyte.unit,
            )
            for r in Result.objects.filter(certificate=approved).select_related("analyte")
        ),
        key=lambda r: r.analyte,
    )
    assert sorted(results, key=lambda r: r.analyte) == expected
    lead = next(r for r in results if r.analyte == "lead")
    assert str(lead.value) == str(
        Result.objects.get(certificate=approved, analyte__code="lead").value_canonical
    )


def test_the_encoder_never_mistakes_a_new_tuple_for_a_freed_one():
    """It remembers tuples by identity; a freed tuple's id is often reused at
    once by the next, which must still get its own JSON."""
    import json

    encoder = verdicts._Encoder()
    for number in range(200):
        assert json.loads(encoder.array((number, f"judgement {number}"))) == [
            number,
            f"judgement {number}",
        ]


def test_judgements_are_kept_on_the_row_the_product_page_explains(db):
    """The product page explains the verdict under the default standard
    result by result, for the batch on sale that decides it: that row keeps
    each result against its limit; the product's other batches, and other
    standards' rows, keep none. When another batch comes to decide, the
    judgements move with it."""
    product = BatchFactory(on_sale=False).product
    older = product.batches.get()
    deciding = BatchFactory(product=product)
    for batch in (older, deciding):
        certificate(batch, results=full_results())

    def kept():
        return {
            (row.batch_id, row.standard.is_default): len(row.judgements)
            for row in BatchVerdict.objects.filter(batch__product=product).select_related(
                "standard"
            )
        }

    assert ProductVerdict.objects.get(product=product, standard__is_default=True).batch_id == (
        deciding.pk
    )
    assert {key for key, count in kept().items() if count} == {(deciding.pk, True)}
    assert kept()[(deciding.pk, True)] >= 9  # every baseline requirement
    services.set_on_sale(deciding, False)
    services.set_on_sale(older, True)
    assert {key for key, count in kept().items() if count} == {(older.pk, True)}


def test_a_new_default_standard_gets_every_judgement_stored(db):
    """The default standard's deciding row keeps every judgement (the
    product page shows each result against its limit), the others none, even
    when they fail: making another standard the default must rewrite its
    rows."""
    from registry.models import Standard

    batch = BatchFactory()
    certificate(
        batch,
        results=[
            *[r for r in full_results() if r["analyte"] != "lead"],
            {"analyte": "lead", "value": "40", "unit": "ppm"},
        ],
    )
    czech = BatchVerdict.objects.get(batch=batch, standard__code="cz-448-2025")
    assert czech.status == "fails_limits"
    assert czech.judgements == []
    Standard.objects.filter(is_default=True).update(is_default=False)
    Standard.objects.filter(code="cz-448-2025").update(is_default=True)
    verdicts.refresh_all()
    czech.refresh_from_db()
    assert {j["analyte"] for j in czech.judgements if j["outcome"] == "fail"} == {"lead"}
    assert len(czech.judgements) >= 4


def full_snapshot():
    batches = BatchVerdict.objects.values_list(
        "batch_id",
        "standard_id",
        "status",
        "current_until",
        "panels",
        "judgements",
        "label_accuracy",
    )
    products = ProductVerdict.objects.values_list(
        "product_id",
        "standard_id",
        "status",
        "current_until",
        "batch_id",
        "panels",
        "heavy_metals_until",
        "microbials_until",
        "alkaloids_until",
        "inputs",
        "outputs",
    )
    return sorted(map(repr, batches)), sorted(map(repr, products))


def _older_certificate(batch):
    from registry.models import Certificate

    old = timezone.localdate() - dt.timedelta(days=500)
    Certificate.objects.filter(batches=batch).update(tested_on=old, issued_on=old)


def _product_serving(batch):
    from vendors.models import Product

    Product.objects.filter(pk=batch.product_id).update(serving_size_g="50")


def _batch_order(batch):
    from vendors.models import Batch

    Batch.objects.filter(pk=batch.pk).update(created=timezone.now() - dt.timedelta(days=900))


def _requirement_limit(batch):
    Requirement.objects.filter(analyte__code="lead").update(limit="0.05")


def _certificate_withdrawn(batch):
    from registry.models import Certificate

    Certificate.objects.filter(batches=batch).update(state="withdrawn", reason="wrong lot")


@pytest.mark.parametrize(
    ("change", "alters_a_verdict"),
    [
        (_older_certificate, True),
        (_product_serving, True),
        (_batch_order, False),  # only breaks ties between equal batches
        (_requirement_limit, True),
        (_certificate_withdrawn, True),
    ],
)
def test_routine_refresh_agrees_with_a_forced_one_after_any_change(db, change, alters_a_verdict):
    """Whatever changes behind the services' back (no signal, no refresh),
    the next routine refresh stores what a full recomputation would."""
    batch = BatchFactory()
    BatchFactory(product=batch.product)
    certificate(batch, results=full_results())
    verdicts.refresh_all()
    before = full_snapshot()
    change(batch)
    verdicts.refresh_all()
    routine = full_snapshot()
    verdicts.refresh_all(force=True)
    assert routine == full_snapshot()
    assert (routine != before) == alters_a_verdict


# A full refresh judges chunks outside its write transactions (in worker
# processes when asked): what it stores must be the same, and it must never
# overwrite verdicts that a change refreshed in the meantime.


def _history(reviewer):
    for number in range(verdicts.CHUNK // 100 + 3):
        batch = BatchFactory()
        BatchFactory(product=batch.product, on_sale=bool(number % 2))
        if number % 3:
            certificate(batch, results=full_results())
    pending = certificate(BatchFactory(), approve=False, results=full_results()[:4])
    review.approve(pending, by=reviewer)


def test_workers_store_what_one_process_stores(reference_data, tmp_path):
    """``refresh_verdicts --workers 2`` run as an operator runs it (its own
    process, which forks the workers), on the committed data of this test,
    judging two products a chunk so that both workers take part."""
    import os
    import subprocess
    import sys

    from django.db import connection

    _history(factories.UserFactory(username="rev", is_staff=True))
    verdicts.refresh_all(workers=1)
    alone = full_snapshot()
    BatchVerdict.objects.all().delete()
    ProductVerdict.objects.all().delete()
    database = connection.settings_dict
    url = (
        f"sqlite:///{database['NAME']}"
        if connection.vendor == "sqlite"
        else f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    code = (
        "import django; django.setup();"
        "from registry import verdicts; verdicts.CHUNK = 2;"
        "from django.core.management import call_command;"
        "call_command('refresh_verdicts', '--workers', '2')"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "registry.test_settings"}
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    products = ProductVerdict.objects.values("product").distinct().count()
    assert f"refreshed verdicts of {products} products" in out
    assert f"judged by 2 processes ({products} products' verdicts were rewritten)" in out
    assert full_snapshot() == alone


def test_a_refresh_writes_rows_it_finds_half_stored(reference_data):
    """A refresh that finds no product rows stored writes what it judged
    as new rows (on PostgreSQL straight by ``COPY``); where batch rows were
    there all the same, it writes over them instead, and loses nothing."""
    _history(factories.UserFactory(username="rev", is_staff=True))
    verdicts.refresh_all(workers=1)
    whole = full_snapshot()
    ProductVerdict.objects.all().delete()
    BatchVerdict.objects.filter(standard__is_default=False).update(status="untested")
    verdicts.refresh_all(workers=1)
    assert full_snapshot() == whole


def test_a_chunk_judged_before_a_change_does_not_overwrite_its_verdicts(db, reviewer):
    """The race a long refresh runs: chunk judged, then a certificate approved
    (refreshing its product in its own transaction), then the chunk written.
    The product the approval refreshed keeps the approval's verdicts; the
    others in the chunk are written."""
    changed, other = BatchFactory(), BatchFactory()
    pending = certificate(changed, approve=False, results=full_results())
    judge = verdicts._Judge(verdicts.load_standards(), timezone.localdate(), force=True)
    judged = judge([changed.product_id, other.product_id])
    review.approve(pending, by=reviewer)
    assert baseline(changed.product) == "current"
    before = stamps()
    assert verdicts._store_checked(judged) == 1
    assert baseline(changed.product) == "current"  # the judged chunk said untested
    after = stamps()
    assert all(after[k] == before[k] for k in after if k[0] == changed.product_id)
    written = [k for k in after if k[0] == other.product_id]
    assert written
    assert all(after[k] != before.get(k) for k in written)


def test_a_standard_edited_during_a_run_rules_the_rest_of_it(reference_data, monkeypatch):
    """A run loads the standards when it starts; one is edited (and the edit
    refreshes everything) before the run judges its chunk: the writer must
    judge it anew under the new rules, not store the old rules' verdicts."""
    batch = BatchFactory()
    certificate(batch, results=full_results())
    judging = verdicts._judged

    def edit_then_judge(judge, chunks, workers):
        with transaction.atomic():  # as the admin saves it
            lead = Requirement.objects.get(standard__code="baseline", analyte__code="lead")
            lead.limit = "0.0001"
            lead.save()
            verdicts.refresh_for_standards()
        assert baseline(batch.product) == "fails_limits"
        yield from judging(judge, chunks, workers)  # the judge holds the old rules

    monkeypatch.setattr(verdicts, "_judged", edit_then_judge)
    verdicts.refresh_all(force=True)
    assert baseline(batch.product) == "fails_limits"


def test_a_chunk_whose_product_was_deleted_meanwhile_stores_the_rest(db):
    gone, kept = BatchFactory(), BatchFactory()
    judge = verdicts._Judge(verdicts.load_standards(), timezone.localdate(), force=True)
    judged = judge([gone.product_id, kept.product_id])
    gone.product.delete()
    assert verdicts._store_checked(judged) == 1
    assert ProductVerdict.objects.filter(product=kept.product).count() == len(
        verdicts.load_standards()
    )
    assert not BatchVerdict.objects.filter(batch_id=gone.pk).exists()
