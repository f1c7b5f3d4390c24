"""The review workflow: every state change of a certificate.

Each transition is one transaction that (1) moves the certificate only if it
is still in the state the reviewer saw — a conditional UPDATE, so when two
reviewers act at once exactly one wins and the other gets a ``ReviewError``
saying why — (2) writes a ``ReviewEvent`` (who, when, from, to, why) and (3)
refreshes the verdicts of every product the certificate covers.

An approved certificate's results are frozen: a correction is a withdrawal with
a public reason plus a new upload, and the history shows both.
"""

import datetime as dt
import hashlib

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import trust, verdicts
from .models import Certificate, ConsumerReport, ReviewEvent

CLAIM_MINUTES = 30
REPORTS_PER_HOUR = 5

State = Certificate.State

REJECT_REASONS = {
    "illegible": "The document cannot be read.",
    "wrong_batch": "The certificate does not cover this batch.",
    "not_accredited": "The lab is not accredited for this testing.",
    "altered": "The document appears to have been altered.",
    "duplicate": "This report is already registered for another product or vendor.",
    "incomplete": "Required information is missing from the certificate.",
    "changes_requested": "Changes requested: upload a corrected certificate.",
    "other": "Other (explained in the text).",
}


class ReviewError(Exception):
    """A transition that cannot happen; the message is shown to the reviewer."""


def _claimable(by):
    """Certificates ``by`` may act on: unclaimed, claimed by them, or whose
    claim has expired."""
    expired = timezone.now() - dt.timedelta(minutes=CLAIM_MINUTES)
    free = Q(claimed_by__isnull=True) | Q(claimed_at__lt=expired)
    return free | Q(claimed_by=by) if by is not None else free


def _move(certificate, *, by, action, to, allowed, reason_code="", reason=""):
    with transaction.atomic():
        before = certificate.state
        moved = (
            Certificate.objects.filter(pk=certificate.pk, state__in=allowed)
            .filter(_claimable(by))
            .update(
                state=to,
                reason_code=reason_code,
                reason=reason,
                decided_at=timezone.now(),
                claimed_by=None,
                claimed_at=None,
            )
        )
        if not moved:
            raise ReviewError(_why_not(certificate, action, allowed, by))
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
        transaction.on_commit(lambda: notify_vendor(certificate, action))
    return certificate


def _why_not(certificate, action, allowed, by):
    current = Certificate.objects.filter(pk=certificate.pk).select_related("claimed_by").first()
    if current is None:
        return f"Certificate {certificate.pk} no longer exists."
    if current.state not in allowed:
        return (
            f"Certificate {certificate.pk} cannot be {action}: it is {current.state} now "
            f"(only {' or '.join(allowed)} certificates can be)."
        )
    until = current.claimed_at + dt.timedelta(minutes=CLAIM_MINUTES)
    return (
        f"Certificate {certificate.pk} is claimed by {current.claimed_by} until {until:%H:%M} UTC."
    )


def approve(certificate, *, by):
    problems = approval_problems(certificate)
    if problems:
        raise ReviewError("Cannot approve yet: " + "; ".join(problems) + ".")
    return _move(certificate, by=by, action="approved", to=State.APPROVED, allowed=[State.PENDING])


def request_changes(certificate, *, by, reason):
    """Send an upload back to its vendor: it leaves the queue as rejected with
    the code ``changes_requested``, and the vendor replaces it with a
    corrected upload. The registry keeps four states (API.md); this is a
    rejection that invites a resubmission, not a judgement of authenticity."""
    return reject(certificate, by=by, code="changes_requested", reason=reason)


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


class SubmissionError(ReviewError):
    """An upload refused before anything was stored."""


def submit(
    *,
    vendor,
    user,
    data,
    filename,
    batches,
    lab,
    report_number,
    tested_on,
    sampled_on=None,
    issued_on=None,
    replaces=None,
):
    """A vendor's upload: check the file, store it and its preview, create the
    pending certificate with its trust flags and any results extraction can
    suggest — or, if anything fails after the file is written, remove it."""
    from . import extraction_hook, uploads

    if not batches:
        raise SubmissionError("Choose at least one batch.")
    if any(b.product.vendor_id != vendor.pk for b in batches):
        raise SubmissionError("You can only upload certificates for your own batches.")
    if replaces is not None and (
        replaces.vendor_id != vendor.pk or replaces.state != State.REJECTED
    ):
        raise SubmissionError("Only your own rejected uploads can be replaced.")
    report_number = (report_number or "").strip()
    if not report_number:
        raise SubmissionError("The lab's report number is required.")
    checked = uploads.check_file(data, filename=filename)
    # Extraction (OCR can take seconds a page) runs before the transaction so
    # no database lock is held meanwhile.
    suggested = extraction_hook.suggest(checked)
    name = uploads.store(checked.data, extension=checked.extension)
    preview = ""
    try:
        preview = uploads.store_preview(uploads.preview_png(checked))
        with transaction.atomic():
            certificate = Certificate.objects.create(
                vendor=vendor,
                lab=lab,
                report_number=report_number[:100],
                tested_on=tested_on,
                sampled_on=sampled_on,
                issued_on=issued_on,
                file=name,
                preview=preview,
                sha256=uploads.sha256(checked.data),
                original_filename=uploads.check_name(filename)[:255],
                content_type=checked.content_type,
                size=len(checked.data),
                page_count=checked.page_count,
                document_text=checked.text,
                uploaded_by=user,
                replaces=replaces,
                extracted=suggested,
            )
            certificate.batches.set(batches)
            ReviewEvent.objects.create(
                certificate=certificate,
                actor=user,
                action="submitted",
                from_state="",
                to_state=State.PENDING,
                reason=f"Replaces certificate {replaces.pk}" if replaces else "",
            )
            trust.refresh(certificate)
            # A new untested batch may now be on the certificate's products;
            # pending certificates never count, so verdicts are unchanged.
    except BaseException:
        uploads.discard(name)
        uploads.discard(preview)
        raise
    return certificate


