"""The review workflow in ``registry/review.py``: every transition one
transaction with an audit event and refreshed verdicts; claims; exactly one
winner when two reviewers act at once; consumer reports."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import close_old_connections, connection
from django.utils import timezone

from registry import review, trust
from registry.models import Certificate, ConsumerReport, ReviewEvent

from . import factories
from .factories import BatchFactory, certificate, full_panel_results


@pytest.fixture
def alice(db):
    return factories.UserFactory(username="alice", is_staff=True)


@pytest.fixture
def bob(db):
    return factories.UserFactory(username="bob", is_staff=True)


@pytest.fixture
def pending(db):
    membership = factories.MembershipFactory(user__email="owner@vendor.example")
    batch = BatchFactory(product__vendor=membership.vendor)
    return certificate(batch, approve=False, results=full_panel_results())


def test_approve_is_recorded_and_refreshes_verdicts(pending, alice):
    review.approve(pending, by=alice)
    pending.refresh_from_db()
    assert pending.state == "approved"
    event = pending.events.last()
    assert (event.actor, event.action, event.from_state, event.to_state) == (
        alice,
        "approved",
        "pending",
        "approved",
    )
    batch = pending.batches.get()
    assert batch.verdicts.get(standard__is_default=True).status == "current"


def test_vendor_is_emailed_on_each_decision(pending, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        review.reject(pending, by=alice, code="illegible", reason="Page 2 is missing.")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@vendor.example"]
    assert "rejected" in message.subject
    assert "Page 2 is missing." in message.body


def test_reject_needs_code_and_text(pending, alice):
    with pytest.raises(review.ReviewError, match="Choose a reason code"):
        review.reject(pending, by=alice, code="", reason="x")
    with pytest.raises(review.ReviewError, match="Explain the rejection"):
        review.reject(pending, by=alice, code="illegible", reason="  ")
    pending.refresh_from_db()
    assert pending.state == "pending"
    assert not pending.events.filter(action="rejected").exists()


def test_approve_refused_while_required_fields_missing(db, alice):
    batch = BatchFactory()
    empty = certificate(batch, approve=False)
    empty.results.all().delete()
    with pytest.raises(review.ReviewError, match="Cannot approve yet: it has no results"):
        review.approve(empty, by=alice)


def test_withdraw_needs_a_public_reason_and_only_approved(pending, alice):
    with pytest.raises(review.ReviewError, match="only approved certificates"):
        review.withdraw(pending, by=alice, reason="x")
    review.approve(pending, by=alice)
    with pytest.raises(review.ReviewError, match="public reason"):
        review.withdraw(pending, by=alice, reason="")
    review.withdraw(pending, by=alice, reason="Lab reissued the report.")
    pending.refresh_from_db()
    assert (pending.state, pending.reason) == ("withdrawn", "Lab reissued the report.")


def test_request_changes_sends_it_back_to_the_vendor(pending, alice):
    review.request_changes(pending, by=alice, reason="Upload all pages.")
    pending.refresh_from_db()
    assert (pending.state, pending.reason_code) == ("rejected", "changes_requested")


def test_a_claim_keeps_other_reviewers_off_for_thirty_minutes(pending, alice, bob):
    review.claim(pending, by=alice)
    with pytest.raises(review.ReviewError, match="claimed by alice"):
        review.claim(pending, by=bob)
    with pytest.raises(review.ReviewError, match="claimed by alice"):
        review.approve(pending, by=bob)
    Certificate.objects.filter(pk=pending.pk).update(
        claimed_at=timezone.now() - dt.timedelta(minutes=31)
    )
    review.claim(pending, by=bob)  # the claim expired
    review.approve(pending, by=bob)
    pending.refresh_from_db()
    assert pending.state == "approved" and pending.claimed_by is None


def test_second_decision_is_told_why(pending, alice, bob):
    review.approve(pending, by=alice)
    stale_copy = Certificate.objects.get(pk=pending.pk)
    with pytest.raises(review.ReviewError, match="it is approved now"):
        review.reject(stale_copy, by=bob, code="other", reason="too late")


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_exactly_one_wins(reference_data):
    """Two threads, two database connections, one pending certificate: one
    approval lands, the other gets a ReviewError naming the new state."""
    batch = BatchFactory()
    target = certificate(batch, approve=False, results=full_panel_results())
    users = [factories.UserFactory(username=f"r{i}", is_staff=True) for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes = []

    def act(user):
        try:
            mine = Certificate.objects.get(pk=target.pk)
            barrier.wait()
            review.approve(mine, by=user)
            outcomes.append("won")
        except review.ReviewError as error:
            outcomes.append(str(error))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=act, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes, key=len)[0] == "won"
    assert outcomes.count("won") == 1
    loser = next(o for o in outcomes if o != "won")
    assert "approved now" in loser or "claimed by" in loser
    assert ReviewEvent.objects.filter(certificate=target, action="approved").count() == 1


def test_set_results_replaces_and_validates_whole(pending, alice):
    items = [
        {"analyte": "mitragynine", "value": "1.1", "unit": "%"},
        {"analyte": "lead", "value": "0.3", "unit": "ppm"},
    ]
    review.set_results(pending, items, by=alice)
    assert pending.results.count() == 2
    bad = [*items, {"analyte": "lead", "value": "3", "unit": "CFU/g"}]
    with pytest.raises(review.ReviewError, match=r"results\[2\]"):
        review.set_results(pending, bad, by=alice)
    assert pending.results.count() == 2  # unchanged
    assert pending.events.filter(action="results_edited").count() == 1


def test_approved_results_are_frozen(pending, alice):
    review.approve(pending, by=alice)
    with pytest.raises(review.ReviewError, match="cannot be edited"):
        review.set_results(pending, [{"analyte": "lead", "value": "1", "unit": "ppm"}], by=alice)


def test_consumer_reports_are_rate_limited_per_address(db, alice):
    published = certificate(BatchFactory())
    for n in range(review.REPORTS_PER_HOUR):
        review.report_problem(published, message=f"problem {n}", address="203.0.113.9")
    with pytest.raises(review.ReviewError, match="Too many reports"):
        review.report_problem(published, message="again", address="203.0.113.9")
    review.report_problem(published, message="other person", address="198.51.100.1")
    assert ConsumerReport.objects.count() == review.REPORTS_PER_HOUR + 1
    report = ConsumerReport.objects.first()
    review.handle_report(report, by=alice, note="Checked with the lab.")
    with pytest.raises(review.ReviewError, match="already been handled"):
        review.handle_report(report, by=alice, dismiss=True)


def test_reports_only_on_published_certificates(pending):
    with pytest.raises(review.ReviewError, match="Only published"):
        review.report_problem(pending, message="x", address="1.2.3.4")


# --- trust checks, one function each ------------------------------------


def codes(findings):
    return [f["code"] for f in findings]


def test_duplicate_file_and_report_number_on_another_vendor(db):
    first = certificate(BatchFactory(), report_number="EA-1")
    other_vendor_batch = BatchFactory()
    second = certificate(other_vendor_batch, approve=False, report_number="EA-2")
    Certificate.objects.filter(pk=second.pk).update(sha256=first.sha256)
    second.refresh_from_db()
    assert codes(trust.duplicate_file(second)) == ["duplicate_file"]
    assert f"#{first.pk}" in trust.duplicate_file(second)[0]["detail"]
    Certificate.objects.filter(pk=second.pk).update(report_number="EA-1")
    second.refresh_from_db()
    assert codes(trust.duplicate_report_number(second)) == ["duplicate_report_number"]


def test_impossible_dates(db):
    c = certificate(BatchFactory())
    c.tested_on, c.issued_on, c.sampled_on = dt.date(2026, 9, 10), dt.date(2026, 9, 5), None
    assert "tested 2026-09-10 after issued 2026-09-05" in trust.impossible_dates(c)[0]["detail"]
    c.issued_on, c.sampled_on = None, dt.date(2026, 9, 12)
    assert "before sampled" in trust.impossible_dates(c)[0]["detail"]
    c.sampled_on = None
    c.tested_on = timezone.localdate() + dt.timedelta(days=2)
    assert "in the future" in trust.impossible_dates(c)[0]["detail"]


def test_lab_not_accredited(db):
    lab = factories.LabFactory(name="Lapsed Lab", accredited_until=dt.date(2024, 1, 1))
    c = certificate(BatchFactory(), lab=lab)
    assert codes(trust.lab_not_accredited(c)) == ["lab_not_accredited"]
    assert "2024-01-01" in trust.lab_not_accredited(c)[0]["detail"]


def test_lot_not_in_document(db):
    c = certificate(BatchFactory(lot_code="GMD-0926"))
    c.document_text = "Sample: Green Maeng Da, Lot: GMD 0926"
    assert trust.lot_not_in_document(c) == []
    c.document_text = "Lot: ABC-1"
    assert "GMD-0926 does not appear" in trust.lot_not_in_document(c)[0]["detail"]
    c.document_text = ""
    assert "no readable text" in trust.lot_not_in_document(c)[0]["detail"]


def test_all_nd_potency_only_and_alkaloid_profile(db):
    nd = certificate(
        BatchFactory(),
        results=[
            {"analyte": "lead", "qualifier": "ND"},
            {"analyte": "salmonella", "qualifier": "absent"},
        ],
    )
    assert "all_nd" in codes(trust.run(nd))
    potency = certificate(
        BatchFactory(),
        results=[
            {"analyte": "mitragynine", "value": "0.4", "unit": "%"},
            {"analyte": "7-hydroxymitragynine", "value": "2.5", "unit": "%"},
        ],
    )
    found = codes(trust.run(potency))
    assert "potency_only" in found and "alkaloid_profile" in found
    leaf = certificate(BatchFactory(), results=full_panel_results())
    assert not {"all_nd", "potency_only", "alkaloid_profile"} & set(codes(trust.run(leaf)))
