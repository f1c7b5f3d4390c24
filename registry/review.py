"""The review workflow: every state change of a certificate.

Each transition is one transaction that (1) moves the certificate only if it
is still in the state the reviewer saw — a conditional UPDATE, so when two
reviewers act at once exactly one wins and the other gets a ``ReviewError``
saying why — (2) writes a ``ReviewEvent`` (who, when, from, to, why) and (3)
refreshes the verdicts of every product the certificate covers.

An approved certificate's results are frozen: a correction is a withdrawal with
a public reason plus a new upload, and the history shows both.
"""

from django.db import transaction
from django.utils import timezone

from . import verdicts
from .models import Certificate, ReviewEvent

State = Certificate.State

REJECT_REASONS = {
    "illegible": "The document cannot be read.",
    "wrong_batch": "The certificate does not cover this batch.",
    "not_accredited": "The lab is not accredited for this testing.",
    "altered": "The document appears to have been altered.",
    "duplicate": "This report is already registered for another product or vendor.",
    "incomplete": "Required information is missing from the certificate.",
    "other": "Other (explained in the text).",
}


class ReviewError(Exception):
    """A transition that cannot happen; the message is shown to the reviewer."""


def _move(certificate, *, by, action, to, allowed, reason_code="", reason=""):
    with transaction.atomic():
        before = certificate.state
        moved = Certificate.objects.filter(pk=certificate.pk, state__in=allowed).update(
            state=to, reason_code=reason_code, reason=reason, decided_at=timezone.now()
        )
        if not moved:
            current = Certificate.objects.filter(pk=certificate.pk).values_list("state", flat=True)
            now = current.first() or "deleted"
            raise ReviewError(
                f"Certificate {certificate.pk} cannot be {action}: it is {now} now "
                f"(only {' or '.join(allowed)} certificates can be)."
            )
        certificate.refresh_from_db()
        ReviewEvent.objects.create(
            certificate=certificate,
            actor=by,
            action=action,
            from_state=before if before in allowed else allowed[0],
            to_state=to,
            reason_code=reason_code,
            reason=reason,
        )
        verdicts.refresh_for_certificate(certificate)
    return certificate


def approve(certificate, *, by):
    problems = approval_problems(certificate)
    if problems:
        raise ReviewError("Cannot approve yet: " + "; ".join(problems) + ".")
    return _move(certificate, by=by, action="approved", to=State.APPROVED, allowed=[State.PENDING])


def approval_problems(certificate):
    """What is missing before a certificate can be approved (empty when none)."""
    problems = []
    if not certificate.report_number:
        problems.append("the report number is missing")
    if not certificate.tested_on:
        problems.append("the test date is missing")
    if not certificate.batches.exists():
        problems.append("it names no batch")
    if not certificate.results.exists():
        problems.append("it has no results")
    return problems


def reject(certificate, *, by, code, reason):
    if code not in REJECT_REASONS:
        raise ReviewError(f"Choose a reason code ({', '.join(REJECT_REASONS)}).")
    if not reason or not reason.strip():
        raise ReviewError("Explain the rejection to the vendor.")
    return _move(
        certificate,
        by=by,
        action="rejected",
        to=State.REJECTED,
        allowed=[State.PENDING],
        reason_code=code,
        reason=reason.strip(),
    )


def withdraw(certificate, *, by, reason):
    if not reason or not reason.strip():
        raise ReviewError("A withdrawal needs a public reason.")
    return _move(
        certificate,
        by=by,
        action="withdrawn",
        to=State.WITHDRAWN,
        allowed=[State.APPROVED],
        reason=reason.strip(),
    )