def claim(certificate, *, by):
    """Take an item off the queue for 30 minutes; exactly one reviewer wins."""
    with transaction.atomic():
        taken = (
            Certificate.objects.filter(pk=certificate.pk, state=State.PENDING)
            .filter(_claimable(by))
            .update(claimed_by=by, claimed_at=timezone.now())
        )
        if not taken:
            raise ReviewError(_why_not(certificate, "claimed", [State.PENDING], by))
        certificate.refresh_from_db()
        ReviewEvent.objects.create(
            certificate=certificate,
            actor=by,
            action="claimed",
            from_state=State.PENDING,
            to_state=State.PENDING,
        )
    return certificate


def release(certificate, *, by):
    with transaction.atomic():
        released = Certificate.objects.filter(pk=certificate.pk, claimed_by=by).update(
            claimed_by=None, claimed_at=None
        )
        if released:
            ReviewEvent.objects.create(
                certificate=certificate,
                actor=by,
                action="released",
                from_state=certificate.state,
                to_state=certificate.state,
            )
    certificate.refresh_from_db()
    return certificate


def set_results(certificate, items, *, by):
    """Replace a pending certificate's results with ``items`` (``coa/1``
    result objects), checked whole first: any bad item changes nothing."""
    from .catalogue import Catalogue
    from .importing import DocumentError, read_results, save_results

    if not isinstance(items, list):
        raise ReviewError("results: must be a list")
    try:
        clean = read_results(items, Catalogue.load())
    except DocumentError as error:
        raise ReviewError(str(error)) from None
    with transaction.atomic():
        locked = Certificate.objects.filter(pk=certificate.pk, state=State.PENDING).filter(
            _claimable(by)
        )
        if not locked.update(claimed_by=by, claimed_at=timezone.now()):
            raise ReviewError(_why_not(certificate, "edited", [State.PENDING], by))
        certificate.results.all().delete()
        save_results(certificate, clean)
        ReviewEvent.objects.create(
            certificate=certificate,
            actor=by,
            action="results_edited",
            from_state=State.PENDING,
            to_state=State.PENDING,
            reason=f"{len(clean)} results",
        )
        trust.refresh(certificate)
    return certificate


def notify_vendor(certificate, action):
    """Email the vendor's members about a decision (console backend by default)."""
    recipients = [u.email for u in certificate.vendor.members.all() if u.email]
    if not recipients or action not in {"approved", "rejected", "withdrawn"}:
        return
    lines = [
        f"Your certificate {certificate.report_number} from {certificate.lab} was {action}.",
    ]
    if certificate.reason:
        lines.append(f"Reason: {certificate.reason}")
    lines.append(f"Details: {settings.SITE_URL}{certificate.get_absolute_url()}")
    send_mail(
        subject=f"Certificate {certificate.report_number} {action}",
        message="\n\n".join(lines),
        from_email=None,
        recipient_list=recipients,
    )


def client_key(address):
    """A salted hash of a reporter's address: enough to rate-limit, nothing to
    identify anyone by."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:{address}".encode()).hexdigest()


def report_problem(certificate, *, message, email="", address=""):
    """A consumer's report on a public certificate; at most five an hour from
    one address (counted in the database, so every app server agrees)."""
    message = (message or "").strip()
    if not message:
        raise ReviewError("Describe the problem.")
    if len(message) > 4000:
        raise ReviewError("Keep the description under 4000 characters.")
    if certificate.state not in Certificate.PUBLIC_STATES:
        raise ReviewError("Only published certificates can be reported.")
    key = client_key(address)
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    if ConsumerReport.objects.filter(client_key=key, created__gte=hour_ago).count() >= (
        REPORTS_PER_HOUR
    ):
        raise ReviewError("Too many reports from your address; try again in an hour.")
    return ConsumerReport.objects.create(
        certificate=certificate, message=message, email=email, client_key=key
    )


def handle_report(report, *, by, dismiss=False, note=""):
    state = ConsumerReport.State.DISMISSED if dismiss else ConsumerReport.State.RESOLVED
    done = ConsumerReport.objects.filter(pk=report.pk, state=ConsumerReport.State.OPEN).update(
        state=state, handled_by=by, handled_at=timezone.now(), note=note.strip()
    )
    if not done:
        raise ReviewError("This report has already been handled.")
    report.refresh_from_db()
    return report
