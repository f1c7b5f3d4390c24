"""The staff review pages (``/review/``): the queue, one upload beside its
results form, and the consumer-report queue. Every action is a POST (with
CSRF) that calls one function in ``review``; a ``ReviewError`` becomes a
message, never a half-done change."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import review
from .forms import ReasonForm, RejectForm, ResultFormSet, rows_from_extracted, rows_from_results
from .models import Certificate, ConsumerReport, Lab
from .pagination import page_of


@never_cache
@staff_member_required
def queue(request):
    pending = (
        Certificate.objects.filter(state=Certificate.State.PENDING)
        .select_related("vendor", "lab", "claimed_by")
        .prefetch_related("batches__product")
        .order_by("created", "id")
    )
    flag = request.GET.get("flag", "")
    lab = request.GET.get("lab", "")
    if lab.isdigit():
        pending = pending.filter(lab_id=int(lab))
    if flag:
        # JSON containment differs between SQLite and PostgreSQL; the pending
        # queue is small enough to filter here.
        pending = [c for c in pending if any(f["code"] == flag for f in c.flags)]
    page = page_of(pending, request)
    expired = timezone.now() - timezone.timedelta(minutes=review.CLAIM_MINUTES)
    return render(
        request,
        "registry/review/queue.html",
        {
            "page": page,
            "flag": flag,
            "lab": lab,
            "labs": Lab.objects.order_by("name"),
            "flag_codes": FLAG_CODES,
            "claim_expired_before": expired,
            "open_reports": ConsumerReport.objects.filter(state=ConsumerReport.State.OPEN).count(),
        },
    )


FLAG_CODES = [
    "duplicate_file",
    "duplicate_report_number",
    "impossible_dates",
    "lab_not_accredited",
    "lot_not_in_document",
    "all_nd",
    "alkaloid_profile",
    "potency_only",
]


@never_cache
@staff_member_required
def detail(request, pk):
    certificate = get_object_or_404(
        Certificate.objects.select_related("vendor", "lab", "claimed_by"), pk=pk
    )
    results = list(certificate.results.select_related("analyte"))
    if request.method == "POST":
        formset = ResultFormSet(request.POST, prefix="results")
        if formset.is_valid():
            items = [item for form in formset for item in [form.item()] if item]
            try:
                review.set_results(certificate, items, by=request.user)
            except review.ReviewError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, f"Saved {len(items)} results.")
                return redirect("review_detail", pk=certificate.pk)
    else:
        rows = rows_from_results(results) if results else rows_from_extracted(certificate.extracted)
        formset = ResultFormSet(initial=rows, prefix="results")
    return render(
        request,
        "registry/review/detail.html",
        {
            "certificate": certificate,
            "formset": formset,
            "reject_form": RejectForm(),
            "reason_form": ReasonForm(),
            "problems": review.approval_problems(certificate),
            "events": certificate.events.select_related("actor"),
            "batches": certificate.batches.select_related("product__vendor"),
            "claimed_by_other": (
                certificate.claimed_by_id
                and certificate.claimed_by_id != request.user.pk
                and certificate.claimed_at
                and certificate.claimed_at
                > timezone.now() - timezone.timedelta(minutes=review.CLAIM_MINUTES)
            ),
            "extracted_method": (certificate.extracted or {}).get("method", ""),
        },
    )


def _act(request, pk, action):
    certificate = get_object_or_404(Certificate, pk=pk)
    try:
        action(certificate)
    except review.ReviewError as error:
        messages.error(request, str(error))
    return redirect("review_detail", pk=certificate.pk)


@staff_member_required
@require_POST
def claim(request, pk):
    return _act(request, pk, lambda c: review.claim(c, by=request.user))


@staff_member_required
@require_POST
def release(request, pk):
    return _act(request, pk, lambda c: review.release(c, by=request.user))


@staff_member_required
@require_POST
def approve(request, pk):
    def go(certificate):
        review.approve(certificate, by=request.user)
        messages.success(request, f"Approved report {certificate.report_number}.")

    return _act(request, pk, go)


@staff_member_required
@require_POST
def reject(request, pk):
    form = RejectForm(request.POST)

    def go(certificate):
        if not form.is_valid():
            raise review.ReviewError("A rejection needs a reason code and an explanation.")
        review.reject(
            certificate,
            by=request.user,
            code=form.cleaned_data["code"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, f"Rejected report {certificate.report_number}.")

    return _act(request, pk, go)


@staff_member_required
@require_POST
def request_changes(request, pk):
    form = ReasonForm(request.POST)

    def go(certificate):
        if not form.is_valid():
            raise review.ReviewError("Say what the vendor should change.")
        review.request_changes(certificate, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, "Sent back to the vendor for changes.")

    return _act(request, pk, go)


@staff_member_required
@require_POST
def withdraw(request, pk):
    form = ReasonForm(request.POST)

    def go(certificate):
        if not form.is_valid():
            raise review.ReviewError("A withdrawal needs a public reason.")
        review.withdraw(certificate, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, f"Withdrew report {certificate.report_number}.")

    return _act(request, pk, go)


@never_cache
@staff_member_required
def reports(request):
    state = request.GET.get("state", ConsumerReport.State.OPEN)
    found = (
        ConsumerReport.objects.filter(state=state)
        .select_related("certificate__lab", "certificate__vendor", "handled_by")
        .order_by("created")
    )
    return render(
        request,
        "registry/review/reports.html",
        {
            "page": page_of(found, request),
            "state": state,
            "states": ConsumerReport.State.choices,
        },
    )


@staff_member_required
@require_POST
def handle_report(request, pk):
    report = get_object_or_404(ConsumerReport, pk=pk)
    try:
        review.handle_report(
            report,
            by=request.user,
            dismiss=request.POST.get("action") == "dismiss",
            note=request.POST.get("note", ""),
        )
    except review.ReviewError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Report {report.pk} {report.state}.")
    return redirect("review_reports")
